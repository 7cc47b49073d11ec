"""Tables and plots of the dSprites VAE study, rebuilt from the committed JSONs only (no training, no metrics).

  python experiments/dsprites_vae/build.py           # every table and plot under results/

Pilot (results/pilot/*.json): pilot.csv, one row per scored point of every curve (curve, beta, learning rate,
step, kimg, cumulative training seconds, each metric and its seconds); pilot.png, each metric against steps.
Study (results/models/*.json, from collect.py): models.csv, one row per model; correlation.csv / .md, VP (fast
protocol) vs each ground-truth metric over all models and over each model type alone: Pearson, Spearman and Kendall with percentile bootstrap
95% CIs (BOOTSTRAP resamples of the models, seed 0); correlation.png, the scatter plots (metrics/correlation.py);
families.csv / .md, beta-VAE vs VP-VAE (C_lambda 1) at each beta: mean, 95% t-interval over seeds, and the
difference with a Welch interval; traversal_motion.csv, what each row of each committed traversal grid
(results/traversals/, from collect.py) does to the sprite (traversal_motion.py); vp_reference.csv / .png, phase 2
(results/vp_reference/*.json: retrained beta-10 models scored with the reference VP protocol) beside phase 1's
record of each; summary.md, all of that in a few tables, which build.py also writes between
the study markers of this experiment's README and the top-level README (their study figures come from here only).
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


def _sibling(name):
    """This folder's ``name``.py as a module (not via sys.path: other experiments have scripts of the same names)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("dsprites_vae_" + name, os.path.join(HERE, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


traversal_motion = _sibling("traversal_motion")
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
    save_figure(fig, path)


STUDY_METRICS = ["vp_fast", "vp", "factor_vae_score", "mig", "dci", "sap"]
GT_METRICS = ["factor_vae_score", "mig", "dci", "sap"]
MODEL_COLUMNS = (["model", "model_type", "beta", "C_lambda", "seed", "steps", "learning_rate", "train_s"]
                 + STUDY_METRICS)
REQUIRED_FIELDS = ["name", "model_type", "beta", "C_lambda", "seed", "steps", "learning_rate", "minibatch_size",
                   "dataset", "dataset_images", "renderer_version", "commit", "trial_key", "machine",
                   "train_seconds", "metric_seconds", "metrics", "weights_sha256"]
REQUIRED_METRICS = ["vp_fast", "factor_vae_score", "mig", "dci", "sap"]
BOOTSTRAP = 2000


REFERENCE_DIR = "vp_reference"      # phase 2: retrained beta-10 models, reference VP protocol (collect.py --out)
REFERENCE_FIELDS = REQUIRED_FIELDS + ["vp_details"]
REFERENCE_METRICS = ["vp"] + GT_METRICS
REFERENCE_MODELS = 6                # the trials of sweep_vp_reference.yaml: beta_vae and vp_vae at beta 10, seeds 0-2
REFERENCE_SAME_AS_PHASE1 = ["model_type", "beta", "C_lambda", "seed", "steps", "learning_rate", "minibatch_size"]
REFERENCE_COLUMNS = (["model", "same_weights_as_phase1", "vp_reference", "vp_reference_final", "vp_reference_heldout",
                      "best_epoch", "vp_fast", "vp_fast_sd", "vp_fast_n", "reference_minus_fast", "vp_fast_phase1"]
                     + GT_METRICS + ["%s_phase1" % m for m in GT_METRICS]
                     + ["train_s", "vp_reference_s"])


def load_models(results_dir, folder="models", fields=REQUIRED_FIELDS, metrics=REQUIRED_METRICS):
    """[model record] from results_dir/<folder>/*.json, sorted by name. Raises ValueError naming a file that lacks
    one of ``fields`` or ``metrics``."""
    records = []
    for path in sorted(glob.glob(os.path.join(results_dir, folder, "*.json"))):
        with open(path) as f:
            record = json.load(f)
        missing = [k for k in fields if k not in record] + [
            "metrics." + m for m in metrics if m not in record.get("metrics", {})]
        if missing:
            raise ValueError("%s lacks %s" % (path, ", ".join(missing)))
        if os.path.basename(path) != record["name"] + ".json":
            raise ValueError("%s holds model %s" % (path, record["name"]))
        records.append(record)
    return records


def model_rows(records):
    rows = []
    for r in records:
        row = dict(model=r["name"], model_type=r["model_type"], beta=r["beta"],
                   C_lambda="" if r["C_lambda"] is None else r["C_lambda"], seed=r["seed"], steps=r["steps"],
                   learning_rate=r["learning_rate"], train_s=round(r["train_seconds"]))
        row.update((m, r["metrics"].get(m, "")) for m in STUDY_METRICS)
        rows.append(row)
    return rows


def _sd(values):
    """Sample standard deviation (ddof 1); NaN for one value."""
    import numpy as np
    return float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")


def reference_rows(models, references):
    """One row per phase-2 record: its reference-protocol VP (best test epoch, last epoch, epoch chosen on a held-out
    third), its fast-protocol VP where it was also scored (blank otherwise), its ground-truth scores, and those of
    phase 1's model of the same name, which was trained with the same flags and seed; ``same_weights_as_phase1``
    says whether the two networks are bit for bit one (weights_sha256)."""
    phase1 = {m["name"]: m for m in models}
    rows = []
    for r in references:
        where = "%s/%s.json" % (REFERENCE_DIR, r["name"])
        if r["name"] not in phase1:
            raise ValueError("%s has no phase-1 model of that name" % where)
        first, vp = phase1[r["name"]], r["vp_details"].get("vp")
        differ = [k for k in REFERENCE_SAME_AS_PHASE1 if r[k] != first[k]]
        if differ:
            raise ValueError("%s differs from phase 1's model in %s" % (where, ", ".join(differ)))
        if vp is None or len(vp["best_epoch"]) != 1:
            raise ValueError("%s has %s VP repeats with details; phase 2 runs one" % (
                where, 0 if vp is None else len(vp["best_epoch"])))
        if not r["weights_sha256"]:
            raise ValueError("%s records no weights_sha256" % where)
        fast = r["vp_repeats"].get("vp_fast", [])
        row = dict(model=r["name"], same_weights_as_phase1=r["weights_sha256"] == first["weights_sha256"],
                   vp_reference=r["metrics"]["vp"], vp_reference_final=vp["vp_score_final"][0],
                   vp_reference_heldout=vp["vp_score_heldout"][0], best_epoch=vp["best_epoch"][0],
                   vp_fast=r["metrics"].get("vp_fast", ""), vp_fast_sd=_sd(fast) if fast else "",
                   vp_fast_n=len(fast), reference_minus_fast=r["metrics"]["vp"] - r["metrics"]["vp_fast"] if fast else "",
                   vp_fast_phase1=first["metrics"]["vp_fast"])
        row.update((m, r["metrics"][m]) for m in GT_METRICS)
        row.update(("%s_phase1" % m, first["metrics"][m]) for m in GT_METRICS)
        row.update(train_s=round(r["train_seconds"]), vp_reference_s=round(r["metric_seconds"]["vp"]))
        rows.append(row)
    return rows


def plot_reference(path, references, rows):
    """Test accuracy after each of the 200 epochs of every phase-2 run; dashed: phase 1's fast VP of that name;
    dotted: the fast VP of the same weights, where scored."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for r, row in zip(references, rows):
        history = r["vp_details"]["vp"]["accuracy_history"][0]
        line, = ax.plot(range(1, len(history) + 1), history, linewidth=1, label="%s (best %.1f at epoch %d)" % (
            r["name"], row["vp_reference"], row["best_epoch"]))
        ax.axhline(row["vp_fast_phase1"], color=line.get_color(), linestyle="--", linewidth=1)
        if row["vp_fast"] != "":
            ax.axhline(row["vp_fast"], color=line.get_color(), linestyle=":", linewidth=1.5)
    ax.set_xlabel("recognizer epoch (reference protocol)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("VP reference protocol per epoch; fast protocol: dotted, same weights; dashed, phase-1 model",
                 fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


def _coefficients(x, y):
    """(Pearson, Spearman, Kendall) of two sequences; NaN where undefined (n < 3 or a constant)."""
    import numpy as np
    import scipy.stats

    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return (float("nan"),) * 3
    return (float(scipy.stats.pearsonr(x, y)[0]), float(scipy.stats.spearmanr(x, y)[0]),
            float(scipy.stats.kendalltau(x, y)[0]))


def correlation_rows(records, vp_metric="vp_fast", resamples=BOOTSTRAP, seed=0, models="all"):
    """One row per ground-truth metric: ``models`` (which records these are), n, each coefficient and its
    percentile bootstrap 95% CI (resampling the models; resamples where a coefficient is undefined are left out)."""
    import numpy as np

    x = np.array([r["metrics"][vp_metric] for r in records], np.float64)
    rng = np.random.RandomState(seed)
    picks = rng.randint(0, len(records), size=(resamples, len(records))) if records else np.zeros((0, 0), int)
    rows = []
    for metric in GT_METRICS:
        y = np.array([r["metrics"][metric] for r in records], np.float64)
        point = _coefficients(x, y)
        boot = np.array([_coefficients(x[i], y[i]) for i in picks]) if len(records) >= 3 else np.full((1, 3), np.nan)
        row = dict(models=models, metric=metric, n=len(records))
        for j, name in enumerate(["pearson", "spearman", "kendall"]):
            valid = boot[:, j][np.isfinite(boot[:, j])]
            low, high = np.percentile(valid, [2.5, 97.5]) if len(valid) else (float("nan"), float("nan"))
            row.update({name: point[j], name + "_low": float(low), name + "_high": float(high)})
        rows.append(row)
    return rows


def _t_interval(values):
    """(mean, half-width of the 95% t-interval) of a list; half-width NaN for fewer than two values."""
    import numpy as np
    import scipy.stats

    values = np.asarray(values, np.float64)
    if len(values) < 2:
        return float(values.mean()), float("nan")
    return float(values.mean()), float(scipy.stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)))


def _welch_interval(a, b):
    """(mean(b) - mean(a), half-width of its 95% Welch interval); NaN half-width when either has < 2 values."""
    import numpy as np
    import scipy.stats

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    diff = float(b.mean() - a.mean())
    if len(a) < 2 or len(b) < 2:
        return diff, float("nan")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    if va + vb == 0:
        return diff, 0.0
    dof = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    return diff, float(scipy.stats.t.ppf(0.975, dof) * np.sqrt(va + vb))


def family_rows(records):
    """beta-VAE vs VP-VAE (C_lambda 1) at each beta both have: per metric, each family's n, mean and 95%
    half-width, and the difference VP-VAE minus beta-VAE with its Welch half-width."""
    rows = []
    betas = sorted(set(r["beta"] for r in records))
    for beta in betas:
        base = [r for r in records if r["model_type"] == "beta_vae" and r["beta"] == beta]
        vp = [r for r in records if r["model_type"] == "vp_vae" and r["beta"] == beta and r["C_lambda"] == 1.0]
        if not base or not vp:
            continue
        for metric in STUDY_METRICS:
            a = [r["metrics"][metric] for r in base if metric in r["metrics"]]
            b = [r["metrics"][metric] for r in vp if metric in r["metrics"]]
            if not a or not b:
                continue
            (ma, ha), (mb, hb), (d, hd) = _t_interval(a), _t_interval(b), _welch_interval(a, b)
            rows.append(dict(beta=beta, metric=metric, n_beta_vae=len(a), beta_vae=ma, beta_vae_ci=ha, n_vp_vae=len(b),
                             vp_vae=mb, vp_vae_ci=hb, difference=d, difference_ci=hd))
    return rows


def _md_table(columns, rows, fmt=lambda v: "%.3g" % v):
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(fmt(row[c]) if isinstance(row[c], float) else str(row[c]) for c in columns) + " |")
    return lines


def study_correlation_rows(records, resamples=BOOTSTRAP):
    """correlation_rows over all models, then over each model type alone (models "beta_vae", "vp_vae"): within
    the beta-VAEs nothing was trained for VP, so that group asks whether VP tracks the ground truth as a metric;
    the mixed group also measures how far the recognizer raised VP."""
    rows = correlation_rows(records, resamples=resamples)
    for model_type in sorted(set(r["model_type"] for r in records)):
        rows += correlation_rows([r for r in records if r["model_type"] == model_type], resamples=resamples,
                                 models=model_type)
    return rows


def write_study(results_dir, records, resamples=BOOTSTRAP, references=()):
    """models.csv, correlation.csv / .md / .png, families.csv / .md and vp_reference.csv / .png (phase 2, from
    ``references``) from the model records (``resamples``: of the bootstrap; the committed tables use BOOTSTRAP)."""
    from metrics import correlation as correlation_lib

    write_csv(os.path.join(results_dir, "models.csv"), MODEL_COLUMNS, model_rows(records))
    corr = study_correlation_rows(records, resamples=resamples)
    corr_columns = ["models", "metric", "n"] + [c for k in ("pearson", "spearman", "kendall") for c in (k, k + "_low", k + "_high")]
    write_csv(os.path.join(results_dir, "correlation.csv"), corr_columns, corr)
    lines = ["# VP score (fast protocol) vs ground-truth metrics, %d models" % len(records), "",
             "Coefficient [95%% percentile bootstrap CI, %d resamples of the models, seed 0]." % resamples, "",
             "| models | metric | n | Pearson r | Spearman rho | Kendall tau |", "|---|---|---|---|---|---|"]
    for row in corr:
        lines.append("| %s | %s | %d | %s |" % (row["models"], row["metric"], row["n"], " | ".join(
            "%.2f [%.2f, %.2f]" % (row[k], row[k + "_low"], row[k + "_high"]) for k in ("pearson", "spearman", "kendall"))))
    with util.atomic_write(os.path.join(results_dir, "correlation.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    if len(records) >= 2:
        table = {r["name"]: r["metrics"] for r in records}
        correlation_lib.scatter_png(os.path.join(results_dir, "correlation.png"), table, "vp_fast", GT_METRICS)
    fam = family_rows(records)
    fam_columns = ["beta", "metric", "n_beta_vae", "beta_vae", "beta_vae_ci", "n_vp_vae", "vp_vae", "vp_vae_ci",
                   "difference", "difference_ci"]
    write_csv(os.path.join(results_dir, "families.csv"), fam_columns, fam)
    with util.atomic_write(os.path.join(results_dir, "families.md"), "w") as f:
        f.write("\n".join(["# beta-VAE vs VP-VAE (C_lambda 1) at equal beta: mean +- 95% t half-width over seeds; "
                           "difference VP-VAE minus beta-VAE +- Welch half-width (nan: one seed)", ""]
                          + _md_table(fam_columns, fam)) + "\n")
    reference = reference_rows(records, references)
    write_csv(os.path.join(results_dir, "vp_reference.csv"), REFERENCE_COLUMNS, reference)
    if references:
        plot_reference(os.path.join(results_dir, "vp_reference.png"), references, reference)
    return dict(models=model_rows(records), correlation=corr, families=fam, reference=reference)


def _pm(mean, half):
    return "%.3g" % mean if half != half else "%.3g +- %.2g" % (mean, half)     # half != half: NaN, one value


def summary_lines(records, correlation, families, reference=()):
    """The study's results as Markdown lines: what was run and its cost, every model's scores, the family means,
    the correlations and phase 2's reference-protocol rows (``reference``: reference_rows). The READMEs quote this
    block verbatim (build.py writes it between their markers)."""

    train_h = sum(r["train_seconds"] for r in records) / 3600.0
    metric_h = sum(sum(r["metric_seconds"].values()) for r in records) / 3600.0
    machines = sorted(set("%s, %s cores" % (r["machine"].get("processor", "?"), r["machine"].get("cpus", "?"))
                          for r in records))
    lines = ["%d of the 14 models committed (`results/models/*.json`; built by `python experiments/dsprites_vae/"
             "build.py`). Compute: %.1f core-hours of training, %.1f of metrics (one thread per model); machine: %s; "
             "commit(s) %s." % (len(records), train_h, metric_h, "; ".join(machines),
                                ", ".join(sorted(set(r["commit"][:7] for r in records)))), "",
             "| model | steps | train min | VP fast % (mean +- sd of repeats) | FactorVAE | MIG | DCI | SAP |",
             "|---|---|---|---|---|---|---|---|"]
    for r in records:
        vp = r["vp_repeats"].get("vp_fast") or [r["metrics"]["vp_fast"]]
        lines.append("| %s | %d | %.0f | %.1f +- %.1f (%d) | %.3f | %.3f | %.3f | %.3f |" % (
            r["name"], r["steps"], r["train_seconds"] / 60.0, r["metrics"]["vp_fast"], _sd(vp), len(vp),
            r["metrics"]["factor_vae_score"], r["metrics"]["mig"],
            r["metrics"]["dci"], r["metrics"]["sap"]))
    lines += ["", "beta-VAE vs VP-VAE (C_lambda 1) at equal beta: mean +- 95% t half-width over seeds (n); "
              "difference VP-VAE minus beta-VAE +- Welch half-width.", ""]
    if families:
        lines += ["| beta | metric | beta-VAE | VP-VAE | difference |", "|---|---|---|---|---|"]
        for f in families:
            lines.append("| %g | %s | %s (%d) | %s (%d) | %s |" % (
                f["beta"], f["metric"], _pm(f["beta_vae"], f["beta_vae_ci"]), f["n_beta_vae"],
                _pm(f["vp_vae"], f["vp_vae_ci"]), f["n_vp_vae"], _pm(f["difference"], f["difference_ci"])))
    else:
        lines.append("No beta has models of both families yet.")
    lines += ["", "VP (fast protocol) vs each ground-truth metric over all %d models and over each model type alone: "
              "coefficient [95%% percentile bootstrap CI, %d resamples, seed 0]; nan where n < 3." % (
                  len(records), BOOTSTRAP), "",
              "| models | metric | n | Pearson r | Spearman rho | Kendall tau |", "|---|---|---|---|---|---|"]
    for row in correlation:
        lines.append("| %s | %s | %d | %s |" % (row["models"], row["metric"], row["n"], " | ".join(
            "%.2f [%.2f, %.2f]" % (row[k], row[k + "_low"], row[k + "_high"]) for k in ("pearson", "spearman", "kendall"))))
    lines += ["", "Phase 2, the reference VP protocol (200 epochs, 1 repeat) on the beta-10 models, retrained with "
              "phase 1's flags: %d of %d committed (`results/vp_reference/*.json`, `results/vp_reference.csv`)." % (
                  len(reference), REFERENCE_MODELS)]
    if reference:
        lines += ["VP reference: best test epoch (the published reading) / last epoch / epoch chosen on a held-out "
                  "third of the test pairs. Ground-truth metrics of the retrained network, phase 1's in brackets; "
                  "'same weights': the retrained network is phase 1's bit for bit.", "",
                  "| model | same weights | VP reference % (best / last / held-out) | best epoch | VP fast % "
                  "(these weights; phase 1) | FactorVAE | MIG | DCI | SAP | VP min |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for row in reference:
            lines.append("| %s | %s | %.1f / %.1f / %s | %d | %s; %.1f | %s | %.0f |" % (
                row["model"], "yes" if row["same_weights_as_phase1"] else "no", row["vp_reference"],
                row["vp_reference_final"], "n/a" if row["vp_reference_heldout"] is None else
                "%.1f" % row["vp_reference_heldout"], row["best_epoch"], "%.1f +- %.1f (%d)" % (
                    row["vp_fast"], row["vp_fast_sd"], row["vp_fast_n"]) if row["vp_fast_n"] else "not scored",
                row["vp_fast_phase1"],
                " | ".join("%.3f (%.3f)" % (row[m], row[m + "_phase1"]) for m in GT_METRICS),
                row["vp_reference_s"] / 60.0))
    return lines


BLOCK_BEGIN = "<!-- dsprites_vae study results: begin (experiments/dsprites_vae/build.py writes this block) -->"
BLOCK_END = "<!-- dsprites_vae study results: end -->"
NO_MODELS = ["No model of the study is committed yet."]
READMES = [os.path.join(HERE, "README.md"), os.path.join(ROOT, "README.md")]


def readme_block(path):
    """The lines between the study markers of a README; ValueError if it has no (or broken) markers."""
    with open(path) as f:
        text = f.read()
    if text.count(BLOCK_BEGIN) != 1 or text.count(BLOCK_END) != 1 or text.index(BLOCK_BEGIN) > text.index(BLOCK_END):
        raise ValueError("%s needs one pair of study markers (%s ... %s)" % (path, BLOCK_BEGIN, BLOCK_END))
    return text[text.index(BLOCK_BEGIN) + len(BLOCK_BEGIN):text.index(BLOCK_END)].strip("\n").split("\n")


def write_readme_block(path, lines):
    """Replace the lines between a README's study markers by ``lines`` (atomically)."""
    readme_block(path)
    with open(path) as f:
        text = f.read()
    head, tail = text[:text.index(BLOCK_BEGIN) + len(BLOCK_BEGIN)], text[text.index(BLOCK_END):]
    with util.atomic_write(path, "w") as f:
        f.write(head + "\n" + "\n".join(lines) + "\n" + tail)


def build(results_dir, readmes=()):
    """Write the pilot's and (once models exist) the study's tables and plots under results_dir, and the study's
    summary (results_dir/summary.md) into the marked block of each of ``readmes``. Returns the pilot rows."""
    records = load_pilot(results_dir)
    rows = pilot_rows(records)
    write_csv(os.path.join(results_dir, "pilot.csv"), PILOT_COLUMNS, rows)
    if records:
        plot_pilot(os.path.join(results_dir, "pilot.png"), records)
    lines = NO_MODELS
    models = load_models(results_dir)
    if models:
        references = load_models(results_dir, REFERENCE_DIR, REFERENCE_FIELDS, REFERENCE_METRICS)
        study = write_study(results_dir, models, references=references)
        lines = summary_lines(models, study["correlation"], study["families"], study["reference"])
        with util.atomic_write(os.path.join(results_dir, "summary.md"), "w") as f:
            f.write("\n".join(lines) + "\n")
    grids = sorted(glob.glob(os.path.join(results_dir, "traversals", "*.png")))
    if grids:
        write_csv(os.path.join(results_dir, "traversal_motion.csv"), traversal_motion.COLUMNS,
                  traversal_motion.grid_rows(grids))
    for path in readmes:
        write_readme_block(path, lines)
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", default=os.path.join(HERE, "results"), help="results folder (default: committed)")
    args = p.parse_args(argv)
    readmes = READMES if os.path.abspath(args.results) == os.path.join(HERE, "results") else ()
    rows = build(args.results, readmes)
    print("%d pilot points -> %s" % (len(rows), os.path.join(args.results, "pilot.csv")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
