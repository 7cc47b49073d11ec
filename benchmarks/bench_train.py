"""Training-step throughput on the CPU: img/s, FLOPs per image, and the achieved FLOP/s as a fraction of this
machine's dense float32 peak.

GAN presets (VP-GAN): one step = the loop's work per minibatch: G+I update, D update, Gs EMA update, plus 1/16
of a lazy R1 step (timed separately and amortised). VAE models (``--vae-models beta_vae vp_vae``): one step =
the VAE loop's Adam update of E + Dec (+ the VP recognizer), batch 64 of 64x64 binary images (+ the TC update
for factor_vae). Synthetic reals (no dataset I/O), NHWC + reference ops. FLOPs are counted by TensorFlow's
per-op statistics (the TF profiler's source) over the ops each train op actually depends on.

The peak (the denominator) is the best float32 matrix-multiply rate of numpy *and* of ``tf.matmul`` at
n = 4096, in the same process and with the same thread settings as the step (numpy 1.18 on Python 3.7 is
slower than TF's own kernels, and n = 1024 understates the peak).

    .venv/py3.11/bin/python benchmarks/bench_train.py --presets dsprites64 celeba128
    .venv/py3.11/bin/python benchmarks/bench_train.py --presets --vae-models beta_vae vp_vae --threads 1 2
    .venv/py3.11/bin/python benchmarks/bench_train.py --presets --vae-models beta_vae --threads 1 --side-by-side 2
    python3 benchmarks/bench_train.py --pythons .venv/py3.7/bin/python .venv/py3.11/bin/python

Prints one JSON object per (preset or model, threads, runtime); ``--side-by-side N`` runs N copies at once
(one process each) and adds a line with their summed img/s.
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

BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
PRESET_SHAPES = {"dsprites64": (1, 64), "celeba128": (3, 128), "quickstart": (1, 32)}


def _rate(run_once, n, seconds):
    run_once()                                           # warm-up
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or runs < 2:
        run_once()
        runs += 1
    return 2.0 * n ** 3 * runs / (time.perf_counter() - start)


def sgemm_flops(seconds=2.0, n=4096):
    """numpy float32 matrix-multiply FLOP/s at n x n."""
    a = np.random.RandomState(0).randn(n, n).astype(np.float32)
    b = np.random.RandomState(1).randn(n, n).astype(np.float32)
    return _rate(lambda: a.dot(b), n, seconds)


def tf_matmul_flops(sess, seconds=2.0, n=4096):
    """tf.matmul float32 FLOP/s at n x n in ``sess`` (its graph and thread settings)."""
    from dnnlib.tflib.compat import tf

    with sess.graph.as_default():
        # variables, not constants: TF's graph optimiser would fold a product of constants away
        a = tf.Variable(np.random.RandomState(0).randn(n, n).astype(np.float32), name="peak_a")
        b = tf.Variable(np.random.RandomState(1).randn(n, n).astype(np.float32), name="peak_b")
        product = tf.reduce_sum(tf.matmul(a, b))      # a scalar out: no copy of the result
        sess.run([a.initializer, b.initializer])
    return _rate(lambda: sess.run(product), n, seconds)


def peak_flops(sess):
    """{'numpy', 'tf', 'peak'} in FLOP/s: the dense float32 peak is the better of the two."""
    numpy_rate, tf_rate = sgemm_flops(), tf_matmul_flops(sess)
    return dict(numpy=numpy_rate, tf=tf_rate, peak=max(numpy_rate, tf_rate))


def _session_config(threads):
    if not threads:
        return None
    return {"intra_op_parallelism_threads": threads, "inter_op_parallelism_threads": threads}


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


def bench_preset(preset, minibatch, steps, threads=0):
    import run_training
    from dnnlib import tflib
    from dnnlib.tflib.compat import tf, TF_VERSION
    from training import loss, model_specs

    channels, resolution = PRESET_SHAPES[preset]
    flags = run_training.resolve_flags(["--preset", preset, "--data-dir", "unused", "--dataset", "unused",
                                        "--resolution", str(resolution)])
    cfg = run_training.build_config(flags, gpu_visible=False)
    graph = tf.Graph()
    with graph.as_default(), tflib.create_session(_session_config(threads)).as_default() as sess:
        common = dict(num_channels=channels, resolution=resolution, data_format="NHWC", impl="ref")
        G = tflib.Network("G", **dict(cfg.G_args, **common))
        D = tflib.Network("D", **dict(cfg.D_args, **common))
        plan = loss._plan_of(G)
        I = tflib.Network("I", num_outputs=plan.latent_size, **dict(cfg.I_args, **common))
        Gs = G.clone("Gs")
        reals = tf.random_uniform([minibatch, resolution, resolution, channels], -1.0, 1.0)
        labels = tf.zeros([minibatch, 0])
        # each loss takes its own entries of cfg.loss, as in training/family_gan.py
        g_loss, i_loss = model_specs.bind_loss("training.loss.G_logistic_ns_vp", cfg.loss)(G, D, I, _NoLabels(), minibatch)
        d_loss, d_reg = model_specs.bind_loss("training.loss.D_logistic_r1", cfg.loss)(G, D, _NoLabels(), minibatch,
                                                                                       reals, labels)
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
        peak = peak_flops(sess)
    return _result("train_step", preset, minibatch, steps, step_seconds, flops_per_step, peak, threads,
                   resolution=resolution, channels=channels, G_params=G.num_params(), D_params=D.num_params(),
                   I_params=I.num_params(), tensorflow=TF_VERSION)


def _result(benchmark, case, minibatch, steps, step_seconds, flops_per_step, peak, threads, **extra):
    achieved = flops_per_step / step_seconds
    out = dict(benchmark=benchmark, case=case, minibatch=minibatch, threads=threads or "tf default",
               steps_timed=steps, img_per_s=round(minibatch / step_seconds, 3), seconds_per_step=round(step_seconds, 4),
               gflops_per_image=round(flops_per_step / minibatch / 1e9, 4), achieved_gflops=round(achieved / 1e9, 2),
               numpy_sgemm_gflops=round(peak["numpy"] / 1e9, 2), tf_matmul_gflops=round(peak["tf"] / 1e9, 2),
               peak_gflops=round(peak["peak"] / 1e9, 2), achieved_over_peak=round(achieved / peak["peak"], 3),
               python=platform.python_version(), cpu_count=os.cpu_count(), loadavg_1min=round(os.getloadavg()[0], 2))
    out.update(extra)
    return out


def bench_vae(model_type, steps, threads=0, minibatch=64, resolution=64):
    """One VAE-family training step (the VAE loop's train op, + the TC op for factor_vae)."""
    import run_training
    from dnnlib import tflib
    from dnnlib.tflib.compat import tf, TF_VERSION
    from training import loss_vae, model_specs

    flags = run_training.resolve_flags(["--model_type", model_type, "--data-dir", "unused", "--dataset", "unused",
                                        "--minibatch-size", str(minibatch)])
    cfg = run_training.build_vae_config(flags, model_type, gpu_visible=False)
    graph = tf.Graph()
    with graph.as_default(), tflib.create_session(_session_config(threads)).as_default() as sess:
        common = dict(num_channels=1, resolution=resolution, data_format="NHWC", impl="ref")
        E = tflib.Network("E", **dict(cfg.E_args, **common))
        Dec = tflib.Network("Dec", label_size=0, **dict(cfg.Dec_args, **common))
        I = tflib.Network("I", **dict(cfg.I_args, **common)) if cfg.get("I_args") else None
        TC = tflib.Network("TC", **cfg.TC_args) if cfg.get("TC_args") else None
        reals = tf.cast(tf.random_uniform([minibatch, resolution, resolution, 1]) > 0.9, tf.float32)  # binary, sparse
        opt = tflib.Optimizer(name="TrainVAE", learning_rate=1e-4, beta1=0.9, beta2=0.999, epsilon=1e-8)
        trainables = dict(("E/" + k, v) for k, v in E.trainables.items())
        trainables.update(("Dec/" + k, v) for k, v in Dec.trainables.items())
        if I is not None:
            trainables.update(("I/" + k, v) for k, v in I.trainables.items())
        terms = model_specs.bind_loss("training.loss_vae.vae_loss", cfg.loss)(E, Dec, reals, I=I, TC=TC)
        opt.register_gradients(terms.total, trainables)
        ops = [opt.apply_updates()]
        if TC is not None:
            tc_opt = tflib.Optimizer(name="TrainTC", learning_rate=1e-4, beta1=0.5, beta2=0.9, epsilon=1e-8)
            tc_loss, _ = loss_vae.tc_discriminator_loss(E, TC, reals, summaries=False)
            tc_opt.register_gradients(tc_loss, TC.trainables)
            ops.append(tc_opt.apply_updates())
        tflib.init_uninitialized_vars()
        for _ in range(2):
            sess.run(ops)                     # warm-up
        start = time.perf_counter()
        for _ in range(steps):
            sess.run(ops)
        step_seconds = (time.perf_counter() - start) / steps
        flops_per_step = _flops(graph, tflib.ancestor_ops(ops))
        peak = peak_flops(sess)
    params = sum(n.num_params() for n in (E, Dec, I, TC) if n is not None)
    return _result("train_step_vae", model_type, minibatch, steps, step_seconds, flops_per_step, peak, threads,
                   resolution=resolution, params=params, tensorflow=TF_VERSION)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="*", default=["dsprites64", "celeba128"], choices=sorted(PRESET_SHAPES),
                        help="VP-GAN presets (none: only --vae-models)")
    parser.add_argument("--vae-models", nargs="*", default=[], choices=["vae", "beta_vae", "vp_vae", "factor_vae"])
    parser.add_argument("--minibatch", type=int, default=4, help="GAN images per step (default 4; mbstd needs a multiple of 4)")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per op (default 3; VAE: x10)")
    parser.add_argument("--threads", type=int, nargs="+", default=[0], help="TF intra/inter-op threads (0: TF's choice)")
    parser.add_argument("--side-by-side", type=int, default=1, help="run N copies at once and sum their img/s")
    parser.add_argument("--pythons", nargs="*", help="re-run under each of these interpreters")
    args = parser.parse_args()
    base = ["--minibatch", str(args.minibatch), "--steps", str(args.steps), "--presets"] + args.presets
    base += ["--vae-models"] + args.vae_models
    forward = base + ["--threads"] + [str(t) for t in args.threads]
    if args.pythons:
        for python in args.pythons:
            subprocess.run([python, os.path.abspath(__file__), "--side-by-side", str(args.side_by_side)] + forward,
                           check=True)
        return
    if args.side_by_side > 1:
        procs = [subprocess.Popen([sys.executable, os.path.abspath(__file__)] + forward, stdout=subprocess.PIPE,
                                  universal_newlines=True) for _ in range(args.side_by_side)]
        outputs = [[json.loads(line) for line in p.communicate()[0].splitlines() if line.startswith("{")]
                   for p in procs]
        for lines in zip(*outputs):
            for line in lines:
                print(json.dumps(dict(line, side_by_side=args.side_by_side)), flush=True)
            print(json.dumps(dict(benchmark=lines[0]["benchmark"] + "_side_by_side", case=lines[0]["case"],
                                  threads=lines[0]["threads"], copies=len(lines),
                                  img_per_s=round(sum(x["img_per_s"] for x in lines), 3),
                                  # each copy has one core: the machine's peak is the sum of the copies' peaks
                                  achieved_over_peak=round(sum(x["achieved_gflops"] for x in lines)
                                                           / sum(x["peak_gflops"] for x in lines), 3),
                                  python=lines[0]["python"])), flush=True)
        return
    if len(args.threads) > 1 or (args.threads[0] and os.environ.get("OMP_NUM_THREADS") != str(args.threads[0])):
        # one process per thread count, with numpy's BLAS held to the same number of threads as TF
        for threads in args.threads:
            env = dict(os.environ, **{k: str(threads) for k in BLAS_THREAD_VARIABLES}) if threads else None
            subprocess.run([sys.executable, os.path.abspath(__file__), "--threads", str(threads)] + base,
                           check=True, env=env)
        return
    for threads in args.threads:
        for preset in args.presets:
            print(json.dumps(bench_preset(preset, args.minibatch, args.steps, threads)), flush=True)
        for model in args.vae_models:
            print(json.dumps(bench_vae(model, args.steps * 10, threads)), flush=True)


if __name__ == "__main__":
    main()
