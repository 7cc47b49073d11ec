"""Training-step throughput of VP-GAN on the CPU: img/s, FLOPs per image, and the achieved FLOP/s as a
fraction of numpy's float32 SGEMM FLOP/s measured in the same process.

One step = the loop's work per minibatch: G+I update, D update, Gs EMA update, plus 1/16 of a lazy
R1 step (timed separately and amortised). Synthetic reals (no dataset I/O), NHWC + reference ops.
FLOPs are counted by TensorFlow's per-op statistics (the TF profiler's source) over the ops each
train op actually depends on.

    .venv/py3.11/bin/python benchmarks/bench_train.py --presets dsprites64 celeba128
    python3 benchmarks/bench_train.py --pythons .venv/py3.7/bin/python .venv/py3.11/bin/python

Prints one JSON object per (preset, runtime).
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PRESET_SHAPES = {"dsprites64": (1, 64), "celeba128": (3, 128), "quickstart": (1, 32)}


def sgemm_flops(seconds=2.0, n=1024):
    """numpy float32 matrix-multiply FLOP/s (the practical peak of this CPU for dense maths)."""
    a = np.random.RandomState(0).randn(n, n).astype(np.float32)
    b = np.random.RandomState(1).randn(n, n).astype(np.float32)
    a.dot(b)
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a.dot(b)
        runs += 1
    return 2.0 * n ** 3 * runs / (time.perf_counter() - start)


def _flops(graph, ops):
    from tensorflow.python.framework import ops as tf_ops

    total = 0
    for op in ops:
        try:
            stat = tf_ops.get_stats_for_node_def(graph, op.node_def, "flops")
        except (ValueError, KeyError):  # op without a registered flops statistic, or unknown shapes
            continue
        total += stat.value or 0
    return total


class _NoLabels:
    label_size = 0


def bench_preset(preset, minibatch, steps):
    import run_training
    from dnnlib import tflib
    from dnnlib.tflib.compat import tf, TF_VERSION
    from training import loss

    channels, resolution = PRESET_SHAPES[preset]
    flags = run_training.resolve_flags(["--preset", preset, "--data-dir", "unused", "--dataset", "unused",
                                        "--resolution", str(resolution)])
    cfg = run_training.build_config(flags, gpu_visible=False)
    graph = tf.Graph()
    with graph.as_default(), tflib.create_session().as_default() as sess:
        common = dict(num_channels=channels, resolution=resolution, data_format="NHWC", impl="ref")
        G = tflib.Network("G", **dict(cfg.G_args, **common))
        D = tflib.Network("D", **dict(cfg.D_args, **common))
        plan = loss._plan_of(G)
        I = tflib.Network("I", num_outputs=plan.latent_size, **dict(cfg.I_args, **common))
        Gs = G.clone("Gs")
        reals = tf.random_uniform([minibatch, resolution, resolution, channels], -1.0, 1.0)
        labels = tf.zeros([minibatch, 0])
        largs = dict(cfg.loss)
        g_loss, i_loss = loss.G_logistic_ns_vp(G, D, I, _NoLabels(), minibatch, **largs)
        d_loss, d_reg = loss.D_logistic_r1(G, D, _NoLabels(), minibatch, reals, labels, **largs)
        G_opt = tflib.Optimizer("TrainG", learning_rate=0.002, beta1=0.0, beta2=0.99, reg_interval=4)
        D_opt = tflib.Optimizer("TrainD", learning_rate=0.002, beta1=0.0, beta2=0.99, reg_interval=16)
        R_opt = tflib.Optimizer("RegD", learning_rate=0.002, beta1=0.0, beta2=0.99, reg_interval=16)
        GI = dict(G.trainables)
        GI.update(("I/" + k, v) for k, v in I.trainables.items())
        G_opt.register_gradients(tf.reduce_mean(g_loss) + tf.reduce_mean(i_loss), GI)
        D_opt.register_gradients(tf.reduce_mean(d_loss), D.trainables)
        R_opt.register_gradients(tf.reduce_mean(d_reg * 16), D.trainables)
        g_op, d_op, r_op = G_opt.apply_updates(), D_opt.apply_updates(), R_opt.apply_updates()
        ema_op = Gs.setup_as_moving_average_of(G, beta=0.99)
        tflib.init_uninitialized_vars()

        def timed(op):
            sess.run(op)  # warm-up
            start = time.perf_counter()
            for _ in range(steps):
                sess.run(op)
            return (time.perf_counter() - start) / steps

        t_main = timed([g_op]) + timed([d_op]) + timed([ema_op])
        t_reg = timed([r_op])
        step_seconds = t_main + t_reg / 16.0
        flops_main = _flops(graph, tflib.ancestor_ops([g_op, d_op]))
        flops_reg = _flops(graph, tflib.ancestor_ops([r_op]))
        flops_per_step = flops_main + flops_reg / 16.0
    peak = sgemm_flops()
    achieved = flops_per_step / step_seconds
    return dict(
        benchmark="train_step", preset=preset, resolution=resolution, channels=channels, minibatch=minibatch,
        steps_timed=steps, img_per_s=round(minibatch / step_seconds, 3), seconds_per_step=round(step_seconds, 4),
        gflops_per_image=round(flops_per_step / minibatch / 1e9, 3), achieved_gflops=round(achieved / 1e9, 2),
        sgemm_gflops=round(peak / 1e9, 2), achieved_over_sgemm=round(achieved / peak, 3),
        G_params=G.num_params(), D_params=D.num_params(), I_params=I.num_params(),
        python=platform.python_version(), tensorflow=TF_VERSION, cpu_count=os.cpu_count(),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["dsprites64", "celeba128"], choices=sorted(PRESET_SHAPES))
    parser.add_argument("--minibatch", type=int, default=4, help="images per step (default 4; mbstd needs a multiple of 4)")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per op (default 3)")
    parser.add_argument("--pythons", nargs="*", help="re-run under each of these interpreters")
    args = parser.parse_args()
    if args.pythons:
        for python in args.pythons:
            cmd = [python, os.path.abspath(__file__), "--minibatch", str(args.minibatch), "--steps", str(args.steps), "--presets"] + args.presets
            subprocess.run(cmd, check=True)
        return
    for preset in args.presets:
        print(json.dumps(bench_preset(preset, args.minibatch, args.steps)), flush=True)


if __name__ == "__main__":
    main()
