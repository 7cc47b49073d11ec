"""The sweep layer's cost and its parallel speed-up: --trials tiny beta-VAE trials (1 CPU thread each, a few
training steps, no metrics) through run_sweep.py on a local Ray, with --workers workers and then with one.

  python benchmarks/bench_sweep.py                      # 8 trials, 2 workers vs 1 (Python >= 3.10: Ray)
  python benchmarks/bench_sweep.py --trials 4 --steps 5

Prints one JSON object per mode: wall seconds of the whole sweep (Ray start included); per trial (medians) the
sweep layer's time inside the task before training starts and from the training's end to its row in the table;
the first trial's time from submission to training start (a Ray worker starting included; later trials also
wait in the queue); the median training subprocess time. Then one object with the speed-up (one worker's wall
time / --workers workers') and train_s_ratio (a trial's training time with --workers side by side / alone: what
the machine itself loses when its cores run together). The trials are CPU-bound and single-threaded, so on an
otherwise idle machine with 2 cores the goal is >= 1.8x. Absolute times depend on the machine and its load
(loadavg_1min is recorded).
"""

import argparse
import glob
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_mode(workdir, data_dir, trials, steps, workers):
    """One sweep of ``trials`` trials on ``workers`` local workers. Returns the figures of that mode."""
    minibatch = 16
    sweep = dict(name="bench", resources=dict(cpus=1), retries=0,
                 train=dict(model_type="beta_vae", dataset="dsprites", minibatch_size=minibatch, cpu_threads=1,
                            total_kimg=steps * minibatch / 1000.0, kimg_per_tick=steps * minibatch / 1000.0,
                            snapshot_ticks=1, n_samples_per=2),
                 metrics=[], trials=[dict(name="t{seed}", grid=dict(seed=list(range(trials))))])
    sweep_file = os.path.join(workdir, "sweep-%d.json" % workers)
    with open(sweep_file, "w") as f:
        json.dump(sweep, f)
    out = os.path.join(workdir, "out-%d" % workers)
    start = time.time()
    subprocess.check_call([sys.executable, os.path.join(ROOT, "run_sweep.py"), sweep_file, "--out", out, "--data-dir",
                           data_dir, "--local-workers", str(workers), "--quiet"], cwd=ROOT, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    wall = time.time() - start
    results = []
    for path in glob.glob(os.path.join(out, "trials", "*", "result.json")):
        with open(path) as f:
            results.append(json.load(f))
    assert len(results) == trials and all(r["status"] == "ok" for r in results), results
    return dict(benchmark="sweep", mode="%d_workers" % workers, trials=trials, steps=steps, wall_s=round(wall, 2),
                task_start_to_train_start_s=round(statistics.median([r["train_started"] - r["task_started"] for r in results]), 3),
                first_submit_to_train_start_s=round(min(r["train_started"] - r["submitted"] for r in results), 3),
                train_end_to_row_s=round(statistics.median([r["recorded"] - r["train_ended"] for r in results]), 3),
                train_s=round(statistics.median([r["train_seconds"] for r in results]), 2),
                python=platform.python_version(), cpus=os.cpu_count(), loadavg_1min=os.getloadavg()[0])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=8, help="trials per sweep (default 8)")
    p.add_argument("--steps", type=int, default=20, help="training steps per trial, batch 16 (default 20)")
    p.add_argument("--workers", type=int, default=2, help="workers of the parallel sweep (default 2)")
    args = p.parse_args(argv)
    if sys.version_info < (3, 10):
        print(json.dumps(dict(benchmark="sweep", skipped="run_sweep.py needs Ray, which needs Python >= 3.10")))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench_sweep-") as workdir:
        data_dir = os.path.join(workdir, "data")
        subprocess.check_call([sys.executable, os.path.join(ROOT, "dataset_tool.py"), "create_dsprites",
                               os.path.join(data_dir, "dsprites"), "--max_images", "64", "--seed", "0"], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        parallel = run_mode(workdir, data_dir, args.trials, args.steps, args.workers)
        print(json.dumps(parallel), flush=True)
        serial = run_mode(workdir, data_dir, args.trials, args.steps, 1)
        print(json.dumps(serial), flush=True)
        print(json.dumps(dict(benchmark="sweep", mode="speedup", workers=args.workers,
                              speedup=round(serial["wall_s"] / parallel["wall_s"], 3), goal=1.8,
                              train_s_ratio=round(parallel["train_s"] / serial["train_s"], 3),
                              cpus=os.cpu_count(), loadavg_1min=os.getloadavg()[0])), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
