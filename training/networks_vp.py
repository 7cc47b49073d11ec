"""The VP-GAN networks: the module-list generator and the recognizer.

Generator. There is no mapping network and no separate noise vector: the input is one code
c = [discrete one-hot (D_global dims) | continuous dims], prior U(-2, 2) on the continuous part.
The synthesis network starts from a learned 8 x 4 x 4 constant and applies the modules of
``--module_list`` in order, e.g. '[Conv-up-1, C_global-10, Conv-id-2, Noise-2, ...]':

  C_global-k         the next k continuous dims modulate a 3x3 conv (StyleGAN2 mod/demod)
  C_nocond_global-k  the same after a dense(k -> 128, lrelu) embedding
  D_global-k         a k-way one-hot modulates a 3x3 conv (discrete code)
  Conv-up-n / Conv-id-n / Conv-down-n   n plain 3x3 convs, each resampling 2x for up/down
  Noise-n            n x (3x3 conv without bias, + per-pixel noise x learned strength, bias, lrelu)

then a 1x1 ToRGB. Module i has nf(i) = clip(int(fmap_base / 2**(i * fmap_decay)), 16, 512)
output channels: widths follow the module's index in the list, not the resolution. The output
resolution is 4 * 2**(#up - #down) and must equal the dataset's.

Recognizer. Sees an image pair (x1, x2) -- channel-concatenated ('concat') or subtracted
('diff') -- through the residual discriminator body and predicts, as logits, which latent
dimension differs between the two codes.
"""

import re

import numpy as np

from dnnlib.util import EasyDict
from dnnlib.tflib.compat import tf
from training import layers
from training.networks_stylegan2 import check_resolution, discriminator_body

LATENT_MODULES = ("D_global", "C_nocond_global", "C_global")
PLAIN_MODULES = ("Conv-up", "Conv-id", "Conv-down", "Noise")
CONST_CHANNELS = 8

_TOKEN = re.compile(r"^([A-Za-z_]+(?:-[A-Za-z_]+)*)-(\d+)$")


def parse_module_list(module_list):
    """'[Conv-up-1, C_global-10, ...]' -> [('Conv-up', 1), ('C_global', 10), ...] (size-0 modules dropped)."""
    if not isinstance(module_list, str) or not module_list.strip():
        raise ValueError("--module_list is required, e.g. '[Conv-up-1, C_global-10, Conv-id-1]'")
    text = module_list.strip()
    if not (text.startswith("[") and text.endswith("]")):
        raise ValueError("--module_list must be a bracketed list like '[Conv-up-1, C_global-10]', got %r" % module_list)
    modules = []
    for token in text[1:-1].split(","):
        token = token.strip()
        match = _TOKEN.match(token)
        if not match:
            raise ValueError("--module_list: bad module %r; expected <Name>-<size>, e.g. C_global-10 or Conv-up-1" % token)
        key, size = match.group(1), int(match.group(2))
        if key not in LATENT_MODULES + PLAIN_MODULES:
            raise ValueError("--module_list: unknown module %r in %r; choose from %s" % (key, token, ", ".join(LATENT_MODULES + PLAIN_MODULES)))
        if size > 0:
            modules.append((key, size))
    if not modules:
        raise ValueError("--module_list has no modules of non-zero size")
    return modules


def plan_generator(module_list, resolution=None, label_size=0, fmap_base=512, fmap_decay=0.15, fmap_min=16, fmap_max=512):
    """Resolve a module list into a per-module table, without building any graph.

    Returns EasyDict(modules=[EasyDict(index, key, size, fmaps, resolution, latent_start, latent_stop)],
    discrete_size, continuous_size, latent_size, output_resolution). Latent slices index the full
    code [discrete | continuous]. Raises ValueError when ``resolution`` is given and differs.
    """
    modules = parse_module_list(module_list) if isinstance(module_list, str) else list(module_list)
    if label_size:
        modules = [("Label", label_size)] + modules
    discrete_size = sum(size for key, size in modules if key == "D_global")
    continuous_size = sum(size for key, size in modules if key in ("C_global", "C_nocond_global"))
    table = []
    res = 4
    next_discrete, next_continuous = 0, discrete_size
    for index, (key, size) in enumerate(modules):
        fmaps = int(np.clip(int(fmap_base / (2.0 ** (index * fmap_decay))), fmap_min, fmap_max))
        start = stop = None
        if key == "D_global":
            start, stop = next_discrete, next_discrete + size
            next_discrete = stop
        elif key in ("C_global", "C_nocond_global"):
            start, stop = next_continuous, next_continuous + size
            next_continuous = stop
        elif key == "Conv-up":
            res *= 2 ** size
        elif key == "Conv-down":
            res //= 2 ** size
            if res < 4:
                raise ValueError("--module_list: module %d (Conv-down-%d) shrinks the image below 4x4" % (index, size))
        table.append(EasyDict(index=index, key=key, size=size, fmaps=fmaps, resolution=res, latent_start=start, latent_stop=stop))
    plan = EasyDict(modules=table, discrete_size=discrete_size, continuous_size=continuous_size,
                    latent_size=discrete_size + continuous_size, output_resolution=res)
    if plan.continuous_size == 0:
        raise ValueError("--module_list has no C_global / C_nocond_global module: the generator would have no continuous code")
    if resolution is not None and res != resolution:
        ups = sum(m.size for m in table if m.key == "Conv-up")
        raise ValueError(
            "--module_list produces %dx%d images (4 * 2^%d Conv-up) but training is at %dx%d (--resolution, "
            "else the dataset's): use %d Conv-up layers in total for %dx%d"
            % (res, res, ups, resolution, resolution, int(np.log2(resolution)) - 2, resolution, resolution)
        )
    return plan


# ----------------------------------------------------------------------------------------------


def G_main_vp(latents_in, labels_in, num_channels=3, resolution=128, label_size=0, module_list=None,
              fmap_base=512, fmap_decay=0.15, fmap_min=16, fmap_max=512, single_const=True, nonlinearity="lrelu",
              resample_kernel=None, randomize_noise=True, return_dlatents=False, data_format="NCHW",
              impl="auto", **_kwargs):
    """VP generator. latents_in [N, latent_size] = [one-hot discrete | continuous],
    labels_in [N, label_size] -> images [N, C, R, R] in about [-1, 1] (NHWC if data_format='NHWC').

    The identity "mapping" of the original: dlatents = [labels | latents], no layers.
    """
    plan = plan_generator(module_list, resolution, label_size, fmap_base, fmap_decay, fmap_min, fmap_max)
    latents_in.set_shape([None, plan.latent_size])
    labels_in.set_shape([None, label_size])
    latents = tf.cast(latents_in, tf.float32)
    labels = tf.cast(labels_in, tf.float32)
    discrete = latents[:, :plan.discrete_size]
    common = dict(data_format=data_format, impl=impl)

    with tf.variable_scope("Const"):
        if single_const or plan.discrete_size == 0:
            const = tf.get_variable("const", shape=[1, CONST_CHANNELS, 4, 4], initializer=tf.initializers.random_normal())
            x = tf.tile(const, [tf.shape(latents)[0], 1, 1, 1])
        else:
            # One learned constant per discrete category, selected by the one-hot code.
            const = tf.get_variable("const", shape=[plan.discrete_size, CONST_CHANNELS, 4, 4], initializer=tf.initializers.random_normal())
            x = tf.reshape(tf.matmul(discrete, tf.reshape(const, [plan.discrete_size, -1])), [-1, CONST_CHANNELS, 4, 4])
        x = layers.from_nchw(x, data_format)

    def bias_act(t):
        return layers.apply_bias_act(t, act=nonlinearity, **common)

    for module in plan.modules:
        with tf.variable_scope("%d_%s-%d" % (module.index, module.key, module.size)):
            if module.key in ("Conv-up", "Conv-id", "Conv-down"):
                for j in range(module.size):
                    with tf.variable_scope("Conv%d" % j):
                        x = layers.conv2d_layer(x, module.fmaps, 3, up=module.key == "Conv-up", down=module.key == "Conv-down", resample_kernel=resample_kernel, **common)
                        x = bias_act(x)
            elif module.key == "Noise":
                for j in range(module.size):
                    with tf.variable_scope("Conv%d" % j):
                        x = layers.conv2d_layer(x, module.fmaps, 3, **common)
                        x = layers.noise_layer(x, randomize_noise=randomize_noise, data_format=data_format)
                        x = bias_act(x)
            else:
                if module.key == "Label":
                    style = labels
                else:
                    style = latents[:, module.latent_start:module.latent_stop]
                if module.key == "C_global" and plan.discrete_size > 0:
                    with tf.variable_scope("Gate"):
                        g = layers.apply_bias_act(layers.dense_layer(discrete, 128), act=nonlinearity, impl=impl, bias_var="bias0")
                        g = layers.apply_bias_act(layers.dense_layer(g, module.size, weight_var="weight1"), act="sigmoid", impl=impl, bias_var="bias1")
                        style = style * g
                if module.key == "C_nocond_global":
                    with tf.variable_scope("Embed"):
                        style = layers.apply_bias_act(layers.dense_layer(style, 128), act=nonlinearity, impl=impl)
                x = layers.modulated_conv2d_layer(x, style, module.fmaps, 3, **common)
                x = bias_act(x)

    with tf.variable_scope("ToRGB"):
        x = layers.conv2d_layer(x, num_channels, 1, **common)
        x = layers.apply_bias_act(x, **common)
    images_out = tf.identity(x, name="images_out")
    if return_dlatents:
        return images_out, tf.concat([labels, latents], axis=1, name="dlatents_out")
    return images_out


def recognizer(images1_in, images2_in, num_channels=3, resolution=128, num_outputs=30, connect_mode="concat",
               fmap_base=512, fmap_decay=1.0, fmap_min=1, fmap_max=512, architecture="resnet",
               nonlinearity="lrelu", mbstd_group_size=4, mbstd_num_features=1, resample_kernel=None,
               data_format="NCHW", impl="auto", **_kwargs):
    """Image pair [N, C, R, R] x 2 -> logits [N, num_outputs] over the latent dims that may differ.

    connect_mode: 'concat' (2C channels, the original's default) or 'diff' (x1 - x2).
    Note that the minibatch-stddev layer mixes statistics across the pairs of a batch, as in the original.
    """
    check_resolution(resolution)
    shape = [None, num_channels, resolution, resolution] if data_format == "NCHW" else [None, resolution, resolution, num_channels]
    images1_in.set_shape(shape)
    images2_in.set_shape(shape)
    x1, x2 = tf.cast(images1_in, tf.float32), tf.cast(images2_in, tf.float32)
    if connect_mode == "concat":
        x = tf.concat([x1, x2], axis=layers.channel_axis(data_format))
    elif connect_mode == "diff":
        x = x1 - x2
    else:
        raise ValueError("--connect_mode must be 'concat' or 'diff', got %r" % (connect_mode,))
    x = discriminator_body(
        x, resolution, fmap_base=fmap_base, fmap_decay=fmap_decay, fmap_min=fmap_min, fmap_max=fmap_max,
        architecture=architecture, nonlinearity=nonlinearity, mbstd_group_size=mbstd_group_size,
        mbstd_num_features=mbstd_num_features, resample_kernel=resample_kernel, data_format=data_format, impl=impl,
    )
    with tf.variable_scope("Output"):
        x = layers.dense_layer(x, fmaps=num_outputs)
        x = layers.apply_bias_act(x, impl=impl)
    return tf.identity(x, name="logits_out")
