"""The VAE family for the training loop: ``vae``, ``beta_vae``, ``vp_vae`` (the original's VAE-VC) and
``factor_vae``.

One step: an Adam update of encoder + decoder (+ VP recognizer) on the VAE objective of a fresh real batch
(training/loss_vae.py); for FactorVAE then an update of the TC discriminator on another batch with its own Adam.
Snapshots name E, Dec and I (vp_vae) or TC (factor_vae); the decoder plays the generator, so pair generation,
traversal grids and FID use it.

Images in the run dir: fakes<label>.png traversal grids (row d sweeps latent dim d over linspace(-2, 2,
n_samples_per), the other dims fixed at the posterior mean of the first image of the dataset); recons<label>.png
(top row: the first n_samples_per images of the dataset, bottom row: their reconstructions from the posterior
mean).
"""

import os
from collections import OrderedDict

import numpy as np

from dnnlib import tflib
from dnnlib.tflib.compat import tf
from training import grids, loop_utils, model_specs

NETWORKS = ("E", "Dec", "I", "TC")
GENERATOR = "Dec"
LOSSES = ("training.loss_vae.vae_loss", "training.loss_vae.tc_discriminator_loss")
ADVICE = "a lower --learning-rate"


def build_networks(spec, cfg, dataset):
    common = dict(num_channels=dataset.shape[0], resolution=dataset.resolution, data_format=cfg.data_format, impl=cfg.impl)
    E = tflib.Network("E", **dict(cfg.E_args, **common))
    Dec = tflib.Network("Dec", label_size=0, **dict(cfg.Dec_args, **common))
    I = tflib.Network("I", **dict(cfg.I_args, **common)) if spec.aux == "I" else None
    TC = tflib.Network("TC", **cfg.TC_args) if spec.aux == "TC" else None
    return OrderedDict(E=E, Dec=Dec, I=I, TC=TC)


def check_resume(spec, roles, cfg):
    if roles.kind != "vae":
        raise ValueError("the resume pickle holds a GAN, not a VAE; --model_type is %s" % cfg.model_type)
    if (roles.I is not None) != (spec.aux == "I") or (roles.TC is not None) != (spec.aux == "TC"):
        have = "a VP recognizer" if roles.I is not None else ("a TC discriminator" if roles.TC is not None else "only E and Dec")
        raise ValueError("the resume pickle has %s but --model_type is %s" % (have, cfg.model_type))
    if int(roles.E.static_kwargs.latent_size) != int(cfg.E_args.latent_size):
        raise ValueError("the resume pickle has %d latent dims but --latent_size is %d" % (roles.E.static_kwargs.latent_size, cfg.E_args.latent_size))


def resume_networks(spec, roles, cfg):
    # The TC discriminator is a dense net with no layout to adapt.
    return OrderedDict((k, loop_utils.adapt(roles[k], cfg) if roles[k] is not None and roles[k].static_kwargs.get("data_format")
                        else roles[k]) for k in NETWORKS)


def optimizers(spec, cfg, accumulation):
    def adam(name, opt):
        return tflib.Optimizer(name=name, learning_rate=opt.learning_rate, beta1=opt.beta1, beta2=opt.beta2, epsilon=opt.epsilon)
    opts = OrderedDict(VAE=adam("TrainVAE", cfg.opt))
    if spec.aux == "TC":
        opts["TC"] = adam("TrainTC", cfg.TC_opt)
    return opts


def tower(spec, nets, opts, training_set, cfg, minibatch):
    E, Dec, I, TC = (nets[k] for k in NETWORKS)
    trainables = dict(("E/" + k, v) for k, v in E.trainables.items())
    trainables.update(("Dec/" + k, v) for k, v in Dec.trainables.items())
    if I is not None:
        trainables.update(("I/" + k, v) for k, v in I.trainables.items())
    reals, _ = training_set.get_minibatch_tf()
    reals = tflib.convert_images_from_uint8(reals, drange=(0, 1))
    if cfg.mirror_augment:
        reals = loop_utils.mirror(reals, cfg.data_format)
    with tf.name_scope("VAE_loss"):
        terms = model_specs.bind_loss(spec.loss, cfg.loss)(E, Dec, reals, I=I, TC=TC)
    opts["VAE"].register_gradients(terms.total, trainables)
    if TC is not None:
        # Kim & Mnih: the discriminator sees another batch than the VAE update.
        reals_tc, _ = training_set.get_minibatch_tf()
        reals_tc = tflib.convert_images_from_uint8(reals_tc, drange=(0, 1))
        with tf.name_scope("TC_loss"):
            tc_loss, _ = model_specs.bind_loss(spec.TC_loss, cfg.loss)(E, TC, reals_tc)
        opts["TC"].register_gradients(tc_loss, TC.trainables)


def extra_ops(spec, nets, cfg):
    return OrderedDict()


def schedule(spec, cfg):
    return [("VAE", 1, True)] + ([("TC", 1, True)] if spec.aux == "TC" else [])


class Grids(object):
    """fakes<label>.png traversals and recons<label>.png reconstructions of the dataset's first images."""

    def __init__(self, spec, nets, training_set, cfg):
        from training import dataset as dataset_lib

        self.E, self.Dec, self.cfg = nets["E"], nets["Dec"], cfg
        self.latent_size = int(self.E.static_kwargs.latent_size)
        # The first images of the tfrecord file (file order, so the same after a resume).
        chw = np.stack(list(dataset_lib.iterate_images(training_set.tfrecord_file, limit=cfg.n_samples_per)))
        self.uint8 = chw.transpose(0, 2, 3, 1)
        self.float = (chw if cfg.data_format == "NCHW" else self.uint8).astype(np.float32) / 255.0
        self.no_labels = np.zeros([self.latent_size * cfg.n_samples_per, 0], np.float32)

    def save(self, run_dir, label):
        n_cols, data_format = self.cfg.n_samples_per, self.cfg.data_format
        base, _ = self.E.run(self.float[:1])
        codes = grids.traversal_latents(np.random.RandomState(0), 0, self.latent_size, n_cols, "uniform", base=base[0])
        images = self.Dec.run(codes, self.no_labels, minibatch_size=64)
        grids.save_grid(os.path.join(run_dir, "fakes%s.png" % label),
                        grids.to_uint8_nhwc(images, drange=(-1, 1), data_format=data_format), grid_w=n_cols)
        mean, _ = self.E.run(self.float)
        recons = grids.to_uint8_nhwc(self.Dec.run(mean, self.no_labels[:len(mean)]), drange=(-1, 1), data_format=data_format)
        grids.save_grid(os.path.join(run_dir, "recons%s.png" % label), np.concatenate([self.uint8, recons]), grid_w=len(mean))
