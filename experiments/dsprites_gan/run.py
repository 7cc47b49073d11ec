"""A GAN and a VP-GAN that draw dSprites: train each until its samples are sprites, then score and draw them.

  python experiments/dsprites_gan/run.py --work ~/vpdis-work/dsprites_gan --data-dir ~/vpdis-work/dsprites_gan/datasets
  python experiments/dsprites_gan/run.py --work W --data-dir D --only vp_gan-s0       # one model per process
  python experiments/dsprites_gan/run.py --list

Models (same seed, same networks: the `dsprites32` preset, 32x32 procedural dSprites, 5 continuous code dims):
`gan-s0` (no recognizer) and `vp_gan-s0` (the recognizer, C_lambda 1). Each trains in segments of --score-every
kimg; after each segment its snapshot is scored with `run_metrics.py --metrics sprite_iou` (1,000 samples; the
fraction at IoU >= 0.8 with their nearest procedural render). A model is done when that fraction reaches
--target (0.8: "at least 80 % of 1,000 samples at IoU >= 0.8"), at --max-kimg, or when its training and scoring
have used --budget-core-hours. Then its final snapshot gets the VP score (reference protocol, 1 repeat) and its
traversal grid (rows: one code dim swept across the prior; written by the training loop at the snapshot) is
copied next to its record.

Resumable: the record `<out>/<model>.json` (committed) keeps every point; training continues from the run folder
under --work (`runs/<model>-<hash of the training settings>`) if it survived, else starts again (the record notes
the restart); a segment trained but not yet scored when the process stopped is scored without retraining. Pickles under --work execute code
when loaded: keep it private. `build.py` turns the records into the CSV, the curve plot and the README block.
"""

import hashlib
import json
import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "experiments"))     # segmented_runs: shared with dsprites_vae/pilot.py

from dnnlib import EasyDict, util  # noqa: E402
from segmented_runs import (experiment_parser, load_record, read_metrics, resume_flag, run_dir_of,  # noqa: E402
                            run_experiment, run_logged, save_record, snapshot_kimg, utc_now)

PRESET = "dsprites32"
MINIBATCH = 32
SCORE_METRIC = "sprite_iou"
FINAL_METRIC = "vp"
MODELS = [
    EasyDict(name="gan-s0", model_type="gan", seed=0),
    EasyDict(name="vp_gan-s0", model_type="vp_gan", seed=0),
]


def model_settings(model, args):
    """Everything that decides a model's numbers; a committed record with other settings is not reused."""
    return dict(model_type=model.model_type, seed=model.seed, preset=PRESET, minibatch_size=MINIBATCH, resolution=32,
                dataset=args.dataset, dataset_images=args.dataset_images, score_every_kimg=args.score_every,
                max_kimg=args.max_kimg, target=args.target, budget_core_hours=args.budget_core_hours,
                sprite_samples=args.sprite_samples, vp_pairs=args.vp_pairs, vp_epochs=args.vp_epochs,
                metric_seed=args.metric_seed, cpu_threads=args.cpu_threads)


def stop_reason(record, args):
    """Why the model's training is over ('target', 'max_kimg', 'budget'), or None while it goes on."""
    points = record["points"]
    if points and points[-1][SCORE_METRIC] >= args.target:
        return "target"
    if points and points[-1]["kimg"] >= args.max_kimg:
        return "max_kimg"
    if core_hours(record) >= args.budget_core_hours:
        return "budget"
    return None


def core_hours(record):
    """Training + scoring seconds of the record's points (one thread each), in hours."""
    return sum(p["train_s"] + p["metric_s"] for p in record["points"]) / 3600.0


# the settings a run folder is trained with: a record with other ones gets its own folder, never a resumed one
TRAINING_SETTINGS = ("model_type", "seed", "preset", "minibatch_size", "resolution", "dataset", "dataset_images",
                     "cpu_threads")


def run_root(model, args):
    """<work>/runs/<model>-<8 hex digits of its training settings>."""
    settings = model_settings(model, args)
    text = json.dumps({k: settings[k] for k in TRAINING_SETTINGS}, sort_keys=True)
    return os.path.join(args.work, "runs", "%s-%s" % (model.name, hashlib.sha256(text.encode()).hexdigest()[:8]))


def trained_to(model, kimg, args, log):
    """The model's run at ``kimg``: trained now, or already by a process that stopped before scoring it (the
    training time of each segment is kept in the run's train_seconds.json for that case). Returns (run dir,
    training seconds of the segment that ended at ``kimg``)."""
    root = run_root(model, args)
    ledger_path = os.path.join(root, "train_seconds.json")
    ledger = {}
    if os.path.exists(ledger_path):
        with open(ledger_path) as f:
            ledger = json.load(f)
    run_dir = run_dir_of(root)
    if snapshot_kimg(run_dir) < kimg:
        cmd = [args.python, os.path.join(ROOT, "run_training.py"), "--preset", PRESET, "--model_type",
               model.model_type, "--seed", str(model.seed), "--total-kimg", repr(float(kimg)), "--data-dir",
               args.data_dir, "--dataset", args.dataset, "--result-dir", root, "--cpu-threads", str(args.cpu_threads),
               "--resume", resume_flag(run_dir)]
        ledger[str(kimg)] = round(run_logged(cmd, ROOT, log), 1)
        with util.atomic_write(ledger_path, "w") as f:
            json.dump(ledger, f, indent=2)
        run_dir = run_dir_of(root)
    if str(kimg) not in ledger or not os.path.exists(snapshot_path(run_dir, kimg)):
        raise RuntimeError("run folder %s is past %d kimg without a snapshot or training time for it (its record "
                           "was lost?); remove the folder to train again" % (run_dir, kimg))
    return run_dir, ledger[str(kimg)]


def snapshot_path(run_dir, kimg):
    return os.path.join(run_dir, "network-snapshot-%06d.pkl" % kimg)


def score(model, run_dir, kimg, names, args, log, extra=()):
    """run_metrics.py ``names`` on the snapshot at ``kimg``. Returns ({name: result}, snapshot path)."""
    pkl = snapshot_path(run_dir, kimg)
    out = os.path.join(args.work, "scores", model.name, "kimg%06d" % kimg)
    os.makedirs(out, exist_ok=True)
    cmd = [args.python, os.path.join(ROOT, "run_metrics.py"), "--network_pkl", pkl, "--metrics", ",".join(names),
           "--result-dir", out, "--seed", str(args.metric_seed), "--cpu-threads", str(args.cpu_threads), "--quiet"]
    run_logged(cmd + list(extra), ROOT, log)
    return read_metrics(out, names), pkl


def note_restart(model, record, kimg, args):
    """Record a restart if the run folder no longer reaches ``kimg`` (it was lost: training starts again)."""
    have = snapshot_kimg(run_dir_of(run_root(model, args)))
    if have < kimg:
        record["restarts"].append(dict(at_kimg=kimg, from_kimg=have))


def finish(model, record, args, log):
    """VP score and traversal grid of the last scored snapshot (retrained first if its run folder was lost)."""
    kimg = int(record["points"][-1]["kimg"])
    note_restart(model, record, kimg, args)
    run_dir, _ = trained_to(model, kimg, args, log)
    extra = ["--vp-pairs", str(args.vp_pairs), "--vp-repeats", "1"]
    if args.vp_epochs:
        extra += ["--vp-epochs", str(args.vp_epochs)]
    results, pkl = score(model, run_dir, kimg, [FINAL_METRIC], args, log, extra)
    vp = results[FINAL_METRIC]
    grid = os.path.join(run_dir, "fakes%06d.png" % kimg)
    if not os.path.exists(grid):
        raise RuntimeError("no traversal grid %s at the final snapshot" % grid)
    figure = os.path.join(args.out, "%s-traversal.png" % model.name)
    shutil.copyfile(grid, figure + ".tmp")
    os.replace(figure + ".tmp", figure)
    record["final"] = dict(kimg=kimg, vp=float(vp["value"]), vp_seconds=round(float(vp["seconds"]), 1),
                           vp_details=dict((k, vp["details"]["summary"][k]) for k in ("vp_score", "vp_score_final")),
                           per_dim_accuracy=vp["details"]["repeats"][0].get("per_dim_accuracy"),
                           weights_sha256=vp["weights_sha256"], traversal=os.path.basename(figure),
                           snapshot=os.path.basename(pkl), finished=utc_now())


def run_model(model, args):
    from training import dsprites

    path = os.path.join(args.out, "%s.json" % model.name)
    record = load_record(path, model_settings(model, args)) or dict(
        model=model.name, settings=model_settings(model, args), renderer_version=dsprites.RENDERER_VERSION,
        points=[], restarts=[], status="running", machine=dict(util.machine_info(), cpu_threads=args.cpu_threads))
    if record["status"] == "done":
        print("%s: done at %g kimg (committed)" % (model.name, record["final"]["kimg"]), flush=True)
        return record
    log = os.path.join(args.work, "logs", "%s.log" % model.name)
    while stop_reason(record, args) is None:
        done = record["points"][-1]["kimg"] if record["points"] else 0
        kimg = done + args.score_every
        note_restart(model, record, done, args)
        print("%s: training to %d kimg" % (model.name, kimg), flush=True)
        run_dir, train_s = trained_to(model, kimg, args, log)
        results, _ = score(model, run_dir, kimg, [SCORE_METRIC], args, log, ["--sprite-samples", str(args.sprite_samples)])
        res = results[SCORE_METRIC]
        details = res["details"]
        point = dict(kimg=kimg, train_s=train_s, metric_s=round(float(res["seconds"]), 1),
                     commit=util.git_commit(ROOT) or "unknown", finished=utc_now())
        point[SCORE_METRIC] = float(res["value"])
        point.update((k, details[k]) for k in ("mean_iou", "median_iou", "iou_quantiles", "empty_samples",
                                               "unmatched_samples", "nearest_shape_counts", "shape_counts_at_level"))
        record["points"].append(point)
        save_record(path, record)
        print("%s: %d kimg sprite_iou %.3f (mean IoU %.3f)" % (model.name, kimg, point[SCORE_METRIC],
                                                               point["mean_iou"]), flush=True)
    record["stopped_by"] = stop_reason(record, args)
    if record.get("final") is None:
        finish(model, record, args, log)
    record["status"] = "done"
    save_record(path, record)
    print("%s: done (%s) at %d kimg, VP %.2f" % (model.name, record["stopped_by"], record["final"]["kimg"],
                                                 record["final"]["vp"]), flush=True)
    return record


def build_parser():
    here = os.path.dirname(os.path.abspath(__file__))
    p = experiment_parser(__doc__, os.path.join(here, "results"), "records and traversal PNGs (committed)", "model")
    p.add_argument("--score-every", type=int, default=20, help="kimg between sprite IoU scores (default 20)")
    p.add_argument("--max-kimg", type=int, default=1000, help="last kimg (default 1000)")
    p.add_argument("--target", type=float, default=0.8, help="sprite_iou that ends training (default 0.8)")
    p.add_argument("--budget-core-hours", type=float, default=6.0,
                   help="training + scoring core-hours after which a model stops (default 6)")
    p.add_argument("--sprite-samples", type=int, default=1000, help="samples per sprite IoU score (default 1000)")
    p.add_argument("--vp-pairs", type=int, default=10000, help="pairs of the final VP score (default 10000)")
    p.add_argument("--vp-epochs", type=int, help="override the reference protocol's 200 epochs (quick looks only)")
    return p


def check_args(args):
    """The usage problem of the schedule flags, or None."""
    if args.score_every < 1 or (args.score_every * 1000) % MINIBATCH or args.max_kimg < args.score_every:
        return ("--score-every must be a positive multiple of 4 kimg (whole steps of %d images) and at most "
                "--max-kimg" % MINIBATCH)
    if args.max_kimg % args.score_every:
        return "--max-kimg must be a multiple of --score-every"
    if not 0 < args.target <= 1 or args.budget_core_hours <= 0 or args.sprite_samples < 1:
        return "--target must be in (0, 1]; --budget-core-hours and --sprite-samples positive"
    return None


def main(argv=None):
    return run_experiment(build_parser().parse_args(argv), MODELS, "model",
                          lambda m: "%-10s %s, seed %d, preset %s" % (m.name, m.model_type, m.seed, PRESET),
                          check_args, run_model)


if __name__ == "__main__":
    sys.exit(main())
