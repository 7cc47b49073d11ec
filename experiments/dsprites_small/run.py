"""A CPU-sized check of the paper's Sec. 5 claim on procedural dSprites: does the VP score agree with
ground-truth disentanglement metrics across models?

  python experiments/dsprites_small/run.py                       # all models, then the correlation
  python experiments/dsprites_small/run.py --list                # print the model table and exit
  python experiments/dsprites_small/run.py --kimg 4 --only beta_vae-s0,vp_vae-l1-s0   # a quick look

Models (default 9): beta-VAE (beta 10) and VP-VAE (beta 10, C_lambda 1), seeds 0, 1, 2 each; a VP-VAE lambda
sweep (C_lambda 0.1 and 10, seed 0); a plain VAE (beta 1, seed 0). All use the quickstart_vae settings (64x64,
6 latents, batch 64, fulldim VP pairs) trained for --kimg thousand images at --learning-rate.
For every model: the VP score (fast protocol, --vp-pairs onedim pairs from the decoder, one repeat) and
FactorVAE score, MIG and DCI disentanglement of the encoder (--gt-points points instead of the reference's
10,000, so they are noisier than published values).

Resumable: each model trains in <work>/runs/<name>/ (--resume latest continues an interrupted run), a
finished model is not trained again, and metrics already in metric-<name>.json with the same settings are
reused. Outputs (<out>, committed): models.csv (one row per model: settings, training seconds, metrics),
correlation.csv / .md / .png (VP vs each metric, Pearson and Spearman) and run_info.json (settings,
platform, wall time). Pickles under <work> execute code when loaded: keep <work> private.
"""

import argparse
import csv
import glob
import json
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from metrics import correlation  # noqa: E402
from dnnlib import EasyDict, util  # noqa: E402

VP_METRIC = "vp_fast"
GT_METRICS = ["factor_vae_score", "mig", "dci"]


def model_table(seeds, lambdas):
    """[EasyDict(name, model_type, beta, C_lambda, seed)] in training order."""
    models = []
    for seed in seeds:
        models.append(EasyDict(name="beta_vae-s%d" % seed, model_type="beta_vae", beta=10.0, C_lambda=0.0, seed=seed))
        models.append(EasyDict(name="vp_vae-l1-s%d" % seed, model_type="vp_vae", beta=10.0, C_lambda=1.0, seed=seed))
    for lam in lambdas:
        models.append(EasyDict(name="vp_vae-l%g-s%d" % (lam, seeds[0]), model_type="vp_vae", beta=10.0,
                               C_lambda=float(lam), seed=seeds[0]))
    models.append(EasyDict(name="vae-s%d" % seeds[0], model_type="vae", beta=1.0, C_lambda=0.0, seed=seeds[0]))
    return models


def finished_run(model_root):
    """The run directory under ``model_root`` holding network-final.pkl, or None."""
    done = sorted(glob.glob(os.path.join(model_root, "*", "network-final.pkl")))
    return os.path.dirname(done[-1]) if done else None


def settings_mismatch(run_dir, model, args):
    """'' when the run in ``run_dir`` was trained with this model's settings, else what differs."""
    with open(os.path.join(run_dir, "submit_config.json")) as f:
        cfg = json.load(f)["run_func_kwargs"]["cfg"]
    have = dict(model_type=cfg["model_type"], seed=cfg["seed"], total_kimg=cfg["total_kimg"],
                learning_rate=cfg["opt"]["learning_rate"], beta=cfg["loss"]["beta"])
    want = dict(model_type=model.model_type, seed=model.seed, total_kimg=args.kimg, learning_rate=args.learning_rate,
                beta=model.beta)
    if model.model_type == "vp_vae":
        have["C_lambda"], want["C_lambda"] = cfg["loss"]["C_lambda"], model.C_lambda
    return ", ".join("%s %s (wanted %s)" % (k, have[k], want[k]) for k in sorted(want) if have[k] != want[k])


def ensure_dataset(args):
    if glob.glob(os.path.join(args.data_dir, args.dataset, "*.tfrecords")):
        return
    print("== rendering procedural dSprites into %s/%s ==" % (args.data_dir, args.dataset), flush=True)
    subprocess.check_call([sys.executable, os.path.join(ROOT, "dataset_tool.py"), "create_dsprites",
                           os.path.join(args.data_dir, args.dataset), "--max_images", "20000", "--seed", "0"])


def train(model, args):
    """Train one model (or finish an interrupted run); returns (run dir, training wall seconds or None)."""
    root = os.path.join(args.work, "runs", model.name)
    run_dir = finished_run(root)
    if run_dir:
        mismatch = settings_mismatch(run_dir, model, args)
        if mismatch:
            raise RuntimeError("%s holds a finished run with other settings: %s; pass another --work"
                               % (run_dir, mismatch))
        return run_dir, None
    cmd = [sys.executable, os.path.join(ROOT, "run_training.py"), "--preset", "quickstart_vae",
           "--model_type", model.model_type, "--beta", str(model.beta), "--seed", str(model.seed),
           "--total-kimg", str(args.kimg), "--learning-rate", str(args.learning_rate),
           "--data-dir", args.data_dir, "--dataset", args.dataset, "--result-dir", root, "--resume", "latest"]
    if model.model_type == "vp_vae":
        cmd += ["--C_lambda", str(model.C_lambda)]
    print("== training %s: %s ==" % (model.name, " ".join(cmd[1:])), flush=True)
    start = time.time()
    subprocess.check_call(cmd, cwd=ROOT)
    seconds = time.time() - start
    run_dir = finished_run(root)
    if run_dir is None:
        raise RuntimeError("training %s ended without network-final.pkl under %s" % (model.name, root))
    with util.atomic_write(os.path.join(run_dir, "train_seconds.txt"), "w") as f:
        f.write("%.1f\n" % seconds)
    return run_dir, seconds


def read_train_seconds(run_dir):
    path = os.path.join(run_dir, "train_seconds.txt")
    return float(open(path).read()) if os.path.exists(path) else float("nan")


def write_models_csv(path, models, run_dirs, table):
    with util.atomic_write(path, "w") as f:
        writer = csv.writer(f)
        writer.writerow(["model", "model_type", "beta", "C_lambda", "seed", "train_s", VP_METRIC] + GT_METRICS)
        for model in models:
            values = table[run_dirs[model.name]]
            writer.writerow([model.name, model.model_type, model.beta, model.C_lambda, model.seed,
                             "%.0f" % read_train_seconds(run_dirs[model.name])]
                            + ["%.6g" % values[n] for n in [VP_METRIC] + GT_METRICS])


def train_and_score(models, args):
    """Train what is missing and compute what is missing, model by model (so an interruption loses at most one
    model's work). Returns ({model name: run dir}, the metric arguments)."""
    margs = EasyDict(seed=args.seed, sha256=None, batch_size=100, vp_pairs=args.vp_pairs, vp_repeats=1,
                     vp_epochs=None, gt_data="dsprites", gt_points=args.gt_points, verbose=False)
    run_dirs = {}
    for i, model in enumerate(models):
        print("== [%d/%d] %s ==" % (i + 1, len(models), model.name), flush=True)
        run_dirs[model.name], seconds = train(model, args)
        if seconds is None:
            print("%s: already trained (%s)" % (model.name, run_dirs[model.name]), flush=True)
        correlation.collect([run_dirs[model.name]], VP_METRIC, GT_METRICS, margs)  # caches per run dir
    return run_dirs, margs


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    p.add_argument("--work", default=os.path.join(ROOT, "results", "dsprites_small"),
                   help="training runs and per-model metrics (default results/dsprites_small)")
    p.add_argument("--out", default=os.path.join(here, "results"),
                   help="tables and plot (default experiments/dsprites_small/results, committed)")
    p.add_argument("--data-dir", default=os.path.join(ROOT, "datasets"), help="parent of the dataset (default datasets)")
    p.add_argument("--dataset", default="dsprites", help="tfrecord folder; rendered (20,000 images) if missing")
    p.add_argument("--seeds", default="0,1,2", help="seeds of the beta-VAE / VP-VAE pairs (default 0,1,2)")
    p.add_argument("--lambdas", default="0.1,10", help="extra VP-VAE C_lambda values, first seed (default 0.1,10)")
    p.add_argument("--kimg", type=float, default=32.0, help="training length per model in kimg (default 32 = 500 steps)")
    p.add_argument("--learning-rate", type=float, default=5e-4, help="Adam learning rate (default 5e-4)")
    p.add_argument("--vp-pairs", type=int, default=4000, help="pairs for the VP score (default 4000: 400 train)")
    p.add_argument("--gt-points", type=int, default=1000, help="points for FactorVAE/MIG/DCI (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the metrics (default 0)")
    p.add_argument("--only", default=None, help="comma-separated model names (default: all)")
    p.add_argument("--list", action="store_true", help="print the models and exit")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
        lambdas = [float(s) for s in args.lambdas.split(",") if s.strip()]
    except ValueError:
        print("error: --seeds and --lambdas take comma-separated numbers", file=sys.stderr)
        return 2
    if not seeds:
        print("error: --seeds is empty", file=sys.stderr)
        return 2
    models = model_table(seeds, lambdas)
    if args.only:
        wanted = set(n.strip() for n in args.only.split(","))
        unknown = wanted - set(m.name for m in models)
        if unknown:
            print("error: unknown model(s) %s; --list shows them" % ", ".join(sorted(unknown)), file=sys.stderr)
            return 2
        models = [m for m in models if m.name in wanted]
    if args.list:
        for m in models:
            print("%-16s %-9s beta %-4g C_lambda %-4g seed %d" % (m.name, m.model_type, m.beta, m.C_lambda, m.seed))
        return 0

    start = time.time()
    try:
        ensure_dataset(args)
        run_dirs, margs = train_and_score(models, args)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
    table = correlation.collect([run_dirs[m.name] for m in models], VP_METRIC, GT_METRICS, margs)
    os.makedirs(args.out, exist_ok=True)
    write_models_csv(os.path.join(args.out, "models.csv"), models, run_dirs, table)
    named = {m.name: table[run_dirs[m.name]] for m in models}
    correlation.write_outputs(args.out, named, VP_METRIC, GT_METRICS)
    metric_seconds = {}
    for m in models:
        metric_seconds[m.name] = {}
        for n in [VP_METRIC] + GT_METRICS:
            with open(os.path.join(run_dirs[m.name], "metric-%s.json" % n)) as f:
                metric_seconds[m.name][n] = round(json.load(f)["seconds"], 1)
    train_total = sum(read_train_seconds(run_dirs[m.name]) for m in models)
    info = dict(settings={k: v for k, v in vars(args).items() if k not in ("work", "out", "data_dir", "list")},
                models=[dict(m) for m in models], wall_seconds_this_invocation=round(time.time() - start, 1),
                train_seconds_total=round(train_total, 1), metric_seconds=metric_seconds,
                # stays the same when a rerun skips finished work (unlike the wall time of that rerun)
                compute_seconds_total=round(train_total + sum(sum(v.values()) for v in metric_seconds.values()), 1),
                python=platform.python_version(), cpus=os.cpu_count())
    with util.atomic_write(os.path.join(args.out, "run_info.json"), "w") as f:
        json.dump(info, f, indent=2)
    with open(os.path.join(args.out, "correlation.md")) as f:
        print(f.read())
    print("results in %s (%.0f s)" % (args.out, time.time() - start), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
