"""Throughput of the custom ops' reference (pure TF) implementations on the CPU, in GB/s.

GB/s counts the bytes an ideal kernel must move: input read once + output written once.
Prints one JSON object per measurement. With ``--pythons A B`` the script re-runs itself under
each interpreter (e.g. both runtimes' venvs) and prints all their lines.

    .venv/py3.11/bin/python benchmarks/bench_ops.py
    python3 benchmarks/bench_ops.py --pythons .venv/py3.7/bin/python .venv/py3.11/bin/python
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _time_op(sess, op, min_seconds, warmup=2):
    for _ in range(warmup):
        sess.run(op)
    runs, start = 0, time.perf_counter()
    while True:
        sess.run(op)
        runs += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds and runs >= 3:
            return elapsed / runs


def run_benchmarks(min_seconds, impl):
    import numpy as np

    from dnnlib.tflib.compat import tf, TF_VERSION
    from dnnlib.tflib.ops.fused_bias_act import fused_bias_act
    from dnnlib.tflib.ops.upfirdn_2d import downsample_2d, upsample_2d

    shape_nhwc = [16, 64, 64, 128]  # 32 MiB of float32
    results = []
    with tf.Graph().as_default(), tf.Session() as sess:
        x = tf.Variable(np.random.RandomState(0).randn(*shape_nhwc).astype(np.float32))
        b = tf.Variable(np.zeros(shape_nhwc[-1], np.float32))
        sess.run(tf.global_variables_initializer())
        nbytes = int(np.prod(shape_nhwc)) * 4
        cases = [
            ("fused_bias_act_lrelu_fwd", tf.reduce_sum(fused_bias_act(x, b, axis=3, act="lrelu", impl=impl)), 2 * nbytes),
            ("fused_bias_act_lrelu_fwd_bwd", tf.gradients(tf.reduce_sum(fused_bias_act(x, b, axis=3, act="lrelu", impl=impl)), [x])[0], 4 * nbytes),
            ("upsample_2d_x2_k4", tf.reduce_sum(upsample_2d(x, [1, 3, 3, 1], data_format="NHWC", impl=impl)), nbytes + 4 * nbytes),
            ("downsample_2d_x2_k4", tf.reduce_sum(downsample_2d(x, [1, 3, 3, 1], data_format="NHWC", impl=impl)), nbytes + nbytes // 4),
        ]
        for name, op, moved in cases:
            seconds = _time_op(sess, op, min_seconds)
            results.append(dict(
                benchmark=name, impl=impl, shape=shape_nhwc, seconds_per_call=round(seconds, 6),
                gb_per_s=round(moved / seconds / 1e9, 3), python=platform.python_version(), tensorflow=TF_VERSION,
                cpu_count=os.cpu_count(),
            ))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--min-seconds", type=float, default=2.0, help="time each case at least this long (default 2)")
    parser.add_argument("--impl", default="ref", choices=["ref", "cuda"], help="op implementation (default ref)")
    parser.add_argument("--pythons", nargs="*", help="re-run under each of these interpreters")
    args = parser.parse_args()
    if args.pythons:
        for python in args.pythons:
            cmd = [python, os.path.abspath(__file__), "--min-seconds", str(args.min_seconds), "--impl", args.impl]
            subprocess.run(cmd, check=True)
        return
    for row in run_benchmarks(args.min_seconds, args.impl):
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
