"""run_correlation.py: coefficients, outputs, reuse of computed metrics."""

import csv
import json
import os

import numpy as np
import PIL.Image
import pytest

import run_correlation


def test_correlations_against_hand_values():
    x, y = [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 9.0]
    r, rho = run_correlation.correlations(x, y)
    assert abs(r - np.corrcoef(x, y)[0, 1]) < 1e-12
    assert rho == 1.0  # monotone
    assert run_correlation.correlations([1, 2, 3], [3, 2, 1])[1] == -1.0
    assert all(np.isnan(run_correlation.correlations([1, 2], [1, 2])))  # too few runs
    assert all(np.isnan(run_correlation.correlations([1, 2, 3], [5, 5, 5])))  # constant


def _fake_run(root, name, vp, mig):
    run = os.path.join(root, name)
    os.makedirs(run)
    pkl = os.path.join(run, "network-final.pkl")
    open(pkl, "wb").close()
    settings = dict(vp=dict(seed=0, vp_pairs=10000, vp_repeats=3, vp_epochs=None),
                    mig=dict(seed=0, gt_data="dsprites", gt_points=None))  # run_correlation's defaults
    for metric, value in (("vp", vp), ("mig", mig)):
        with open(os.path.join(run, "metric-%s.json" % metric), "w") as f:
            json.dump(dict(metric=metric, value=value, network_pkl=pkl, settings=settings[metric]), f)
    return run


def test_outputs_from_already_computed_metrics(tmp_path, capsys):
    runs = [_fake_run(str(tmp_path), "0000%d-vp_vae" % i, vp, mig)
            for i, (vp, mig) in enumerate([(40.0, 0.1), (60.0, 0.3), (80.0, 0.2), (90.0, 0.5)])]
    out = str(tmp_path / "corr")
    assert run_correlation.main(runs + ["--out", out, "--gt-metrics", "mig"]) == 0
    assert "all metrics already computed" in capsys.readouterr().out  # nothing recomputed
    with open(os.path.join(out, "correlation.csv")) as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["run", "vp", "mig"] and len(rows) == 5 and rows[2] == ["00001-vp_vae", "60", "0.3"]
    md = open(os.path.join(out, "correlation.md")).read()
    r, rho = run_correlation.correlations([40, 60, 80, 90], [0.1, 0.3, 0.2, 0.5])
    assert "| mig | %.3f | %.3f | 4 |" % (r, rho) in md
    with PIL.Image.open(os.path.join(out, "correlation.png")) as image:     # one 320 x 320 matplotlib panel
        assert image.size == (320, 320) and len(set(image.convert("L").getdata())) > 8


def test_results_with_other_settings_are_recomputed(tmp_path, capsys):
    run = _fake_run(str(tmp_path), "00000-vp_vae", 50.0, 0.2)
    # the cached mig was computed on the reference's 10,000 points: --gt-points 500 must recompute it (and the
    # empty fake pickle then fails to load, with a clear error: exit 1, an unusable file)
    assert run_correlation.main([run, "--out", str(tmp_path / "o"), "--gt-metrics", "mig", "--gt-points", "500"]) == 1
    captured = capsys.readouterr()
    assert "computing mig" in captured.out and "vp" not in captured.out.split("computing")[1]
    assert "network-final.pkl" in captured.err


def test_bad_metric_names(tmp_path, capsys):
    run = _fake_run(str(tmp_path), "00000-x", 50.0, 0.2)
    assert run_correlation.main([run, "--out", str(tmp_path / "o"), "--gt-metrics", "vp_fast"]) == 2
    assert "ground-truth metrics only" in capsys.readouterr().err


def test_bad_out_fails_before_any_metric(tmp_path, capsys, monkeypatch):
    """--out that cannot hold the outputs: exit 2 with one line naming the path, before collect() runs."""
    monkeypatch.setattr(run_correlation, "collect", lambda *a, **k: pytest.fail("collected despite a bad --out"))
    run = _fake_run(str(tmp_path), "00000-x", 50.0, 0.2)
    (tmp_path / "a_file").write_text(u"x")
    (tmp_path / "taken" / "correlation.png").mkdir(parents=True)
    for out, message in ((tmp_path / "a_file",
                          "--out %s is an existing file, but a folder goes there" % (tmp_path / "a_file")),
                         (tmp_path / "a_file" / "o", "--out %s cannot be created: %s is a file, not a folder"
                          % (tmp_path / "a_file" / "o", tmp_path / "a_file")),
                         (tmp_path / "taken", "output file of --out %s is an existing folder, but a file goes there"
                          % (tmp_path / "taken" / "correlation.png"))):
        assert run_correlation.main([run, "--out", str(out), "--gt-metrics", "mig"]) == 2
        captured = capsys.readouterr()
        assert captured.err.count("\n") == 1 and captured.err.startswith("error: " + message), captured.err
        assert captured.out == ""
    assert sorted(os.listdir(str(tmp_path))) == ["00000-x", "a_file", "taken"]
    assert os.listdir(str(tmp_path / "taken")) == ["correlation.png"]
