"""The StyleGAN2 residual discriminator ``D_stylegan2`` and the body it shares with the recognizer.

Widths: nf(stage) = clip(int(fmap_base / 2**(stage * fmap_decay)), fmap_min, fmap_max); the VP
models use fmap_base 512, fmap_decay 1, which gives 8, 16, 32, 64, 128, 256 channels from 128x128
down to 4x4, then a 512-unit dense layer.
"""

import numpy as np

from dnnlib.tflib.compat import tf
from training import layers


def check_resolution(resolution):
    log2 = int(np.log2(resolution)) if resolution and resolution > 0 else 0
    if resolution != 2 ** log2 or resolution < 4:
        raise ValueError("resolution must be a power of two >= 4, got %r" % (resolution,))
    return log2


def discriminator_body(images, resolution, fmap_base=512, fmap_decay=1.0, fmap_min=1, fmap_max=512,
                       architecture="resnet", nonlinearity="lrelu", mbstd_group_size=4, mbstd_num_features=1,
                       resample_kernel=None, data_format="NCHW", impl="auto"):
    """Image batch [N, C, R, R] (or NHWC) -> [N, nf(0)] features, as D_stylegan2 up to its output layer.

    architecture: 'resnet' (residual blocks, the VP default) or 'orig' (plain conv stack).
    """
    resolution_log2 = check_resolution(resolution)
    if architecture not in ("resnet", "orig"):
        raise ValueError("architecture must be 'resnet' or 'orig', got %r" % (architecture,))

    def nf(stage):
        return int(np.clip(int(fmap_base / (2.0 ** (stage * fmap_decay))), fmap_min, fmap_max))

    common = dict(data_format=data_format, impl=impl)
    x = images
    with tf.variable_scope("FromRGB"):
        x = layers.conv2d_layer(x, fmaps=nf(resolution_log2 - 1), kernel=1, **common)
        x = layers.apply_bias_act(x, act=nonlinearity, **common)

    for res in range(resolution_log2, 2, -1):
        with tf.variable_scope("%dx%d" % (2 ** res, 2 ** res)):
            shortcut = x
            with tf.variable_scope("Conv0"):
                x = layers.conv2d_layer(x, fmaps=nf(res - 1), kernel=3, **common)
                x = layers.apply_bias_act(x, act=nonlinearity, **common)
            with tf.variable_scope("Conv1_down"):
                x = layers.conv2d_layer(x, fmaps=nf(res - 2), kernel=3, down=True, resample_kernel=resample_kernel, **common)
                x = layers.apply_bias_act(x, act=nonlinearity, **common)
            if architecture == "resnet":
                with tf.variable_scope("Skip"):
                    shortcut = layers.conv2d_layer(shortcut, fmaps=nf(res - 2), kernel=1, down=True, resample_kernel=resample_kernel, **common)
                x = (x + shortcut) * (1 / np.sqrt(2))

    with tf.variable_scope("4x4"):
        if mbstd_group_size > 1:
            with tf.variable_scope("MinibatchStddev"):
                x = layers.minibatch_stddev_layer(x, mbstd_group_size, mbstd_num_features, data_format=data_format)
        with tf.variable_scope("Conv"):
            x = layers.conv2d_layer(x, fmaps=nf(1), kernel=3, **common)
            x = layers.apply_bias_act(x, act=nonlinearity, **common)
        # Flatten in NCHW order so dense weights mean the same thing in both layouts.
        x = layers.to_nchw(x, data_format)
        with tf.variable_scope("Dense0"):
            x = layers.dense_layer(x, fmaps=nf(0))
            x = layers.apply_bias_act(x, act=nonlinearity, impl=impl)
    return x


def D_stylegan2(images_in, labels_in, num_channels=3, resolution=128, label_size=0, fmap_base=512,
                fmap_decay=1.0, fmap_min=1, fmap_max=512, architecture="resnet", nonlinearity="lrelu",
                mbstd_group_size=4, mbstd_num_features=1, resample_kernel=None, data_format="NCHW",
                impl="auto", **_kwargs):
    """Discriminator: images [N, C, R, R] in [-1, 1] (NHWC when data_format='NHWC'), labels
    [N, label_size] -> scores [N, 1] (logits; with labels, the score of the given class)."""
    shape = [None, num_channels, resolution, resolution] if data_format == "NCHW" else [None, resolution, resolution, num_channels]
    images_in.set_shape(shape)
    labels_in.set_shape([None, label_size])
    x = discriminator_body(
        tf.cast(images_in, tf.float32), resolution, fmap_base=fmap_base, fmap_decay=fmap_decay,
        fmap_min=fmap_min, fmap_max=fmap_max, architecture=architecture, nonlinearity=nonlinearity,
        mbstd_group_size=mbstd_group_size, mbstd_num_features=mbstd_num_features,
        resample_kernel=resample_kernel, data_format=data_format, impl=impl,
    )
    with tf.variable_scope("Output"):
        x = layers.dense_layer(x, fmaps=max(label_size, 1))
        x = layers.apply_bias_act(x, impl=impl)
    if label_size:
        x = tf.reduce_sum(x * labels_in, axis=1, keepdims=True)
    return tf.identity(x, name="scores_out")
