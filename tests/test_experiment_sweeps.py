"""The experiments' model lists are sweep files: they resolve to the settings their committed results were made
with (experiments/dsprites_small, without rerunning it) or that their issue names (experiments/dsprites_vae), and
dsprites_small's analysis reads a finished sweep."""

import csv
import json
import os

import pytest

pytest.importorskip("yaml", reason="the experiments' sweep files are YAML (PyYAML ships with Ray, Python >= 3.10)")

from sweeps import spec  # noqa: E402
from tests import experiment_modules  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = os.path.join(ROOT, "experiments", "dsprites_small")
small = experiment_modules.load("dsprites_small", "run")


def _without_paths(flags):
    return {k: v for k, v in flags.items() if k not in spec.NOT_IN_KEY}


def test_dsprites_small_sweep_resolves_to_its_committed_run_info():
    """Same models, and each trial's resolved run_training.py flags equal those of the command line the former
    in-process runner built from run_info.json's settings; the metric groups carry its metric settings."""
    import run_training

    with open(os.path.join(SMALL, "results", "run_info.json")) as f:
        info = json.load(f)
    settings = info["settings"]
    models, trials = small.sweep_models()
    assert sorted(models, key=lambda m: m["name"]) == sorted(info["models"], key=lambda m: m["name"])
    for model, trial in zip(models, trials):
        former = ["--preset", "quickstart_vae", "--model_type", model["model_type"], "--beta", str(model["beta"]),
                  "--seed", str(model["seed"]), "--total-kimg", str(settings["kimg"]), "--learning-rate",
                  str(settings["learning_rate"]), "--dataset", settings["dataset"]]
        if model["model_type"] == "vp_vae":
            former += ["--C_lambda", str(model["C_lambda"])]
        resolved, _ = spec.resolve_flags(trial)
        expected = {k: v for k, v in run_training.resolve_flags(former).items() if k not in ("dry_run", "print_flags")}
        assert _without_paths(resolved) == _without_paths(expected), model["name"]
        vp, gt = trial.metrics
        assert (vp["metrics"], vp["vp_pairs"], vp["vp_repeats"], vp["seed"]) == (
            ["vp_fast"], settings["vp_pairs"], 1, settings["seed"])
        assert (gt["metrics"], gt["gt_points"], gt["seed"]) == (small.GT_METRICS, settings["gt_points"], settings["seed"])


def test_dsprites_vae_sweep_holds_the_studys_14_models():
    trials = spec.expand_trials(spec.load_sweep_file(os.path.join(ROOT, "experiments", "dsprites_vae", "sweep.yaml")))
    got = {(t.train["model_type"], float(t.train["beta"]),
            float(t.train["C_lambda"]) if t.train["model_type"] == "vp_vae" else None, t.train["seed"]) for t in trials}
    want = ({("beta_vae", 10.0, None, s) for s in (0, 1, 2)} | {("vp_vae", 10.0, 1.0, s) for s in (0, 1, 2)}
            | {("beta_vae", b, None, 0) for b in (1.0, 4.0, 16.0)} | {("vp_vae", b, 1.0, 0) for b in (1.0, 4.0, 16.0)}
            | {("vp_vae", 10.0, lam, 0) for lam in (0.1, 10.0)})
    assert len(trials) == 14 and got == want
    for t in trials:
        assert t.train["total_kimg"] * 1000 / 64 == 15000 and t.train["learning_rate"] == 5e-4
        names = [n for g in t.metrics for n in g["metrics"]]
        assert names[:5] == ["factor_vae_score", "mig", "dci", "sap", "vp_fast"]
        assert "vp" not in names                                         # the reference protocol is phase 2
        assert all("gt_points" not in g for g in t.metrics)              # reference sample sizes
    phase2 = spec.expand_trials(spec.load_sweep_file(os.path.join(ROOT, "experiments", "dsprites_vae",
                                                                  "sweep_vp_reference.yaml")))
    by_name = {t.name: t for t in trials}
    assert sorted(t.name for t in phase2) == sorted(n for n, t in by_name.items() if t.train["beta"] == 10
                                                   and t.train.get("C_lambda", 1) == 1)
    for t in phase2:               # retrained exactly as in phase 1, then its own ground truth and the reference VP
        assert t.train == by_name[t.name].train
        assert [g["metrics"] for g in t.metrics] == [["factor_vae_score", "mig", "dci", "sap"], ["vp"]]


def _fake_sweep_out(path, models, skip=()):
    os.makedirs(path)
    with open(os.path.join(path, "results.csv"), "w") as f:
        writer = csv.writer(f)
        writer.writerow(["trial", "status", "train_s", "vp_fast", "factor_vae_score", "mig", "dci"])
        for i, m in enumerate(models):
            if m["name"] not in skip:
                writer.writerow([m["name"], "ok", 10 + i, 40 + i, 0.5 + 0.01 * i, 0.1 + 0.01 * i, 0.2 - 0.01 * i])
    with open(os.path.join(path, "sweep.json"), "w") as f:
        json.dump(dict(commit="c" * 40, wall_seconds=1.0), f)


def test_dsprites_small_analysis_reads_a_finished_sweep(tmp_path, capsys):
    models, _ = small.sweep_models()
    _fake_sweep_out(str(tmp_path / "sweep"), models)
    out = str(tmp_path / "out")
    assert small.main(["--sweep-out", str(tmp_path / "sweep"), "--out", out]) == 0
    with open(os.path.join(out, "models.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [r["model"] for r in rows] == [m["name"] for m in models] and rows[0]["vp_fast"] == "40"
    with open(os.path.join(out, "correlation.md")) as f:
        text = f.read()
    assert "| mig | 1.000 | 1.000 | 9 |" in text and "| dci | -1.000 | -1.000 | 9 |" in text
    with open(os.path.join(out, "run_info.json")) as f:
        assert json.load(f)["train_seconds_total"] == sum(10 + i for i in range(9))

    _fake_sweep_out(str(tmp_path / "partial"), models, skip=("vae-s0",))
    assert small.main(["--sweep-out", str(tmp_path / "partial"), "--out", out]) == 1
    assert "vae-s0 not finished" in capsys.readouterr().err
