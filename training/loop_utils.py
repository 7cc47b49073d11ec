"""Pieces of the training loop (training_loop.py) and its families (family_gan.py, family_vae.py): resume
set-up, the per-tick progress line and TensorBoard scalars, the divergence check, and snapshots
with their resume state (image count, tick, step, optimiser variables, numpy RNG).
"""

import json
import os
import time

import numpy as np

import dnnlib
from dnnlib import tflib
from dnnlib.tflib import autosummary
from dnnlib.tflib.compat import tf
from training import grids, snapshots


class TrainingDiverged(RuntimeError):
    """Non-finite gradients or losses: training stopped, earlier snapshots are kept."""


def setup_resume(cfg):
    """Read cfg.resume and seed the RNGs. Returns (resume or None, resume state dict or None,
    resume kimg, numpy RandomState). Call inside the training graph."""
    resume = cfg.get("resume") or None
    resume_state = snapshots.load_state(resume.state_path) if resume and resume.get("state_path") else None
    resume_kimg = resume.kimg if resume else 0.0
    # Different (but deterministic) TF op seeds after a resume, so a resumed run does not replay
    # the random draws of its first segment.
    tf.set_random_seed(cfg.seed + int(resume_kimg * 1000) % 100003)
    np_rng = np.random.RandomState(cfg.seed)
    if resume_state is not None:
        np_rng.set_state(resume_state["np_rng"])
    return resume, resume_state, resume_kimg, np_rng


def adapt(net, cfg):
    """A loaded network rebuilt for this run's layout and op implementation (itself when they match)."""
    return snapshots.adapt_network(net, cfg.data_format, cfg.impl)


def mirror(images, data_format):
    """Flip each image left-right with probability 1/2."""
    axis = 3 if data_format == "NCHW" else 2
    flip = tf.random_uniform([tf.shape(images)[0]]) < 0.5
    return tf.where(flip, tf.reverse(images, [axis]), images)


def optimizer_state(optimizers):
    """{variable name: value} of every optimiser variable (moments, counters)."""
    variables = [v for opt in optimizers for v in opt.variables()]
    return dict(zip([v.name for v in variables], tflib.run(variables)))


def restore_optimizer_state(state, optimizers):
    variables = {v.name: v for opt in optimizers for v in opt.variables()}
    missing = sorted(set(variables) - set(state))
    if missing:
        print("Warning: resume state has no value for %d optimiser variable(s), e.g. %s; they start fresh." % (len(missing), missing[0]))
    tflib.set_vars({variables[name]: value for name, value in state.items() if name in variables})


def write_scalars(writer, step, values):
    summary = tf.Summary()
    for tag, value in values.items():
        summary.value.add(tag=tag, simple_value=float(value))
    writer.add_summary(summary, step)
    writer.flush()


def write_progress(run_dir, cur_nimg, tick):
    with dnnlib.util.atomic_write(os.path.join(run_dir, "progress.json"), "w") as f:
        json.dump(dict(kimg=cur_nimg / 1000.0, tick=tick), f)


def report_tick(writer, tick, cur_nimg, tick_start_nimg, tick_start_time, start_time, minibatch_size):
    """Save the autosummaries and timing scalars, print the tick line; returns {summary name: mean}."""
    now = time.time()
    tick_kimg = (cur_nimg - tick_start_nimg) / 1000.0
    sec_per_tick = now - tick_start_time
    stats = autosummary.save_summaries(writer, cur_nimg)
    sec_per_kimg = sec_per_tick / max(tick_kimg, 1e-8)
    write_scalars(writer, cur_nimg, {"Timing/sec_per_tick": sec_per_tick, "Timing/sec_per_kimg": sec_per_kimg,
                                     "Progress/kimg": cur_nimg / 1000.0})
    print(
        "tick %-4d kimg %-8.1f minibatch %-4d time %-10s sec/tick %-7.1f sec/kimg %-7.2f %s"
        % (tick, cur_nimg / 1000.0, minibatch_size, dnnlib.util.format_time(now - start_time),
           sec_per_tick, sec_per_kimg, " ".join("%s %.4f" % (k, v) for k, v in stats.items())),
        flush=True,
    )
    return stats


def check_divergence(writer, cur_nimg, nonfinite_ops, stats, last_snapshot, advice):
    """Raise TrainingDiverged (after closing ``writer``) if an optimiser skipped a non-finite update
    since the start or a summary mean is not finite. ``advice``: what to try, e.g. 'a lower learning rate'."""
    nonfinite = int(sum(tflib.run(nonfinite_ops)))
    bad_stats = [k for k, v in stats.items() if not np.isfinite(v)]
    if nonfinite or bad_stats:
        writer.close()
        raise TrainingDiverged(
            "training diverged at kimg %.1f: %s. Updates with non-finite gradients were skipped and no "
            "snapshot was written since; the last snapshot is %s. Try %s, and --resume from that snapshot."
            % (cur_nimg / 1000.0,
               ("%d non-finite gradient update(s)" % nonfinite) if nonfinite else "non-finite " + ", ".join(bad_stats),
               last_snapshot or "(none written yet)", advice)
        )


def save_snapshot(run_dir, cur_nimg, tick, step, np_rng, optimizers, networks, cfg=None):
    """network-snapshot-<kimg_label>.pkl + .state (everything a resume needs) and progress.json, then the
    metrics of --metrics on it (metric-<name>.txt/.json in the run dir); returns the pkl path."""
    state = dict(cur_nimg=cur_nimg, tick=tick, step=step, np_rng=np_rng.get_state(), optimizers=optimizer_state(optimizers))
    path = snapshots.save_snapshot(run_dir, cur_nimg / 1000.0, networks, state)
    write_progress(run_dir, cur_nimg, tick)
    if cfg is not None and cfg.get("metrics"):
        from metrics import metric_main

        metric_main.evaluate_pickle(path, cfg.metrics, cfg.metric_args, out_dir=run_dir)
    return path


def save_reals_grid(training_set, cfg, run_dir, minibatch_tower):
    """reals.png from the dataset (up to 64 images), then restore the loop's minibatch size."""
    reals_np, _ = training_set.get_minibatch_np(min(64, cfg.grid_reals))
    reals_nhwc = reals_np if cfg.data_format == "NHWC" else reals_np.transpose(0, 2, 3, 1)
    grids.save_grid(os.path.join(run_dir, "reals.png"), reals_nhwc, grid_w=8)
    training_set.configure(minibatch_tower)  # get_minibatch_np changed the batch size
