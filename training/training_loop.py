"""The VP-GAN training loop (also trains the plain GAN and InfoGAN baselines).

One step (the original's order): G+I update on a fresh batch -> D update -> Gs EMA update, and
every ``D_reg_interval`` steps a lazy R1 step. G and the recognizer share one Adam; D has its own.
Everything is configured by one EasyDict built in run_training.py; nothing here has hidden
defaults. Snapshots are complete or absent (atomic writes); a run can be resumed from the newest.
"""

import os
import time

import numpy as np

from dnnlib import tflib
from dnnlib.tflib.compat import tf
from training import grids, loop_utils, loss, snapshots
from training.loop_utils import TrainingDiverged  # noqa: F401  (re-exported: run_training catches it from here)
from training.networks_vp import plan_generator

MODEL_TYPES = ("vp_gan", "gan", "info_gan")


def _build_networks(cfg, dataset):
    """Create G, D, I, Gs for the model type; I is None for the plain GAN."""
    common = dict(num_channels=dataset.shape[0], resolution=dataset.resolution, data_format=cfg.data_format, impl=cfg.impl)
    G = tflib.Network("G", label_size=dataset.label_size, **dict(cfg.G_args, **common))
    D = tflib.Network("D", label_size=dataset.label_size, **dict(cfg.D_args, **common))
    I = None
    if cfg.model_type in ("vp_gan", "info_gan"):
        plan = plan_generator(cfg.G_args.module_list, dataset.resolution, dataset.label_size, cfg.G_args.fmap_base, cfg.G_args.fmap_decay)
        if cfg.model_type == "vp_gan":
            outputs = plan.latent_size
        else:
            outputs = plan.discrete_size + 2 * plan.continuous_size
        I = tflib.Network("I", num_outputs=outputs, **dict(cfg.I_args, **common))
    Gs = G.clone("Gs")
    return G, D, I, Gs


def _snapshot(cfg, G, D, I, Gs):
    return snapshots.snapshot_record("gan", dict(G=G, D=D, I=I, Gs=Gs), cfg.model_type, cfg)


def _check_compatible(nets, cfg):
    if nets.kind != "gan":
        raise ValueError("the resume pickle holds a %s, not a GAN; --model_type is %s" % (nets.kind.upper(), cfg.model_type))
    if (nets.I is None) != (cfg.model_type == "gan"):
        raise ValueError("the resume pickle has %s recognizer but --model_type is %s" % ("no" if nets.I is None else "a", cfg.model_type))


def training_loop(cfg):
    """Train as configured. Returns the run's summary dict (kimg reached, final pkl path)."""
    from training import dataset as dataset_lib

    run_dir = cfg.run_dir
    graph = tf.Graph()
    with graph.as_default(), tflib.create_session(cfg.tf_config).as_default():
        resume, resume_state, resume_kimg, np_rng = loop_utils.setup_resume(cfg)

        print("Loading training set %s ..." % os.path.join(cfg.dataset.data_dir, cfg.dataset.tfrecord_dir))
        training_set = dataset_lib.load_dataset(data_format=cfg.data_format, **cfg.dataset)
        print("Dataset shape = %s, label size = %d" % (list(training_set.shape), training_set.label_size))

        if resume:
            print("Resuming from %s (kimg %.3f)" % (resume.pkl_path, resume_kimg))
            nets = snapshots.split_networks(snapshots.load_snapshot(resume.pkl_path))
            _check_compatible(nets, cfg)
            G, D, I, Gs = (snapshots.adapt_network(n, cfg.data_format, cfg.impl) for n in (nets.G, nets.D, nets.I, nets.Gs))
        else:
            G, D, I, Gs = _build_networks(cfg, training_set)
        plan = plan_generator(G.static_kwargs.module_list, training_set.resolution, training_set.label_size,
                              G.static_kwargs.fmap_base, G.static_kwargs.fmap_decay)
        G.print_layers()
        D.print_layers()
        if I is not None:
            I.print_layers()

        # ---- Graph: towers, losses, optimisers --------------------------------------------------
        num_towers = cfg.num_gpus
        towers = tflib.tower_devices(num_towers) if num_towers > 1 else [None]
        minibatch_tower = cfg.minibatch_gpu
        if cfg.minibatch_size % (minibatch_tower * num_towers):
            raise ValueError("--minibatch size %d must be a multiple of minibatch-gpu x num-gpus = %d" % (cfg.minibatch_size, minibatch_tower * num_towers))
        accumulation = cfg.minibatch_size // (minibatch_tower * num_towers)
        training_set.configure(minibatch_tower)

        G_opt = tflib.Optimizer(name="TrainG", learning_rate=cfg.G_opt.learning_rate, beta1=cfg.G_opt.beta1, beta2=cfg.G_opt.beta2,
                                epsilon=cfg.G_opt.epsilon, reg_interval=cfg.G_reg_interval,
                                minibatch_multiplier=accumulation if accumulation > 1 else None)
        D_opt = tflib.Optimizer(name="TrainD", learning_rate=cfg.D_opt.learning_rate, beta1=cfg.D_opt.beta1, beta2=cfg.D_opt.beta2,
                                epsilon=cfg.D_opt.epsilon, reg_interval=cfg.D_reg_interval,
                                minibatch_multiplier=accumulation if accumulation > 1 else None)
        D_reg_opt = tflib.Optimizer(name="RegD", learning_rate=cfg.D_opt.learning_rate, beta1=cfg.D_opt.beta1, beta2=cfg.D_opt.beta2,
                                    epsilon=cfg.D_opt.epsilon, reg_interval=cfg.D_reg_interval,
                                    minibatch_multiplier=accumulation if accumulation > 1 else None)
        GI_trainables = dict(G.trainables)
        if I is not None:
            GI_trainables.update(("I/" + k, v) for k, v in I.trainables.items())

        loss_args = dict(cfg.loss)
        for i, device in enumerate(towers):
            with tf.name_scope("GPU%d" % i), tf.device(device):
                reals, labels = training_set.get_minibatch_tf()
                reals = tflib.convert_images_from_uint8(reals, drange=(-1, 1))
                if cfg.mirror_augment:
                    reals = loop_utils.mirror(reals, cfg.data_format)
                with tf.name_scope("G_loss"):
                    if cfg.model_type == "vp_gan":
                        g_loss, i_loss = loss.G_logistic_ns_vp(G, D, I, training_set, minibatch_tower, global_step=G_opt.global_step, **loss_args)
                    elif cfg.model_type == "info_gan":
                        g_loss, i_loss = loss.G_logistic_ns_info_gan(G, D, I, training_set, minibatch_tower, **loss_args)
                    else:
                        g_loss, i_loss = loss.G_logistic_ns(G, D, training_set, minibatch_tower, **loss_args)
                    total = tf.reduce_mean(g_loss) + (tf.reduce_mean(i_loss) if i_loss is not None else 0.0)
                with tf.name_scope("D_loss"):
                    d_loss, d_reg = loss.D_logistic_r1(G, D, training_set, minibatch_tower, reals, labels, **loss_args)
                G_opt.register_gradients(total, GI_trainables)
                D_opt.register_gradients(tf.reduce_mean(d_loss), D.trainables)
                # Lazy regularisation: the penalty is applied every D_reg_interval steps, scaled up by it.
                D_reg_opt.register_gradients(tf.reduce_mean(d_reg * cfg.D_reg_interval), D.trainables)

        G_train_op = G_opt.apply_updates()
        D_train_op = D_opt.apply_updates()
        D_reg_op = D_reg_opt.apply_updates()
        Gs_beta = 0.5 ** (cfg.minibatch_size / max(cfg.G_smoothing_kimg * 1000.0, 1e-8)) if cfg.G_smoothing_kimg > 0 else 0.0
        Gs_update_op = Gs.setup_as_moving_average_of(G, beta=Gs_beta)
        tflib.init_uninitialized_vars()
        if resume_state is not None:
            loop_utils.restore_optimizer_state(resume_state["optimizers"], [G_opt, D_opt, D_reg_opt])

        # ---- Grids ------------------------------------------------------------------------------
        grid_rng = np.random.RandomState(cfg.seed + 1)
        grid_codes = grids.traversal_latents(grid_rng, plan.discrete_size, plan.continuous_size, cfg.n_samples_per, cfg.loss.latent_type)
        grid_labels = np.zeros([grid_codes.shape[0], training_set.label_size], np.float32)
        if training_set.label_size:
            grid_labels = training_set.get_random_labels_np(grid_codes.shape[0])

        def save_fakes(path):
            images = Gs.run(grid_codes, grid_labels, randomize_noise=False, minibatch_size=cfg.minibatch_gpu * 4)
            grids.save_grid(path, grids.to_uint8_nhwc(images, data_format=cfg.data_format), grid_w=cfg.n_samples_per)

        if not resume:
            loop_utils.save_reals_grid(training_set, cfg, run_dir, minibatch_tower)
            save_fakes(os.path.join(run_dir, "fakes_init.png"))

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
        nonfinite_ops = [G_opt.nonfinite_count, D_opt.nonfinite_count, D_reg_opt.nonfinite_count]
        print("Training for %g kimg (from %g) ..." % (cfg.total_kimg, resume_kimg))

        while cur_nimg < total_nimg:
            for _ in range(cfg.minibatch_repeats):
                for _ in range(accumulation):
                    tflib.run(G_train_op)
                for _ in range(accumulation):
                    tflib.run(D_train_op)
                if step % cfg.D_reg_interval == 0:
                    for _ in range(accumulation):
                        tflib.run(D_reg_op)
                tflib.run(Gs_update_op)
                step += 1
                cur_nimg += cfg.minibatch_size
                if cur_nimg >= total_nimg:
                    break

            done = cur_nimg >= total_nimg
            if cur_nimg < tick_start_nimg + cfg.kimg_per_tick * 1000 and not done:
                continue

            # -- tick --
            tick += 1
            stats = loop_utils.report_tick(summary_writer, tick, cur_nimg, tick_start_nimg, tick_start_time, start_time, cfg.minibatch_size)
            loop_utils.check_divergence(summary_writer, cur_nimg, nonfinite_ops, stats, last_snapshot,
                                        "a lower learning rate, a larger --gamma")
            if cfg.image_snapshot_ticks and (tick % cfg.image_snapshot_ticks == 0 or done):
                save_fakes(os.path.join(run_dir, "fakes%s.png" % snapshots.kimg_label(cur_nimg)))
            if cfg.network_snapshot_ticks and (tick % cfg.network_snapshot_ticks == 0 or done):
                last_snapshot = loop_utils.save_snapshot(run_dir, cur_nimg, tick, step, np_rng, [G_opt, D_opt, D_reg_opt],
                                                         _snapshot(cfg, G, D, I, Gs), cfg=cfg)
            tick_start_nimg = cur_nimg
            tick_start_time = time.time()

        final = snapshots.save_final(run_dir, _snapshot(cfg, G, D, I, Gs))
        summary_writer.close()
        print("Done: %s" % final)
        return dict(kimg=cur_nimg / 1000.0, final_pkl=final, last_snapshot=last_snapshot)

