"""Tables and the plot of the dSprites GAN experiment, rebuilt from the committed records only.

  python experiments/dsprites_gan/build.py          # results/curves.csv, results/curves.png, results/summary.md

curves.csv: one row per scored point of each model (kimg, cumulative training seconds, sprite IoU fraction, mean
and median IoU, the nearest renders' shapes); curves.png: the fraction at IoU >= 0.8 and the mean IoU against
kimg, with the target; summary.md: per model, where it stopped and why, the first kimg at the target, the
compute spent, the final VP score and the traversal grid; per seed, the VP-GAN's VP minus the GAN's.
"""

import argparse
import glob
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "experiments"))     # segmented_runs: shared with the other experiments

from dnnlib import util  # noqa: E402
from segmented_runs import save_figure, write_csv  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPES = ("square", "ellipse", "heart")
CURVE_COLUMNS = (["model", "model_type", "kimg", "train_s_cumulative", "sprite_iou", "mean_iou", "median_iou",
                  "empty_samples"] + ["nearest_%s" % s for s in SHAPES] + ["metric_s", "status"])


def load_records(results_dir):
    """[model record] from results_dir/*.json, sorted by model name."""
    records = []
    for path in sorted(glob.glob(os.path.join(results_dir, "*.json"))):
        with open(path) as f:
            record = json.load(f)
        if "model" not in record or "points" not in record:
            raise ValueError("%s is not a model record of experiments/dsprites_gan/run.py" % path)
        records.append(record)
    return records


def curve_rows(records):
    rows = []
    for rec in records:
        total = 0.0
        for p in rec["points"]:
            total += p["train_s"]
            row = dict(model=rec["model"], model_type=rec["settings"]["model_type"], kimg=p["kimg"],
                       train_s_cumulative=round(total, 1), sprite_iou=p["sprite_iou"], mean_iou=p["mean_iou"],
                       median_iou=p["median_iou"], empty_samples=p["empty_samples"], metric_s=p["metric_s"],
                       status=rec["status"])
            row.update(("nearest_%s" % s, c) for s, c in zip(SHAPES, p["nearest_shape_counts"]))
            rows.append(row)
    return rows


def first_at_target(record):
    """kimg of the first point at the target fraction, or None."""
    target = record["settings"]["target"]
    return next((p["kimg"] for p in record["points"] if p["sprite_iou"] >= target), None)


def summary_lines(records):
    lines = ["| model | status | stopped by | kimg | sprite IoU >= 0.8 (last) | first kimg at target | train h | "
             "score h | VP % (protocol) | traversal |", "|---|---|---|---|---|---|---|---|---|---|"]
    for rec in records:
        points, final = rec["points"], rec.get("final") or {}
        train_h = sum(p["train_s"] for p in points) / 3600.0
        score_h = sum(p["metric_s"] for p in points) / 3600.0
        first = first_at_target(rec)
        lines.append("| %s | %s | %s | %s | %s | %s | %.2f | %.2f | %s | %s |" % (
            rec["model"], rec["status"], rec.get("stopped_by") or "-", points[-1]["kimg"] if points else 0,
            "%.3f" % points[-1]["sprite_iou"] if points else "-", first if first is not None else "not reached",
            train_h, score_h, "%.1f (%s)" % (final["vp"], "%d epoch(s)" % rec["settings"]["vp_epochs"]
                                             if rec["settings"].get("vp_epochs") else "reference") if final else "-",
            "[png](%s)" % final["traversal"] if final else "-"))
    machines = sorted(set("%s, %s cores" % (r["machine"].get("cpu_model") or r["machine"].get("processor", "?"),
                                            r["machine"].get("cpus", "?")) for r in records))
    differences = vp_difference_lines(records)
    lines += [""] + differences if differences else []
    lines += ["", "Machine: %s; one thread per model." % "; ".join(machines) if machines else ""]
    return lines


def vp_difference_lines(records):
    """One line per seed with both a finished GAN and a finished VP-GAN: VP-GAN minus GAN final VP, in points.

    The two may have stopped at different kimg (each at its own first snapshot at the target), which the line says.
    """
    finals = {(r["settings"]["model_type"], r["settings"]["seed"]): r for r in records if r.get("final")}
    lines = []
    for (model_type, seed), vp_gan in sorted(finals.items()):
        gan = finals.get(("gan", seed))
        if model_type != "vp_gan" or gan is None:
            continue
        lines.append("VP-GAN minus GAN, seed %d: %+.1f points of VP (VP-GAN at %d kimg, GAN at %d kimg)." % (
            seed, vp_gan["final"]["vp"] - gan["final"]["vp"], vp_gan["final"]["kimg"], gan["final"]["kimg"]))
    return lines


def plot_curves(path, records):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharex=True)
    for rec in records:
        kimg = [p["kimg"] for p in rec["points"]]
        axes[0].plot(kimg, [p["sprite_iou"] for p in rec["points"]], marker="o", markersize=3, label=rec["model"])
        axes[1].plot(kimg, [p["mean_iou"] for p in rec["points"]], marker="o", markersize=3, label=rec["model"])
    if records:
        axes[0].axhline(records[0]["settings"]["target"], color="grey", linestyle="--", linewidth=1, label="target")
    axes[0].set_title("samples at IoU >= 0.8 with their nearest render")
    axes[1].set_title("mean IoU with the nearest render")
    for ax in axes:
        ax.set_xlabel("kimg (thousands of real images shown)")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


def build(results_dir):
    records = load_records(results_dir)
    write_csv(os.path.join(results_dir, "curves.csv"), CURVE_COLUMNS, curve_rows(records))
    plot_curves(os.path.join(results_dir, "curves.png"), records)
    with util.atomic_write(os.path.join(results_dir, "summary.md"), "w") as f:
        f.write("\n".join(summary_lines(records)).rstrip("\n") + "\n")
    return records


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", default=os.path.join(HERE, "results"), help="records folder (default results/)")
    args = p.parse_args(argv)
    records = build(args.results)
    print("%d model record(s) -> %s" % (len(records), args.results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
