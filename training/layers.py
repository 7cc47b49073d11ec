"""Layers shared by the StyleGAN2 discriminator, the VP generator and the recognizer.

Every layer takes ``data_format`` ('NCHW' on a GPU, 'NHWC' on the CPU, whose convolutions reject
NCHW under TF 1.15) and ``impl`` for the custom ops. Weights use the equalised learning rate:
stored with unit variance, scaled at run time by ``gain / sqrt(fan_in)``. Weight shapes and
variable names do not depend on ``data_format``, so the same weights run in either layout.
"""

import hashlib

import numpy as np

from dnnlib.tflib.compat import tf
from dnnlib.tflib.ops.fused_bias_act import fused_bias_act
from dnnlib.tflib.ops.upfirdn_2d import conv_downsample_2d, upsample_conv_2d

DEFAULT_RESAMPLE_KERNEL = (1, 3, 3, 1)


def channel_axis(data_format):
    if data_format not in ("NCHW", "NHWC"):
        raise ValueError("data_format must be 'NCHW' or 'NHWC', got %r" % (data_format,))
    return 1 if data_format == "NCHW" else 3


def num_channels(x, data_format):
    return x.shape[channel_axis(data_format)].value


def to_nchw(x, data_format):
    return x if data_format == "NCHW" else tf.transpose(x, [0, 3, 1, 2])


def from_nchw(x, data_format):
    return x if data_format == "NCHW" else tf.transpose(x, [0, 2, 3, 1])


def get_weight(shape, gain=1.0, use_wscale=True, lrmul=1.0, weight_var="weight"):
    """Equalised-learning-rate weight of ``shape`` ([..., fan_in_last, fmaps]); fan_in = prod(shape[:-1])."""
    fan_in = np.prod(shape[:-1])
    he_std = gain / np.sqrt(fan_in)
    if use_wscale:
        init_std, runtime_coef = 1.0 / lrmul, he_std * lrmul
    else:
        init_std, runtime_coef = he_std / lrmul, lrmul
    w = tf.get_variable(weight_var, shape=shape, initializer=tf.initializers.random_normal(0, init_std))
    return w * runtime_coef


def dense_layer(x, fmaps, gain=1.0, use_wscale=True, lrmul=1.0, weight_var="weight"):
    """[N, ...] -> [N, fmaps] (flattens the input)."""
    if x.shape.rank > 2:
        x = tf.reshape(x, [-1, int(np.prod([d.value for d in x.shape[1:]]))])
    w = get_weight([x.shape[1].value, fmaps], gain=gain, use_wscale=use_wscale, lrmul=lrmul, weight_var=weight_var)
    return tf.matmul(x, tf.cast(w, x.dtype))


def conv2d_layer(x, fmaps, kernel, up=False, down=False, resample_kernel=None, gain=1.0, use_wscale=True,
                 lrmul=1.0, weight_var="weight", data_format="NCHW", impl="auto"):
    """'SAME' k x k convolution, optionally fused with FIR 2x up- or downsampling."""
    cin = num_channels(x, data_format)
    w = get_weight([kernel, kernel, cin, fmaps], gain=gain, use_wscale=use_wscale, lrmul=lrmul, weight_var=weight_var)
    return conv2d_layer_from_weight(x, tf.cast(w, x.dtype), up=up, down=down, resample_kernel=resample_kernel, data_format=data_format, impl=impl)


def apply_bias_act(x, act="linear", alpha=None, gain=None, lrmul=1.0, bias_var="bias", data_format="NCHW", impl="auto"):
    """Learned bias (zero-initialised) + activation; for dense outputs the channel axis is 1."""
    axis = 1 if x.shape.rank == 2 else channel_axis(data_format)
    b = tf.get_variable(bias_var, shape=[x.shape[axis].value], initializer=tf.initializers.zeros()) * lrmul
    return fused_bias_act(x, b=tf.cast(b, x.dtype), axis=axis, act=act, alpha=alpha, gain=gain, impl=impl)


def modulated_conv2d_layer(x, style_source, fmaps, kernel, up=False, down=False, demodulate=True,
                           resample_kernel=None, gain=1.0, use_wscale=True, lrmul=1.0,
                           data_format="NCHW", impl="auto"):
    """StyleGAN2 modulated (and demodulated) convolution.

    ``style_source`` [N, D] is mapped by an affine layer (bias initialised to 1) to one scale per
    input channel. Implemented as scale-input / shared conv / scale-output, which equals the
    per-sample weight form and needs no grouped convolution (unsupported on the CPU).
    """
    cin = num_channels(x, data_format)
    w = get_weight([kernel, kernel, cin, fmaps], gain=gain, use_wscale=use_wscale, lrmul=lrmul)
    style = dense_layer(style_source, fmaps=cin, weight_var="mod_weight")
    style = apply_bias_act(style, bias_var="mod_bias", impl=impl) + 1  # [N, cin]
    bshape = [-1, cin, 1, 1] if data_format == "NCHW" else [-1, 1, 1, cin]
    x = x * tf.cast(tf.reshape(style, bshape), x.dtype)
    x = conv2d_layer_from_weight(x, tf.cast(w, x.dtype), up=up, down=down, resample_kernel=resample_kernel, data_format=data_format, impl=impl)
    if demodulate:
        # Per-sample, per-output-channel norm of the modulated weight.
        w_mod_sq = tf.reduce_sum(tf.square(w)[tf.newaxis] * tf.square(style)[:, tf.newaxis, tf.newaxis, :, tf.newaxis], axis=[1, 2, 3])
        demod = tf.rsqrt(w_mod_sq + 1e-8)  # [N, fmaps]
        oshape = [-1, fmaps, 1, 1] if data_format == "NCHW" else [-1, 1, 1, fmaps]
        x = x * tf.cast(tf.reshape(demod, oshape), x.dtype)
    return x


def conv2d_layer_from_weight(x, w, up=False, down=False, resample_kernel=None, data_format="NCHW", impl="auto"):
    """The convolution part of ``conv2d_layer`` for a weight made elsewhere."""
    if up and down:
        raise ValueError("conv2d_layer: up and down are exclusive")
    resample_kernel = resample_kernel or DEFAULT_RESAMPLE_KERNEL
    if up:
        return upsample_conv_2d(x, w, k=resample_kernel, data_format=data_format, impl=impl)
    if down:
        return conv_downsample_2d(x, w, k=resample_kernel, data_format=data_format, impl=impl)
    return tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding="SAME", data_format=data_format)


def noise_layer(x, randomize_noise=True, data_format="NCHW"):
    """Add per-pixel N(0, 1) noise (shared across channels) times a learned strength (init 0).

    With ``randomize_noise=False`` a constant noise image, drawn once per variable scope with
    a seeded numpy RNG, is stored as a non-trainable variable, so evaluation is repeatable and the
    same noise survives pickling.
    """
    axis = channel_axis(data_format)
    h, w = (x.shape[2].value, x.shape[3].value) if axis == 1 else (x.shape[1].value, x.shape[2].value)
    noise_shape = [1, 1, h, w] if axis == 1 else [1, h, w, 1]
    const = tf.get_variable(
        "noise_const", shape=[1, 1, h, w], trainable=False,
        initializer=tf.initializers.random_normal(0, 1, seed=_scope_seed()),
    )
    if randomize_noise:
        noise = tf.random_normal([tf.shape(x)[0]] + noise_shape[1:], dtype=x.dtype)
    else:
        noise = tf.cast(tf.reshape(const, noise_shape), x.dtype)
    strength = tf.get_variable("noise_strength", shape=[], initializer=tf.initializers.zeros())
    return x + noise * tf.cast(strength, x.dtype)


def _scope_seed():
    """A stable seed derived from the variable scope name (same net -> same fixed noise)."""
    digest = hashlib.md5(tf.get_variable_scope().name.encode("utf-8")).hexdigest()
    return int(digest[:7], 16)


def minibatch_stddev_layer(x, group_size=4, num_new_features=1, data_format="NCHW"):
    """Append the std of features across groups of ``group_size`` samples as extra channels.

    N must be divisible by min(group_size, N).
    """
    x = to_nchw(x, data_format)
    group_size = tf.minimum(group_size, tf.shape(x)[0])
    _, c, h, w = [d.value for d in x.shape]
    y = tf.reshape(x, [group_size, -1, num_new_features, c // num_new_features, h, w])  # [G, M, n, c, H, W]
    y = tf.cast(y, tf.float32)
    y -= tf.reduce_mean(y, axis=0, keepdims=True)
    y = tf.reduce_mean(tf.square(y), axis=0)
    y = tf.sqrt(y + 1e-8)
    y = tf.reduce_mean(y, axis=[2, 3, 4], keepdims=True)  # [M, n, 1, 1, 1]
    y = tf.reduce_mean(y, axis=[2])  # [M, n, 1, 1]
    y = tf.cast(y, x.dtype)
    y = tf.tile(y, [group_size, 1, h, w])  # [N, n, H, W]
    return from_nchw(tf.concat([x, y], axis=1), data_format)
