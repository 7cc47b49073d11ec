"""experiments/dsprites_gan: the runner's stop rules, records, resumption and final step, against a stand-in
interpreter that plays run_training.py / run_metrics.py (no TensorFlow), and build.py's tables from its records."""

import csv
import glob
import json
import os
import shutil
import sys

import pytest

from tests import experiment_modules
from tests.quoted_figures import section, unquoted_figures


# Plays the two tools: run_training.py writes the snapshot and traversal grid at --total-kimg (into the resumed run
# folder, or a new one), run_metrics.py writes metric JSONs whose sprite_iou follows FAKE_SCHEDULE per model type.
STAND_IN = r'''
import json, os, sys
tool, args = os.path.basename(sys.argv[1]), sys.argv[2:]
opt = lambda name: args[args.index(name) + 1]
with open(os.environ["FAKE_CALLS"], "a") as f:
    f.write(json.dumps([tool] + args) + "\n")
if tool == "run_training.py":
    kimg, resume, root = int(float(opt("--total-kimg"))), opt("--resume"), opt("--result-dir")
    if resume != "latest" and not any(n.startswith("network-snapshot-") for n in os.listdir(resume)):
        sys.exit("error: --resume %s: no complete network-snapshot" % resume)   # as run_training.py refuses it
    runs = sorted(os.listdir(root)) if os.path.isdir(root) else []
    run = resume if resume != "latest" else os.path.join(root, "%05d-fake" % len(runs))
    os.makedirs(run, exist_ok=True)
    open(os.path.join(run, "network-snapshot-%06d.pkl" % kimg), "w").write(opt("--model_type"))
    open(os.path.join(run, "fakes%06d.png" % kimg), "w").write("grid of " + opt("--model_type"))
else:
    if os.environ.get("FAKE_METRICS_FAIL"):
        sys.exit("error: the metrics process was stopped")
    pkl, out = opt("--network_pkl"), opt("--result-dir")
    model_type, kimg = open(pkl).read(), int(os.path.basename(pkl)[-10:-4])
    for name in opt("--metrics").split(","):
        if name == "sprite_iou":
            value = json.loads(os.environ["FAKE_SCHEDULE"])[model_type][kimg // 4 - 1]
            details = dict(mean_iou=value / 2, median_iou=value / 3, iou_quantiles={"0.5": value / 3},
                           empty_samples=1, unmatched_samples=1, nearest_shape_counts=[5, 3, 2],
                           shape_counts_at_level=[1, 1, 0])
        else:
            value = 70.0 + kimg
            details = dict(summary=dict(vp_score=dict(mean=value), vp_score_final=dict(mean=value - 1)),
                           repeats=[dict(per_dim_accuracy=[90.0, 50.0])])
        with open(os.path.join(out, "metric-%s.json" % name), "w") as f:
            json.dump(dict(value=value, seconds=2.0, details=details, weights_sha256="ab" * 32), f)
'''


run, build = experiment_modules.load("dsprites_gan", "run"), experiment_modules.load("dsprites_gan", "build")
vp_history = experiment_modules.load("dsprites_gan", "vp_history")


@pytest.fixture
def stage(tmp_path, monkeypatch):
    script = tmp_path / "stand_in.py"
    script.write_text(STAND_IN)
    python = tmp_path / "python"
    python.write_text("#!/bin/sh\nexec %s %s \"$@\"\n" % (sys.executable, script))
    python.chmod(0o755)
    calls = tmp_path / "calls.jsonl"
    monkeypatch.setenv("FAKE_CALLS", str(calls))
    monkeypatch.setenv("FAKE_SCHEDULE", json.dumps({"gan": [0.1, 0.3, 0.5], "vp_gan": [0.2, 0.85, 0.9]}))
    out = tmp_path / "results"
    argv = ["--work", str(tmp_path / "work"), "--data-dir", str(tmp_path / "data"), "--out", str(out),
            "--python", str(python), "--score-every", "4", "--max-kimg", "12"]

    def calls_made():
        return [json.loads(l) for l in calls.read_text().splitlines()] if calls.exists() else []

    return argv, out, calls_made


def test_each_model_trains_to_its_target_or_the_last_kimg_then_gets_vp_and_its_grid(stage):
    argv, out, calls_made = stage
    assert run.main(argv) == 0
    gan, vp_gan = (json.load(open(str(out / ("%s.json" % m)))) for m in ("gan-s0", "vp_gan-s0"))
    assert [p["kimg"] for p in vp_gan["points"]] == [4, 8] and vp_gan["stopped_by"] == "target"
    assert [p["kimg"] for p in gan["points"]] == [4, 8, 12] and gan["stopped_by"] == "max_kimg"
    assert vp_gan["final"]["kimg"] == 8 and vp_gan["final"]["vp"] == 78.0 and gan["final"]["vp"] == 82.0
    assert vp_gan["final"]["per_dim_accuracy"] == [90.0, 50.0] and vp_gan["status"] == gan["status"] == "done"
    assert (out / "vp_gan-s0-traversal.png").read_text() == "grid of vp_gan"
    assert vp_gan["points"][1]["sprite_iou"] == 0.85 and vp_gan["points"][1]["nearest_shape_counts"] == [5, 3, 2]
    assert vp_gan["settings"]["model_type"] == "vp_gan" and vp_gan["machine"]["cpu_threads"] == 1
    training = [c for c in calls_made() if c[0] == "run_training.py"]
    assert [c[c.index("--total-kimg") + 1] for c in training] == ["4.0", "8.0", "12.0", "4.0", "8.0"]
    assert all(c[c.index("--preset") + 1] == "dsprites32" and c[c.index("--seed") + 1] == "0" for c in training)
    assert training[0][training[0].index("--resume") + 1] == "latest"        # then the run folder it made
    assert training[1][training[1].index("--resume") + 1].endswith("00000-fake")
    assert os.path.basename(os.path.dirname(training[1][training[1].index("--resume") + 1])).startswith("gan-s0-")
    n = len(calls_made())
    assert run.main(argv) == 0 and len(calls_made()) == n                    # committed models are not rerun


def test_a_lost_run_folder_restarts_and_the_record_says_so(stage):
    argv, out, calls_made = stage
    assert run.main(argv + ["--only", "gan-s0", "--max-kimg", "4"]) == 0     # settings differ: another record
    os.remove(str(out / "gan-s0.json"))
    # a first point committed, then the session ends and takes the run folder with it
    record = dict(model="gan-s0", settings=run.model_settings(run.MODELS[0], run.build_parser().parse_args(argv)),
                  renderer_version=2, points=[dict(kimg=4, train_s=1.0, metric_s=1.0, sprite_iou=0.1, mean_iou=0.05,
                                                   median_iou=0.03)], restarts=[], status="running", machine={})
    json.dump(record, open(str(out / "gan-s0.json"), "w"))
    import shutil
    shutil.rmtree(argv[1])
    assert run.main(argv + ["--only", "gan-s0"]) == 0
    rec = json.load(open(str(out / "gan-s0.json")))
    assert rec["restarts"] == [dict(at_kimg=4, from_kimg=0)] and [p["kimg"] for p in rec["points"]] == [4, 8, 12]


def test_a_run_killed_before_its_first_snapshot_does_not_wedge_the_runner(stage):
    argv, out, calls_made = stage
    args = run.build_parser().parse_args(argv)
    os.makedirs(os.path.join(run.run_root(run.MODELS[0], args), "00000-killed"))        # no snapshot in it
    assert run.main(argv + ["--only", "gan-s0"]) == 0
    first = [c for c in calls_made() if c[0] == "run_training.py"][0]
    assert first[first.index("--resume") + 1] == "latest"
    assert [p["kimg"] for p in json.load(open(str(out / "gan-s0.json")))["points"]] == [4, 8, 12]


def test_a_segment_trained_but_not_scored_is_scored_without_training_again(stage, monkeypatch):
    argv, out, calls_made = stage
    monkeypatch.setenv("FAKE_METRICS_FAIL", "1")
    assert run.main(argv + ["--only", "gan-s0"]) == 1                  # stopped after training 4 kimg
    ledger = json.load(open(os.path.join(run.run_root(run.MODELS[0], run.build_parser().parse_args(argv)),
                                         "train_seconds.json")))
    monkeypatch.delenv("FAKE_METRICS_FAIL")
    assert run.main(argv + ["--only", "gan-s0"]) == 0
    totals = [c[c.index("--total-kimg") + 1] for c in calls_made() if c[0] == "run_training.py"]
    assert totals == ["4.0", "8.0", "12.0"]                            # 4 kimg trained once
    rec = json.load(open(str(out / "gan-s0.json")))
    assert rec["points"][0]["train_s"] == ledger["4"] and rec["restarts"] == []


def test_a_run_folder_lost_before_the_final_step_is_retrained_for_it(stage):
    argv, out, calls_made = stage
    assert run.main(argv + ["--only", "vp_gan-s0"]) == 0
    rec = json.load(open(str(out / "vp_gan-s0.json")))
    del rec["final"], rec["stopped_by"]
    rec["status"] = "running"                                          # stopped before the final step ...
    json.dump(rec, open(str(out / "vp_gan-s0.json"), "w"))
    import shutil
    shutil.rmtree(argv[1])                                             # ... and the session took the run folder
    assert run.main(argv + ["--only", "vp_gan-s0"]) == 0
    rec = json.load(open(str(out / "vp_gan-s0.json")))
    assert rec["status"] == "done" and rec["final"]["kimg"] == 8 and rec["restarts"] == [dict(at_kimg=8, from_kimg=0)]
    assert [c[c.index("--total-kimg") + 1] for c in calls_made() if c[0] == "run_training.py"][-1] == "8.0"


def test_the_budget_stops_a_model(stage):
    argv, out, _ = stage
    assert run.main(argv + ["--only", "gan-s0", "--budget-core-hours", "0.0005"]) == 0  # 2 s of scoring > 1.8 s
    rec = json.load(open(str(out / "gan-s0.json")))
    assert rec["stopped_by"] == "budget" and len(rec["points"]) == 1 and rec["final"]["kimg"] == 4


def test_a_record_with_other_settings_is_refused(stage, capsys):
    argv, out, _ = stage
    assert run.main(argv + ["--only", "gan-s0", "--max-kimg", "4"]) == 0
    assert run.main(argv + ["--only", "gan-s0"]) == 1
    assert "other settings" in capsys.readouterr().err


@pytest.mark.parametrize("extra", [["--score-every", "3"], ["--max-kimg", "10"], ["--target", "1.5"],
                                   ["--only", "nonesuch"], ["--cpu-threads", "0"]])
def test_bad_flags_exit_2(stage, extra, capsys):
    argv, _, calls_made = stage
    assert run.main(argv + extra) == 2
    assert capsys.readouterr().err.startswith("error: ") and calls_made() == []


def test_build_tables_come_from_the_records(stage):
    argv, out, _ = stage
    assert run.main(argv) == 0
    records = build.build(str(out))
    rows = list(csv.DictReader(open(str(out / "curves.csv"))))
    assert [(r["model"], r["kimg"], r["sprite_iou"]) for r in rows] == [
        ("gan-s0", "4", "0.1"), ("gan-s0", "8", "0.3"), ("gan-s0", "12", "0.5"), ("vp_gan-s0", "4", "0.2"),
        ("vp_gan-s0", "8", "0.85")]
    gan = json.load(open(str(out / "gan-s0.json")))
    assert rows[0]["nearest_square"] == "5" and float(rows[2]["train_s_cumulative"]) == pytest.approx(
        sum(p["train_s"] for p in gan["points"]), abs=0.05)
    summary = (out / "summary.md").read_text()
    assert "| vp_gan-s0 | done | target | 8 | 0.850 | 8 |" in summary and "| gan-s0 | done | max_kimg | 12 | 0.500 | not reached |" in summary
    assert "VP-GAN minus GAN, seed 0: -4.0 points of VP (VP-GAN at 8 kimg, GAN at 12 kimg)." in summary
    assert (out / "curves.png").stat().st_size > 1000 and [r["model"] for r in records] == ["gan-s0", "vp_gan-s0"]


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "experiments", "dsprites_gan", "results")
STAGES = [d for d in (RESULTS, os.path.join(RESULTS, "to_200kimg")) if glob.glob(os.path.join(d, "*.json"))]


@pytest.mark.skipif(not STAGES, reason="no committed dsprites_gan records yet")
@pytest.mark.parametrize("stage_dir", STAGES, ids=[os.path.relpath(d, RESULTS) for d in STAGES])
def test_the_committed_tables_are_what_build_makes_from_the_records(stage_dir, tmp_path):
    for path in glob.glob(os.path.join(stage_dir, "*.json")):
        shutil.copy(path, str(tmp_path))
    build.build(str(tmp_path))
    for name in ("curves.csv", "summary.md"):
        with open(os.path.join(stage_dir, name)) as committed:
            assert committed.read() == (tmp_path / name).read_text(), "%s is stale: run build.py" % name


GAN_FINDINGS = [(os.path.join(ROOT, "experiments", "dsprites_gan", "README.md"), "## Results", None),
                (os.path.join(ROOT, "README.md"), "### Does a GAN draw sprites?", "\n## ")]


@pytest.mark.skipif(not STAGES, reason="no committed dsprites_gan records yet")
@pytest.mark.parametrize("path,begin,end", GAN_FINDINGS, ids=["experiment README", "README"])
def test_the_findings_quote_only_committed_figures(path, begin, end):
    """Every decimal figure the GAN findings quote is a value of a committed record or table of this experiment."""
    sources = [p for ext in ("json", "csv", "md") for p in glob.glob(os.path.join(RESULTS, "**", "*." + ext),
                                                                      recursive=True)
               if os.path.basename(p) != "vp_history.csv"         # 800 epoch values would let almost any figure pass
               and "smoke_" not in p]                             # the smoke run is not a result
    missing = unquoted_figures(section(path, begin, end), sources, [])
    assert not missing, "%s quotes figures that no committed result holds: %s" % (path, ", ".join(missing))


def _vp_result(folder, histories, best_epochs):
    folder.mkdir(parents=True)
    repeats = [dict(accuracy_history=h, best_epoch=b) for h, b in zip(histories, best_epochs)]
    (folder / "metric-vp.json").write_text(json.dumps(dict(value=max(histories[0]), details=dict(repeats=repeats))))


def test_vp_history_keeps_every_epoch_and_marks_the_metrics_best(tmp_path, capsys):
    work = tmp_path / "work"
    _vp_result(work / "scores" / "vp_gan-s0" / "kimg000060", [[30.0, 80.0, 80.0, 60.0]], [2])
    _vp_result(work / "scores" / "gan-s0" / "kimg000040", [[50.0, 40.0], [20.0, 25.0]], [1, 2])
    out = tmp_path / "h.csv"
    assert vp_history.main(["--work", str(work), "--out", str(out)]) == 0
    rows = list(csv.DictReader(open(str(out))))
    assert [(r["model"], r["kimg"], r["repeat"], r["epoch"], r["test_accuracy"], r["best"]) for r in rows] == [
        ("gan-s0", "40", "0", "1", "50", "1"), ("gan-s0", "40", "0", "2", "40", "0"),
        ("gan-s0", "40", "1", "1", "20", "0"), ("gan-s0", "40", "1", "2", "25", "1"),
        ("vp_gan-s0", "60", "0", "1", "30", "0"), ("vp_gan-s0", "60", "0", "2", "80", "1"),
        ("vp_gan-s0", "60", "0", "3", "80", "0"), ("vp_gan-s0", "60", "0", "4", "60", "0")]
    assert (tmp_path / "h.png").stat().st_size > 1000
    (work / "scores" / "gan-s0" / "kimg000080").mkdir()
    (work / "scores" / "gan-s0" / "kimg000080" / "metric-vp.json").write_text(json.dumps(dict(details={})))
    assert vp_history.main(["--work", str(work), "--out", str(out)]) == 1       # a fast-protocol or broken file
    assert "no per-epoch accuracy_history" in capsys.readouterr().err
    assert len(list(csv.DictReader(open(str(out))))) == 8                       # the old table is kept
    assert vp_history.main(["--work", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
    assert "has no scores/ folder" in capsys.readouterr().err


@pytest.mark.skipif(not os.path.exists(os.path.join(RESULTS, "vp_history.csv")), reason="no committed VP history")
def test_the_committed_vp_history_peaks_at_each_records_final_vp():
    with open(os.path.join(RESULTS, "vp_history.csv")) as f:
        rows = list(csv.DictReader(f))
    runs = {(r["model"], int(r["kimg"])) for r in rows}
    finals = {}
    for stage_dir in STAGES:
        for path in glob.glob(os.path.join(stage_dir, "*.json")):
            with open(path) as f:
                final = json.load(f).get("final")
            if final:                                     # a record committed mid-run has no final point yet
                finals[(os.path.basename(path)[:-len(".json")], final["kimg"])] = final
    assert runs == set(finals), "vp_history.csv and the records' final points differ: rerun vp_history.py"
    for key, final in finals.items():
        curve = [r for r in rows if (r["model"], int(r["kimg"])) == key]
        best = [r for r in curve if r["best"] == "1"]
        assert len(curve) > 1 and len(best) == 1
        assert float(best[0]["test_accuracy"]) == pytest.approx(final["vp"], abs=1e-3)
        assert max(float(r["test_accuracy"]) for r in curve) == pytest.approx(final["vp"], abs=1e-3)
        assert float(curve[-1]["test_accuracy"]) == pytest.approx(final["vp_details"]["vp_score_final"]["mean"],
                                                                  abs=1e-3)
