"""Does the VP score agree with ground-truth disentanglement metrics? (the paper's Sec. 5 claim)

  python run_correlation.py results/00000-vp_vae-... results/00001-beta_vae-... ... --out results/correlation

For each run directory (its network-final.pkl, else newest snapshot; VAE pickles for the
ground-truth metrics) computes the VP metric and the ground-truth metrics with run_metrics.py,
reusing metric-<name>.json files already in the run directory (so a rerun only computes what is
missing), then writes to --out:
  correlation.csv   one row per run: run, VP score, each ground-truth metric
  correlation.md    that table plus Pearson and Spearman coefficients of VP vs each metric
  correlation.png   scatter plots, VP score (x) vs each metric (y)
Pickles execute code when loaded: use only trusted run directories.
"""

import argparse
import csv
import json
import os
import sys

import numpy as np
import PIL.Image
import PIL.ImageDraw
import scipy.stats

import run_metrics
from dnnlib import EasyDict, util


OUTPUT_FILES = ("correlation.csv", "correlation.md", "correlation.png")


def collect(run_dirs, vp_metric, gt_metrics, args):
    """{run dir: {metric: value}}; computes only the metrics without a metric-<name>.json."""
    table = {}
    for run_dir in run_dirs:
        pkl = run_metrics.find_pickle(run_dir)
        values, missing = {}, []
        for name in [vp_metric] + gt_metrics:
            path = os.path.join(run_dir, "metric-%s.json" % name)
            if os.path.exists(path):
                with open(path) as f:
                    result = json.load(f)
                if (os.path.abspath(result.get("network_pkl", "")) == os.path.abspath(pkl)
                        and result.get("settings") == run_metrics.metric_settings(name, args)):
                    values[name] = float(result["value"])
                    continue
            missing.append(name)
        if missing:
            print("%s: computing %s" % (run_dir, ", ".join(missing)), flush=True)
            for name, res in run_metrics.evaluate_pickle(pkl, missing, args, out_dir=run_dir).items():
                values[name] = float(res["value"])
        else:
            print("%s: all metrics already computed" % run_dir, flush=True)
        table[run_dir] = values
    return table


def correlations(x, y):
    """(Pearson r, Spearman rho) of two equally long sequences; NaN when undefined (n < 3 or constant)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan"), float("nan")
    return float(scipy.stats.pearsonr(x, y)[0]), float(scipy.stats.spearmanr(x, y)[0])


def scatter_png(path, table, vp_metric, gt_metrics, panel=260, margin=40):
    """One panel per ground-truth metric: VP score (x) vs the metric (y), axes labelled with ranges."""
    image = PIL.Image.new("RGB", (panel * len(gt_metrics), panel), "white")
    draw = PIL.ImageDraw.Draw(image)
    x = np.array([v[vp_metric] for v in table.values()])
    for i, name in enumerate(gt_metrics):
        y = np.array([v[name] for v in table.values()])
        left, top, size = i * panel + margin, margin // 2, panel - margin - 10
        draw.rectangle([left, top, left + size, top + size], outline="black")
        x0, x1 = float(x.min()), float(x.max()) + 1e-9
        y0, y1 = float(y.min()), float(y.max()) + 1e-9
        for xi, yi in zip(x, y):
            px = left + 5 + (xi - x0) / (x1 - x0) * (size - 10)
            py = top + size - 5 - (yi - y0) / (y1 - y0) * (size - 10)
            draw.ellipse([px - 3, py - 3, px + 3, py + 3], fill=(200, 40, 40))
        r, rho = correlations(x, y)
        draw.text((left + 4, top + 2), "%s  r=%.2f rho=%.2f" % (name, r, rho), fill="black")
        draw.text((left, top + size + 2), "%s %.1f..%.1f" % (vp_metric, x0, x1), fill="black")
        draw.text((left + 4, top + 14), "y: %.3g..%.3g" % (y0, y1), fill="black")
    with util.atomic_write(path, "wb") as f:
        image.save(f, format="PNG")


def write_outputs(out_dir, table, vp_metric, gt_metrics):
    os.makedirs(out_dir, exist_ok=True)
    names = [vp_metric] + gt_metrics
    with util.atomic_write(os.path.join(out_dir, "correlation.csv"), "w") as f:
        writer = csv.writer(f)
        writer.writerow(["run"] + names)
        for run_dir, values in table.items():
            writer.writerow([os.path.basename(os.path.normpath(run_dir))] + ["%.6g" % values[n] for n in names])
    x = [v[vp_metric] for v in table.values()]
    lines = ["# VP score vs ground-truth metrics (%d runs)" % len(table), "", "| run | " + " | ".join(names) + " |",
             "|---" * (len(names) + 1) + "|"]
    for run_dir, values in table.items():
        lines.append("| %s | %s |" % (os.path.basename(os.path.normpath(run_dir)), " | ".join("%.4g" % values[n] for n in names)))
    lines += ["", "| metric | Pearson r | Spearman rho | n |", "|---|---|---|---|"]
    for name in gt_metrics:
        r, rho = correlations(x, [v[name] for v in table.values()])
        lines.append("| %s | %.3f | %.3f | %d |" % (name, r, rho, len(table)))
    with util.atomic_write(os.path.join(out_dir, "correlation.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    scatter_png(os.path.join(out_dir, "correlation.png"), table, vp_metric, gt_metrics)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dirs", nargs="+", help="run directories (VAE runs for the ground-truth metrics)")
    parser.add_argument("--out", required=True, help="output folder for correlation.csv/.md/.png")
    parser.add_argument("--vp-metric", dest="vp_metric", default="vp", choices=["vp", "vp_fast"], help="default vp")
    parser.add_argument("--gt-metrics", dest="gt_metrics", default="factor_vae_score,mig,dci",
                        help="comma-separated (default factor_vae_score,mig,dci)")
    parser.add_argument("--gt-data", dest="gt_data", default="dsprites", help="ground-truth data (default procedural dsprites)")
    parser.add_argument("--vp-pairs", dest="vp_pairs", type=int, default=10000)
    parser.add_argument("--vp-repeats", dest="vp_repeats", type=int, default=3)
    parser.add_argument("--vp-epochs", dest="vp_epochs", type=int)
    parser.add_argument("--gt-points", dest="gt_points", type=int,
                        help="ground-truth metrics on N train / N/2 test points (default: the reference's 10,000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        gt_metrics = run_metrics.parse_metric_names(args.gt_metrics)
        bad = [n for n in gt_metrics if run_metrics.METRICS[n].kind != "gt"]
        if bad:
            raise ValueError("--gt-metrics takes ground-truth metrics only, got %s" % ", ".join(bad))
        util.check_output_path(args.out, "dir", "--out")  # before any metric is computed
        for name in OUTPUT_FILES:
            util.check_output_path(os.path.join(args.out, name), "file", "output file of --out")
        margs = EasyDict(seed=args.seed, sha256=None, batch_size=100, vp_pairs=args.vp_pairs, vp_repeats=args.vp_repeats,
                         vp_epochs=args.vp_epochs, gt_data=args.gt_data, gt_points=args.gt_points, verbose=False)
        table = collect(args.run_dirs, args.vp_metric, gt_metrics, margs)
        write_outputs(args.out, table, args.vp_metric, gt_metrics)
    except (ValueError, IOError, OSError) as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
    with open(os.path.join(args.out, "correlation.md")) as f:
        print(f.read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
