"""The InfoGAN baseline's Q network: a residual discriminator body on one generated image that
predicts the code -- [discrete logits (D) | means (C) | log-variances (C)] -- it was made from."""

from dnnlib.tflib.compat import tf
from training import layers
from training.networks_stylegan2 import discriminator_body


def info_gan_q(images_in, num_channels=3, resolution=128, num_outputs=60, fmap_base=512, fmap_decay=1.0,
               fmap_min=1, fmap_max=512, architecture="resnet", nonlinearity="lrelu", mbstd_group_size=4,
               mbstd_num_features=1, resample_kernel=None, data_format="NCHW", impl="auto", **_kwargs):
    """Images [N, C, R, R] (NHWC if data_format='NHWC') -> [N, num_outputs] (= D + 2C)."""
    shape = [None, num_channels, resolution, resolution] if data_format == "NCHW" else [None, resolution, resolution, num_channels]
    images_in.set_shape(shape)
    x = discriminator_body(
        tf.cast(images_in, tf.float32), resolution, fmap_base=fmap_base, fmap_decay=fmap_decay, fmap_min=fmap_min,
        fmap_max=fmap_max, architecture=architecture, nonlinearity=nonlinearity, mbstd_group_size=mbstd_group_size,
        mbstd_num_features=mbstd_num_features, resample_kernel=resample_kernel, data_format=data_format, impl=impl,
    )
    with tf.variable_scope("Output"):
        x = layers.dense_layer(x, fmaps=num_outputs)
        x = layers.apply_bias_act(x, impl=impl)
    return tf.identity(x, name="code_out")
