"""Model specs: what the one training loop (training/training_loop.py) trains for each ``--model_type``.

A spec names its family module -- the networks, optimisers, per-tower graph, step schedule and grids of a model
family (``training/family_gan.py``, ``training/family_vae.py``) -- and what varies inside the family: the losses
(by dotted name) and the optional networks. Adding a family is one family module plus its specs here (or in
``MODEL_SPECS`` at run time): the loop is not edited.

A family module provides::

    NETWORKS, GENERATOR            snapshot keys in order, and the one that plays the generator (Gs)
    LOSSES                         dotted names of every loss its specs may name (their settings are cfg.loss)
    ADVICE                         what to try when training diverges
    build_networks(spec, cfg, dataset) -> {name: Network}
    check_resume(spec, roles, cfg)         ValueError if a loaded snapshot (split_networks roles) does not fit
    resume_networks(spec, roles, cfg) -> {name: Network}
    optimizers(spec, cfg, accumulation) -> {name: tflib.Optimizer}   (their order is the resume state's)
    tower(spec, nets, opts, training_set, cfg, minibatch)            one tower's losses, gradients registered
    extra_ops(spec, nets, cfg) -> {name: op}                         run by the schedule after the updates
    schedule(spec, cfg) -> [(name, every n steps, repeat per accumulated minibatch)]
    Grids(spec, nets, training_set, cfg)   .save(run_dir, label): the images of a snapshot tick
"""

import importlib
import inspect

from dnnlib.util import EasyDict, get_obj_by_name


def _gan(G_loss, recognizer, recognizer_func):
    return EasyDict(family="training.family_gan", G_loss=G_loss, D_loss="training.loss.D_logistic_r1",
                    recognizer=recognizer, recognizer_func=recognizer_func)


def _vae(aux, aux_func, beta, beta_fixed=False):
    return EasyDict(family="training.family_vae", loss="training.loss_vae.vae_loss",
                    TC_loss="training.loss_vae.tc_discriminator_loss", aux=aux, aux_func=aux_func, beta=beta,
                    beta_fixed=beta_fixed)


# recognizer: outputs of the GAN's third network ("vp": one logit per latent dim; "info_gan": InfoGAN's Q), built
# by recognizer_func. aux: the VAE's third network ("I": the VP recognizer; "TC": FactorVAE's discriminator), built
# by aux_func; beta: the default KL weight (beta 1, gamma 35 for FactorVAE as Kim & Mnih on dSprites); beta_fixed:
# the plain VAE is beta 1 by definition.
MODEL_SPECS = {
    "vp_gan": _gan("training.loss.G_logistic_ns_vp", "vp", "training.networks_vp.recognizer"),
    "gan": _gan("training.loss.G_logistic_ns", None, None),
    "info_gan": _gan("training.loss.G_logistic_ns_info_gan", "info_gan", "training.networks_info_gan.info_gan_q"),
    "vae": _vae(None, None, 1.0, beta_fixed=True),
    "beta_vae": _vae(None, None, 10.0),
    "vp_vae": _vae("I", "training.networks_vae.vae_recognizer", 10.0),
    "factor_vae": _vae("TC", "training.networks_vae.tc_discriminator", 1.0),
}


def _entry(model_type):
    if model_type not in MODEL_SPECS:
        raise ValueError("unknown model type %r; known: %s" % (model_type, ", ".join(sorted(MODEL_SPECS))))
    return MODEL_SPECS[model_type]


def get_spec(model_type):
    """(spec with its ``name``, family module) of a model type; ValueError naming the known ones."""
    spec = EasyDict(_entry(model_type), name=model_type)
    return spec, importlib.import_module(spec.family)


def family_of(model_type):
    """The family's short name ('gan', 'vae', ...) of a model type: its module's name after ``family_`` (nothing
    imported, so that run_training.py can answer --help without TensorFlow)."""
    return _entry(model_type).family.rsplit(".", 1)[-1].replace("family_", "", 1)


def _settings_of(func):
    """The keyword parameters (with defaults) of a loss function."""
    return [p.name for p in inspect.signature(func).parameters.values() if p.default is not inspect.Parameter.empty]


def check_loss_settings(family, settings):
    """ValueError naming the entries of ``settings`` (cfg.loss) that no loss of the family takes, and the valid
    ones: losses take closed keyword sets, so a misspelled setting cannot be silently ignored."""
    valid = sorted(set(name for loss in family.LOSSES for name in _settings_of(get_obj_by_name(loss))))
    unknown = sorted(set(settings) - set(valid))
    if unknown:
        raise ValueError("unknown loss setting(s) %s: the losses of %s take %s" % (
            ", ".join(unknown), family.__name__, ", ".join(valid)))


def bind_loss(name, settings):
    """The loss function ``name`` (dotted) with the entries of ``settings`` that it takes bound as keywords."""
    func = get_obj_by_name(name)
    taken = dict((k, v) for k, v in settings.items() if k in _settings_of(func))

    def loss(*args, **kwargs):
        return func(*args, **dict(taken, **kwargs))
    return loss
