"""The training loop of the VAE family: ``vae``, ``beta_vae``, ``vp_vae`` (the original's VAE-VC) and
``factor_vae``.

One step: an Adam update of encoder + decoder (+ VP recognizer) on the VAE objective of a fresh
real batch (training/loss_vae.py); for FactorVAE then an update of the TC discriminator on
another batch with its own Adam. Conventions as the GAN loop (training_loop.py): one config EasyDict
from run_training.py, a tick line in log.txt with the autosummary means, TensorBoard scalars,
atomic snapshots with a .state file for resuming, and TrainingDiverged on non-finite updates.

Snapshots name E, Dec and, for vp_vae, I or, for factor_vae, TC (training/snapshots.py); the decoder plays the
generator, so pair generation, traversal grids and FID use it.
Images in the run dir: reals.png; fakes%06d.png traversal grids (row d sweeps latent dim d over
linspace(-2, 2, n_samples_per), the other dims fixed at the posterior mean of the first image of
the dataset); recons%06d.png (top row: the first n_samples_per images of the dataset, bottom row:
their reconstructions from the posterior mean).
"""

import os
import time

import numpy as np

from dnnlib import tflib
from dnnlib.tflib.compat import tf
from training import grids, loop_utils, loss_vae, snapshots

MODEL_TYPES = ("vae", "beta_vae", "vp_vae", "factor_vae")


def _build_networks(cfg, dataset):
    common = dict(num_channels=dataset.shape[0], resolution=dataset.resolution, data_format=cfg.data_format, impl=cfg.impl)
    E = tflib.Network("E", **dict(cfg.E_args, **common))
    Dec = tflib.Network("Dec", label_size=0, **dict(cfg.Dec_args, **common))
    I = tflib.Network("I", **dict(cfg.I_args, **common)) if cfg.get("I_args") else None
    TC = tflib.Network("TC", **cfg.TC_args) if cfg.get("TC_args") else None
    return E, Dec, I, TC


def _snapshot(cfg, E, Dec, I=None, TC=None):
    return snapshots.snapshot_record("vae", dict(E=E, Dec=Dec, I=I, TC=TC), cfg.model_type, cfg)


def _check_compatible(nets, cfg):
    if nets.kind != "vae":
        raise ValueError("the resume pickle holds a GAN, not a VAE; --model_type is %s" % cfg.model_type)
    want_I, want_TC = cfg.model_type == "vp_vae", cfg.model_type == "factor_vae"
    if (nets.I is not None) != want_I or (nets.TC is not None) != want_TC:
        have = "a VP recognizer" if nets.I is not None else ("a TC discriminator" if nets.TC is not None else "only E and Dec")
        raise ValueError("the resume pickle has %s but --model_type is %s" % (have, cfg.model_type))
    if int(nets.E.static_kwargs.latent_size) != int(cfg.E_args.latent_size):
        raise ValueError("the resume pickle has %d latent dims but --latent_size is %d" % (nets.E.static_kwargs.latent_size, cfg.E_args.latent_size))


def _grid_images(dataset, num, data_format):
    """The first ``num`` images of the tfrecord file (file order, so the same after a resume):
    (float [0, 1] in ``data_format``, uint8 NHWC)."""
    from training import dataset as dataset_lib

    chw = np.stack(list(dataset_lib.iterate_images(dataset.tfrecord_file, limit=num)))
    nhwc = chw.transpose(0, 2, 3, 1)
    layout = chw if data_format == "NCHW" else nhwc
    return layout.astype(np.float32) / 255.0, nhwc


def training_loop(cfg):
    """Train as configured. Returns the run's summary dict (kimg reached, final pkl path)."""
    from training import dataset as dataset_lib

    run_dir = cfg.run_dir
    graph = tf.Graph()
    with graph.as_default(), tflib.create_session(cfg.tf_config).as_default():
        resume, resume_state, resume_kimg, np_rng = loop_utils.setup_resume(cfg)

        print("Loading training set %s ..." % os.path.join(cfg.dataset.data_dir, cfg.dataset.tfrecord_dir))
        training_set = dataset_lib.load_dataset(data_format=cfg.data_format, **cfg.dataset)
        print("Dataset shape = %s (labels are not used by the VAEs)" % list(training_set.shape))

        if resume:
            print("Resuming from %s (kimg %.3f)" % (resume.pkl_path, resume_kimg))
            nets = snapshots.split_networks(snapshots.load_snapshot(resume.pkl_path))
            _check_compatible(nets, cfg)
            E, Dec, I, TC = (snapshots.adapt_network(n, cfg.data_format, cfg.impl) if n is not None and n.static_kwargs.get("data_format") else n
                             for n in (nets.E, nets.Dec, nets.I, nets.TC))
        else:
            E, Dec, I, TC = _build_networks(cfg, training_set)
        latent_size = int(E.static_kwargs.latent_size)
        for net in (E, Dec, I, TC):
            if net is not None:
                net.print_layers()

        # ---- Graph ------------------------------------------------------------------------------
        num_towers = cfg.num_gpus
        towers = tflib.tower_devices(num_towers) if num_towers > 1 else [None]
        if cfg.minibatch_size % num_towers:
            raise ValueError("--minibatch-size %d must be a multiple of --num-gpus %d" % (cfg.minibatch_size, num_towers))
        minibatch_tower = cfg.minibatch_size // num_towers
        training_set.configure(minibatch_tower)

        opt = tflib.Optimizer(name="TrainVAE", learning_rate=cfg.opt.learning_rate, beta1=cfg.opt.beta1,
                              beta2=cfg.opt.beta2, epsilon=cfg.opt.epsilon)
        tc_opt = None
        if TC is not None:
            tc_opt = tflib.Optimizer(name="TrainTC", learning_rate=cfg.TC_opt.learning_rate, beta1=cfg.TC_opt.beta1,
                                     beta2=cfg.TC_opt.beta2, epsilon=cfg.TC_opt.epsilon)
        trainables = dict(("E/" + k, v) for k, v in E.trainables.items())
        trainables.update(("Dec/" + k, v) for k, v in Dec.trainables.items())
        if I is not None:
            trainables.update(("I/" + k, v) for k, v in I.trainables.items())

        for i, device in enumerate(towers):
            with tf.name_scope("GPU%d" % i), tf.device(device):
                reals, _ = training_set.get_minibatch_tf()
                reals = tflib.convert_images_from_uint8(reals, drange=(0, 1))
                if cfg.mirror_augment:
                    reals = loop_utils.mirror(reals, cfg.data_format)
                with tf.name_scope("VAE_loss"):
                    terms = loss_vae.vae_loss(E, Dec, reals, I=I, TC=TC, **cfg.loss)
                opt.register_gradients(terms.total, trainables)
                if TC is not None:
                    # Kim & Mnih: the discriminator sees another batch than the VAE update.
                    reals_tc, _ = training_set.get_minibatch_tf()
                    reals_tc = tflib.convert_images_from_uint8(reals_tc, drange=(0, 1))
                    with tf.name_scope("TC_loss"):
                        tc_loss, _ = loss_vae.tc_discriminator_loss(E, TC, reals_tc)
                    tc_opt.register_gradients(tc_loss, TC.trainables)
        train_op = opt.apply_updates()
        tc_train_op = tc_opt.apply_updates() if tc_opt is not None else None
        optimizers = [opt] + ([tc_opt] if tc_opt is not None else [])
        tflib.init_uninitialized_vars()
        if resume_state is not None:
            loop_utils.restore_optimizer_state(resume_state["optimizers"], optimizers)

        # ---- Grids ------------------------------------------------------------------------------
        n_cols = cfg.n_samples_per
        grid_float, grid_uint8 = _grid_images(training_set, n_cols, cfg.data_format)
        no_labels = np.zeros([latent_size * n_cols, 0], np.float32)

        def save_traversal(path):
            base, _ = E.run(grid_float[:1])
            codes = grids.traversal_latents(np.random.RandomState(0), 0, latent_size, n_cols, "uniform", base=base[0])
            images = Dec.run(codes, no_labels, minibatch_size=64)
            grids.save_grid(path, grids.to_uint8_nhwc(images, drange=(-1, 1), data_format=cfg.data_format), grid_w=n_cols)

        def save_recons(path):
            mean, _ = E.run(grid_float)
            images = Dec.run(mean, no_labels[:len(mean)])
            recons = grids.to_uint8_nhwc(images, drange=(-1, 1), data_format=cfg.data_format)
            grids.save_grid(path, np.concatenate([grid_uint8, recons]), grid_w=len(mean))

        if not resume:
            loop_utils.save_reals_grid(training_set, cfg, run_dir, minibatch_tower)
            save_traversal(os.path.join(run_dir, "fakes_init.png"))
            save_recons(os.path.join(run_dir, "recons_init.png"))

        summary_writer = tf.summary.FileWriter(run_dir)

        # ---- Loop -------------------------------------------------------------------------------
        cur_nimg = int(round(resume_kimg * 1000))
        tick = resume_state["tick"] if resume_state else 0
        tick_start_nimg = cur_nimg
        step = resume_state["step"] if resume_state else 0
        start_time = time.time()
        tick_start_time = start_time
        total_nimg = int(cfg.total_kimg * 1000)
        last_snapshot = resume.pkl_path if resume else None
        nonfinite_ops = [o.nonfinite_count for o in optimizers]
        print("Training for %g kimg (from %g) ..." % (cfg.total_kimg, resume_kimg))

        while cur_nimg < total_nimg:
            tflib.run(train_op)
            if tc_train_op is not None:
                tflib.run(tc_train_op)
            step += 1
            cur_nimg += cfg.minibatch_size
            done = cur_nimg >= total_nimg
            if cur_nimg < tick_start_nimg + cfg.kimg_per_tick * 1000 and not done:
                continue

            tick += 1
            stats = loop_utils.report_tick(summary_writer, tick, cur_nimg, tick_start_nimg, tick_start_time, start_time, cfg.minibatch_size)
            loop_utils.check_divergence(summary_writer, cur_nimg, nonfinite_ops, stats, last_snapshot, "a lower --learning-rate")
            if cfg.image_snapshot_ticks and (tick % cfg.image_snapshot_ticks == 0 or done):
                save_traversal(os.path.join(run_dir, "fakes%s.png" % snapshots.kimg_label(cur_nimg)))
                save_recons(os.path.join(run_dir, "recons%s.png" % snapshots.kimg_label(cur_nimg)))
            if cfg.network_snapshot_ticks and (tick % cfg.network_snapshot_ticks == 0 or done):
                last_snapshot = loop_utils.save_snapshot(run_dir, cur_nimg, tick, step, np_rng, optimizers, _snapshot(cfg, E, Dec, I, TC), cfg=cfg)
            tick_start_nimg = cur_nimg
            tick_start_time = time.time()

        final = snapshots.save_final(run_dir, _snapshot(cfg, E, Dec, I, TC))
        summary_writer.close()
        print("Done: %s" % final)
        return dict(kimg=cur_nimg / 1000.0, final_pkl=final, last_snapshot=last_snapshot)
