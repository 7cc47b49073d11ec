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
import io
import json
import os
import sys

import numpy as np
import scipy.stats

from metrics import metric_main
from dnnlib import EasyDict, cli, util


OUTPUT_FILES = ("correlation.csv", "correlation.md", "correlation.png")


def collect(run_dirs, vp_metric, gt_metrics, args):
    """{run dir: {metric: value}}; computes only the metrics without a metric-<name>.json."""
    table = {}
    for run_dir in run_dirs:
        pkl = metric_main.find_pickle(run_dir)
        values, missing = {}, []
        for name in [vp_metric] + gt_metrics:
            path = os.path.join(run_dir, "metric-%s.json" % name)
            if os.path.exists(path):
                result = _read_cached(path)
                if (os.path.abspath(result.get("network_pkl", "")) == os.path.abspath(pkl)
                        and result.get("settings") == metric_main.metric_settings(name, args)):
                    values[name] = float(result["value"])
                    continue
            missing.append(name)
        if missing:
            print("%s: computing %s" % (run_dir, ", ".join(missing)), flush=True)
            for name, res in metric_main.evaluate_pickle(pkl, missing, args, out_dir=run_dir).items():
                values[name] = float(res["value"])
        else:
            print("%s: all metrics already computed" % run_dir, flush=True)
        table[run_dir] = values
    return table


def _read_cached(path):
    """A metric-<name>.json written by run_metrics.py; InputError (exit 1) naming the file when it is not one."""
    try:
        with open(path) as f:
            result = json.load(f)
        if not isinstance(result, dict) or not isinstance(result.get("value"), (int, float)):
            raise ValueError("no numeric 'value'")
    except (ValueError, UnicodeDecodeError) as exc:
        raise cli.InputError("cached metric file %s is not a run_metrics.py result (%s); delete it to recompute"
                             % (path, cli.one_line(exc)))
    return result


def correlations(x, y):
    """(Pearson r, Spearman rho) of two equally long sequences; NaN when undefined (n < 3 or constant)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan"), float("nan")
    return float(scipy.stats.pearsonr(x, y)[0]), float(scipy.stats.spearmanr(x, y)[0])


PANEL_INCHES, PANEL_DPI = 4, 80     # each panel 320 x 320 pixels


def scatter_png(path, table, vp_metric, gt_metrics):
    """One matplotlib panel per ground-truth metric: VP score (x) vs the metric (y), each point labelled with
    its run, the least-squares line, and Pearson r / Spearman rho in the panel title."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [os.path.basename(os.path.normpath(r)) for r in table]
    x = np.array([v[vp_metric] for v in table.values()], np.float64)
    fig, axes = plt.subplots(1, len(gt_metrics), figsize=(PANEL_INCHES * len(gt_metrics), PANEL_INCHES),
                             squeeze=False)
    for ax, name in zip(axes[0], gt_metrics):
        y = np.array([v[name] for v in table.values()], np.float64)
        ax.scatter(x, y, color="tab:red", zorder=3)
        for xi, yi, run in zip(x, y, runs):
            ax.annotate(run, (xi, yi), textcoords="offset points", xytext=(3, 3), fontsize=6)
        if len(x) >= 2 and np.ptp(x) > 0:
            slope, intercept = np.polyfit(x, y, 1)
            xs = np.array([x.min(), x.max()])
            ax.plot(xs, slope * xs + intercept, color="tab:blue", linewidth=1)
        r, rho = correlations(x, y)
        ax.set_title("%s: r = %.2f, rho = %.2f (n = %d)" % (name, r, rho, len(x)), fontsize=9)
        ax.set_xlabel("%s score (%%)" % vp_metric)
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PANEL_DPI)
    plt.close(fig)
    with util.atomic_write(path, "wb") as f:
        f.write(buf.getvalue())


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
    parser = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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
        gt_metrics = metric_main.parse_metric_names(args.gt_metrics)
        if not gt_metrics:
            raise ValueError("--gt-metrics is empty; name at least one, e.g. --gt-metrics mig")
        for flag, value, least in (("--vp-pairs", args.vp_pairs, 1), ("--vp-repeats", args.vp_repeats, 1),
                                   ("--vp-epochs", args.vp_epochs, 1), ("--gt-points", args.gt_points, 2)):
            if value is not None and value < least:
                raise ValueError("%s must be at least %d, got %d" % (flag, least, value))
        bad = [n for n in gt_metrics if metric_main.METRICS[n].kind != "gt"]
        if bad:
            raise ValueError("--gt-metrics takes ground-truth metrics only, got %s" % ", ".join(bad))
        util.check_output_path(args.out, "dir", "--out")  # before any metric is computed
        for name in OUTPUT_FILES:
            util.check_output_path(os.path.join(args.out, name), "file", "output file of --out")
        margs = EasyDict(seed=args.seed, sha256=None, batch_size=100, vp_pairs=args.vp_pairs, vp_repeats=args.vp_repeats,
                         vp_epochs=args.vp_epochs, gt_data=args.gt_data, gt_points=args.gt_points, verbose=False)
        table = collect(args.run_dirs, args.vp_metric, gt_metrics, margs)
        with util.removed_if_left_empty(args.out):
            write_outputs(args.out, table, args.vp_metric, gt_metrics)
    except (Exception, KeyboardInterrupt) as exc:     # exit status: dnnlib/cli.py (2 usage, 1 unusable pickle or data, disk full)
        return cli.report(exc)
    with open(os.path.join(args.out, "correlation.md")) as f:
        print(f.read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
