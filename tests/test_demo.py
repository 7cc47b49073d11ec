"""run_demo.py: the demo's small budget end to end, and its file check."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import run_demo

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_small_demo_end_to_end(tmp_path):
    out = tmp_path / "demo"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "run_demo.py"), "--budget", "small", "--out", str(out)],
                          cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    for i in range(1, 8):  # progress banners of every step
        assert "== [%d/7]" % i in proc.stdout
    assert run_demo.check(str(out)) == []
    summary = json.loads((out / "summary.json").read_text())
    assert summary["budget"] == "small" and len(summary["commands"]) == 6
    for key in ("vp_gan_vp_score", "vp_vae_vp_score"):
        assert 0.0 <= summary[key] <= 100.0
    labels = np.load(str(out / "pairs" / "labels.npy"))
    assert labels.shape == (run_demo.BUDGETS["small"]["gan_pairs"], 5)
    md = (out / "summary.md").read_text()
    assert "| VP-GAN (quickstart) | %.1f |" % summary["vp_gan_vp_score"] in md
    assert os.path.relpath(os.path.join(ROOT, run_demo.LONG_RUN_FIGURES[0][1]), str(out)) in md

    # the check notices a missing and a corrupt file
    (out / "traversal_vp_vae.png").write_bytes(b"not a png")
    os.remove(str(out / "pairs" / "pairs.json"))
    problems = run_demo.check(str(out))
    assert any("traversal_vp_vae.png" in p and "cannot read" in p for p in problems)
    assert any(p.startswith("missing") and "pairs.json" in p for p in problems)
    assert run_demo.main(["--check", str(out)]) == 1


def test_check_of_an_empty_folder_lists_every_promised_file(tmp_path):
    problems = run_demo.check(str(tmp_path))
    assert len(problems) == len(run_demo.PROMISED) and all(p.startswith("missing") for p in problems)


def test_long_run_figures_are_linked_from_the_demo_folder_when_committed(tmp_path):
    root, out = tmp_path / "repo", tmp_path / "elsewhere" / "demo"
    (root / "figs").mkdir(parents=True)
    out.mkdir(parents=True)
    (root / "figs" / "a.png").write_bytes(b"png")
    figures = [("Model A", "figs/a.png"), ("Model B, not trained yet", "figs/b.png")]
    lines = run_demo.long_run_lines(str(out), root=str(root), figures=figures)
    links = [line for line in lines if line.startswith("![")]
    assert links == ["![Model A](../../repo/figs/a.png)"]
    assert (out / "../../repo/figs/a.png").is_file()
    assert run_demo.long_run_lines(str(out), root=str(root), figures=figures[1:]) == []
    # the repository's own first figure is committed, so a real demo shows it
    assert os.path.isfile(os.path.join(ROOT, run_demo.LONG_RUN_FIGURES[0][1]))
