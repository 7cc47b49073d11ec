"""The VAE-side networks of VP-VAE (the original's ``Dsprites_exp/VAE-VC``): encoder, decoder,
VP recognizer, and the FactorVAE total-correlation discriminator.

Architectures (the original VAE-VC code, see docs/decisions.md; Kim & Mnih 2018 for the TC discriminator):

  encoder      4 x [conv 4x4 stride 2 'SAME', ReLU] with 32, 32, 64, 64 channels -> dense 256 ReLU
               -> dense 2L = [mean | raw]; std = softplus(raw)
  decoder      dense 256 ReLU -> dense (R/16)^2 * 64 ReLU -> 3 x [deconv 4x4 stride 2, ReLU] with
               64, 32, 32 channels -> deconv 4x4 stride 2 to C channels (linear Bernoulli logits)
  recognizer   channel-concat of the two decoder LOGIT maps -> the encoder's conv body -> dense 256
               ReLU -> dense num_outputs (linear)
  TC discr.    6 x [dense 1000, leaky ReLU 0.2] -> dense 2 logits [joint, permuted]

The original is 64x64 (the dense layer reshapes to 4x4x64); any resolution divisible by 16 builds.
Weights: Glorot-uniform (TF-slim's default initialiser), biases zero; no equalised learning rate.

Layouts. Image inputs/outputs use ``data_format`` ('NHWC' default, or 'NCHW'); the arithmetic runs
in NHWC internally (TF's CPU convolutions reject NCHW; GPUs run both), so the same weights give the
same outputs in either layout. The decoder keeps the GAN generator's call signature
``(latents, labels)`` (labels [N, 0]) and ignores GAN-only kwargs such as ``randomize_noise``, so
pair generation, traversal grids and FID treat it as a generator. Its output is 2*sigmoid(logits)-1
in [-1, 1] (the GAN convention) or, with ``return_logits=True``, the logits.
"""

import numpy as np

from dnnlib.tflib.compat import tf

ENCODER_CHANNELS = (32, 32, 64, 64)
DECODER_CHANNELS = (64, 32, 32)
HIDDEN = 256
KERNEL = 4
TC_LAYERS = 6
TC_HIDDEN = 1000
TC_ALPHA = 0.2


# ----------------------------------------------------------------------------------------------
# Small layers (NHWC).


def _glorot(shape, fan_in, fan_out):
    limit = float(np.sqrt(6.0 / (fan_in + fan_out)))
    return tf.get_variable("weight", shape=shape, initializer=tf.random_uniform_initializer(-limit, limit))


def _bias(size):
    return tf.get_variable("bias", shape=[size], initializer=tf.zeros_initializer())


def dense(x, units, name):
    """x [N, K] -> [N, units] (before the activation)."""
    with tf.variable_scope(name):
        fan_in = int(x.shape[1])
        w = _glorot([fan_in, units], fan_in, units)
        return tf.matmul(x, w) + _bias(units)


def conv_down(x, channels, name):
    """4x4 stride-2 'SAME' convolution, NHWC [N, H, W, Cin] -> [N, H/2, W/2, channels]."""
    with tf.variable_scope(name):
        cin = int(x.shape[3])
        w = _glorot([KERNEL, KERNEL, cin, channels], KERNEL * KERNEL * cin, KERNEL * KERNEL * channels)
        y = tf.nn.conv2d(x, w, strides=[1, 2, 2, 1], padding="SAME", data_format="NHWC")
        return y + _bias(channels)


def deconv_up(x, channels, name):
    """4x4 stride-2 'SAME' transposed convolution, NHWC [N, H, W, Cin] -> [N, 2H, 2W, channels]."""
    with tf.variable_scope(name):
        cin = int(x.shape[3])
        h, w_ = int(x.shape[1]), int(x.shape[2])
        w = _glorot([KERNEL, KERNEL, channels, cin], KERNEL * KERNEL * cin, KERNEL * KERNEL * channels)
        out_shape = tf.stack([tf.shape(x)[0], 2 * h, 2 * w_, channels])
        y = tf.nn.conv2d_transpose(x, w, out_shape, strides=[1, 2, 2, 1], padding="SAME", data_format="NHWC")
        y = tf.reshape(y, [-1, 2 * h, 2 * w_, channels])  # static shape for the next layer
        return y + _bias(channels)


def _to_nhwc(x, data_format):
    return tf.transpose(x, [0, 2, 3, 1]) if data_format == "NCHW" else x


def _from_nhwc(x, data_format):
    return tf.transpose(x, [0, 3, 1, 2]) if data_format == "NCHW" else x


def _check_layout(data_format, resolution):
    if data_format not in ("NCHW", "NHWC"):
        raise ValueError("data_format must be 'NCHW' or 'NHWC', got %r" % (data_format,))
    if resolution < 16 or resolution % 16:
        raise ValueError("the VAE networks need a resolution divisible by 16 (the original: 64), got %d" % resolution)


def _conv_body(x_nhwc):
    for i, channels in enumerate(ENCODER_CHANNELS):
        x_nhwc = tf.nn.relu(conv_down(x_nhwc, channels, "Conv%d" % i))
    flat = int(np.prod([int(d) for d in x_nhwc.shape[1:]]))
    x = tf.reshape(x_nhwc, [-1, flat])
    return tf.nn.relu(dense(x, HIDDEN, "Dense0"))


# ----------------------------------------------------------------------------------------------
# Build functions for tflib.Network.


def vae_encoder(images_in, num_channels=1, resolution=64, latent_size=6, data_format="NHWC", **_kwargs):
    """images [N, C, R, R] (NCHW) or [N, R, R, C] (NHWC), float in [0, 1] -> (mean [N, L], std [N, L])."""
    _check_layout(data_format, resolution)
    shape = [num_channels, resolution, resolution] if data_format == "NCHW" else [resolution, resolution, num_channels]
    images_in.set_shape([None] + shape)
    x = _conv_body(_to_nhwc(tf.cast(images_in, tf.float32), data_format))
    out = dense(x, 2 * latent_size, "Dense1")
    mean = tf.identity(out[:, :latent_size], name="mean")
    std = tf.nn.softplus(out[:, latent_size:], name="std")
    return mean, std


def vae_decoder(latents_in, labels_in, num_channels=1, resolution=64, latent_size=6, label_size=0, return_logits=False,
                data_format="NHWC", latent_type="uniform", **_kwargs):
    """(latents [N, L], labels [N, label_size]) -> images in [-1, 1], or the logits with ``return_logits``.

    ``latent_type`` is not used here: it records the prior that pair generation and traversal grids
    sample the code from (U(-2, 2) as the original). Labels (normally [N, 0]) are appended to the code.
    """
    _check_layout(data_format, resolution)
    latents_in.set_shape([None, latent_size])
    labels_in.set_shape([None, label_size])
    x = tf.cast(latents_in, tf.float32)
    if label_size:
        x = tf.concat([x, tf.cast(labels_in, tf.float32)], axis=1)
    base = resolution // 16
    x = tf.nn.relu(dense(x, HIDDEN, "Dense0"))
    x = tf.nn.relu(dense(x, base * base * ENCODER_CHANNELS[-1], "Dense1"))
    x = tf.reshape(x, [-1, base, base, ENCODER_CHANNELS[-1]])
    for i, channels in enumerate(DECODER_CHANNELS):
        x = tf.nn.relu(deconv_up(x, channels, "Deconv%d" % i))
    logits = deconv_up(x, num_channels, "Deconv%d" % len(DECODER_CHANNELS))
    logits = _from_nhwc(logits, data_format)
    if return_logits:
        return tf.identity(logits, name="logits")
    return tf.identity(2.0 * tf.nn.sigmoid(logits) - 1.0, name="images_out")


def vae_recognizer(images1_in, images2_in, num_channels=1, resolution=64, num_outputs=6, data_format="NHWC", **_kwargs):
    """Two decoder logit maps (layout ``data_format``) -> [N, num_outputs] logits over latent dims."""
    _check_layout(data_format, resolution)
    shape = [num_channels, resolution, resolution] if data_format == "NCHW" else [resolution, resolution, num_channels]
    images1_in.set_shape([None] + shape)
    images2_in.set_shape([None] + shape)
    pair = tf.concat([_to_nhwc(images1_in, data_format), _to_nhwc(images2_in, data_format)], axis=3)
    x = _conv_body(pair)
    return tf.identity(dense(x, num_outputs, "Dense1"), name="vp_logits")


def tc_discriminator(codes_in, latent_size=6, **_kwargs):
    """FactorVAE discriminator: codes [N, L] -> logits [N, 2] = [joint q(z), product of marginals]."""
    codes_in.set_shape([None, latent_size])
    x = tf.cast(codes_in, tf.float32)
    for i in range(TC_LAYERS):
        x = tf.nn.leaky_relu(dense(x, TC_HIDDEN, "Dense%d" % i), alpha=TC_ALPHA)
    return tf.identity(dense(x, 2, "Dense%d" % TC_LAYERS), name="tc_logits")


def kernel_variables(net):
    """The conv / deconv / dense kernels ('.../weight') of a network: what the L2 penalty covers."""
    return [v for name, v in net.trainables.items() if name.split("/")[-1] == "weight"]


def representation_function(E, minibatch_size=64):
    """The encoder as a disentanglement-metric representation: observations float [N, C, H, W] in [0, 1]
    (NCHW, the ground-truth data convention) -> posterior means float64 [N, L], whatever E's layout."""
    nhwc = E.static_kwargs.get("data_format", "NHWC") == "NHWC"

    def represent(observations):
        x = np.asarray(observations, np.float32)
        if nhwc:
            x = x.transpose(0, 2, 3, 1)
        return E.run(x, minibatch_size=minibatch_size)[0].astype(np.float64)

    return represent
