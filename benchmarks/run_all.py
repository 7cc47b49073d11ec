"""Run every benchmark; write benchmarks/results.json and benchmarks/results.md (machine, runtime, figure, value).

  python benchmarks/run_all.py                         # every benchmark at its own defaults (about 30-40 min
                                                       # on 2 CPU cores; the ground-truth metrics take most)
  python benchmarks/run_all.py --quick                 # small sizes: a few minutes, for checking the plumbing
  python benchmarks/run_all.py --only ops,train --pythons .venv/py3.7/bin/python .venv/py3.11/bin/python
  python benchmarks/run_all.py --network-pkl results/00000-.../network-final.pkl --pair-dir results/pairs
  python benchmarks/run_all.py --only train --merge    # rerun one benchmark, keep the others' results

Each benchmark prints one JSON object per measurement; this script runs it under each interpreter of
--pythons (default: this one), keeps every object, and turns each numeric field into a row
(benchmark, case, figure, value) where "case" joins the object's text fields (mode, preset, metric, ...).
The pair-generation and VP-folder benchmarks need a network pickle / pair folder and run only when given
(pickles execute code when loaded: give only trusted files). Absolute times depend on the machine and on
its load (``loadavg_1min`` is recorded): compare figures from the same machine only.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from dnnlib import util  # noqa: E402  (no TensorFlow import)
from dnnlib.util import atomic_write  # noqa: E402
# JSON fields that describe the machine or runtime rather than a measurement or a case.
PLATFORM_KEYS = ("python", "tf", "tensorflow", "numpy", "sklearn", "cpus", "gpus", "loadavg_1min", "machine",
                 "runtime")


def benchmarks(args):
    """[(name, argv, quick argv)] of the benchmarks to run, in order."""
    table = [
        ("ops", ["bench_ops.py"], ["--min-seconds", "0.3"]),
        ("dataset_tool", ["bench_dataset_tool.py"], ["--dsprites_images", "20000", "--folder_images", "1000"]),
        ("train", ["bench_train.py"], ["--presets", "dsprites64", "--steps", "1"]),
        ("train_vae", ["bench_train.py", "--presets", "--vae-models", "beta_vae", "vp_vae", "--threads", "1", "2"],
         ["--steps", "1"]),
        ("train_vae_side_by_side", ["bench_train.py", "--presets", "--vae-models", "beta_vae", "vp_vae",
                                    "--threads", "1", "--side-by-side", "2"], ["--steps", "1"]),
        ("vp_metric_epoch", ["bench_vp_metric.py", "--synthetic-epoch"],
         ["--pairs", "1000", "--size", "32", "--epochs", "1"]),
        ("vp_metric_epoch_32px_5dims", ["bench_vp_metric.py", "--synthetic-epoch", "--pairs", "10000", "--size", "32",
                                        "--dims", "5", "--epochs", "3"], ["--pairs", "1000", "--epochs", "1"]),
        # the dSprites VAE study's setting (64x64 halves, 6 latents): what one reference-protocol run costs there
        ("vp_metric_epoch_64px_6dims", ["bench_vp_metric.py", "--synthetic-epoch", "--pairs", "10000", "--size", "64",
                                        "--dims", "6", "--epochs", "3"], ["--pairs", "1000", "--epochs", "1"]),
        ("gt_metrics", ["bench_metrics.py"], ["--quick"]),
        ("sprite_iou", ["bench_sprite_iou.py"], ["--samples", "100", "--resolution", "16"]),
        ("sweep", ["bench_sweep.py"], ["--trials", "2", "--steps", "2"]),      # Python >= 3.10 (Ray); 3.7 says so
    ]
    if args.network_pkl:
        table.append(("pair_generation", ["bench_vp_metric.py", "--pair-generation", args.network_pkl],
                      ["--pairs", "300"]))
    if args.pair_dir:
        table.append(("vp_metric_folder", ["bench_vp_metric.py", args.pair_dir], ["--epochs", "2"]))
    return table


def case_and_figures(obj):
    """One benchmark JSON object -> (case label, {figure: number}); platform fields are left out of both."""
    case = ", ".join("%s=%s" % (k, v) for k, v in sorted(obj.items())
                     if k not in PLATFORM_KEYS and isinstance(v, str) and len(v) <= 60)
    figures = {k: v for k, v in sorted(obj.items())
               if k not in PLATFORM_KEYS and isinstance(v, (int, float)) and not isinstance(v, bool)}
    return case, figures


def rows_of(runs):
    """Table rows (runtime, benchmark, case, figure, value) of every object of every run, in run order."""
    rows = []
    for run in runs:
        for obj in run["objects"]:
            case, figures = case_and_figures(obj)
            for figure, value in figures.items():
                rows.append(dict(runtime=runtime_of(obj, run["python"]), benchmark=run["benchmark"], case=case,
                                 figure=figure, value=value))
    return rows


def merge_runs(old_runs, new_runs):
    """Earlier runs with the new ones replacing those of the same (benchmark, interpreter), in the old order."""
    new_by_key = {(r["benchmark"], r["python"]): r for r in new_runs}
    merged = [new_by_key.pop((r["benchmark"], r["python"]), r) for r in old_runs]
    return merged + [r for r in new_runs if (r["benchmark"], r["python"]) in new_by_key]


def runtime_of(obj, python):
    tf_version = obj.get("tf") or obj.get("tensorflow")
    if tf_version:
        return "Python %s + TF %s" % (obj.get("python", "?"), tf_version)
    if obj.get("python"):
        return "Python %s (TF not recorded)" % obj["python"]
    return python


def machine_description():
    return "%s, %d CPUs" % (util.cpu_model() or platform.machine(), os.cpu_count())


def run_one(python, name, argv, log):
    """Run a benchmark script; returns (objects parsed from its stdout, exit code, seconds)."""
    cmd = [python, os.path.join(HERE, argv[0])] + argv[1:]
    log("== %s: %s" % (name, " ".join(cmd)))
    start = time.time()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          cwd=os.path.dirname(HERE))
    objects = []
    for line in proc.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                objects.append(json.loads(line))
            except ValueError:
                pass
    if proc.returncode != 0:
        log("   failed (exit %d): %s" % (proc.returncode, proc.stderr.strip().splitlines()[-1:] or ""))
    return objects, proc.returncode, time.time() - start


def machines_line(results):
    """'Machine: M.' or, when the runs were made on several machines, each with the benchmarks run there."""
    order = []
    for run in results["runs"]:
        machine = run.get("machine", results["machine"])
        if machine not in [m for m, _ in order]:
            order.append((machine, []))
        names = dict(order)[machine]
        if run["benchmark"] not in names:
            names.append(run["benchmark"])
    if len(order) <= 1:
        return "Machine: %s." % (order[0][0] if order else results["machine"])
    return "Machines: %s." % "; ".join("%s (%s)" % (m, ", ".join(names)) for m, names in order)


def markdown(results):
    lines = ["# Benchmark results", "", "%s Made by `%s` on %s." % (
        machines_line(results), results["command"], results["date"]), "",
        "| runtime | benchmark | case | figure | value |", "|---|---|---|---|---|"]
    for row in results["rows"]:
        value = row["value"]
        text = ("%.4g" % value) if isinstance(value, float) else str(value)
        lines.append("| %s | %s | %s | %s | %s |" % (row["runtime"], row["benchmark"], row["case"] or "-",
                                                    row["figure"], text))
    failed = [r for r in results["runs"] if r["exit_code"] != 0]
    if failed:
        lines += ["", "Failed: " + ", ".join("%s (%s, exit %d)" % (r["benchmark"], r["python"], r["exit_code"])
                                             for r in failed)]
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes (checks the plumbing; not the README figures)")
    p.add_argument("--only", default=None, help="comma-separated benchmark names (default: all that apply)")
    p.add_argument("--pythons", nargs="+", default=[sys.executable], help="interpreters to run under")
    p.add_argument("--network-pkl", default=None, help="a trained pickle for the pair-generation benchmark")
    p.add_argument("--pair-dir", default=None, help="a pair folder for the VP-metric protocol benchmark (long)")
    p.add_argument("--merge", action="store_true",
                   help="keep the other benchmarks' results already in --out (rerun one benchmark, keep the rest)")
    p.add_argument("--out", default=os.path.join(HERE, "results.json"),
                   help="results JSON (default benchmarks/results.json); the table goes beside it as .md")
    args = p.parse_args(argv)
    table = benchmarks(args)
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = sorted(set(wanted) - set(name for name, _, _ in table))
        if unknown:
            p.error("unknown benchmark(s) %s; available: %s" % (", ".join(unknown),
                                                                ", ".join(name for name, _, _ in table)))
        table = [entry for entry in table if entry[0] in wanted]

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    results = dict(machine=machine_description(), date=time.strftime("%Y-%m-%d %H:%M"), quick=args.quick,
                   command="python benchmarks/run_all.py" + (" " + " ".join(argv if argv is not None else sys.argv[1:])
                                                             if (argv or sys.argv[1:]) else ""),
                   runs=[], rows=[])
    for python in args.pythons:
        for name, cmd, quick in table:
            objects, code, seconds = run_one(python, name, cmd + (quick if args.quick else []), log)
            results["runs"].append(dict(benchmark=name, python=python, exit_code=code, seconds=round(seconds, 1),
                                        machine=results["machine"], date=results["date"], objects=objects))
    if args.merge and os.path.exists(args.out):
        with open(args.out) as f:
            earlier = json.load(f)
        for run in earlier["runs"]:      # written before runs recorded their own machine: the file named one
            run.setdefault("machine", "%s, as the file then said (not recorded per run)" % earlier["machine"])
            run.setdefault("date", None)
        results["runs"] = merge_runs(earlier["runs"], results["runs"])
        results["command"] = earlier["command"] + "`, then `" + results["command"]
    results["rows"] = rows_of(results["runs"])
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with atomic_write(args.out, "w") as f:
        f.write(json.dumps(results, indent=2) + "\n")
    md_path = os.path.splitext(args.out)[0] + ".md"
    with atomic_write(md_path, "w") as f:
        f.write(markdown(results))
    print(markdown(results))
    log("wrote %s and %s" % (args.out, md_path))
    return 1 if any(r["exit_code"] != 0 for r in results["runs"]) else 0


if __name__ == "__main__":
    sys.exit(main())
