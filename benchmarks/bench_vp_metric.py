"""Wall time of the VP metric (metrics/vp_metric.py). One JSON object per line on stdout.

Two modes:

  # reference protocol vs fast protocol on a real pair folder (same seed, same split)
  python benchmarks/bench_vp_metric.py PAIR_DIR [--repeats 1] [--seed 0] [--max-pairs N] [--epochs N]

  # seconds per epoch on synthetic pairs (default: 10,000 pairs of 64x128 -> 1,000 train / 9,000 test, 30 dims),
  # and the full reference-protocol time that follows from it (200 epochs)
  python benchmarks/bench_vp_metric.py --synthetic-epoch [--size 64] [--pairs 10000] [--dims 30] [--epochs 2]

  # pair generation (in memory, and written as a folder) vs the generator's forward pass alone, in images/s
  python benchmarks/bench_vp_metric.py --pair-generation NETWORK_PKL [--pairs 2000] [--batch-size 100]

The first epoch includes TF's warm-up, so the per-epoch estimate uses the last measured epoch. Per-line fields:
mode, protocol, wall_s, vp_score, vp_score_final, vp_score_heldout, epochs_run, train_s_per_epoch,
eval_s_per_epoch, cpu_s (process CPU time: less sensitive than wall time to other jobs on the machine), plus the
platform (python, TF version, CPU count, GPUs visible, 1-minute load average at the end -- above the CPU count, other
processes were competing and the wall times are inflated).
"""

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def _platform():
    from dnnlib.tflib.compat import tf, TF_VERSION

    try:
        gpus = len(tf.config.experimental.list_physical_devices("GPU"))
    except Exception:
        gpus = None
    return dict(python=platform.python_version(), tf=TF_VERSION, cpus=os.cpu_count(), gpus=gpus,
                loadavg_1min=round(os.getloadavg()[0], 2))


def _log(msg):
    print(msg, file=sys.stderr, flush=True)


def _emit(obj):
    print(json.dumps(obj, sort_keys=True), flush=True)


def synthetic_pairs(num, size, dims, seed=0):
    """Structured pairs (dim d inverts a vertical band of x1), so training behaves like a real, learnable task."""
    rng = np.random.RandomState(seed)
    d = rng.randint(dims, size=num)
    labels = rng.uniform(-0.01, 0.01, (num, dims))
    labels[np.arange(num), d] = rng.uniform(0.5, 4.0, num)
    x1 = rng.randint(0, 256, size=(num, size, size, 3)).astype(np.uint8)
    x2 = x1.copy()
    band = max(1, size // dims)
    for k in range(dims):
        sel = d == k
        lo = (k * band) % size
        x2[sel, :, lo:lo + band, :] = 255 - x2[sel, :, lo:lo + band, :]
    return np.concatenate([x1, x2], axis=2), labels


def _summary(result, mode, wall, cpu):
    train = result["epoch_train_seconds"]
    evals = result["epoch_eval_seconds"]
    return dict(mode=mode, protocol=result["settings"]["protocol"], wall_s=round(wall, 2), cpu_s=round(cpu, 2),
                vp_score=result["vp_score"], vp_score_final=result["vp_score_final"],
                vp_score_heldout=result["vp_score_heldout"], best_epoch=result["best_epoch"],
                heldout_epoch=result["heldout_epoch"], epochs_run=result["epochs_run"],
                stopped_early=result["stopped_early"], num_train=result["num_train"], num_test=result["num_test"],
                num_dims=result["num_dims"], image_size=result["settings"]["image_size"],
                train_s_per_epoch=round(float(train[-1]), 3), eval_s_per_epoch=round(float(evals[-1]), 3),
                train_cpu_s_per_epoch=round(float(result["epoch_train_cpu_seconds"][-1]), 3),
                eval_cpu_s_per_epoch=round(float(result["epoch_eval_cpu_seconds"][-1]), 3),
                first_epoch_s=round(float(train[0] + evals[0]), 3), seed=result["settings"]["seed"],
                test_eval_s=round(result["test_eval_seconds"], 3),
                test_eval_cpu_s=round(result["test_eval_cpu_seconds"], 3),
                # what 200 reference epochs (train + whole-test evaluation each) cost at this run's speeds: a
                # reference time measured under the same load as this run
                reference_estimate_s=round(200 * (float(np.median(train)) + result["test_eval_seconds"]), 1),
                reference_estimate_cpu_s=round(200 * (float(np.median(result["epoch_train_cpu_seconds"]))
                                                      + result["test_eval_cpu_seconds"]), 1))


def bench_folder(args):
    from metrics import vp_metric as vm

    t0 = time.time()
    pairs, labels = vm.load_pair_folder(args.pair_dir, max_pairs=args.max_pairs)
    _emit(dict(mode="load", pair_dir=args.pair_dir, num_pairs=len(pairs), shape=list(pairs.shape[1:]),
               wall_s=round(time.time() - t0, 2), **_platform()))
    for protocol in args.protocols.split(","):
        for r in range(args.repeats):
            t0, c0 = time.time(), time.process_time()
            res = vm.compute_vp_score(pairs, labels, seed=args.seed + r, protocol=protocol, epochs=args.epochs,
                                      eval_batch_size=args.eval_batch_size, threads=args.threads,
                                      verbose=args.verbose, log=_log)
            _emit(dict(_summary(res, "folder", time.time() - t0, time.process_time() - c0), **_platform()))


def varpred_flops(height, width, dims, batch):
    """(train, eval) FLOPs per pair of VarPred on [height, 2 * width] pairs: the forward pass in eval mode, and
    forward + backward in training mode, counted by TF's per-op statistics (Adam's elementwise work left out)."""
    from bench_train import _flops
    from dnnlib import tflib
    from dnnlib.tflib.compat import tf
    from metrics import vp_metric as vm

    graph = tf.Graph()
    with graph.as_default():
        images = tf.placeholder(tf.float32, [batch, height, 2 * width, 3])
        targets = tf.placeholder(tf.int64, [batch])
        net = vm.VarPred(dims, 3, "diff", seed=0)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=targets, logits=net.logits(images, training=True)))
        grads = tf.gradients(loss, net.trainables)
        eval_logits = net.logits(images, training=False)
        train_flops = _flops(graph, tflib.ancestor_ops(grads))
        eval_flops = _flops(graph, tflib.ancestor_ops([eval_logits]))
    return train_flops / batch, eval_flops / batch


def _achieved(line, res, height, width, dims, threads):
    """Achieved FLOP/s of the last epoch's train and eval steps against the machine's dense float32 peak."""
    from bench_train import _session_config, peak_flops
    from dnnlib import tflib
    from dnnlib.tflib.compat import tf

    train_pp, eval_pp = varpred_flops(height, width, dims, 32)
    num_eval = res["num_val"] if res["settings"]["protocol"] == "fast" and res["num_val"] else res["num_test"]
    train_rate = train_pp * res["num_train"] / res["epoch_train_seconds"][-1]
    eval_rate = eval_pp * num_eval / res["epoch_eval_seconds"][-1] if res["settings"]["protocol"] != "fast" else None
    with tf.Graph().as_default(), tflib.create_session(_session_config(threads)).as_default() as sess:
        peak = peak_flops(sess)
    line.update(train_mflop_per_pair=round(train_pp / 1e6, 2), eval_mflop_per_pair=round(eval_pp / 1e6, 2),
                train_gflops=round(train_rate / 1e9, 2), peak_gflops=round(peak["peak"] / 1e9, 2),
                numpy_sgemm_gflops=round(peak["numpy"] / 1e9, 2), tf_matmul_gflops=round(peak["tf"] / 1e9, 2),
                train_over_peak=round(train_rate / peak["peak"], 3))
    if eval_rate is not None:
        line.update(eval_gflops=round(eval_rate / 1e9, 2), eval_over_peak=round(eval_rate / peak["peak"], 3))


def bench_synthetic_epoch(args):
    from metrics import vp_metric as vm

    t0 = time.time()
    pairs, labels = synthetic_pairs(args.pairs, args.size, args.dims)
    gen_s = time.time() - t0
    t0, c0 = time.time(), time.process_time()
    res = vm.compute_vp_score(pairs, labels, seed=args.seed, epochs=args.epochs, eval_batch_size=args.eval_batch_size,
                              threads=args.threads, verbose=args.verbose, log=_log)
    line = _summary(res, "synthetic-epoch", time.time() - t0, time.process_time() - c0)
    per_epoch = line["train_s_per_epoch"] + line["eval_s_per_epoch"]
    line.update(generate_s=round(gen_s, 2), s_per_epoch=round(per_epoch, 3),
                estimate_reference_200_epochs_s=round(200 * per_epoch, 1),
                estimate_reference_200_epochs_h=round(200 * per_epoch / 3600.0, 2),
                estimate_fast_30_epochs_s=round(30 * per_epoch, 1), **_platform())
    _achieved(line, res, args.size, args.size, args.dims, args.threads)
    _emit(line)


def bench_pair_generation(args):
    """images/s of Gs.run alone vs generate_pairs (in memory) vs write_pair_folder (JPEGs on disk); 2 images per
    pair. Each is timed after one warm-up batch, with the same batch size."""
    import shutil
    import tempfile

    from dnnlib.tflib.compat import tf
    from dnnlib import tflib
    from metrics import pair_dataset
    from training import snapshots

    num_pairs, batch = args.pairs, args.batch_size
    with tf.Graph().as_default(), tflib.create_session().as_default():
        nets = snapshots.split_networks(snapshots.load_snapshot(args.pair_generation))
        Gs = snapshots.adapt_network(nets.Gs, snapshots.default_data_format())
        plan = pair_dataset.generator_plan(Gs)
        rng = np.random.RandomState(args.seed)
        codes = rng.uniform(-2, 2, [2 * num_pairs, Gs.input_shapes[0][1]]).astype(np.float32)
        labels = np.zeros([2 * num_pairs, Gs.input_shapes[1][1]], np.float32)
        Gs.run(codes[:2 * batch], labels[:2 * batch], randomize_noise=False, minibatch_size=batch)  # warm-up
        t0 = time.time()
        Gs.run(codes, labels, randomize_noise=False, minibatch_size=batch)
        forward = 2 * num_pairs / (time.time() - t0)
        t0 = time.time()
        pair_dataset.generate_pairs(Gs, num_pairs, seed=args.seed, batch_size=batch, progress=False)
        in_memory = 2 * num_pairs / (time.time() - t0)
        tmp = tempfile.mkdtemp(prefix="bench_pairs_")
        try:
            t0 = time.time()
            pair_dataset.write_pair_folder(os.path.join(tmp, "pairs"), Gs, num_pairs, seed=args.seed,
                                           batch_size=batch, progress=False)
            on_disk = 2 * num_pairs / (time.time() - t0)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    _emit(dict(mode="pair-generation", network_pkl=args.pair_generation, num_pairs=num_pairs, batch_size=batch,
               num_continuous=plan.continuous_size, forward_img_s=round(forward, 1),
               pairs_in_memory_img_s=round(in_memory, 1), pair_folder_img_s=round(on_disk, 1),
               ratio_in_memory=round(in_memory / forward, 3), ratio_folder=round(on_disk / forward, 3),
               **_platform()))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("pair_dir", nargs="?", help="pair folder (pair_%%06d.jpg + labels.npy)")
    p.add_argument("--synthetic-epoch", action="store_true", help="time epochs on synthetic pairs instead")
    p.add_argument("--pair-generation", metavar="NETWORK_PKL", default=None,
                   help="time pair generation vs the generator's forward pass (trusted pickle: pickles run code)")
    p.add_argument("--batch-size", type=int, default=100, help="pair generation: generator batch size")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--protocols", default="reference,fast",
                   help="folder mode: protocols to run, in order (default reference,fast; the fast lines also carry "
                        "reference_estimate_s, 200 x (train epoch + whole-test evaluation) at their own speed)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=None,
                   help="folder mode: epochs for both protocols (default 200 / 30); synthetic: epochs to time (2)")
    p.add_argument("--max-pairs", type=int, default=None)
    p.add_argument("--size", type=int, default=64, help="synthetic: half-image size (pairs are size x 2size)")
    p.add_argument("--pairs", type=int, default=None,
                   help="synthetic: number of pairs (default 10000, 90%% test); pair generation: default 2000")
    p.add_argument("--dims", type=int, default=30, help="synthetic: latent dims")
    p.add_argument("--eval-batch-size", type=int, default=256)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--verbose", action="store_true", help="per-epoch lines on stdout too")
    args = p.parse_args(argv)
    if args.pair_generation:
        args.pairs = args.pairs or 2000
        bench_pair_generation(args)
    elif args.synthetic_epoch:
        args.pairs = args.pairs or 10000
        args.epochs = args.epochs or 2
        bench_synthetic_epoch(args)
    elif args.pair_dir:
        bench_folder(args)
    else:
        p.error("give PAIR_DIR or --synthetic-epoch")


if __name__ == "__main__":
    main()
