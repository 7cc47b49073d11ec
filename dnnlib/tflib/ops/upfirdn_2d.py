"""2-D FIR resampling: upsample by zero insertion, pad, filter, downsample (``upfirdn_2d``), and the
resampling helpers the networks use.

Two implementations with the same numerics: ``ref`` (plain TF, any-order gradients) and ``cuda``
(the custom op in ``upfirdn_2d.cu``; its gradient is the same op with flipped kernel and
swapped up/down factors, so it is differentiable to any order as well).
"""

import os

import numpy as np

from dnnlib.tflib import custom_ops
from dnnlib.tflib.compat import tf

_CUDA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "upfirdn_2d.cu")


def _check_int(name, value, minimum=None):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise ValueError("upfirdn_2d: %s must be an integer, got %r" % (name, value))
    if minimum is not None and value < minimum:
        raise ValueError("upfirdn_2d: %s must be >= %d, got %d" % (name, minimum, value))
    return int(value)


def upfirdn_2d(x, k, upx=1, upy=1, downx=1, downy=1, padx0=0, padx1=0, pady0=0, pady1=0, impl="auto"):
    """Upsample, pad, FIR-filter and downsample a batch of 2-D signals.

    Args:
        x: [major, in_h, in_w, minor] tensor.
        k: 2-D FIR kernel [k_h, k_w] (numpy array or constant); applied as a true convolution
           (i.e. flipped), so asymmetric kernels behave as in signal processing.
        upx, upy: integer upsampling factors (zero insertion: sample i lands at i*up).
        downx, downy: integer downsampling factors (keep every down-th sample).
        padx0, padx1, pady0, pady1: padding before/after each axis of the upsampled signal;
           negative values crop.
        impl: 'auto' | 'cuda' | 'ref'.
    Returns:
        [major, out_h, out_w, minor] with out_h = (in_h*upy + pady0 + pady1 - k_h) // downy + 1.
    """
    x = tf.convert_to_tensor(x)
    k = np.asarray(k, dtype=np.float32)
    if k.ndim != 2 or k.size == 0:
        raise ValueError("upfirdn_2d: kernel must be a non-empty 2-D array, got shape %s" % (k.shape,))
    if x.shape.rank != 4:
        raise ValueError("upfirdn_2d: x must be [major, height, width, minor], got shape %s" % (x.shape,))
    upx, upy = _check_int("upx", upx, 1), _check_int("upy", upy, 1)
    downx, downy = _check_int("downx", downx, 1), _check_int("downy", downy, 1)
    padx0, padx1 = _check_int("padx0", padx0), _check_int("padx1", padx1)
    pady0, pady1 = _check_int("pady0", pady0), _check_int("pady1", pady1)
    in_h, in_w = x.shape[1], x.shape[2]
    in_h = in_h if isinstance(in_h, int) or in_h is None else in_h.value
    in_w = in_w if isinstance(in_w, int) or in_w is None else in_w.value
    if in_h is None or in_w is None:
        raise ValueError("upfirdn_2d: the spatial size of x must be known when the graph is built")
    kh, kw = k.shape
    for axis_name, size, up, p0, p1, ksize in (("y", in_h, upy, pady0, pady1, kh), ("x", in_w, upx, padx0, padx1, kw)):
        padded = size * up + p0 + p1
        if padded < ksize:
            raise ValueError(
                "upfirdn_2d: bad pad spec along %s: %d samples x up %d with pads (%d, %d) leave %d samples, "
                "fewer than the kernel's %d taps" % (axis_name, size, up, p0, p1, padded, ksize)
            )
        if -p0 >= size * up or -p1 >= size * up:
            raise ValueError("upfirdn_2d: bad pad spec along %s: cropping (%d, %d) removes the whole signal" % (axis_name, p0, p1))
    params = dict(upx=upx, upy=upy, downx=downx, downy=downy, padx0=padx0, padx1=padx1, pady0=pady0, pady1=pady1)
    if custom_ops.resolve_impl(impl, _CUDA_FILE) == "cuda":
        return _upfirdn_2d_cuda(x, k, **params)
    return _upfirdn_2d_ref(x, k, **params)


def _upfirdn_2d_ref(x, k, upx, upy, downx, downy, padx0, padx1, pady0, pady1):
    """Plain-TF reference built from reshape/pad/slice/depthwise-free conv2d."""
    in_h, in_w, minor = x.shape[1].value, x.shape[2].value, x.shape[3].value
    kh, kw = k.shape

    # Zero insertion: every sample followed by (up - 1) zeros.
    x = tf.reshape(x, [-1, in_h, 1, in_w, 1, minor])
    x = tf.pad(x, [[0, 0], [0, 0], [0, upy - 1], [0, 0], [0, upx - 1], [0, 0]])
    x = tf.reshape(x, [-1, in_h * upy, in_w * upx, minor])

    # Pad (positive) and crop (negative) separately: tf.pad takes no negative amounts.
    x = tf.pad(x, [[0, 0], [max(pady0, 0), max(pady1, 0)], [max(padx0, 0), max(padx1, 0)], [0, 0]])
    h_pad, w_pad = in_h * upy + max(pady0, 0) + max(pady1, 0), in_w * upx + max(padx0, 0) + max(padx1, 0)
    x = x[:, max(-pady0, 0): h_pad - max(-pady1, 0), max(-padx0, 0): w_pad - max(-padx1, 0), :]

    # True convolution = correlation with the flipped kernel; channels go to the batch axis so a
    # single-channel conv2d serves every channel.
    h_mid, w_mid = x.shape[1].value, x.shape[2].value
    x = tf.transpose(x, [0, 3, 1, 2])
    x = tf.reshape(x, [-1, h_mid, w_mid, 1])
    w = tf.constant(k[::-1, ::-1, np.newaxis, np.newaxis], dtype=x.dtype)
    x = tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding="VALID", data_format="NHWC")
    x = tf.reshape(x, [-1, minor, h_mid - kh + 1, w_mid - kw + 1])
    x = tf.transpose(x, [0, 2, 3, 1])

    return x[:, ::downy, ::downx, :]


def _upfirdn_2d_cuda(x, k, upx, upy, downx, downy, padx0, padx1, pady0, pady1):
    """Custom-op path; the gradient is registered below (the same op, transposed)."""
    plugin = custom_ops.get_plugin(_CUDA_FILE)
    in_h, in_w = x.shape[1].value, x.shape[2].value
    kh, kw = k.shape
    out_h = (in_h * upy + pady0 + pady1 - kh) // downy + 1
    out_w = (in_w * upx + padx0 + padx1 - kw) // downx + 1
    y = plugin.up_fir_dn2d(
        x=x, k=tf.constant(k, dtype=x.dtype), upx=upx, upy=upy, downx=downx, downy=downy,
        padx0=padx0, padx1=padx1, pady0=pady0, pady1=pady1,
    )
    y.set_shape([x.shape[0], out_h, out_w, x.shape[3]])
    return y


def _transposed_pads(in_size, out_size, up, down, pad0, ksize):
    """Pads of the adjoint resampling: maps the output grid back onto the input grid."""
    gpad0 = ksize - pad0 - 1
    gpad1 = in_size * up - out_size * down + pad0 - up + 1
    return gpad0, gpad1


def _upfirdn_2d_grad(op, dy):
    """The adjoint of upfirdn_2d: the same op with the flipped kernel and up/down swapped."""
    x, k = op.inputs
    in_h, in_w = x.shape[1].value, x.shape[2].value
    out_h, out_w = dy.shape[1].value, dy.shape[2].value
    kh, kw = k.shape[0].value, k.shape[1].value
    upx, upy, downx, downy = (op.get_attr(n) for n in ("upx", "upy", "downx", "downy"))
    gpadx0, gpadx1 = _transposed_pads(in_w, out_w, upx, downx, op.get_attr("padx0"), kw)
    gpady0, gpady1 = _transposed_pads(in_h, out_h, upy, downy, op.get_attr("pady0"), kh)
    plugin = custom_ops.get_plugin(_CUDA_FILE)
    dx = plugin.up_fir_dn2d(
        x=dy, k=tf.reverse(k, axis=[0, 1]), upx=downx, upy=downy, downx=upx, downy=upy,
        padx0=gpadx0, padx1=gpadx1, pady0=gpady0, pady1=gpady1,
    )
    dx.set_shape(x.shape)
    return dx, None


try:
    tf.RegisterGradient("UpFirDn2D")(_upfirdn_2d_grad)
except KeyError:  # already registered
    pass

# ----------------------------------------------------------------------------------------------
# Helpers used by the networks. Each takes a 1-D kernel (outer product taken) or a 2-D kernel,
# normalised to unit sum so a constant image keeps its level (times `gain`).


def setup_kernel(k, factor_sq=1):
    """1-D or 2-D FIR taps -> normalised 2-D kernel. None means a box of size ``factor``."""
    k = np.asarray(k, dtype=np.float32)
    if k.ndim == 1:
        k = np.outer(k, k)
    if k.ndim != 2 or k.size == 0:
        raise ValueError("FIR kernel must be 1-D or 2-D and non-empty, got shape %s" % (k.shape,))
    if k.sum() == 0:
        raise ValueError("FIR kernel taps must not sum to zero")
    k = k / np.sum(k)
    return k * factor_sq


def _check_format(data_format):
    if data_format not in ("NCHW", "NHWC"):
        raise ValueError("data_format must be 'NCHW' or 'NHWC', got %r" % (data_format,))


def _check_factor(factor):
    if not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError("resampling factor must be an integer >= 1, got %r" % (factor,))
    return int(factor)


def _simple_upfirdn_2d(x, k, up=1, down=1, pad0=0, pad1=0, data_format="NCHW", impl="auto"):
    """upfirdn_2d on an NCHW or NHWC image batch with the same factors along both axes."""
    _check_format(data_format)
    x = tf.convert_to_tensor(x)
    if x.shape.rank != 4:
        raise ValueError("expected a 4-D image batch, got shape %s" % (x.shape,))
    if data_format == "NCHW":
        _, c, h, w = [d.value for d in x.shape]
        y = tf.reshape(x, [-1, h, w, 1])
        y = upfirdn_2d(y, k, upx=up, upy=up, downx=down, downy=down, padx0=pad0, padx1=pad1, pady0=pad0, pady1=pad1, impl=impl)
        return tf.reshape(y, [-1, c, y.shape[1].value, y.shape[2].value])
    _, h, w, c = [d.value for d in x.shape]
    # minor axis = channels; the op processes all of them at once.
    return upfirdn_2d(x, k, upx=up, upy=up, downx=down, downy=down, padx0=pad0, padx1=pad1, pady0=pad0, pady1=pad1, impl=impl)


def filter_2d(x, k, gain=1, data_format="NCHW", impl="auto"):
    """FIR-filter each channel, keeping the size. Returns the shape of ``x``."""
    k = setup_kernel(k) * gain
    p = k.shape[0] - 1
    return _simple_upfirdn_2d(x, k, pad0=(p + 1) // 2, pad1=p // 2, data_format=data_format, impl=impl)


def upsample_2d(x, k=None, factor=2, gain=1, data_format="NCHW", impl="auto"):
    """Upsample by ``factor`` (zero insertion + FIR). [N,C,H,W] -> [N,C,H*f,W*f] (or NHWC)."""
    factor = _check_factor(factor)
    k = setup_kernel([1] * factor if k is None else k) * (gain * factor ** 2)
    p = k.shape[0] - factor
    return _simple_upfirdn_2d(x, k, up=factor, pad0=(p + 1) // 2 + factor - 1, pad1=p // 2, data_format=data_format, impl=impl)


def downsample_2d(x, k=None, factor=2, gain=1, data_format="NCHW", impl="auto"):
    """FIR + keep every ``factor``-th sample. [N,C,H,W] -> [N,C,H/f,W/f] (or NHWC)."""
    factor = _check_factor(factor)
    k = setup_kernel([1] * factor if k is None else k) * gain
    p = k.shape[0] - factor
    return _simple_upfirdn_2d(x, k, down=factor, pad0=(p + 1) // 2, pad1=p // 2, data_format=data_format, impl=impl)


def _conv_weight_shape(w):
    w = tf.convert_to_tensor(w)
    if w.shape.rank != 4:
        raise ValueError("conv weight must be [k_h, k_w, in_channels, out_channels], got %s" % (w.shape,))
    kh, kw, cin, cout = [d.value for d in w.shape]
    if kh != kw:
        raise ValueError("conv weight must be square, got %dx%d" % (kh, kw))
    return w, kh, cin, cout


def upsample_conv_2d(x, w, k=None, factor=2, gain=1, data_format="NCHW", impl="auto"):
    """Fused ``upsample_2d`` followed by a 'SAME' ``conv2d`` with weight ``w`` [kh, kw, in, out].

    Done as a stride-``factor`` transposed convolution (no zero-multiplies) followed by the FIR.
    Equal to the literal composition away from the border (everywhere for box kernels or 1x1
    convs): the fused form sees the image's true values next to the edge, not zero padding.
    [N,Cin,H,W] -> [N,Cout,H*f,W*f] (or NHWC).
    """
    _check_format(data_format)
    factor = _check_factor(factor)
    x = tf.convert_to_tensor(x)
    w, conv_k, cin, cout = _conv_weight_shape(w)
    k = setup_kernel([1] * factor if k is None else k) * (gain * factor ** 2)
    p = (k.shape[0] - factor) - (conv_k - 1)

    if data_format == "NCHW":
        n, h, wd = tf.shape(x)[0], x.shape[2].value, x.shape[3].value
        stride = [1, 1, factor, factor]
        out_shape = [n, cout, (h - 1) * factor + conv_k, (wd - 1) * factor + conv_k]
    else:
        n, h, wd = tf.shape(x)[0], x.shape[1].value, x.shape[2].value
        stride = [1, factor, factor, 1]
        out_shape = [n, (h - 1) * factor + conv_k, (wd - 1) * factor + conv_k, cout]
    # conv2d_transpose wants [kh, kw, out, in] and correlates with the spatially flipped kernel;
    # flipping here makes the result the adjoint-free "upsample then correlate with w" form.
    w_t = tf.transpose(w[::-1, ::-1], [0, 1, 3, 2])
    x = tf.nn.conv2d_transpose(x, w_t, output_shape=tf.stack(out_shape), strides=stride, padding="VALID", data_format=data_format)
    if data_format == "NCHW":
        x.set_shape([None, cout, out_shape[2], out_shape[3]])
    else:
        x.set_shape([None, out_shape[1], out_shape[2], cout])
    return _simple_upfirdn_2d(x, k, pad0=(p + 1) // 2 + factor - 1, pad1=p // 2 + factor - 1, data_format=data_format, impl=impl)


def conv_downsample_2d(x, w, k=None, factor=2, gain=1, data_format="NCHW", impl="auto"):
    """Fused 'SAME' ``conv2d`` with weight ``w`` followed by ``downsample_2d``.

    Done as the FIR followed by a stride-``factor`` 'VALID' convolution. Equal to the literal
    composition away from the border (everywhere for box kernels or 1x1 convs).
    [N,Cin,H,W] -> [N,Cout,H/f,W/f] (or NHWC).
    """
    _check_format(data_format)
    factor = _check_factor(factor)
    w, conv_k, _, _ = _conv_weight_shape(w)
    k = setup_kernel([1] * factor if k is None else k) * gain
    p = (k.shape[0] - factor) + (conv_k - 1)
    x = _simple_upfirdn_2d(x, k, pad0=(p + 1) // 2, pad1=p // 2, data_format=data_format, impl=impl)
    strides = [1, 1, factor, factor] if data_format == "NCHW" else [1, factor, factor, 1]
    return tf.nn.conv2d(x, w, strides=strides, padding="VALID", data_format=data_format)
