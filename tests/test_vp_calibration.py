"""experiments/vp_calibration: the committed tables are what build.py makes from the committed JSONs."""

import os
import shutil
import sys

import numpy as np
import pytest
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "experiments", "vp_calibration", "results")
sys.path.insert(0, os.path.join(ROOT, "experiments", "vp_calibration"))

import build  # noqa: E402
import run  # noqa: E402


def test_study_plan():
    names = run.generator_names()
    assert len(names) >= 15 and len(set(names)) == len(names)
    for sweep, members in run.SWEEPS.items():
        assert members[0][0] == "perfect", sweep              # every sweep starts at the perfect generator
    assert run.plan("perfect")["vp_fast"]["repeats"] == 3 and "vp_reference" in run.plan("perfect")
    assert run.plan("rotation-20")["vp_fast"]["repeats"] == 1 and "vp_reference" not in run.plan("rotation-20")
    assert "vp_reference" in run.plan("rotation-45") and "vp_reference" in run.plan("undriven")
    assert run.main(["--only", "nonesuch"]) == 2


@pytest.mark.slow    # a tool end to end
@pytest.mark.skipif(not os.path.isdir(os.path.join(RESULTS, "generators")), reason="no committed results yet")
def test_committed_tables_rebuild_from_the_jsons(tmp_path):
    out = str(tmp_path / "results")
    shutil.copytree(os.path.join(RESULTS, "generators"), os.path.join(out, "generators"))
    rows, corr, pending = build.build(out)
    assert rows, "no generator JSONs"
    for name in ("generators.csv", "correlations.csv", "correlations.md", "summary.md", "pending.txt"):
        with open(os.path.join(out, name)) as a, open(os.path.join(RESULTS, name)) as b:
            assert a.read() == b.read(), name
    for name in os.listdir(out):
        if name.endswith(".png"):
            assert os.path.exists(os.path.join(RESULTS, name)), name
            with Image.open(os.path.join(out, name)) as img:
                assert img.size[0] >= 600
    records = build.load_records(os.path.join(out, "generators"))
    for row in rows:
        record = records[row["generator"]]
        for part, settings in record["parts"].items():
            assert record["parts"][part]["commit"] and record["parts"][part]["wall_seconds"] > 0
        if row.get("vp_fast") is not None:
            assert row["chance"] < row["vp_fast"] <= 100


def test_rank_correlations_on_known_orders():
    rows = [dict(vp_fast=float(v), **{m: float(v) for m in build.GT_NAMES}) for v in range(8)]
    rows[0]["mig"] = 10.0                     # one outlier in MIG's order
    corr = {c["metric"]: c for c in build.rank_correlations(rows)}
    assert corr["dci"]["spearman"] == pytest.approx(1.0) and corr["dci"]["kendall"] == pytest.approx(1.0)
    assert corr["mig"]["spearman"] < 0.8 and corr["mig"]["n"] == 8
    assert corr["dci"]["spearman_lo"] <= corr["dci"]["spearman"] <= corr["dci"]["spearman_hi"] + 1e-12
    assert "n/a" in build.correlations_markdown([dict(metric="sap", n=2)])
    assert np.isfinite(corr["mig"]["kendall_p"])
