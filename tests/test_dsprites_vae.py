"""experiments/dsprites_vae: the pilot's rules, and the committed tables are what build.py makes from the JSONs."""

import csv
import glob
import importlib.util
import json
import os
import shutil

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.join(ROOT, "experiments", "dsprites_vae")
RESULTS = os.path.join(HERE, "results")


def _load(name):
    """experiments/dsprites_vae/<name>.py under a unique module name (other experiments have a build.py too)."""
    spec = importlib.util.spec_from_file_location("dsprites_vae_" + name, os.path.join(HERE, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pilot, build = _load("pilot"), _load("build")


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
    assert pilot.main(common + ["--list"]) == 0
    assert pilot.metrics_at(10000, pilot.build_parser().parse_args(common)) == pilot.METRICS
    assert pilot.VP_METRIC not in pilot.metrics_at(15000, pilot.build_parser().parse_args(common))


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
