"""Helpers of the experiments that train a model in segments and score each segment's snapshot
(dsprites_vae/pilot.py, dsprites_gan/run.py).

A model's record is one JSON (committed): its settings, the scored points and the restarts. Training runs
`run_training.py --resume <run dir>` with a larger --total-kimg, so a run folder that survived an interruption
continues from its newest snapshot; metrics run `run_metrics.py` on the segment's snapshot. Run folders hold
pickles, which execute code when loaded: keep them private and outside the work tree.
"""

import argparse
import csv
import glob
import json
import os
import subprocess
import sys
import time

from dnnlib import cli, util


def load_record(path, settings):
    """The committed record at ``path`` (None if absent). RuntimeError if it was made with other settings."""
    if not os.path.exists(path):
        return None
    with open(path) as f:
        record = json.load(f)
    if record["settings"] != settings:
        raise RuntimeError("%s was made with other settings; move it away or pass the same flags" % path)
    return record


def save_record(path, record):
    with util.atomic_write(path, "w") as f:
        json.dump(record, f, indent=2)


def run_dir_of(root):
    """The run directory under ``root``: the newest one holding a snapshot, else the newest one, else None (a run
    killed before its first snapshot leaves a folder without any)."""
    dirs = sorted(d for d in glob.glob(os.path.join(root, "0*")) if os.path.isdir(d))
    with_snapshots = [d for d in dirs if snapshot_kimg(d) > 0]
    return (with_snapshots or dirs or [None])[-1]


def snapshot_kimg(run_dir):
    """kimg of the newest complete snapshot in ``run_dir`` (0 when none, or when ``run_dir`` is None)."""
    from training import snapshots

    found = snapshots.list_snapshots(run_dir) if run_dir else []
    return max([kimg for kimg, _ in found], default=0)


def resume_flag(run_dir):
    """run_training.py's --resume value: the run folder if it has a snapshot to continue from, else 'latest'
    (a new run: --resume refuses a folder without snapshots)."""
    return run_dir if run_dir and snapshot_kimg(run_dir) > 0 else "latest"


def run_logged(cmd, cwd, log):
    """Run ``cmd`` with its output appended to ``log``. Returns its wall seconds; CalledProcessError on failure."""
    start = time.time()
    os.makedirs(os.path.dirname(os.path.abspath(log)), exist_ok=True)
    with open(log, "a") as f:
        f.write("\n== %s\n" % " ".join(cmd))
        f.flush()
        subprocess.check_call(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT)
    return time.time() - start


def read_metrics(out_dir, names):
    """The metric-<name>.json files run_metrics.py wrote to ``out_dir`` -> {name: result dict}."""
    results = {}
    for name in names:
        with open(os.path.join(out_dir, "metric-%s.json" % name)) as f:
            results[name] = json.load(f)
    return results


def utc_now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def write_csv(path, columns, rows):
    """Rows (dicts) as CSV, floats to 6 significant digits, written atomically."""
    with util.atomic_write(path, "w") as f:
        writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("%.6g" % v if isinstance(v, float) else v) for k, v in row.items()})


def save_figure(fig, path, dpi=90):
    """A matplotlib figure as PNG at ``path``, written atomically, then closed."""
    import matplotlib.pyplot as plt
    with util.atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=dpi)
    plt.close(fig)


def select_by_name(entries, only, what):
    """The entries (with ``.name``) named in the comma-separated ``only`` (all when empty), in table order.
    ValueError naming the unknown names."""
    if not only:
        return list(entries)
    wanted = [n.strip() for n in only.split(",") if n.strip()]
    unknown = sorted(set(wanted) - set(e.name for e in entries))
    if unknown:
        raise ValueError("unknown %s(s) %s; --list shows them" % (what, ", ".join(unknown)))
    return [e for e in entries if e.name in wanted]


def experiment_parser(doc, out_default, out_help, what):
    """An argparse parser with the flags every segmented runner shares: --work, --out, --data-dir, --dataset,
    --dataset-images, --python, --only (comma-separated ``what`` names), --metric-seed, --cpu-threads, --list.
    The runner adds its own schedule flags."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", required=True, help="run folders, metric outputs and logs (outside the work tree)")
    p.add_argument("--out", default=out_default, help=out_help)
    p.add_argument("--data-dir", required=True, help="parent of the tfrecord folder")
    p.add_argument("--dataset", default="dsprites_full", help="tfrecord folder (default dsprites_full)")
    p.add_argument("--dataset-images", type=int, default=737280, help="images in it, recorded (default 737280)")
    p.add_argument("--python", default=sys.executable, help="interpreter for training and metrics")
    p.add_argument("--only", help="comma-separated %s names (default: all, in order)" % what)
    p.add_argument("--metric-seed", type=int, default=0, help="metric seed (default 0)")
    p.add_argument("--cpu-threads", type=int, default=1,
                   help="TF threads per process (default 1: run %ss side by side)" % what)
    p.add_argument("--list", action="store_true", help="print the %ss and exit" % what)
    return p


def run_experiment(args, table, what, describe, check, run_one):
    """A runner's main after parsing: select --only from ``table``; with --list print ``describe(entry)`` per
    entry; exit 2 with ``check(args)``'s message when it returns one; else ``run_one(entry, args)`` for each.
    Returns the exit code: 1 when a training or metric step failed (its log is under --work/logs), cli.report's
    code for anything else (Ctrl-C, a full disk, a damaged record), 0 when all ran."""
    try:
        entries = select_by_name(table, args.only, what)
    except ValueError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
    if args.list:
        for entry in entries:
            print(describe(entry))
        return 0
    problem = check(args) or (None if args.cpu_threads >= 1 else "--cpu-threads must be positive")
    if problem:
        print("error: %s" % problem, file=sys.stderr)
        return 2
    try:
        os.makedirs(args.out, exist_ok=True)
        for entry in entries:
            run_one(entry, args)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print("error: %s (logs under %s)" % (exc, os.path.join(args.work, "logs")), file=sys.stderr)
        return 1
    except (Exception, KeyboardInterrupt) as exc:
        return cli.report(exc)
    return 0
