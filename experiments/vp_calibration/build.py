"""Tables, plots and rank correlations of the calibration study, built from its per-generator JSONs only.

    python experiments/vp_calibration/build.py [--results experiments/vp_calibration/results]

Reads <results>/generators/*.json (written by run.py) and writes, in <results>:
    generators.csv      one row per generator: VP (fast; reference where run), chance, every ground-truth metric
    correlations.csv    Spearman and Kendall of VP against each ground-truth metric over the generators, with
    correlations.md     95% bootstrap intervals (2,000 resamples of the generators, seed 0), and n
    summary.md          the same table per sweep, for reading
    sweep_<name>.png    per sweep: score against strength, one line per metric (matplotlib)
    traversals/<g>.png  each generator's latent traversal (row d sweeps z_d over [-2, 2], 10 steps; 32x32 images)
    pending.txt         the planned parts that have no result yet (empty when the study is complete)
"""

import argparse
import csv
import io
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

import run  # noqa: E402  (the study's own definitions)
from run import GT_METRICS, SWEEPS, plan  # noqa: E402

GT_NAMES = sorted(GT_METRICS)
COLUMNS = (["generator", "family", "strength", "num_latent_dims", "chance", "vp_fast", "vp_fast_std",
            "vp_fast_repeats", "vp_fast_normalised", "vp_fast_per_dim", "vp_reference"] + GT_NAMES + ["wall_seconds"])
BOOTSTRAP = 2000


def load_records(gen_dir):
    records = {}
    for name in sorted(os.listdir(gen_dir)) if os.path.isdir(gen_dir) else []:
        if name.endswith(".json"):
            with open(os.path.join(gen_dir, name)) as f:
                record = json.load(f)
            records[record["generator"]] = record
    return records


def row_of(record):
    parts = record.get("parts", {})
    row = dict(generator=record["generator"], family=record["family"],
               strength="" if record["strength"] is None else record["strength"],
               num_latent_dims=record["num_latent_dims"], chance=100.0 / record["num_latent_dims"])
    fast = parts.get("vp_fast")
    if fast:
        stat = fast["summary"]["vp_score"]
        row.update(vp_fast=stat["mean"], vp_fast_std=stat.get("std", 0.0) or 0.0, vp_fast_repeats=stat["n"],
                   vp_fast_normalised=(stat["mean"] - row["chance"]) / (100.0 - row["chance"]))
        per_dim = np.array([r["per_dim_accuracy"] for r in fast["repeats"]], dtype=np.float64)
        row["vp_fast_per_dim"] = " ".join("%.0f" % v for v in per_dim.mean(axis=0))
    ref = parts.get("vp_reference")
    if ref:
        row["vp_reference"] = ref["summary"]["vp_score"]["mean"]
    if parts.get("gt"):
        row.update(parts["gt"]["values"])
    row["wall_seconds"] = sum(p.get("wall_seconds", 0.0) for p in parts.values())
    return row


def _fmt(value):
    if value is None or value == "":
        return ""
    if isinstance(value, float):
        return "%.4f" % value
    return str(value)


def write_csv(path, rows, columns):
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_fmt(row.get(c)) for c in columns])
    with open(path, "w") as f:
        f.write(buf.getvalue())


def rank_correlations(rows, seed=0):
    """[{metric, n, spearman, spearman_lo, spearman_hi, kendall, ...}] of vp_fast vs each GT metric."""
    from scipy import stats

    out = []
    for metric in GT_NAMES:
        pts = [(r["vp_fast"], r[metric]) for r in rows if r.get("vp_fast") is not None and r.get(metric) is not None]
        entry = dict(metric=metric, n=len(pts))
        if len(pts) >= 3:
            x, y = np.array(pts).T
            rng = np.random.RandomState(seed)
            boot = {"spearman": [], "kendall": []}
            for _ in range(BOOTSTRAP):
                idx = rng.randint(len(x), size=len(x))
                if np.ptp(x[idx]) == 0 or np.ptp(y[idx]) == 0:
                    continue
                boot["spearman"].append(stats.spearmanr(x[idx], y[idx])[0])
                boot["kendall"].append(stats.kendalltau(x[idx], y[idx])[0])
            for name, func in (("spearman", stats.spearmanr), ("kendall", stats.kendalltau)):
                value, p_value = func(x, y)
                lo, hi = np.percentile(boot[name], [2.5, 97.5]) if boot[name] else (np.nan, np.nan)
                entry.update({name: float(value), name + "_p": float(p_value), name + "_lo": float(lo),
                              name + "_hi": float(hi)})
        out.append(entry)
    return out


def correlations_markdown(corr):
    lines = ["| VP (fast) vs | n | Spearman rho [95% CI] (p) | Kendall tau [95% CI] (p) |", "|---|---|---|---|"]
    for c in corr:
        if "spearman" not in c:
            lines.append("| %s | %d | n/a | n/a |" % (c["metric"], c["n"]))
            continue
        cell = lambda k: "%.2f [%.2f, %.2f] (%.3f)" % (c[k], c[k + "_lo"], c[k + "_hi"], c[k + "_p"])  # noqa: E731
        lines.append("| %s | %d | %s | %s |" % (c["metric"], c["n"], cell("spearman"), cell("kendall")))
    return "\n".join(lines) + "\n\nBootstrap: %d resamples of the generators with replacement, seed 0.\n" % BOOTSTRAP


def summary_markdown(rows_by_name):
    """Per sweep, one row per generator: VP (fast, reference), chance and the ground-truth metrics."""
    head = ["generator", "K", "VP fast % (n)", "VP normalised", "VP per dim z0..", "VP reference %"] + GT_NAMES
    out = []
    for sweep, members in SWEEPS.items():
        out += ["### %s" % sweep, "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for name, _ in members:
            r = rows_by_name.get(name)
            if r is None:
                out.append("| %s |" % name + " |" * (len(head) - 1))
                continue
            vp = "" if r.get("vp_fast") is None else "%.1f +- %.1f (%d)" % (r["vp_fast"], r["vp_fast_std"],
                                                                          r["vp_fast_repeats"])
            cells = [name, str(r["num_latent_dims"]), vp, _fmt2(r.get("vp_fast_normalised")),
                     r.get("vp_fast_per_dim", ""), _fmt2(r.get("vp_reference"), "%.1f")] + [_fmt2(r.get(m)) for m in GT_NAMES]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def cost_markdown(records):
    """Machine time per part and in all, from the parts' own wall and CPU seconds."""
    totals = {}
    for record in records.values():
        for part, result in record.get("parts", {}).items():
            t = totals.setdefault(part, [0, 0.0, 0.0])
            t[0] += 1
            t[1] += result.get("wall_seconds", 0.0)
            t[2] += result.get("cpu_seconds", 0.0)
    lines = ["### machine time", "", "| part | runs | wall h | CPU h |", "|---|---|---|---|"]
    for part in sorted(totals):
        n, wall, cpu = totals[part]
        lines.append("| %s | %d | %.2f | %.2f |" % (part, n, wall / 3600.0, cpu / 3600.0))
    wall, cpu = sum(t[1] for t in totals.values()), sum(t[2] for t in totals.values())
    lines.append("| all | %d | %.2f | %.2f |" % (sum(t[0] for t in totals.values()), wall / 3600.0, cpu / 3600.0))
    return "\n".join(lines) + "\n"


def _fmt2(value, fmt="%.3f"):
    return "" if value is None else fmt % value


def plot_sweep(path, sweep, rows_by_name):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    members = [(n, s) for n, s in SWEEPS[sweep] if n in rows_by_name]
    categorical = any(isinstance(s, str) for _, s in members)
    xs = list(range(len(members))) if categorical else [float(s) for _, s in members]
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
    series = [("VP fast (accuracy)", lambda r: None if r.get("vp_fast") is None else r["vp_fast"] / 100.0, "k", "o"),
              ("VP fast, chance-normalised", lambda r: r.get("vp_fast_normalised"), "0.5", "s")]
    series += [(m, (lambda m: lambda r: r.get(m))(m), None, ".") for m in GT_NAMES]
    for label, get, color, marker in series:
        pts = [(x, get(rows_by_name[n])) for x, (n, _) in zip(xs, members) if get(rows_by_name[n]) is not None]
        if pts:
            ax.plot(*zip(*pts), marker=marker, label=label, color=color, linewidth=2 if color == "k" else 1)
    chance = [rows_by_name[n]["chance"] / 100.0 for n, _ in members]
    ax.plot(xs, chance, linestyle=":", color="k", linewidth=1, label="VP chance (1/K)")
    if categorical:
        ax.set_xticks(xs)
        ax.set_xticklabels([n for n, _ in members])
    ax.set_xlabel({"mixing": "rotation of (z3, z4) before they drive (posX, posY), degrees",
                   "warp": "warp strength s (z4 bends posX)", "context": "fraction s of codes with swapped roles",
                   "collapse": "generator", "noise": "pixel noise std (pixel range [0, 1])"}[sweep])
    ax.set_ylabel("score")
    ax.set_ylim(0, 1.02)
    ax.set_title("VP and ground-truth metrics: %s sweep" % sweep)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def build(results_dir):
    records = load_records(os.path.join(results_dir, "generators"))
    rows = [row_of(records[n]) for n in sorted(records)]
    write_csv(os.path.join(results_dir, "generators.csv"), rows, COLUMNS)
    corr = rank_correlations(rows)
    corr_cols = ["metric", "n"] + ["%s%s" % (k, s) for k in ("spearman", "kendall") for s in ("", "_lo", "_hi", "_p")]
    write_csv(os.path.join(results_dir, "correlations.csv"), corr, corr_cols)
    with open(os.path.join(results_dir, "correlations.md"), "w") as f:
        f.write(correlations_markdown(corr))
    by_name = {r["generator"]: r for r in rows}
    with open(os.path.join(results_dir, "summary.md"), "w") as f:
        f.write(summary_markdown(by_name) + cost_markdown(records))
    for sweep in SWEEPS:
        if any(n in by_name for n, _ in SWEEPS[sweep]):
            plot_sweep(os.path.join(results_dir, "sweep_%s.png" % sweep), sweep, by_name)
    from training import grids, synthetic

    os.makedirs(os.path.join(results_dir, "traversals"), exist_ok=True)
    for name in run.generator_names():
        gen = synthetic.SyntheticGenerator("%s@%d" % (name, run.RESOLUTION), data_format="NHWC")
        grids.save_grid(os.path.join(results_dir, "traversals", "%s.png" % name), grids.traversal_grid(gen, seed=1),
                        grid_w=10, pad=1)
    pending = []
    for name in sorted({n for members in SWEEPS.values() for n, _ in members}):
        done = records.get(name, {}).get("parts", {})
        pending += ["%s %s" % (name, part) for part, settings in sorted(plan(name).items())
                    if done.get(part, {}).get("settings") != settings]
    with open(os.path.join(results_dir, "pending.txt"), "w") as f:
        f.write("".join(p + "\n" for p in pending))
    return rows, corr, pending


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", default=os.path.join(HERE, "results"))
    args = parser.parse_args(argv)
    rows, corr, pending = build(args.results)
    print("%d generators, %d parts pending; wrote %s" % (len(rows), len(pending), args.results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
