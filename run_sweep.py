"""Run a study: train every trial of a sweep file, compute its metrics, and tabulate them -- on a local Ray (default)
or on a Ray cluster (--address). Python >= 3.10 with `ray` (requirements.txt); a trial may run under another
interpreter (e.g. Python 3.7 + TensorFlow 1.15: `python: .venv/py3.7/bin/python` in the sweep file).

  python run_sweep.py experiments/dsprites_vae/sweep.yaml --out ~/vpdis-work/study --data-dir ~/datasets
  python run_sweep.py SWEEP.yaml --out DIR --list                   # the trials, their keys, what is done
  python run_sweep.py SWEEP.yaml --out DIR --address 10.0.0.1:6379  # on a cluster (`ray start --head`)

The sweep file's format: sweeps/spec.py. Each trial trains in <out>/trials/<name>.<key>/ (run_training.py
--resume latest: an interrupted trial continues from its last snapshot), then run_metrics.py computes its metric
groups on network-final.pkl. A trial whose Ray worker or node is lost is retried (the sweep's `retries`); one
that fails by itself (a bad flag, diverged, its process killed) is reported with its log tail and not retried,
and the others go on. A rerun skips every trial whose result.json has the same key -- a hash of the resolved
training flags, metric settings and interpreter -- and reruns those whose key changed (in a new folder).
Outputs in --out: results.csv / results.md (every trial: settings, key, status, metrics), correlation.csv / .md /
.png when the sweep names a `correlation`, sweep.json (provenance) and each trial's result.json.
Exit status: 0 all trials ok, 1 some failed, 2 a usage error (the sweep file, a flag), 130 Ctrl-C.
Network pickles under --out execute code when loaded: keep the folder private.
"""

import argparse
import json
import os
import sys
import time

from dnnlib import EasyDict, cli, util
from sweeps import spec, table


def build_parser():
    parser = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sweep_file", help="the study's trials (.yaml / .json; format: sweeps/spec.py)")
    parser.add_argument("--out", required=True, help="results folder (trial folders, tables, plots)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--address", help="HOST:PORT of a running Ray cluster (default: a local Ray in this process)")
    where.add_argument("--local-workers", dest="local_workers", type=int,
                       help="CPUs of the local Ray (default: all of this machine's)")
    parser.add_argument("--local-gpus", dest="local_gpus", type=int, help="GPUs of the local Ray (default: Ray detects them)")
    parser.add_argument("--dashboard", action="store_true", help="start Ray's dashboard (local: on 127.0.0.1)")
    parser.add_argument("--data-dir", dest="data_dir", help="run_training.py --data-dir for every trial (not in the keys)")
    parser.add_argument("--only", help="comma-separated trial names (default: all)")
    parser.add_argument("--list", action="store_true", help="print the trials, their keys and status, and exit")
    parser.add_argument("--quiet", action="store_true", help="no live summary; one line per finished trial")
    return parser


def select(trials, only):
    if not only:
        return trials
    wanted = [n.strip() for n in only.split(",") if n.strip()]
    unknown = sorted(set(wanted) - set(t.name for t in trials))
    if unknown:
        raise cli.UsageError("--only: no trial named %s; --list shows them" % ", ".join(unknown))
    return [t for t in trials if t.name in wanted]


def prepare(args):
    """The resolved configuration of this invocation (one EasyDict): trials with keys, earlier results."""
    sweep = spec.load_sweep_file(args.sweep_file)
    overrides = {"data_dir": os.path.expanduser(args.data_dir)} if args.data_dir else {}
    trials = spec.expand_trials(sweep, args.sweep_file, overrides)
    selected = set(t.name for t in select(trials, args.only))
    for flag, value in (("--local-workers", args.local_workers), ("--local-gpus", args.local_gpus)):
        if value is not None and value < (1 if flag == "--local-workers" else 0):
            raise cli.UsageError("%s must be at least %d, got %d" % (flag, 1 if flag == "--local-workers" else 0, value))
    util.check_output_path(args.out, "dir", "--out")
    correlation = spec.correlation_settings(sweep, args.sweep_file)
    spec.resolve_keys(trials)
    results = {t.name: table.read_result(args.out, t) for t in trials}
    return EasyDict(sweep_file=os.path.abspath(args.sweep_file), sweep_sha256=util.sha256_of_file(args.sweep_file),
                    name=sweep.get("name"), out=os.path.abspath(args.out), commit=util.git_commit(spec.REPO_ROOT), trials=trials, selected=selected,
                    correlation=correlation,
                    earlier={n: r for n, r in results.items() if r and r.get("status") == "ok"},
                    address=args.address, local_workers=args.local_workers, local_gpus=args.local_gpus,
                    dashboard=args.dashboard, quiet=args.quiet)


def list_trials(cfg):
    for t in (t for t in cfg.trials if t.name in cfg.selected):
        state = ("bad flags: " + t.error) if t.error else "done" if t.name in cfg.earlier else "to run"
        print("%-28s %-12s %-6s cpus %g gpus %g  %s" % (t.name, t.key or "-", os.path.basename(t.python_path),
                                                        t.resources["cpus"], t.resources["gpus"], state))


def write_trial_json(cfg, trial):
    path = os.path.join(table.trial_dir(cfg.out, trial), "trial.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with util.atomic_write(path, "w") as f:
        json.dump(dict(trial, sweep_file=cfg.sweep_file, commit=cfg.commit), f, indent=2, sort_keys=True)


def write_outputs(cfg, results):
    table.write_tables(cfg.out, cfg.trials, results)
    if cfg.correlation:
        table.write_correlation(cfg.out, cfg.trials, results, cfg.correlation)


def check_placeable(cfg, trials, nodes):
    """A trial that asks for more CPUs / GPUs than any node has would wait in Ray's queue for ever: on a local Ray
    (its size fixed by the flags) that is a usage error; a cluster may still gain such a node, so only a warning."""
    from sweeps import ray_runner

    too_big = ray_runner.unplaceable(trials, nodes)
    if not too_big:
        return
    most = "cpus %g, gpus %g" % (max([n["cpus"] for n in nodes] or [0]), max([n["gpus"] for n in nodes] or [0]))
    asks = ", ".join("%s (cpus %g, gpus %g)" % (t.name, t.resources["cpus"], t.resources["gpus"]) for t in too_big)
    if cfg.address:
        print("warning: no node of the cluster can hold %s (the most any node has: %s); they wait until one joins"
              % (asks, most), file=sys.stderr, flush=True)
        return
    raise cli.UsageError("the local Ray has %s, too few for %s: raise --local-workers / --local-gpus, or lower the "
                         "sweep file's resources" % (most, asks))


def run(cfg):
    """Run what is selected and not done; returns {trial name: result} of every trial with one."""
    results = dict(cfg.earlier)
    to_run = []
    for trial in cfg.trials:
        if trial.name not in cfg.selected:
            continue
        if trial.error:
            results[trial.name] = dict(name=trial.name, status="failed", error=trial.error, metrics={})
            print("FAILED %s: %s" % (trial.name, trial.error), file=sys.stderr)
        elif trial.name not in cfg.earlier:
            to_run.append(trial)
    print("%s: %d trial(s), %d selected, %d done earlier, %d to run, %d with bad flags"
          % (cfg.name or os.path.basename(cfg.sweep_file), len(cfg.trials), len(cfg.selected),
             len(cfg.selected & set(cfg.earlier)),
             len(to_run), sum(1 for t in cfg.trials if t.error and t.name in cfg.selected)), flush=True)
    os.makedirs(cfg.out, exist_ok=True)
    if to_run:
        from sweeps import ray_runner

        ray = ray_runner.init_ray(cfg.address, cfg.local_workers, cfg.local_gpus, cfg.dashboard)
        try:
            check_placeable(cfg, to_run, ray_runner.node_capacities(ray))
            for trial in to_run:
                write_trial_json(cfg, trial)
            def on_result(trial, result):
                results[trial.name] = result
                write_outputs(cfg, results)
                result["recorded"] = time.time()
                table.write_result(cfg.out, trial, result)

            ray_runner.run_trials(ray, to_run, {t.name: table.trial_dir(cfg.out, t) for t in to_run}, on_result,
                                  quiet=cfg.quiet)
        finally:
            ray.shutdown()
    write_outputs(cfg, results)
    return results


def main(argv=None):
    args = build_parser().parse_args(argv)
    start = time.time()
    try:
        cfg = prepare(args)
        if args.list:
            list_trials(cfg)
            return 0
        results = run(cfg)
        failed = sorted(n for n, r in results.items() if r.get("status") != "ok" and n in cfg.selected)
        info = dict(sweep_file=cfg.sweep_file, sweep_sha256=cfg.sweep_sha256, commit=cfg.commit,
                    machine=util.machine_info(), address=cfg.address or "local", wall_seconds=round(time.time() - start, 1),
                    trials=len(cfg.trials), selected=sorted(cfg.selected),
                    done_earlier=sorted(cfg.selected & set(cfg.earlier)), failed=failed)
        with util.atomic_write(os.path.join(cfg.out, "sweep.json"), "w") as f:
            json.dump(info, f, indent=2)
    except (Exception, KeyboardInterrupt) as exc:     # exit status: dnnlib/cli.py (2 usage, 1 runtime, 130 Ctrl-C)
        return cli.report(exc)
    print("%d of %d trial(s) ok in %.0f s; results in %s%s"
          % (len(cfg.selected) - len(failed), len(cfg.selected), time.time() - start, os.path.join(cfg.out, "results.md"),
             "; failed: " + ", ".join(failed) if failed else ""), flush=True)
    return cli.EXIT_RUNTIME if failed else 0


if __name__ == "__main__":
    sys.exit(main())
