"""benchmarks/run_all.py: benchmark JSON lines -> rows, table and results file."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import run_all  # noqa: E402


def test_case_and_figures_split_text_numbers_and_platform():
    obj = {"mode": "folder", "protocol": "fast", "wall_s": 73.2, "epochs_run": 40, "stopped_early": False,
           "python": "3.11.7", "tf": "2.21.0", "cpus": 2, "loadavg_1min": 2.4, "image_size": [32, 32]}
    case, figures = run_all.case_and_figures(obj)
    assert case == "mode=folder, protocol=fast"
    assert figures == {"epochs_run": 40, "wall_s": 73.2}  # no bools, lists or platform fields
    assert run_all.runtime_of(obj, "/x/python") == "Python 3.11.7 + TF 2.21.0"
    assert run_all.runtime_of({}, "/x/python") == "/x/python"


def test_merge_replaces_only_the_rerun_benchmarks():
    old = [dict(benchmark="ops", python="a", objects=[{"x": 1}]), dict(benchmark="train", python="a", objects=[]),
           dict(benchmark="ops", python="b", objects=[{"x": 2}])]
    new = [dict(benchmark="ops", python="a", objects=[{"x": 3}]), dict(benchmark="gt", python="a", objects=[])]
    merged = run_all.merge_runs(old, new)
    assert [(r["benchmark"], r["python"]) for r in merged] == [("ops", "a"), ("train", "a"), ("ops", "b"), ("gt", "a")]
    assert merged[0]["objects"] == [{"x": 3}] and merged[2]["objects"] == [{"x": 2}]
    rows = run_all.rows_of(merged)
    assert [(r["benchmark"], r["runtime"], r["value"]) for r in rows] == [("ops", "a", 3), ("ops", "b", 2)]


def test_markdown_lists_rows_and_failures():
    results = dict(machine="cpu, 2 CPUs", command="python benchmarks/run_all.py", date="2026-01-01 00:00",
                   rows=[dict(runtime="r", benchmark="ops", case="", figure="gb_s", value=1.23456)],
                   runs=[dict(benchmark="train", python="p", exit_code=3)])
    md = run_all.markdown(results)
    assert "| r | ops | - | gb_s | 1.235 |" in md and "Failed: train (p, exit 3)" in md


@pytest.mark.slow
def test_quick_run_of_one_benchmark_writes_json_and_table(tmp_path):
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "run_all.py"), "--quick", "--only",
                           "vp_metric_epoch", "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(out.read_text())
    assert [r["benchmark"] for r in results["runs"]] == ["vp_metric_epoch"] and results["quick"]
    figures = {r["figure"]: r["value"] for r in results["rows"]}
    assert figures["num_train"] == 100 and figures["num_test"] == 900 and figures["s_per_epoch"] > 0
    md = (tmp_path / "results.md").read_text()
    assert "| vp_metric_epoch |" in md and "s_per_epoch" in md


def test_unknown_benchmark_is_an_error(tmp_path):
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "run_all.py"), "--only", "nope",
                           "--out", str(tmp_path / "r.json")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, cwd=ROOT)
    assert proc.returncode == 2 and "unknown benchmark(s) nope" in proc.stderr
    assert not (tmp_path / "r.json").exists()


@pytest.mark.slow
def test_training_benchmarks_build_the_configured_losses():
    """bench_train.py builds its steps from run_training's config, as the loop does (it broke unnoticed when the
    losses took closed keyword sets): one step of a GAN preset and of a VAE with a recognizer."""
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "bench_train.py"), "--presets", "quickstart",
                           "--minibatch", "4", "--steps", "1", "--threads", "1", "--vae-models", "vp_vae"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [json.loads(l) for l in proc.stdout.splitlines() if l.startswith("{")]
    assert [(l["benchmark"], l["case"]) for l in lines] == [("train_step", "quickstart"), ("train_step_vae", "vp_vae")]
    assert all(l["img_per_s"] > 0 and l["gflops_per_image"] > 0 for l in lines)
    assert lines[0]["I_params"] > 0 and lines[0]["resolution"] == 32


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ops", "dataset_tool", "gt_metrics"])
def test_quick_runs_of_the_other_benchmarks_succeed(tmp_path, name):
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "run_all.py"), "--quick", "--only", name,
                           "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(out.read_text())
    assert [(r["benchmark"], r.get("exit_code", 0)) for r in results["runs"]] == [(name, 0)]
    assert any(r["benchmark"] == name for r in results["rows"])


def test_the_table_names_each_machine_with_its_benchmarks():
    runs = [dict(benchmark="ops", python="p", exit_code=0, objects=[], machine="AMD EPYC, 2 CPUs"),
            dict(benchmark="train", python="p", exit_code=0, objects=[]),       # written before runs named theirs
            dict(benchmark="sprite_iou", python="p", exit_code=0, objects=[], machine="Intel Xeon, 2 CPUs")]
    results = dict(machine="AMD EPYC, 2 CPUs", command="c", date="d", rows=[], runs=runs)
    assert run_all.markdown(results).splitlines()[2].startswith(
        "Machines: AMD EPYC, 2 CPUs (ops, train); Intel Xeon, 2 CPUs (sprite_iou). Made by `c`")
    results["runs"] = runs[:2]
    assert run_all.markdown(results).splitlines()[2].startswith("Machine: AMD EPYC, 2 CPUs. Made by")
    assert run_all.runtime_of({"python": "3.11.7"}, "/x/python") == "Python 3.11.7 (TF not recorded)"
