"""VP score vs ground-truth metrics: the coefficients, the table and the scatter plot of a set of trained models.

Used by run_correlation.py (the command line), run_sweep.py (a study's plots) and the experiments. A table is
``{run: {metric: value}}`` (run: a run directory or a trial name; the plots label points with its last path part).
"""

import csv
import io
import json
import os

import numpy as np
import scipy.stats

from dnnlib import cli, util
from metrics import metric_main


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
