"""Turn the study's finished trials (run_sweep.py experiments/dsprites_vae/sweep.yaml --out <study>) into one
committed JSON per model, results/models/<name>.json; build.py makes every table and plot from those JSONs.

  python experiments/dsprites_vae/collect.py --study ~/vpdis-work/dsprites_vae/study \\
      --data-dir ~/vpdis-work/dsprites_vae/datasets

A model's JSON is written once its trial's result.json says ok (rewritten only with --force): settings (steps,
learning rate, beta, C_lambda, seed, preset, dataset and its size, renderer version), provenance (the commit the
sweep ran from, the trial key, interpreter, machine), wall times (training over all attempts, each metric) and
every metric value (VP: the mean and each repeat), and the sha256 of the weights the metrics scored (all of a
trial's metric files must name the same). Beside it, results/traversals/<name>.png is the newest traversal grid
the training loop wrote (row: one latent dimension swept across the prior), where the trial folder still has
one. Nothing here trains or computes a metric.

  python experiments/dsprites_vae/collect.py --pending experiments/dsprites_vae/sweep.yaml

prints the trials that have no JSON yet, for run_sweep.py --only: a session resumes the study with what is left.
Phase 2 (sweep_vp_reference.yaml: retrained beta-10 models scored with the reference VP protocol) is collected
apart, its grids into results/vp_reference/traversals/, so that nothing of it mixes with phase 1's records:

  python experiments/dsprites_vae/collect.py --study ~/vpdis-work/dsprites_vae/vp_reference \\
      --data-dir ~/vpdis-work/dsprites_vae/datasets --out experiments/dsprites_vae/results/vp_reference
"""

import argparse
import glob
import json
import os
import re
import shutil
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from dnnlib import util  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MINIBATCH = 64
METRICS = ["vp_fast", "vp", "factor_vae_score", "mig", "dci", "sap"]
MODEL_FIELDS = ["name", "model_type", "beta", "C_lambda", "seed", "steps", "learning_rate", "minibatch_size",
                "latent_size", "preset", "dataset", "dataset_images", "renderer_version", "commit", "trial_key",
                "python", "machine", "attempts", "train_seconds", "metric_seconds", "metrics", "vp_repeats",
                "vp_details", "metric_settings", "weights_sha256", "finished"]
# Per VP repeat, besides the score: the other readings of the same run and the test accuracy after each epoch
# (the reference protocol's 200 values; the fast protocol's last one only).
VP_DETAIL_KEYS = ["vp_score_final", "vp_score_heldout", "best_epoch", "heldout_epoch", "accuracy_history"]


def _read_json(path):
    with open(path) as f:
        return json.load(f)


def model_record(trial_dir, data_dir=None, commit=None):
    """The committed record of one finished trial folder (<study>/trials/<name>.<key>)."""
    from training import dsprites
    from sweeps import trial as trial_lib

    trial, result = _read_json(os.path.join(trial_dir, "trial.json")), _read_json(os.path.join(trial_dir, "result.json"))
    flags = trial["flags"]
    attempts = _read_json(os.path.join(trial_dir, "attempts.json"))
    train_seconds = result.get("train_seconds_total")
    if train_seconds is None:      # a result from before per-attempt accounting: its one attempt's training
        train_seconds = trial_lib.train_seconds_total(attempts) or result["train_seconds"]
    factors = os.path.join(data_dir or flags["data_dir"], flags["dataset"], flags["dataset"] + "-factors.npy")
    import numpy as np

    metrics, repeats, vp_details, seconds, settings, weights = {}, {}, {}, {}, {}, {}
    for name in METRICS:
        path = os.path.join(trial_dir, "metrics", "metric-%s.json" % name)
        if not os.path.exists(path):
            continue
        record = _read_json(path)
        metrics[name] = float(record["value"])
        seconds[name] = round(float(record["seconds"]), 1)
        settings[name] = record["settings"]
        weights[name] = record.get("weights_sha256")      # absent in metric files from before 095ddd9
        if name.startswith("vp"):
            repeats[name] = record["details"]["summary"]["vp_score"]["values"]
            runs = record["details"].get("repeats")
            if runs:      # metric files of older runs keep only the scores: no details rather than empty lists
                vp_details[name] = {k: [run.get(k) for run in runs] for k in VP_DETAIL_KEYS}
    if len(set(weights.values())) > 1:
        raise ValueError("%s: its metrics scored different weights (weights_sha256 %s); rescore the trial"
                         % (trial_dir, ", ".join("%s %s" % kv for kv in sorted(weights.items()))))
    return dict(
        name=trial["name"], model_type=flags["model_type"], beta=float(flags["beta"]),
        C_lambda=float(flags["C_lambda"]) if flags["model_type"] == "vp_vae" else None, seed=int(flags["seed"]),
        steps=int(round(flags["total_kimg"] * 1000 / flags["minibatch_size"])), learning_rate=flags["learning_rate"],
        minibatch_size=flags["minibatch_size"], latent_size=flags["latent_size"], preset=flags["preset"],
        dataset=flags["dataset"], dataset_images=int(np.load(factors, mmap_mode="r").shape[0]),
        renderer_version=dsprites.RENDERER_VERSION, commit=trial.get("commit") or commit, trial_key=trial["key"],
        python=trial["python_version"], machine=result.get("machine") or util.machine_info(), attempts=len(attempts),
        train_seconds=round(train_seconds, 1), metric_seconds=seconds, metrics=metrics, vp_repeats=repeats,
        vp_details=vp_details, metric_settings=settings,
        weights_sha256=next(iter(weights.values()), None), finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(result["task_ended"])))


def final_traversal(trial_dir):
    """Path of the newest traversal grid under the trial's run folders (train/*/fakes<kimg>.png, highest kimg;
    a resumed run writes a second folder), or None."""
    grids = glob.glob(os.path.join(trial_dir, "train", "*", "fakes[0-9]*.png"))
    return max(grids, key=lambda p: int(re.search(r"fakes(\d+)\.png$", p).group(1))) if grids else None


def copy_traversal(trial_dir, traversal_dir, name):
    """Copy the trial's final traversal grid to <traversal_dir>/<name>.png (temporary name, then rename) unless
    it is there. Returns True when it copied one."""
    source, target = final_traversal(trial_dir), os.path.join(traversal_dir, name + ".png")
    if source is None or os.path.exists(target):
        return False
    os.makedirs(traversal_dir, exist_ok=True)
    with open(source, "rb") as src, util.atomic_write(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return True


def collect(study_dir, out_dir, data_dir=None, force=False, commit=None, traversal_dir=None):
    """Write results/models/<name>.json for every ok trial not yet collected. Returns the names written; raises
    ValueError, after writing the rest, naming the trials whose records are inconsistent.
    ``commit``: for trials whose trial.json predates run_sweep.py recording it. ``traversal_dir`` receives each
    collected trial's final traversal grid (default: traversals/ beside out_dir when that is a models/ folder,
    else inside it, so that phase 2's grids, named as phase 1's, never meet those and are skipped as present)."""
    os.makedirs(out_dir, exist_ok=True)
    out_dir = os.path.abspath(out_dir)
    traversal_dir = traversal_dir or os.path.join(
        os.path.dirname(out_dir) if os.path.basename(out_dir) == "models" else out_dir, "traversals")
    written, errors = [], []
    for result_path in sorted(glob.glob(os.path.join(study_dir, "trials", "*", "result.json"))):
        trial_dir = os.path.dirname(result_path)
        if _read_json(result_path).get("status") != "ok":
            continue
        try:
            record = model_record(trial_dir, data_dir, commit)
        except ValueError as exc:      # the other trials are still collected
            errors.append(str(exc))
            continue
        if not record["commit"]:
            raise SystemExit("error: %s records no commit; pass --commit (the checkout the sweep ran from)" % trial_dir)
        path = os.path.join(out_dir, record["name"] + ".json")
        if os.path.exists(path) and not force:
            if _read_json(path)["trial_key"] != record["trial_key"]:
                print("%s: committed from another trial key; --force replaces it" % path, file=sys.stderr)
            else:      # collected before it copied grids
                copy_traversal(trial_dir, traversal_dir, record["name"])
            continue
        with util.atomic_write(path, "w") as f:
            json.dump(record, f, indent=2, sort_keys=True)
        copy_traversal(trial_dir, traversal_dir, record["name"])
        written.append(record["name"])
    if errors:
        raise ValueError("; ".join(errors) + " (the other %d new trial(s) were collected)" % len(written))
    return written


def pending(sweep_path, out_dir):
    """Names of the sweep's trials, in file order, that have no JSON in ``out_dir`` yet (for run_sweep.py --only)."""
    from sweeps import spec

    trials = spec.expand_trials(spec.load_sweep_file(sweep_path), sweep_path)
    return [t.name for t in trials if not os.path.exists(os.path.join(out_dir, t.name + ".json"))]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--study", help="run_sweep.py --out of the study: collect its finished trials")
    p.add_argument("--pending", metavar="SWEEP", help="instead: print the names of SWEEP's trials with no JSON in "
                   "--out, comma-separated (run_sweep.py --only takes them)")
    p.add_argument("--out", default=os.path.join(HERE, "results", "models"), help="per-model JSONs (committed)")
    p.add_argument("--data-dir", help="parent of the dataset, for its size (default: the trials' own)")
    p.add_argument("--traversals", help="where each collected trial's final traversal grid goes (default: "
                   "traversals/ beside --out when it is a models/ folder, else inside --out)")
    p.add_argument("--force", action="store_true", help="rewrite JSONs that exist")
    p.add_argument("--commit", help="commit of the sweep's checkout, for trials that do not record it")
    args = p.parse_args(argv)
    if bool(args.study) == bool(args.pending):
        p.error("give --study (collect) or --pending SWEEP (list what is left), one of them")
    if args.pending:
        print(",".join(pending(args.pending, args.out)))
        return 0
    try:
        names = collect(args.study, args.out, args.data_dir, args.force, args.commit, args.traversals)
    except ValueError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    print("collected %d model(s): %s" % (len(names), ", ".join(names) or "none new"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
