"""The training loop: one loop for every model type, driven by its spec (training/model_specs.py).

The spec's family module (training/family_gan.py, training/family_vae.py) supplies the networks, optimisers,
per-tower losses, the step schedule and the image grids; this loop owns what all families share: the session,
resuming, towers and minibatch accumulation, the tick line and TensorBoard scalars, the divergence check, grids
and snapshots (complete or absent: atomic writes), and the final pickle. Everything is configured by one
EasyDict built in run_training.py; nothing here has hidden defaults.
"""

import os
import time

from dnnlib import tflib
from dnnlib.tflib.compat import tf
from training import loop_utils, model_specs, snapshots
from training.loop_utils import TrainingDiverged  # noqa: F401  (re-exported: run_training catches it from here)


def _record(spec, family, nets, cfg):
    return snapshots.snapshot_record(nets, spec.name, model_specs.family_of(spec.name), family.GENERATOR, cfg)


def training_loop(cfg):
    """Train as configured. Returns the run's summary dict (kimg reached, final pkl path)."""
    from training import dataset as dataset_lib

    spec, family = model_specs.get_spec(cfg.model_type)
    model_specs.check_loss_settings(family, cfg.loss)
    run_dir = cfg.run_dir
    graph = tf.Graph()
    with graph.as_default(), tflib.create_session(cfg.tf_config).as_default():
        resume, resume_state, resume_kimg, np_rng = loop_utils.setup_resume(cfg)

        print("Loading training set %s ..." % os.path.join(cfg.dataset.data_dir, cfg.dataset.tfrecord_dir))
        training_set = dataset_lib.load_dataset(data_format=cfg.data_format, **cfg.dataset)
        print("Dataset shape = %s, label size = %d" % (list(training_set.shape), training_set.label_size))

        if resume:
            print("Resuming from %s (kimg %.3f)" % (resume.pkl_path, resume_kimg))
            roles = snapshots.split_networks(snapshots.load_snapshot(resume.pkl_path))
            family.check_resume(spec, roles, cfg)
            nets = family.resume_networks(spec, roles, cfg)
        else:
            nets = family.build_networks(spec, cfg, training_set)
        for net in nets.values():
            if net is not None:
                net.print_layers()

        # ---- Graph: towers, losses, optimisers --------------------------------------------------
        num_towers = cfg.num_gpus
        towers = tflib.tower_devices(num_towers) if num_towers > 1 else [None]
        minibatch_tower = cfg.minibatch_gpu
        if cfg.minibatch_size % (minibatch_tower * num_towers):
            raise ValueError("--minibatch size %d must be a multiple of minibatch-gpu x num-gpus = %d" % (cfg.minibatch_size, minibatch_tower * num_towers))
        accumulation = cfg.minibatch_size // (minibatch_tower * num_towers)
        training_set.configure(minibatch_tower)
        optimizers = family.optimizers(spec, cfg, accumulation)
        for i, device in enumerate(towers):
            with tf.name_scope("GPU%d" % i), tf.device(device):
                family.tower(spec, nets, optimizers, training_set, cfg, minibatch_tower)
        ops = dict((name, opt.apply_updates()) for name, opt in optimizers.items())
        ops.update(family.extra_ops(spec, nets, cfg))
        schedule = family.schedule(spec, cfg)
        tflib.init_uninitialized_vars()
        if resume_state is not None:
            loop_utils.restore_optimizer_state(resume_state["optimizers"], list(optimizers.values()))

        # ---- Grids ------------------------------------------------------------------------------
        images = family.Grids(spec, nets, training_set, cfg)
        if not resume:
            loop_utils.save_reals_grid(training_set, cfg, run_dir, minibatch_tower)
            images.save(run_dir, "_init")

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
        nonfinite_ops = [opt.nonfinite_count for opt in optimizers.values()]
        print("Training for %g kimg (from %g) ..." % (cfg.total_kimg, resume_kimg))

        while cur_nimg < total_nimg:
            for _ in range(cfg.minibatch_repeats):
                for name, every, per_minibatch in schedule:
                    if step % every == 0:
                        for _ in range(accumulation if per_minibatch else 1):
                            tflib.run(ops[name])
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
            loop_utils.check_divergence(summary_writer, cur_nimg, nonfinite_ops, stats, last_snapshot, family.ADVICE)
            if cfg.image_snapshot_ticks and (tick % cfg.image_snapshot_ticks == 0 or done):
                images.save(run_dir, snapshots.kimg_label(cur_nimg))
            if cfg.network_snapshot_ticks and (tick % cfg.network_snapshot_ticks == 0 or done):
                last_snapshot = loop_utils.save_snapshot(run_dir, cur_nimg, tick, step, np_rng, list(optimizers.values()),
                                                         _record(spec, family, nets, cfg), cfg=cfg)
            tick_start_nimg = cur_nimg
            tick_start_time = time.time()

        final = snapshots.save_final(run_dir, _record(spec, family, nets, cfg))
        summary_writer.close()
        print("Done: %s" % final)
        return dict(kimg=cur_nimg / 1000.0, final_pkl=final, last_snapshot=last_snapshot)
