"""experiments/dsprites_vae: the pilot's rules, and the committed tables are what build.py makes from the JSONs."""

import csv
import glob
import json
import os
import shutil
import subprocess

import pytest

from dnnlib import cli
from tests import experiment_modules
from tests.quoted_figures import section, unquoted_figures

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.join(ROOT, "experiments", "dsprites_vae")
RESULTS = os.path.join(HERE, "results")


pilot, build = experiment_modules.load("dsprites_vae", "pilot"), experiment_modules.load("dsprites_vae", "build")


def _point(step, mig, fvae):
    return dict(step=step, mig=mig, factor_vae_score=fvae)


def test_plateau_rule():
    assert not pilot.plateaued([_point(5000, 0.2, 0.7), _point(10000, 0.2, 0.7)], 0.02)   # needs three scores
    flat = [_point(5000, 0.10, 0.60), _point(10000, 0.20, 0.70), _point(15000, 0.21, 0.71), _point(20000, 0.205, 0.72)]
    assert pilot.plateaued(flat, 0.02) and not pilot.plateaued(flat[:3], 0.02)
    assert not pilot.plateaued(flat[:2] + [_point(15000, 0.21, 0.75), _point(20000, 0.2, 0.76)], 0.02)  # FactorVAE moved


def test_pilot_flags():
    common = ["--work", "w", "--data-dir", "d"]
    assert pilot.main(common + ["--only", "nonesuch"]) == 2
    assert pilot.main(common + ["--score-every", "100"]) == 2          # not whole kimg at batch 64
    assert pilot.main(common + ["--vp-every", "7500"]) == 2            # not a multiple of --score-every
    assert pilot.main(common + ["--cpu-threads", "0"]) == 2
    assert pilot.main(common + ["--list"]) == 0
    assert pilot.metrics_at(10000, pilot.build_parser().parse_args(common)) == pilot.METRICS
    assert pilot.VP_METRIC not in pilot.metrics_at(15000, pilot.build_parser().parse_args(common))


@pytest.mark.parametrize("failure, code, message", [
    (subprocess.CalledProcessError(1, ["run_training.py"]), 1, "logs under"),
    (KeyboardInterrupt(), cli.EXIT_INTERRUPTED, "error: interrupted"),
    (OSError(28, "No space left on device", "curve.json"), 1, "curve.json")])
def test_pilot_reports_a_failed_curve_in_one_line(tmp_path, monkeypatch, capsys, failure, code, message):
    def fail(curve, args):
        raise failure
    monkeypatch.setattr(pilot, "run_curve", fail)
    argv = ["--work", str(tmp_path / "w"), "--data-dir", "d", "--out", str(tmp_path / "out"), "--only", "b4-lr1e-4"]
    assert pilot.main(argv) == code
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


CURVES = sorted(glob.glob(os.path.join(RESULTS, "pilot", "*.json")))


@pytest.mark.skipif(not CURVES, reason="no committed pilot curves yet")
def test_committed_pilot_curves_are_complete_and_rebuild(tmp_path):
    names = {c.name for c in pilot.CURVES}
    for path in CURVES:
        with open(path) as f:
            record = json.load(f)
        assert record["curve"] in names and os.path.basename(path) == record["curve"] + ".json"
        settings = record["settings"]
        assert record["renderer_version"] == 2 and settings["dataset_images"] == 737280
        assert record["status"] in ("running", "plateau", "max_steps")
        steps = [p["step"] for p in record["points"]]
        assert steps == list(range(settings["score_every"], settings["score_every"] * (len(steps) + 1),
                                   settings["score_every"]))
        for p in record["points"]:
            want = pilot.GT_METRICS + ([pilot.VP_METRIC] if p["step"] % settings["vp_every"] == 0 else [])
            assert set(want) <= set(p["metric_s"]) <= set(pilot.METRICS), p["step"]    # step 5000 also has VP
            assert all(isinstance(p[m], float) for m in want) and p["train_s"] > 0 and len(p["commit"]) == 40
        if record["status"] == "plateau":
            assert pilot.plateaued(record["points"], settings["plateau"])
    out = str(tmp_path / "results")
    shutil.copytree(os.path.join(RESULTS, "pilot"), os.path.join(out, "pilot"))
    rows = build.build(out)
    with open(os.path.join(out, "pilot.csv")) as a, open(os.path.join(RESULTS, "pilot.csv")) as b:
        assert a.read() == b.read(), "pilot.csv is stale: run python experiments/dsprites_vae/build.py"
    with open(os.path.join(RESULTS, "pilot.csv")) as f:
        assert len(list(csv.DictReader(f))) == len(rows) == sum(len(json.load(open(p))["points"]) for p in CURVES)
    assert os.path.getsize(os.path.join(out, "pilot.png")) > 10000


collect = experiment_modules.load("dsprites_vae", "collect")
STUDY_FILES = ("models.csv", "correlation.csv", "correlation.md", "families.csv", "families.md", "summary.md",
               "traversal_motion.csv", "vp_reference.csv")


def _fake_trial(study, data_dir, name, model_type, beta, seed, metrics, C_lambda=1.0, weights=None, vp_runs=None):
    """A finished trial folder as run_sweep.py leaves it (no networks: collect reads JSONs only). ``vp_runs``: the
    per-repeat results of its 'vp' metric file."""
    trial_dir = os.path.join(study, "trials", "%s.k%s" % (name, seed))
    os.makedirs(os.path.join(trial_dir, "metrics"))
    flags = dict(model_type=model_type, beta=beta, C_lambda=C_lambda, seed=seed, total_kimg=960.0, minibatch_size=64,
                 learning_rate=5e-4, latent_size=6, preset="vp_vae_dsprites", dataset="ds", data_dir=data_dir)
    with open(os.path.join(trial_dir, "trial.json"), "w") as f:
        json.dump(dict(name=name, key="k%s" % seed, flags=flags, python_version="3.11.7", commit="c" * 40), f)
    with open(os.path.join(trial_dir, "result.json"), "w") as f:
        json.dump(dict(status="ok", key="k%s" % seed, train_seconds_total=100.0 + seed, task_ended=1.8e9,
                       machine=dict(cpus=2)), f)
    with open(os.path.join(trial_dir, "attempts.json"), "w") as f:
        json.dump([dict(started=0.0, ended=10.0)], f)
    for run, kimg in (("00000-first", 128), ("00001-resumed", 960), ("00001-resumed", 512)):     # grids: stand-in bytes
        os.makedirs(os.path.join(trial_dir, "train", run), exist_ok=True)
        with open(os.path.join(trial_dir, "train", run, "fakes%06d.png" % kimg), "wb") as f:
            f.write(b"grid of %s at %d kimg" % (name.encode(), kimg))
    for metric, value in metrics.items():
        details = dict(summary=dict(vp_score=dict(values=[value, value]))) if metric.startswith("vp") else {}
        if metric == "vp" and vp_runs is not None:
            details = dict(summary=dict(vp_score=dict(values=[run["vp_score"] for run in vp_runs])), repeats=vp_runs)
        with open(os.path.join(trial_dir, "metrics", "metric-%s.json" % metric), "w") as f:
            json.dump(dict(value=value, seconds=5.0, settings=dict(seed=0), details=details,
                           weights_sha256=(weights or {}).get(metric, "w%d" % seed)), f)


def _fake_study(tmp_path):
    import numpy as np

    study, data_dir = str(tmp_path / "study"), str(tmp_path / "data")
    os.makedirs(os.path.join(data_dir, "ds"))
    np.save(os.path.join(data_dir, "ds", "ds-factors.npy"), np.zeros((12, 6), np.int64))
    for i, (family, seed) in enumerate([("beta_vae", 0), ("beta_vae", 1), ("vp_vae", 0), ("vp_vae", 1)]):
        gt = 0.1 * (i + 1)          # every metric rises with VP: all coefficients are 1
        _fake_trial(study, data_dir, "%s-b10-s%d" % (family, seed), family, 10.0, seed,
                    dict(vp_fast=50.0 + 10 * i, factor_vae_score=gt, mig=gt, dci=gt, sap=gt))
    return study


def test_collect_and_build_the_study_from_trial_folders(tmp_path):
    """collect.py: one JSON per ok trial with settings and metrics; build.py: the tables from those JSONs."""
    study, out = _fake_study(tmp_path), str(tmp_path / "results")
    assert sorted(collect.collect(study, os.path.join(out, "models"))) == [
        "beta_vae-b10-s0", "beta_vae-b10-s1", "vp_vae-b10-s0", "vp_vae-b10-s1"]
    assert collect.collect(study, os.path.join(out, "models")) == []          # written once
    with open(os.path.join(out, "traversals", "vp_vae-b10-s1.png"), "rb") as f:
        assert f.read() == b"grid of vp_vae-b10-s1 at 960 kimg"                  # the newest grid, by kimg
    os.remove(os.path.join(out, "traversals", "beta_vae-b10-s0.png"))
    assert collect.collect(study, os.path.join(out, "models")) == []          # a grid lost is copied again
    assert collect.final_traversal(str(tmp_path)) is None                     # a trial folder without grids
    assert sorted(os.listdir(os.path.join(out, "traversals"))) == [
        "beta_vae-b10-s0.png", "beta_vae-b10-s1.png", "vp_vae-b10-s0.png", "vp_vae-b10-s1.png"]
    with open(os.path.join(out, "models", "vp_vae-b10-s1.json")) as f:
        record = json.load(f)
    assert (record["steps"], record["dataset_images"], record["C_lambda"], record["train_seconds"]) == (15000, 12, 1.0, 101.0)
    assert record["vp_repeats"]["vp_fast"] == [80.0, 80.0] and record["commit"] == "c" * 40
    assert record["weights_sha256"] == "w1"
    assert record["vp_details"] == {}          # its metric file keeps no per-repeat runs: no empty lists either
    models = build.load_models(out)
    result = build.write_study(out, models, resamples=100)
    with open(os.path.join(out, "models.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [r["model"] for r in rows] == [m["name"] for m in models] and rows[0]["steps"] == "15000"
    overall = [row for row in result["correlation"] if row["models"] == "all"]
    assert len(overall) == 4 and all(row["pearson"] == pytest.approx(1.0) and row["kendall"] == pytest.approx(1.0)
                                     and row["n"] == 4 for row in overall)
    by_type = [row for row in result["correlation"] if row["models"] != "all"]
    assert sorted(set(row["models"] for row in by_type)) == ["beta_vae", "vp_vae"]
    assert all(row["n"] == 2 and row["pearson"] != row["pearson"] for row in by_type)     # NaN below 3 models
    mig = [r for r in result["families"] if r["metric"] == "mig"][0]
    assert (mig["beta_vae"], mig["vp_vae"], mig["difference"]) == pytest.approx((0.15, 0.35, 0.2))
    import scipy.stats
    assert mig["beta_vae_ci"] == pytest.approx(scipy.stats.t.ppf(0.975, 1) * 0.05 / 1)      # sd 0.0707 / sqrt 2
    assert os.path.getsize(os.path.join(out, "correlation.png")) > 5000


def test_build_writes_the_summary_into_the_marked_readme_blocks(tmp_path):
    study, out = _fake_study(tmp_path), str(tmp_path / "results")
    collect.collect(study, os.path.join(out, "models"))
    shutil.rmtree(os.path.join(out, "traversals"))     # the stand-in grids are not PNGs (traversal_motion has its test)
    readme = str(tmp_path / "README.md")
    with open(readme, "w") as f:
        f.write("# title\n\nprose 1\n%s\nstale figures\n%s\nprose 2\n" % (build.BLOCK_BEGIN, build.BLOCK_END))
    build.build(out, [readme])
    with open(os.path.join(out, "summary.md")) as f:
        summary = f.read().rstrip("\n").split("\n")
    assert build.readme_block(readme) == summary and "stale figures" not in open(readme).read()
    assert summary[0].startswith("4 of the 14 models committed")
    assert "| vp_vae-b10-s1 | 15000 | 2 | 80.0 +- 0.0 (2) | 0.400 | 0.400 | 0.400 | 0.400 |" in summary
    assert "| 10 | mig | 0.15 +- 0.64 (2) | 0.35 +- 0.64 (2) | 0.2 +- 0.3 |" in summary
    text = open(readme).read()
    assert text.startswith("# title\n\nprose 1\n") and text.endswith("%s\nprose 2\n" % build.BLOCK_END)
    with open(readme, "w") as f:
        f.write("no markers\n")
    with pytest.raises(ValueError, match="needs one pair of study markers"):
        build.build(out, [readme])


def _copy_study_records(out):
    """The committed model records of both phases (no tables) under ``out``."""
    shutil.copytree(os.path.join(RESULTS, "models"), os.path.join(out, "models"))
    if os.path.isdir(os.path.join(RESULTS, build.REFERENCE_DIR)):
        shutil.copytree(os.path.join(RESULTS, build.REFERENCE_DIR), os.path.join(out, build.REFERENCE_DIR),
                        ignore=shutil.ignore_patterns("traversals"))


def test_the_readmes_quote_the_committed_study_as_built(tmp_path):
    """Every study figure in the two READMEs is the block build.py makes from the committed JSONs."""
    if MODELS:
        out = str(tmp_path / "results")
        _copy_study_records(out)
        build.build(out)
        with open(os.path.join(out, "summary.md")) as f:
            want = f.read().rstrip("\n").split("\n")
    else:
        want = build.NO_MODELS
    for path in build.READMES:
        assert build.readme_block(path) == want, "%s quotes stale study figures: run python %s" % (
            path, "experiments/dsprites_vae/build.py")


def test_a_model_json_without_a_field_is_refused(tmp_path):
    study, out = _fake_study(tmp_path), str(tmp_path / "results")
    collect.collect(study, os.path.join(out, "models"))
    path = os.path.join(out, "models", "beta_vae-b10-s0.json")
    with open(path) as f:
        record = json.load(f)
    del record["metrics"]["sap"]
    with open(path, "w") as f:
        json.dump(record, f)
    with pytest.raises(ValueError, match="beta_vae-b10-s0.json lacks metrics.sap"):
        build.load_models(out)


def _reference_run(best, final, heldout, epochs=5):
    """One reference-protocol repeat: test accuracy per epoch peaking at ``best`` in epoch 2 and ending at ``final``."""
    history = [best - 10.0, best] + [final] * (epochs - 2)
    return dict(vp_score=best, vp_score_final=final, vp_score_heldout=heldout, best_epoch=2, heldout_epoch=3,
                accuracy_history=history, confusion=[[1]])


def test_phase_two_records_are_collected_apart_and_tabled_beside_phase_one(tmp_path):
    """collect.py --out vp_reference keeps the reference run's readings and history; build.py puts each beside the
    phase-1 model of its name (same weights or not), into vp_reference.csv / .png and the summary."""
    study, out = _fake_study(tmp_path), str(tmp_path / "results")
    collect.collect(study, os.path.join(out, "models"))
    shutil.rmtree(os.path.join(out, "traversals"))     # stand-in grids are not PNGs
    phase2 = str(tmp_path / "phase2")
    gt = dict(factor_vae_score=0.5, mig=0.25, dci=0.3, sap=0.05)
    _fake_trial(phase2, str(tmp_path / "data"), "beta_vae-b10-s0", "beta_vae", 10.0, 0,
                dict(vp=72.5, **gt), vp_runs=[_reference_run(72.5, 70.0, 71.25)])      # sha w0: phase 1's
    _fake_trial(phase2, str(tmp_path / "data"), "vp_vae-b10-s1", "vp_vae", 10.0, 1, dict(vp=90.0, vp_fast=86.0, **gt),
                weights=dict((m, "other") for m in ["vp", "vp_fast"] + list(gt)),
                vp_runs=[_reference_run(90.0, 85.0, 88.0)])       # other weights, also scored by the fast protocol
    assert collect.main(["--study", phase2, "--out", os.path.join(out, "vp_reference")]) == 0
    assert sorted(os.listdir(os.path.join(out, "vp_reference", "traversals"))) == [
        "beta_vae-b10-s0.png", "vp_vae-b10-s1.png"]
    assert not os.path.exists(os.path.join(out, "traversals"))          # phase 1's grids are left alone
    with open(os.path.join(out, "vp_reference", "vp_vae-b10-s1.json")) as f:
        record = json.load(f)
    assert record["vp_details"]["vp"]["accuracy_history"] == [[80.0, 90.0, 85.0, 85.0, 85.0]]
    assert record["vp_details"]["vp"]["best_epoch"] == [2] and record["weights_sha256"] == "other"
    build.build(out)
    with open(os.path.join(out, "vp_reference.csv")) as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == build.REFERENCE_COLUMNS
    assert [(r["model"], r["same_weights_as_phase1"], r["vp_reference"], r["vp_reference_final"],
             r["vp_reference_heldout"], r["best_epoch"], r["vp_fast"], r["vp_fast_phase1"], r["mig"], r["mig_phase1"])
            for r in rows] == [("beta_vae-b10-s0", "True", "72.5", "70", "71.25", "2", "", "50", "0.25", "0.1"),
                               ("vp_vae-b10-s1", "False", "90", "85", "88", "2", "86", "80", "0.25", "0.4")]
    assert os.path.getsize(os.path.join(out, "vp_reference.png")) > 5000
    with open(os.path.join(out, "summary.md")) as f:
        summary = f.read()
    assert "2 of 6 committed" in summary
    assert ("| beta_vae-b10-s0 | yes | 72.5 / 70.0 / 71.2 | 2 | not scored; 50.0 | 0.500 (0.100) | 0.250 (0.100) "
            "| 0.300 (0.100) | 0.050 (0.100) | 0 |") in summary
    assert "| vp_vae-b10-s1 | no | 90.0 / 85.0 / 88.0 | 2 | 86.0 +- 0.0 (2); 80.0 | 0.500 (0.400) |" in summary
    assert [(r["vp_fast_sd"], r["vp_fast_n"], r["reference_minus_fast"]) for r in rows] == [("", "0", ""), ("0", "2", "4")]
    # a phase-2 record needs its phase-1 model, trained with the same flags, one VP repeat and its VP details
    os.remove(os.path.join(out, "models", "vp_vae-b10-s1.json"))
    with pytest.raises(ValueError, match="vp_reference/vp_vae-b10-s1.json has no phase-1 model"):
        build.build(out)
    os.remove(os.path.join(out, "vp_reference", "vp_vae-b10-s1.json"))
    path = os.path.join(out, "vp_reference", "beta_vae-b10-s1.json")
    record.update(name="beta_vae-b10-s1", model_type="beta_vae", C_lambda=None, seed=1, learning_rate=1e-4)
    with open(path, "w") as f:
        json.dump(record, f)
    with pytest.raises(ValueError, match="beta_vae-b10-s1.json differs from phase 1's model in learning_rate"):
        build.build(out)
    record.update(learning_rate=5e-4)
    record["vp_details"]["vp"]["best_epoch"] = [2, 2]
    with open(path, "w") as f:
        json.dump(record, f)
    with pytest.raises(ValueError, match="beta_vae-b10-s1.json has 2 VP repeats with details; phase 2 runs one"):
        build.build(out)
    del record["vp_details"]
    with open(path, "w") as f:
        json.dump(record, f)
    with pytest.raises(ValueError, match="beta_vae-b10-s1.json lacks vp_details"):
        build.build(out)


def test_collect_refuses_a_trial_whose_metrics_scored_different_weights(tmp_path):
    study, out = _fake_study(tmp_path), str(tmp_path / "results")
    _fake_trial(study, str(tmp_path / "data"), "beta_vae-b4-s0", "beta_vae", 4.0, 0, dict(vp_fast=60.0, mig=0.2),
                weights=dict(vp_fast="aaaa", mig="bbbb"))
    with pytest.raises(ValueError, match="scored different weights .*mig bbbb, vp_fast aaaa"):
        collect.collect(study, os.path.join(out, "models"))
    assert sorted(os.listdir(os.path.join(out, "models"))) == [       # the consistent trials are collected
        "beta_vae-b10-s0.json", "beta_vae-b10-s1.json", "vp_vae-b10-s0.json", "vp_vae-b10-s1.json"]
    assert collect.main(["--study", study, "--out", os.path.join(out, "models")]) == 1


def test_pending_lists_the_sweeps_trials_without_a_json(tmp_path, capsys):
    pytest.importorskip("yaml", reason="PyYAML (for the study's sweep.yaml) is not installed in this interpreter")
    out = str(tmp_path / "models")
    sweep = os.path.join(os.path.dirname(RESULTS), "sweep.yaml")
    names = collect.pending(sweep, out)
    assert len(names) == 14 and names[:2] == ["beta_vae-b10-s0", "beta_vae-b10-s1"]
    os.makedirs(out)
    with open(os.path.join(out, "beta_vae-b10-s1.json"), "w") as f:
        f.write("{}")
    assert collect.main(["--pending", sweep, "--out", out]) == 0
    printed = capsys.readouterr().out.strip().split(",")
    assert printed == [n for n in names if n != "beta_vae-b10-s1"]
    with pytest.raises(SystemExit):
        collect.main(["--out", out])          # neither --study nor --pending


MODELS = sorted(glob.glob(os.path.join(RESULTS, "models", "*.json")))


@pytest.mark.skipif(not MODELS, reason="no committed study models yet")
def test_committed_study_tables_rebuild_from_the_jsons(tmp_path):
    """Every committed table is what build.py makes from the committed JSONs, and every row has its JSON."""
    out = str(tmp_path / "results")
    _copy_study_records(out)
    shutil.copytree(os.path.join(RESULTS, "traversals"), os.path.join(out, "traversals"))
    build.build(out)                   # every study table and summary.md, as the committed ones were made
    for name in STUDY_FILES:
        with open(os.path.join(out, name)) as a, open(os.path.join(RESULTS, name)) as b:
            assert a.read() == b.read(), "%s is stale: run python experiments/dsprites_vae/build.py" % name
    with open(os.path.join(RESULTS, "models.csv")) as f:
        names = [row["model"] for row in csv.DictReader(f)]
    assert sorted(names) == sorted(os.path.basename(p)[:-5] for p in MODELS)


def test_the_correlation_table_has_each_model_type_alone(tmp_path):
    """correlation.csv's per-type rows are the coefficients of that type's models only (scipy as the reference)."""
    import scipy.stats
    records = [dict(name="m%d" % i, model_type=t, metrics=dict(vp_fast=v, factor_vae_score=f, mig=f * f, dci=f, sap=v))
               for i, (t, v, f) in enumerate([("beta_vae", 60, .5), ("beta_vae", 70, .7), ("beta_vae", 80, .6),
                                              ("vp_vae", 65, .3), ("vp_vae", 75, .9), ("vp_vae", 85, .4),
                                              ("vp_vae", 90, .8)])]
    rows = build.study_correlation_rows(records, resamples=50)
    assert [r["models"] for r in rows] == ["all"] * 4 + ["beta_vae"] * 4 + ["vp_vae"] * 4
    for row in rows:
        group = [r for r in records if row["models"] in ("all", r["model_type"])]
        x, y = [r["metrics"]["vp_fast"] for r in group], [r["metrics"][row["metric"]] for r in group]
        assert row["n"] == len(group)
        assert row["pearson"] == pytest.approx(scipy.stats.pearsonr(x, y)[0])
        assert row["spearman"] == pytest.approx(scipy.stats.spearmanr(x, y)[0])
        assert row["pearson_low"] <= row["pearson_high"]


def _sprite_grid(rows, cell=16):
    """A traversal grid of white squares: ``rows`` = [[(x, y, side) per column] per row], as a [H, W] array."""
    import numpy as np
    grid = np.zeros((len(rows) * cell, len(rows[0]) * cell))
    for r, row in enumerate(rows):
        for c, (x, y, side) in enumerate(row):
            grid[r * cell + y:r * cell + y + side, c * cell + x:c * cell + x + side] = 1.0
    return grid


def test_traversal_motion_reads_position_scale_and_still_rows(tmp_path, capsys):
    from PIL import Image
    motion = build.traversal_motion
    grid = _sprite_grid([[(1 + c, 2, 4) for c in range(6)],          # moves 5 px right
                         [(4, 4, 2 + c) for c in range(6)],          # grows 2 -> 7 px: area x12, centroid +2.5
                         [(5, 5, 4)] * 6,                            # still
                         [(2 + c, 2 + c, 2 + c) for c in range(6)]])  # moves and grows
    rows = motion.row_motion(grid, 16)
    assert [r["reading"] for r in rows] == ["position", "scale", "still", "scale+position"]
    assert (rows[0]["dx"], rows[0]["dy"], rows[0]["area_ratio"]) == pytest.approx((5.0, 0.0, 1.0))
    assert (rows[0]["x_first"], rows[0]["y_first"]) == pytest.approx((2.5, 3.5))   # centre of pixels 1..4, 2..5
    assert (rows[1]["area_min"], rows[1]["area_max"], rows[1]["dx"]) == pytest.approx((4.0, 49.0, 2.5))
    path = str(tmp_path / "m.png")
    Image.fromarray((grid * 255).astype("uint8")).save(path)
    assert motion.main([path, "--cell", "16"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == ",".join(motion.COLUMNS) and printed[1].startswith("m,0,2.5,3.5,5,0,")
    assert motion.main([path, "--cell", "15"]) == 1                 # 64 px is not whole 15 px cells
    assert "is not whole 15 px cells" in capsys.readouterr().err
    with pytest.raises(ValueError, match="row 1 has an empty cell"):
        motion.row_motion(_sprite_grid([[(1, 1, 3)] * 2, [(1, 1, 0)] * 2]), 16)


# The published beta-VAE levels the issue names as targets, and VP chance for 6 latents (100/6 %): the only
# decimal figures the findings may quote that no committed file holds.
TARGETS = [0.2, 0.7, 100.0 / 6]


FINDINGS = [(os.path.join(HERE, "README.md"), "### Findings", "### Results"),
            (os.path.join(ROOT, "README.md"), "### The dSprites VAE study", build.BLOCK_BEGIN)]


def _figure_sources():
    names = list(STUDY_FILES) + ["pilot.csv", "lost_2026-12-02.json"]
    return ([os.path.join(RESULTS, n) for n in names] + MODELS
            + sorted(glob.glob(os.path.join(RESULTS, build.REFERENCE_DIR, "*.json"))))


@pytest.mark.skipif(not MODELS, reason="no committed study models yet")
@pytest.mark.parametrize("path,begin,end", FINDINGS, ids=["experiment README", "README"])
def test_the_findings_quote_only_committed_figures(path, begin, end):
    """Every decimal figure the hand-written findings quote is a value of a committed study file.

    This catches stale and mistyped figures; one that happens to spell another committed value passes.
    """
    missing = unquoted_figures(section(path, begin, end), _figure_sources(), TARGETS)
    assert not missing, "%s quotes figures that no committed result holds: %s" % (path, ", ".join(missing))


def test_unquoted_figures_catches_a_figure_no_file_holds(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("model,mig,diff\na,0.21345,-0.0165\n")
    text = "MIG 0.213 (0.2135; 0.21) and -0.0165, a range 0.21-0.213, but not 0.214, -0.213 or 0.0165."
    assert unquoted_figures(text, [str(table)], []) == ["0.214", "-0.213", "0.0165"]
