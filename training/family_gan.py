"""The GAN family for the training loop: VP-GAN (``vp_gan``) and the plain GAN / InfoGAN baselines.

One step (the original's order): a G+I update on a fresh batch -> a D update -> the Gs moving average, and every
``D_reg_interval`` steps a lazy R1 step. G and the recognizer (or InfoGAN's Q) share one Adam; D has its own.

The G+I Adam is built with ``reg_interval=G_reg_interval`` (4), as the original's: StyleGAN2's lazy-regularisation
correction (``tflib.optimizer.lazy_regularization_params``) then scales its learning rate by 4/5 and raises its
betas to the power 4/5 (beta1 0 stays 0, beta2 0.99 -> 0.992) although G has no regulariser here (no path-length
penalty). Kept for faithfulness: the effective G learning rate is 0.8 x --learning-rate, D's 16/17 x.
"""

import os
from collections import OrderedDict

import numpy as np

from dnnlib import tflib
from dnnlib.tflib.compat import tf
from training import grids, loop_utils, model_specs
from training.networks_vp import plan_generator

NETWORKS = ("G", "D", "I", "Gs")
GENERATOR = "Gs"
LOSSES = ("training.loss.G_logistic_ns", "training.loss.G_logistic_ns_vp", "training.loss.G_logistic_ns_info_gan",
          "training.loss.D_logistic_r1")
ADVICE = "a lower learning rate, a larger --gamma"


def _plan(G, dataset):
    kw = G.static_kwargs
    return plan_generator(kw.module_list, dataset.resolution, dataset.label_size, kw.fmap_base, kw.fmap_decay)


def _recognizer_outputs(spec, plan):
    """Logits of the VP recognizer (one per latent dim), or InfoGAN's Q: discrete logits + mean and log-variance."""
    return dict(vp=plan.latent_size, info_gan=plan.discrete_size + 2 * plan.continuous_size)[spec.recognizer]


def build_networks(spec, cfg, dataset):
    common = dict(num_channels=dataset.shape[0], resolution=dataset.resolution, data_format=cfg.data_format, impl=cfg.impl)
    G = tflib.Network("G", label_size=dataset.label_size, **dict(cfg.G_args, **common))
    D = tflib.Network("D", label_size=dataset.label_size, **dict(cfg.D_args, **common))
    I = None
    if spec.recognizer is not None:
        I = tflib.Network("I", num_outputs=_recognizer_outputs(spec, _plan(G, dataset)), **dict(cfg.I_args, **common))
    return OrderedDict(G=G, D=D, I=I, Gs=G.clone("Gs"))


def check_resume(spec, roles, cfg):
    if roles.kind != "gan":
        raise ValueError("the resume pickle holds a %s, not a GAN; --model_type is %s" % (roles.kind.upper(), cfg.model_type))
    if (roles.I is None) != (spec.recognizer is None):
        raise ValueError("the resume pickle has %s recognizer but --model_type is %s" % ("no" if roles.I is None else "a", cfg.model_type))


def resume_networks(spec, roles, cfg):
    return OrderedDict((k, loop_utils.adapt(roles[k], cfg)) for k in NETWORKS)


def optimizers(spec, cfg, accumulation):
    multiplier = accumulation if accumulation > 1 else None

    def adam(name, opt, reg_interval):
        return tflib.Optimizer(name=name, learning_rate=opt.learning_rate, beta1=opt.beta1, beta2=opt.beta2,
                               epsilon=opt.epsilon, reg_interval=reg_interval, minibatch_multiplier=multiplier)
    return OrderedDict([("G", adam("TrainG", cfg.G_opt, cfg.G_reg_interval)),       # see the module docstring
                        ("D", adam("TrainD", cfg.D_opt, cfg.D_reg_interval)),
                        ("D_reg", adam("RegD", cfg.D_opt, cfg.D_reg_interval))])


def tower(spec, nets, opts, training_set, cfg, minibatch):
    G, D, I = nets["G"], nets["D"], nets["I"]
    reals, labels = training_set.get_minibatch_tf()
    reals = tflib.convert_images_from_uint8(reals, drange=(-1, 1))
    if cfg.mirror_augment:
        reals = loop_utils.mirror(reals, cfg.data_format)
    with tf.name_scope("G_loss"):
        G_loss = model_specs.bind_loss(spec.G_loss, dict(cfg.loss, global_step=opts["G"].global_step))
        g_loss, i_loss = G_loss(G, D, training_set, minibatch) if I is None else G_loss(G, D, I, training_set, minibatch)
        total = tf.reduce_mean(g_loss) + (tf.reduce_mean(i_loss) if i_loss is not None else 0.0)
    with tf.name_scope("D_loss"):
        d_loss, d_reg = model_specs.bind_loss(spec.D_loss, cfg.loss)(G, D, training_set, minibatch, reals, labels)
    GI_trainables = dict(G.trainables)
    if I is not None:
        GI_trainables.update(("I/" + k, v) for k, v in I.trainables.items())
    opts["G"].register_gradients(total, GI_trainables)
    opts["D"].register_gradients(tf.reduce_mean(d_loss), D.trainables)
    # Lazy regularisation: the penalty is applied every D_reg_interval steps, scaled up by it.
    opts["D_reg"].register_gradients(tf.reduce_mean(d_reg * cfg.D_reg_interval), D.trainables)


def extra_ops(spec, nets, cfg):
    beta = 0.5 ** (cfg.minibatch_size / max(cfg.G_smoothing_kimg * 1000.0, 1e-8)) if cfg.G_smoothing_kimg > 0 else 0.0
    return OrderedDict(Gs_ema=nets["Gs"].setup_as_moving_average_of(nets["G"], beta=beta))


def schedule(spec, cfg):
    return [("G", 1, True), ("D", 1, True), ("D_reg", cfg.D_reg_interval, True), ("Gs_ema", 1, False)]


class Grids(object):
    """fakes<label>.png: traversal grids of Gs (row d sweeps latent dim d; codes fixed by cfg.seed + 1)."""

    def __init__(self, spec, nets, training_set, cfg):
        self.Gs, self.cfg = nets["Gs"], cfg
        plan = _plan(nets["G"], training_set)
        rng = np.random.RandomState(cfg.seed + 1)
        self.codes = grids.traversal_latents(rng, plan.discrete_size, plan.continuous_size, cfg.n_samples_per, cfg.loss.latent_type)
        self.labels = np.zeros([self.codes.shape[0], training_set.label_size], np.float32)
        if training_set.label_size:
            self.labels = training_set.get_random_labels_np(self.codes.shape[0])

    def save(self, run_dir, label):
        images = self.Gs.run(self.codes, self.labels, randomize_noise=False, minibatch_size=self.cfg.minibatch_gpu * 4)
        grids.save_grid(os.path.join(run_dir, "fakes%s.png" % label),
                        grids.to_uint8_nhwc(images, data_format=self.cfg.data_format), grid_w=self.cfg.n_samples_per)
