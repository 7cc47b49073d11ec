"""Tables and plots of the dSprites VAE study, rebuilt from the committed JSONs only (no training, no metrics).

  python experiments/dsprites_vae/build.py           # results/pilot.csv and results/pilot.png

pilot.csv: one row per scored point of every pilot curve (curve, beta, learning rate, step, kimg, cumulative
training seconds, each metric and its seconds). pilot.png: each metric against training steps, one line per curve.
"""

import argparse
import csv
import glob
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from dnnlib import util  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PILOT_METRICS = ["mig", "factor_vae_score", "dci", "vp_fast"]
METRIC_TITLES = {"mig": "MIG", "factor_vae_score": "FactorVAE score", "dci": "DCI disentanglement",
                 "vp_fast": "VP score, fast protocol (%)"}
PILOT_COLUMNS = (["curve", "beta", "learning_rate", "step", "kimg", "train_s_cumulative", "status"] + PILOT_METRICS
                 + ["%s_s" % m for m in PILOT_METRICS])


def load_pilot(results_dir):
    """[curve record] from results_dir/pilot/*.json, sorted by curve name."""
    records = []
    for path in sorted(glob.glob(os.path.join(results_dir, "pilot", "*.json"))):
        with open(path) as f:
            records.append(json.load(f))
    return records


def pilot_rows(records):
    rows = []
    for rec in records:
        total = 0.0
        for p in rec["points"]:
            total += p["train_s"]
            row = dict(curve=rec["curve"], beta=rec["settings"]["beta"], learning_rate=rec["settings"]["learning_rate"],
                       step=p["step"], kimg=p["kimg"], train_s_cumulative=round(total, 1), status=rec["status"])
            for m in PILOT_METRICS:     # VP is scored at every other point only
                row[m] = p.get(m, "")
                row["%s_s" % m] = p["metric_s"].get(m, "")
            rows.append(row)
    return rows


def write_csv(path, columns, rows):
    with util.atomic_write(path, "w") as f:
        writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("%.6g" % v if isinstance(v, float) else v) for k, v in row.items()})


def plot_pilot(path, records):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    for ax, metric in zip(axes.flat, PILOT_METRICS):
        for rec in records:
            points = [p for p in rec["points"] if metric in p]
            ax.plot([p["step"] for p in points], [p[metric] for p in points], marker="o", markersize=3,
                    label="beta %g, lr %g" % (rec["settings"]["beta"], rec["settings"]["learning_rate"]))
        ax.set_title(METRIC_TITLES[metric])
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("training steps (batch 64)")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("beta-VAE on procedural dSprites 64x64, seed 0: scores during training")
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    os.replace(tmp, path)


def build(results_dir):
    """Write pilot.csv / pilot.png under results_dir. Returns the rows."""
    records = load_pilot(results_dir)
    rows = pilot_rows(records)
    write_csv(os.path.join(results_dir, "pilot.csv"), PILOT_COLUMNS, rows)
    if records:
        plot_pilot(os.path.join(results_dir, "pilot.png"), records)
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", default=os.path.join(HERE, "results"), help="results folder (default: committed)")
    args = p.parse_args(argv)
    rows = build(args.results)
    print("%d pilot points -> %s" % (len(rows), os.path.join(args.results, "pilot.csv")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
