"""Pilot of the dSprites VAE study: how far does a beta-VAE get on this CPU, and when do its scores plateau?

  python experiments/dsprites_vae/pilot.py --work ~/vpdis-work/dsprites_vae            # every curve, resumable
  python experiments/dsprites_vae/pilot.py --work W --only b4-lr1e-4                     # one curve
  python experiments/dsprites_vae/pilot.py --list

Curves (beta-VAE, seed 0, procedural dSprites 64x64, 6 latents, batch 64; the vp_vae_dsprites preset with
--model_type beta_vae): beta 4 and beta 16 at the original learning rate 1e-4, and beta 4 at 5e-4.
Each curve trains in segments of --score-every steps (run_training.py --resume continues the same run dir with
a larger --total-kimg) and scores the segment's snapshot with run_metrics.py: FactorVAE, MIG, DCI at
--gt-points (train points; half as many test points) and, every --vp-every steps, the VP fast protocol with
1 repeat (on this CPU it costs as much as 5,000 training steps, and the plateau rule does not read it). A curve stops at
--max-steps or when it has plateaued: the last two step-to-step changes of both MIG and FactorVAE are below
--plateau (three consecutive scores within the tolerance of their neighbours).

Resumable: points already in <out>/<curve>.json (committed) are not recomputed; training continues from the run
folder under <work> if it survived, else starts again from scratch (an earlier point is then not rescored, the
curve's JSON records the restart). Pickles under <work> execute code when loaded: keep <work> private.
Outputs (<out>): one JSON per curve, written after every point; `build.py` makes the CSV and the plot.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "experiments"))     # segmented_runs: shared with dsprites_gan/run.py
from dnnlib import EasyDict, util  # noqa: E402
from segmented_runs import (experiment_parser, load_record, read_metrics, resume_flag, run_dir_of,  # noqa: E402
                            run_experiment, run_logged, save_record, snapshot_kimg, utc_now)

MINIBATCH = 64
GT_METRICS = ["factor_vae_score", "mig", "dci"]
VP_METRIC = "vp_fast"
METRICS = GT_METRICS + [VP_METRIC]
PLATEAU_METRICS = ["mig", "factor_vae_score"]
CURVES = [
    EasyDict(name="b4-lr1e-4", beta=4.0, learning_rate=1e-4),
    EasyDict(name="b16-lr1e-4", beta=16.0, learning_rate=1e-4),
    EasyDict(name="b4-lr5e-4", beta=4.0, learning_rate=5e-4),
]


def curve_settings(curve, args):
    """Everything that decides a curve's numbers; a committed JSON with other settings is not reused."""
    return dict(model_type="beta_vae", preset="vp_vae_dsprites", beta=curve.beta, learning_rate=curve.learning_rate,
                seed=args.seed, minibatch_size=MINIBATCH, latent_size=6, resolution=64, dataset=args.dataset,
                dataset_images=args.dataset_images, score_every=args.score_every, max_steps=args.max_steps,
                plateau=args.plateau, gt_points=args.gt_points, vp_pairs=args.vp_pairs, vp_repeats=1, vp_every=args.vp_every,
                metric_seed=args.metric_seed, metrics=METRICS)


def plateaued(points, tol):
    """True when the last two changes of every PLATEAU_METRICS score are below ``tol``."""
    if len(points) < 3:
        return False
    last = points[-3:]
    return all(abs(b[m] - a[m]) < tol for m in PLATEAU_METRICS for a, b in zip(last[:-1], last[1:]))


def train_to(curve, step, args, log):
    """Train the curve's run until ``step`` optimiser steps. Returns (run dir, wall seconds)."""
    root = os.path.join(args.work, "runs", curve.name)
    kimg = step * MINIBATCH / 1000.0
    run_dir = run_dir_of(root)
    cmd = [args.python, os.path.join(ROOT, "run_training.py"), "--preset", "vp_vae_dsprites",
           "--model_type", "beta_vae", "--beta", repr(curve.beta), "--learning-rate", repr(curve.learning_rate),
           "--seed", str(args.seed), "--total-kimg", repr(kimg), "--kimg-per-tick", "32", "--snapshot-ticks", "10",
           "--data-dir", args.data_dir, "--dataset", args.dataset, "--result-dir", root,
           "--cpu-threads", str(args.cpu_threads), "--resume", resume_flag(run_dir)]
    seconds = run_logged(cmd, ROOT, log)
    return run_dir_of(root), seconds


def metrics_at(step, args):
    """The metrics scored at ``step``: the ground-truth ones always, VP every --vp-every steps."""
    return GT_METRICS + ([VP_METRIC] if step % args.vp_every == 0 else [])


def score(curve, run_dir, step, args, log):
    """The metrics_at(step) of the snapshot at ``step``. Returns ({metric: value}, {metric: seconds})."""
    kimg = step * MINIBATCH // 1000
    pkl = os.path.join(run_dir, "network-snapshot-%06d.pkl" % kimg)
    if not os.path.exists(pkl):
        raise RuntimeError("no snapshot %s after training to step %d" % (pkl, step))
    out = os.path.join(args.work, "scores", curve.name, "step%06d" % step)
    os.makedirs(out, exist_ok=True)
    names = metrics_at(step, args)
    cmd = [args.python, os.path.join(ROOT, "run_metrics.py"), "--network_pkl", pkl, "--metrics", ",".join(names),
           "--result-dir", out, "--seed", str(args.metric_seed), "--gt-points", str(args.gt_points),
           "--vp-pairs", str(args.vp_pairs), "--vp-repeats", "1", "--quiet"]
    run_logged(cmd, ROOT, log)
    results = read_metrics(out, names)
    return ({name: float(res["value"]) for name, res in results.items()},
            {name: round(float(res["seconds"]), 1) for name, res in results.items()})


def run_curve(curve, args):
    from training import dsprites

    path = os.path.join(args.out, "%s.json" % curve.name)
    settings = curve_settings(curve, args)
    record = load_record(path, settings) or dict(
        curve=curve.name, settings=settings, renderer_version=dsprites.RENDERER_VERSION, points=[], restarts=[],
        status="running", machine=dict(util.machine_info(), cpu_threads=args.cpu_threads))
    if record["status"] != "running":
        print("%s: %s at step %d (committed)" % (curve.name, record["status"], record["points"][-1]["step"]), flush=True)
        return record
    log = os.path.join(args.work, "logs", "%s.log" % curve.name)
    os.makedirs(os.path.dirname(log), exist_ok=True)
    while True:
        done = record["points"][-1]["step"] if record["points"] else 0
        if plateaued(record["points"], args.plateau) or done >= args.max_steps:
            record["status"] = "plateau" if plateaued(record["points"], args.plateau) else "max_steps"
            save_record(path, record)
            print("%s: %s at step %d" % (curve.name, record["status"], done), flush=True)
            return record
        step = done + args.score_every
        have = snapshot_kimg(run_dir_of(os.path.join(args.work, "runs", curve.name)))
        if have * 1000 < done * MINIBATCH:     # the run folder was lost: start again, keep the committed points
            record["restarts"].append(dict(at_step=done, from_step=have * 1000 // MINIBATCH))
        print("%s: training to step %d (snapshot at %g kimg)" % (curve.name, step, have), flush=True)
        run_dir, train_s = train_to(curve, step, args, log)
        print("%s: scoring step %d" % (curve.name, step), flush=True)
        values, metric_s = score(curve, run_dir, step, args, log)
        point = dict(step=step, kimg=step * MINIBATCH / 1000.0, train_s=round(train_s, 1), metric_s=metric_s,
                     commit=util.git_commit(ROOT) or "unknown", finished=utc_now())
        point.update(values)
        record["points"].append(point)
        save_record(path, record)
        print("%s: step %d %s" % (curve.name, step, " ".join("%s %.4f" % (m, values[m]) for m in sorted(values))), flush=True)


def build_parser():
    here = os.path.dirname(os.path.abspath(__file__))
    p = experiment_parser(__doc__, os.path.join(here, "results", "pilot"), "curve JSONs (committed)", "curve")
    p.add_argument("--score-every", type=int, default=5000, help="steps between scores (default 5000)")
    p.add_argument("--max-steps", type=int, default=60000, help="last step (default 60000)")
    p.add_argument("--plateau", type=float, default=0.02, help="plateau tolerance of MIG and FactorVAE (0.02)")
    p.add_argument("--gt-points", type=int, default=2000, help="ground-truth metric points (default 2000)")
    p.add_argument("--vp-pairs", type=int, default=10000, help="VP pairs (default 10000)")
    p.add_argument("--vp-every", type=int, default=10000, help="steps between VP scores (default 10000)")
    p.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    return p


def check_args(args):
    """The usage problem of the schedule flags, or None."""
    if args.score_every < 1 or args.max_steps < args.score_every or (args.score_every * MINIBATCH) % 1000:
        return "--score-every must be a positive multiple of 125 steps (whole kimg) and at most --max-steps"
    if args.vp_every < 1 or args.vp_every % args.score_every:
        return "--vp-every must be a positive multiple of --score-every"
    return None


def main(argv=None):
    return run_experiment(build_parser().parse_args(argv), CURVES, "curve",
                          lambda c: "%-12s beta-VAE beta %-3g lr %g" % (c.name, c.beta, c.learning_rate),
                          check_args, run_curve)


if __name__ == "__main__":
    sys.exit(main())
