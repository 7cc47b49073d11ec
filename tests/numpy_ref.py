"""Independent numpy reference implementations for the ops tests (no TensorFlow here).

Everything is written with explicit index arithmetic and loops over kernel taps, so that it
shares no code and as little structure as possible with ``dnnlib/tflib/ops``. Only features
available in numpy 1.18 are used.

Conventions
-----------
* Images are NHWC unless a function says otherwise; 1-D/2-D FIR kernels are applied as *true*
  convolutions (the kernel is flipped), conv2d weights ``w[kh, kw, cin, cout]`` as TF does, i.e.
  as cross-correlations (not flipped).
* Pixel centres: input pixel ``i`` of a signal that is resampled by ``f`` sits at the fine-grid
  coordinate ``i*f + (f-1)/2``; a FIR kernel with ``n`` taps is centred on tap ``(n-1)/2``. The
  resampling helpers below follow from these two rules (half-sample ties rounded down).
"""

import math

import numpy as np

# ----------------------------------------------------------------------------------------------
# Activations: value, first and second derivative, each written out per element with `math`.

_SELU_LAMBDA = 1.0507009873554805
_SELU_ALPHA = 1.6732632423543772


def _sig(v):
    # Numerically safe logistic function for a python float.
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


def _softplus(v):
    # log(1 + e^v) without overflow.
    return max(v, 0.0) + math.log1p(math.exp(-abs(v)))


# name -> (f, f', f''), each a function of (v, alpha) for one python float v.
_ACT_SCALAR = {
    "linear": (
        lambda v, a: v,
        lambda v, a: 1.0,
        lambda v, a: 0.0,
    ),
    "relu": (
        lambda v, a: v if v > 0 else 0.0,
        lambda v, a: 1.0 if v > 0 else 0.0,
        lambda v, a: 0.0,
    ),
    "lrelu": (
        lambda v, a: v if v >= 0 else a * v,
        lambda v, a: 1.0 if v >= 0 else a,
        lambda v, a: 0.0,
    ),
    "tanh": (
        lambda v, a: math.tanh(v),
        lambda v, a: 1.0 - math.tanh(v) ** 2,
        lambda v, a: -2.0 * math.tanh(v) * (1.0 - math.tanh(v) ** 2),
    ),
    "sigmoid": (
        lambda v, a: _sig(v),
        lambda v, a: _sig(v) * (1.0 - _sig(v)),
        lambda v, a: _sig(v) * (1.0 - _sig(v)) * (1.0 - 2.0 * _sig(v)),
    ),
    "elu": (
        lambda v, a: v if v >= 0 else a * (math.exp(v) - 1.0),
        lambda v, a: 1.0 if v >= 0 else a * math.exp(v),
        lambda v, a: 0.0 if v >= 0 else a * math.exp(v),
    ),
    "selu": (
        lambda v, a: _SELU_LAMBDA * (v if v >= 0 else _SELU_ALPHA * (math.exp(v) - 1.0)),
        lambda v, a: _SELU_LAMBDA * (1.0 if v >= 0 else _SELU_ALPHA * math.exp(v)),
        lambda v, a: _SELU_LAMBDA * (0.0 if v >= 0 else _SELU_ALPHA * math.exp(v)),
    ),
    "softplus": (
        lambda v, a: _softplus(v),
        lambda v, a: _sig(v),
        lambda v, a: _sig(v) * (1.0 - _sig(v)),
    ),
    # swish(v) = v s(v); swish' = s + v s (1-s); swish'' = s (1-s) (2 + v (1 - 2 s)).
    "swish": (
        lambda v, a: v * _sig(v),
        lambda v, a: _sig(v) + v * _sig(v) * (1.0 - _sig(v)),
        lambda v, a: _sig(v) * (1.0 - _sig(v)) * (2.0 + v * (1.0 - 2.0 * _sig(v))),
    ),
}

ACT_NAMES = sorted(_ACT_SCALAR)

# Defaults documented for fused_bias_act (written down here independently of the code under test).
DEFAULT_ALPHA = {"lrelu": 0.2, "elu": 1.0}
DEFAULT_GAIN = {name: 1.0 for name in ACT_NAMES}
DEFAULT_GAIN.update(relu=math.sqrt(2.0), lrelu=math.sqrt(2.0), swish=math.sqrt(2.0))


def _elementwise(fn, x, alpha):
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    flat_in, flat_out = x.reshape(-1), out.reshape(-1)
    for i in range(flat_in.size):
        flat_out[i] = fn(float(flat_in[i]), alpha)
    return out


def _resolve(act, alpha, gain):
    alpha = DEFAULT_ALPHA.get(act, 0.0) if alpha is None else float(alpha)
    gain = DEFAULT_GAIN[act] if gain is None else float(gain)
    return alpha, gain


def bias_act(x, b=None, axis=1, act="linear", alpha=None, gain=None, order=0):
    """``order``-th derivative (0, 1 or 2) of ``gain * act(x + b)`` with respect to x, per element.

    ``b`` (1-D) is added along ``axis``. Computed in float64.
    """
    alpha, gain = _resolve(act, alpha, gain)
    h = np.array(x, dtype=np.float64)
    if b is not None:
        shape = [1] * h.ndim
        shape[axis % h.ndim] = -1
        h = h + np.asarray(b, dtype=np.float64).reshape(shape)
    return gain * _elementwise(_ACT_SCALAR[act][order], h, alpha)


def reduce_to_axis(t, axis):
    """Sum ``t`` over every axis except ``axis`` (the bias-gradient reduction)."""
    axis = axis % t.ndim
    others = tuple(i for i in range(t.ndim) if i != axis)
    return np.sum(t, axis=others)


# ----------------------------------------------------------------------------------------------
# upfirdn_2d: [major, H, W, minor].


def _zero_insert(x, upy, upx):
    major, h, w, minor = x.shape
    out = np.zeros((major, h * upy, w * upx, minor), dtype=np.float64)
    for i in range(h):
        for j in range(w):
            out[:, i * upy, j * upx, :] = x[:, i, j, :]
    return out


def _pad_or_crop(x, pady0, pady1, padx0, padx1):
    """Index-remapping pad: output row r reads input row r - pady0 (zero outside)."""
    major, h, w, minor = x.shape
    out_h, out_w = h + pady0 + pady1, w + padx0 + padx1
    out = np.zeros((major, out_h, out_w, minor), dtype=np.float64)
    for r in range(out_h):
        src_r = r - pady0
        if not 0 <= src_r < h:
            continue
        for c in range(out_w):
            src_c = c - padx0
            if 0 <= src_c < w:
                out[:, r, c, :] = x[:, src_r, src_c, :]
    return out


def upfirdn_2d(x, k, upx=1, upy=1, downx=1, downy=1, padx0=0, padx1=0, pady0=0, pady1=0):
    """Zero insertion -> pad/crop -> true 2-D convolution ('valid') -> keep every down-th sample."""
    x = np.asarray(x, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    kh, kw = k.shape
    z = _zero_insert(x, upy, upx)
    z = _pad_or_crop(z, pady0, pady1, padx0, padx1)
    _, zh, zw, _ = z.shape
    vh, vw = zh - kh + 1, zw - kw + 1
    assert vh >= 1 and vw >= 1, "pad spec leaves less than one output sample"
    v = np.zeros((x.shape[0], vh, vw, x.shape[3]), dtype=np.float64)
    # True convolution: v[o] = sum_t z[o + t] * k[kh - 1 - t] (correlation with the flipped kernel).
    for ty in range(kh):
        for tx in range(kw):
            v += z[:, ty:ty + vh, tx:tx + vw, :] * k[kh - 1 - ty, kw - 1 - tx]
    return v[:, ::downy, ::downx, :]


def upfirdn_out_size(size, up, down, pad0, pad1, ksize):
    return (size * up + pad0 + pad1 - ksize) // down + 1


def upfirdn_2d_matrix(in_h, in_w, k, upx=1, upy=1, downx=1, downy=1, padx0=0, padx1=0, pady0=0, pady1=0):
    """The same operator as an explicit tensor ``T[qy, qx, i, j]`` (y = sum_ij T * x[:, i, j, :]).

    Output sample q (before pad/crop, the fine-grid index of the window start is q*down) receives
    input sample i, which sits at padded index i*up + pad0, through tap ``k[ksize-1 - (i*up + pad0
    - q*down)]`` whenever that tap exists. Cropped input samples are never inside a window, so the
    crop needs no special case. Used for the adjoint (gradient) and to cross-check ``upfirdn_2d``.
    """
    k = np.asarray(k, dtype=np.float64)
    kh, kw = k.shape
    out_h = upfirdn_out_size(in_h, upy, downy, pady0, pady1, kh)
    out_w = upfirdn_out_size(in_w, upx, downx, padx0, padx1, kw)
    t = np.zeros((out_h, out_w, in_h, in_w), dtype=np.float64)
    for qy in range(out_h):
        for i in range(in_h):
            ty = kh - 1 - (i * upy + pady0 - qy * downy)
            if not 0 <= ty < kh:
                continue
            for qx in range(out_w):
                for j in range(in_w):
                    tx = kw - 1 - (j * upx + padx0 - qx * downx)
                    if 0 <= tx < kw:
                        t[qy, qx, i, j] = k[ty, tx]
    return t


def apply_matrix(t, x):
    return np.einsum("abij,mijc->mabc", t, np.asarray(x, dtype=np.float64))


def apply_matrix_adjoint(t, dy):
    return np.einsum("abij,mabc->mijc", t, np.asarray(dy, dtype=np.float64))


# ----------------------------------------------------------------------------------------------
# conv2d (TF semantics: cross-correlation), NHWC, w [kh, kw, cin, cout], stride 1.


def conv2d(x, w, padding="SAME"):
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    n, h, wd, cin = x.shape
    kh, kw, wcin, cout = w.shape
    assert wcin == cin
    if padding == "SAME":
        # TF: out = in (stride 1); total pad = k - 1, the smaller half before.
        pt, pl = (kh - 1) // 2, (kw - 1) // 2
        xp = np.zeros((n, h + kh - 1, wd + kw - 1, cin), dtype=np.float64)
        xp[:, pt:pt + h, pl:pl + wd, :] = x
    elif padding == "VALID":
        xp = x
    else:
        raise ValueError(padding)
    oh, ow = xp.shape[1] - kh + 1, xp.shape[2] - kw + 1
    out = np.zeros((n, oh, ow, cout), dtype=np.float64)
    for ty in range(kh):
        for tx in range(kw):
            out += np.einsum("nhwc,co->nhwo", xp[:, ty:ty + oh, tx:tx + ow, :], w[ty, tx])
    return out


# ----------------------------------------------------------------------------------------------
# Resampling helpers, NHWC. Defined from the pixel-centre rules in the module docstring via a
# full 2-D true convolution, not via upfirdn_2d's pad arithmetic.


def norm_kernel(k):
    k = np.asarray(k, dtype=np.float64)
    if k.ndim == 1:
        k = k[:, None] * k[None, :]
    return k / k.sum()


def full_conv(x, k):
    """Full 2-D true convolution of every [H, W] plane: out[n] = sum_i x[i] k[n - i]."""
    x = np.asarray(x, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    m, h, w, c = x.shape
    kh, kw = k.shape
    out = np.zeros((m, h + kh - 1, w + kw - 1, c), dtype=np.float64)
    for ty in range(kh):
        for tx in range(kw):
            out[:, ty:ty + h, tx:tx + w, :] += x * k[ty, tx]
    return out


def filter_2d(x, k, gain=1.0):
    """Same-size FIR filter; output sample o is the full convolution at o + (n-1)//2."""
    k = norm_kernel(k) * gain
    kh, kw = k.shape
    h, w = x.shape[1], x.shape[2]
    oy, ox = (kh - 1) // 2, (kw - 1) // 2
    return full_conv(x, k)[:, oy:oy + h, ox:ox + w, :]


def upsample_2d(x, k=None, factor=2, gain=1.0):
    """Zero insertion at i*f, FIR with the kernel scaled to sum f^2 * gain.

    Input i sits at fine coordinate i*f + (f-1)/2; full-convolution sample m is centred at
    m - (n-1)/2 on the zero-inserted grid, so output j = full[j + (n - f)/2].
    """
    f = factor
    k = norm_kernel([1.0] * f if k is None else k) * (gain * f * f)
    kh, kw = k.shape
    x = np.asarray(x, dtype=np.float64)
    m, h, w, c = x.shape
    z = np.zeros((m, h * f, w * f, c), dtype=np.float64)
    z[:, ::f, ::f, :] = x
    oy, ox = (kh - f) // 2, (kw - f) // 2
    full = full_conv(z, k)
    assert oy >= 0 and ox >= 0
    return full[:, oy:oy + h * f, ox:ox + w * f, :]


def downsample_2d(x, k=None, factor=2, gain=1.0):
    """FIR with the kernel scaled to sum ``gain``, keep the sample centred on each coarse pixel.

    Coarse pixel q is centred at fine coordinate q*f + (f-1)/2 and full-convolution sample m at
    m - (n-1)/2, so output q = full[q*f + (n + f - 2)/2].
    """
    f = factor
    k = norm_kernel([1.0] * f if k is None else k) * gain
    kh, kw = k.shape
    x = np.asarray(x, dtype=np.float64)
    h, w = x.shape[1], x.shape[2]
    full = full_conv(x, k)
    oy, ox = (kh + f - 2) // 2, (kw + f - 2) // 2
    rows = [oy + q * f for q in range(h // f)]
    cols = [ox + q * f for q in range(w // f)]
    return full[:, rows][:, :, cols]


def upsample_conv_2d(x, w, k=None, factor=2, gain=1.0):
    """The composition the fused op claims to equal: upsample_2d, then 'SAME' conv2d."""
    return conv2d(upsample_2d(x, k, factor, gain), w, "SAME")


def conv_downsample_2d(x, w, k=None, factor=2, gain=1.0):
    """The composition the fused op claims to equal: 'SAME' conv2d, then downsample_2d."""
    return downsample_2d(conv2d(x, w, "SAME"), k, factor, gain)


def nchw(x):
    return np.transpose(x, [0, 3, 1, 2])


def nhwc(x):
    return np.transpose(x, [0, 2, 3, 1])


def _zero_pad_hw(x, before, after):
    m, h, w, c = x.shape
    out = np.zeros((m, h + before + after, w + before + after, c), dtype=np.float64)
    out[:, before:before + h, before:before + w, :] = x
    return out


def upsample_conv_2d_untruncated(x, w, k=None, factor=2, gain=1.0):
    """Like ``upsample_conv_2d`` but the conv sees the upsampled image's true (untruncated) values
    beyond its border instead of zeros. Equal to the literal composition away from the border
    (within ``(conv_k - 1) // 2`` output pixels of the edge they may differ unless the FIR's
    full output has no tail there, e.g. for box kernels); this is what a fused implementation
    (transposed conv + FIR on the full result) naturally computes.
    """
    f = factor
    k = norm_kernel([1.0] * f if k is None else k) * (gain * f * f)
    kh = k.shape[0]
    conv_k = np.asarray(w).shape[0]
    m = (conv_k - 1) // 2
    x = np.asarray(x, dtype=np.float64)
    n, h, wd, c = x.shape
    z = np.zeros((n, h * f, wd * f, c), dtype=np.float64)
    z[:, ::f, ::f, :] = x
    full = _zero_pad_hw(full_conv(z, k), m, m)  # zeros beyond the full convolution are exact
    # Upsampled sample j is full-convolution sample j + (kh - f)//2, i.e. index j + (kh - f)//2 + m
    # of the padded array; we want j = -m .. h*f + m - 1.
    o = (kh - f) // 2
    up_ext = full[:, o:o + h * f + 2 * m, o:o + wd * f + 2 * m, :]
    return conv2d(up_ext, w, "VALID")


def conv_downsample_2d_untruncated(x, w, k=None, factor=2, gain=1.0):
    """Like ``conv_downsample_2d`` but the FIR sees the conv's true values beyond the border."""
    f = factor
    k = norm_kernel([1.0] * f if k is None else k) * gain
    kh = k.shape[0]
    x = np.asarray(x, dtype=np.float64)
    h, wd = x.shape[1], x.shape[2]
    e = kh + f  # halo wide enough for every FIR tap that can reach outside
    s_ext = conv2d(_zero_pad_hw(x, e, e), w, "SAME")  # the conv of the zero-extended image: exact
    full = full_conv(s_ext, k)
    off = e + (kh + f - 2) // 2
    rows = [off + q * f for q in range(h // f)]
    cols = [off + q * f for q in range(wd // f)]
    return full[:, rows][:, :, cols]
