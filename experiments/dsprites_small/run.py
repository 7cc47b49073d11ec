"""A CPU-sized check of the paper's Sec. 5 claim on procedural dSprites: does the VP score agree with ground-truth
disentanglement metrics across models? The models and their metrics are `sweep.yaml` (trained and scored by
run_sweep.py); this script is the study's analysis of the finished sweep.

  python dataset_tool.py create_dsprites datasets/dsprites --max_images 20000 --seed 0
  python run_sweep.py experiments/dsprites_small/sweep.yaml --out results/dsprites_small --data-dir datasets
  python experiments/dsprites_small/run.py --sweep-out results/dsprites_small

Models (9): beta-VAE (beta 10) and VP-VAE (beta 10, C_lambda 1), seeds 0, 1, 2 each; a VP-VAE lambda sweep
(C_lambda 0.1 and 10, seed 0); a plain VAE (beta 1, seed 0); all with the quickstart_vae settings (64x64, 6
latents, batch 64, fulldim VP pairs) for 32 kimg at Adam 5e-4. Metrics: the VP score (fast protocol, 4,000 onedim
pairs from the decoder, one repeat) and FactorVAE score, MIG and DCI of the encoder on 1,000 points.
Outputs (--out, committed): models.csv (one row per model: settings, training seconds, metrics),
correlation.csv / .md / .png (VP vs each metric, Pearson and Spearman) and run_info.json (settings, models,
provenance, seconds). The committed results predate run_sweep.py (same settings, made by this script's earlier
in-process runner) and were trained on renderer version 1: a rerun today gives other numbers (README).
"""

import argparse
import csv
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from dnnlib import cli, util  # noqa: E402
from metrics import correlation  # noqa: E402
from sweeps import spec  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SWEEP_FILE = os.path.join(HERE, "sweep.yaml")
VP_METRIC = "vp_fast"
GT_METRICS = ["factor_vae_score", "mig", "dci"]
MODEL_COLUMNS = ["model", "model_type", "beta", "C_lambda", "seed", "train_s", VP_METRIC] + GT_METRICS


def sweep_models(sweep_file=SWEEP_FILE):
    """The sweep file's models as [dict(name, model_type, beta, C_lambda, seed)] (C_lambda 0 where the model has
    no VP loss, as run_info.json records it), and its trials."""
    trials = spec.expand_trials(spec.load_sweep_file(sweep_file), sweep_file)
    models = [dict(name=t.name, model_type=t.train["model_type"], beta=float(t.train["beta"]),
                   C_lambda=float(t.train["C_lambda"]) if t.train["model_type"] == "vp_vae" else 0.0,
                   seed=int(t.train["seed"])) for t in trials]
    return models, trials


def read_sweep_results(sweep_out, models):
    """{model name: results.csv row} of the finished sweep. Raises cli.InputError naming a missing or failed model."""
    path = os.path.join(sweep_out, "results.csv")
    if not os.path.isfile(path):
        raise cli.UsageError("%s does not exist; run run_sweep.py %s --out %s first" % (path, SWEEP_FILE, sweep_out))
    with open(path) as f:
        rows = {row["trial"]: row for row in csv.DictReader(f)}
    missing = [m["name"] for m in models if rows.get(m["name"], {}).get("status") != "ok"]
    if missing:
        raise cli.InputError("%s: model(s) %s not finished; rerun run_sweep.py" % (path, ", ".join(missing)))
    return rows


def write_results(out, models, rows, sweep_out):
    os.makedirs(out, exist_ok=True)
    with util.atomic_write(os.path.join(out, "models.csv"), "w") as f:
        writer = csv.writer(f)
        writer.writerow(MODEL_COLUMNS)
        for m in models:
            row = rows[m["name"]]
            writer.writerow([m["name"], m["model_type"], m["beta"], m["C_lambda"], m["seed"], row["train_s"]]
                            + ["%.6g" % float(row[n]) for n in [VP_METRIC] + GT_METRICS])
    table = {m["name"]: {n: float(rows[m["name"]][n]) for n in [VP_METRIC] + GT_METRICS} for m in models}
    correlation.write_outputs(out, table, VP_METRIC, GT_METRICS)
    with open(os.path.join(sweep_out, "sweep.json")) as f:
        provenance = json.load(f)
    info = dict(sweep_file=os.path.relpath(SWEEP_FILE, ROOT), models=models, sweep=provenance,
                train_seconds_total=round(sum(float(rows[m["name"]]["train_s"]) for m in models), 1))
    with util.atomic_write(os.path.join(out, "run_info.json"), "w") as f:
        json.dump(info, f, indent=2)


def main(argv=None):
    p = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sweep-out", dest="sweep_out", required=True, help="run_sweep.py --out of sweep.yaml")
    p.add_argument("--out", default=os.path.join(HERE, "results"), help="tables and plot (default: committed results)")
    args = p.parse_args(argv)
    try:
        models, _ = sweep_models()
        rows = read_sweep_results(args.sweep_out, models)
        write_results(args.out, models, rows, args.sweep_out)
    except (Exception, KeyboardInterrupt) as exc:
        return cli.report(exc)
    with open(os.path.join(args.out, "correlation.md")) as f:
        print(f.read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
