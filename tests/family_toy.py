"""A model family that exists only for the tests (NHWC): a one-layer linear autoencoder on flattened images, registered
through a spec (tests/test_model_specs.py) to show that a family is added without editing the training loop."""

import os
from collections import OrderedDict

import numpy as np

from dnnlib import tflib
from dnnlib.tflib.compat import tf
from training import grids, model_specs

NETWORKS = ("Enc", "Dec")
GENERATOR = "Dec"
LOSSES = ("tests.family_toy.toy_loss",)
ADVICE = "a lower learning rate"


def toy_encoder(images_in, num_pixels=256, code_size=2, resolution=16, **_kwargs):
    images_in.set_shape([None, resolution, resolution, 1])
    x = tf.reshape(images_in, [-1, num_pixels])
    w = tf.get_variable("weight", [num_pixels, code_size], initializer=tf.initializers.random_normal(0, 0.05))
    return tf.identity(tf.matmul(x, w), name="code")


def toy_decoder(latents_in, labels_in, num_pixels=256, code_size=2, resolution=16, **_kwargs):
    latents_in.set_shape([None, code_size])
    labels_in.set_shape([None, 0])
    w = tf.get_variable("weight", [code_size, num_pixels], initializer=tf.initializers.random_normal(0, 0.05))
    return tf.identity(tf.reshape(tf.matmul(latents_in, w), [-1, resolution, resolution, 1]), name="images_out")


def toy_loss(Enc, Dec, reals, weight=1.0):
    """weight * mean squared reconstruction error."""
    recon = Dec.get_output_for(Enc.get_output_for(reals), tf.zeros([tf.shape(reals)[0], 0]))
    return weight * tf.reduce_mean(tf.square(recon - reals))


def build_networks(spec, cfg, dataset):
    size = dict(num_pixels=dataset.resolution ** 2, code_size=cfg.code_size)
    return OrderedDict(Enc=tflib.Network("Enc", func_name=toy_encoder, resolution=dataset.resolution, **size),
                       Dec=tflib.Network("Dec", func_name=toy_decoder, resolution=dataset.resolution, **size))


def check_resume(spec, roles, cfg):
    if roles.kind != "toy":
        raise ValueError("not a toy snapshot")


def resume_networks(spec, roles, cfg):
    return OrderedDict((k, roles[k]) for k in NETWORKS)


def optimizers(spec, cfg, accumulation):
    return OrderedDict(AE=tflib.Optimizer(name="TrainToy", learning_rate=cfg.learning_rate))


def tower(spec, nets, opts, training_set, cfg, minibatch):
    reals, _ = training_set.get_minibatch_tf()
    reals = tflib.convert_images_from_uint8(reals, drange=(0, 1))
    loss = model_specs.bind_loss(spec.loss, cfg.loss)(nets["Enc"], nets["Dec"], reals)
    trainables = dict(("Enc/" + k, v) for k, v in nets["Enc"].trainables.items())
    trainables.update(("Dec/" + k, v) for k, v in nets["Dec"].trainables.items())
    opts["AE"].register_gradients(loss, trainables)


def extra_ops(spec, nets, cfg):
    return OrderedDict()


def schedule(spec, cfg):
    return [("AE", 1, True)]


class Grids(object):
    def __init__(self, spec, nets, training_set, cfg):
        self.Dec, self.cfg = nets["Dec"], cfg

    def save(self, run_dir, label):
        codes = np.linspace(-1, 1, 2 * self.cfg.code_size, dtype=np.float32).reshape(2, self.cfg.code_size)
        images = self.Dec.run(codes, np.zeros([2, 0], np.float32))
        grids.save_grid(os.path.join(run_dir, "fakes%s.png" % label), grids.to_uint8_nhwc(images, drange=(-1, 1), data_format="NHWC"),
                        grid_w=2)
