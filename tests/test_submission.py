"""Tests for dnnlib.submission: run dirs, submit_run and RunContext (no TensorFlow needed)."""

import json
import os
import sys
import threading
import time

import pytest

import dnnlib
from dnnlib import util
from dnnlib.submission import submit as submit_mod
from dnnlib.submission import (RunContext, SubmitConfig, locate_latest_run_dir, make_run_dir,
                               make_run_dir_path, parse_run_id, submit_run)


# ----------------------------------------------------------------------------------------------
# Run functions used by submit_run (top-level so that they can be found by name)

CALLS = []


def run_ok(alpha, beta=2, submit_config=None):
    print("training with alpha=%s beta=%s" % (alpha, beta))
    sys.stderr.write("a warning on stderr\n")
    CALLS.append((alpha, beta, submit_config))
    with open(make_run_dir_path("artifact.txt"), "w") as f:
        f.write("made inside the run dir")
    return alpha + beta


def run_without_config(x):
    print("no config here, x=%d" % x)
    return x * 10


def run_with_kwargs(**kwargs):
    return sorted(kwargs)


class _Boom(Exception):
    pass


def run_fails(message):
    print("about to fail")
    raise _Boom(message)


def run_with_context(submit_config, steps):
    with RunContext(submit_config) as ctx:
        for i in range(steps):
            ctx.update(loc="step", cur_epoch=i + 1, max_epoch=steps)
        assert ctx.get_run_dir() == submit_config.run_dir
        return ctx.num_updates, ctx.get_progress()


def _name(func):
    return util.get_top_level_function_name(func)


def _read(path):
    with open(path) as f:
        return f.read()


# ----------------------------------------------------------------------------------------------
# make_run_dir / parse_run_id / locate_latest_run_dir


def test_make_run_dir_numbering(tmp_path):
    root = str(tmp_path / "results")  # does not exist yet
    first = make_run_dir(root, "mnist-vp")
    assert first == os.path.join(root, "00000-mnist-vp") and os.path.isdir(first)
    second = make_run_dir(root, "mnist-vp")
    assert os.path.basename(second) == "00001-mnist-vp"
    # Unrelated names are skipped.
    os.makedirs(os.path.join(root, "notes"))
    os.makedirs(os.path.join(root, "abc-00099"))
    with open(os.path.join(root, "readme.txt"), "w") as f:
        f.write("x")
    with open(os.path.join(root, "2020report.txt"), "w") as f:
        f.write("x")
    assert os.path.basename(make_run_dir(root, "x")) == "00002-x"
    # Gaps: continue after the maximum.
    os.makedirs(os.path.join(root, "00041-manual"))
    assert os.path.basename(make_run_dir(root, "after gap/é")) == "00042-after_gap__"
    assert os.path.basename(make_run_dir(root, "")) == "00043"
    assert parse_run_id("00043") == 43 and parse_run_id("00042-a-b") == 42
    assert parse_run_id("notes") is None and parse_run_id("2020report.txt") is None


def test_make_run_dir_concurrent(tmp_path):
    root = str(tmp_path / "results")
    made = []
    lock = threading.Lock()

    def worker():
        for _ in range(5):
            path = make_run_dir(root, "race")
            with lock:
                made.append(path)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(made)) == 20
    assert sorted(parse_run_id(p) for p in made) == list(range(20))


def test_locate_latest_run_dir(tmp_path):
    root = str(tmp_path / "results")
    assert locate_latest_run_dir(root) is None
    a = make_run_dir(root, "mnist-vp")
    b = make_run_dir(root, "cifar-vp")
    c = make_run_dir(root, "mnist-vp-long")
    make_run_dir(root, "other")
    with open(os.path.join(root, "99999-file-not-dir"), "w") as f:
        f.write("x")
    with open(os.path.join(a, "network-snapshot-000100.pkl"), "w") as f:
        f.write("x")
    assert os.path.basename(locate_latest_run_dir(root)) == "00003-other"
    assert locate_latest_run_dir(root, "mnist") == c
    assert locate_latest_run_dir(root, "cifar") == b
    assert locate_latest_run_dir(root, "mnist", must_contain="network-snapshot-*.pkl") == a
    assert locate_latest_run_dir(root, "celeba") is None


# ----------------------------------------------------------------------------------------------
# submit_run


def test_submit_run_success(tmp_path, capsys):
    del CALLS[:]
    cfg = SubmitConfig(run_dir_root=str(tmp_path / "results"), run_desc="unit test",
                       print_info=True)
    assert cfg.num_gpus == 1
    result = submit_run(cfg, _name(run_ok), alpha=5, beta=7)
    assert result == 12

    run_dir = cfg.run_dir
    assert os.path.basename(run_dir) == "00000-unit_test"
    assert cfg.run_id == 0 and cfg.run_name == "00000-unit_test"
    assert CALLS[-1][2] is cfg and CALLS[-1][:2] == (5, 7)

    log = _read(os.path.join(run_dir, "log.txt"))
    assert "training with alpha=5 beta=7" in log and "a warning on stderr" in log
    assert os.path.isfile(os.path.join(run_dir, "_finished.txt"))
    assert _read(os.path.join(run_dir, "artifact.txt")) == "made inside the run dir"

    with open(os.path.join(run_dir, "submit_config.json")) as f:
        saved = json.load(f)
    assert saved["run_desc"] == "unit test"
    assert saved["run_func_name"] == _name(run_ok)
    assert saved["run_func_kwargs"] == {"alpha": 5, "beta": 7}
    assert saved["run_dir"] == run_dir and saved["num_gpus"] == 1
    txt = _read(os.path.join(run_dir, "submit_config.txt"))
    assert "run_func_name" in txt and _name(run_ok) in txt and "run_desc" in txt

    out = capsys.readouterr()
    assert "training with alpha=5 beta=7" in out.out  # still shown on the console
    assert "a warning on stderr" in out.err
    # Outside a run, make_run_dir_path is relative to the working directory.
    assert make_run_dir_path("x") == os.path.join(".", "x")
    assert dnnlib.get_current_submit_config() is None


def test_submit_run_numbering_and_no_config_param(tmp_path):
    root = str(tmp_path / "results")
    cfg = SubmitConfig(run_dir_root=root, run_desc="a")
    assert submit_run(cfg, _name(run_without_config), x=3) == 30
    assert "no config here, x=3" in _read(os.path.join(cfg.run_dir, "log.txt"))
    cfg2 = SubmitConfig(run_dir_root=root, run_desc="a")
    assert submit_run(cfg2, run_with_kwargs, p=1, q=2) == ["p", "q"]  # **kwargs gets no config
    assert os.path.basename(cfg2.run_dir) == "00001-a"
    assert sorted(os.listdir(root)) == ["00000-a", "00001-a"]


def test_submit_run_failure(tmp_path, capsys):
    cfg = SubmitConfig(run_dir_root=str(tmp_path / "results"), run_desc="fail")
    with pytest.raises(_Boom, match="it broke"):
        submit_run(cfg, _name(run_fails), message="it broke")
    run_dir = cfg.run_dir
    assert not os.path.exists(os.path.join(run_dir, "_finished.txt"))
    log = _read(os.path.join(run_dir, "log.txt"))
    assert "about to fail" in log
    assert "Traceback (most recent call last)" in log and "_Boom: it broke" in log
    assert "run_fails" in log
    assert os.path.isfile(os.path.join(run_dir, "submit_config.json"))
    assert sys.stdout is not None and not isinstance(sys.stdout, util._TeeStream)
    capsys.readouterr()


def test_submit_run_bad_name_creates_nothing(tmp_path):
    root = str(tmp_path / "results")
    with pytest.raises(AttributeError, match="no_such_run_func"):
        submit_run(SubmitConfig(run_dir_root=root), "os.path.no_such_run_func")
    with pytest.raises(ImportError):
        submit_run(SubmitConfig(run_dir_root=root), "vpdis_no_such_module.func")
    assert not os.path.exists(root) or os.listdir(root) == []


def test_submit_config_json_handles_non_json_values(tmp_path):
    class Opaque(object):
        def __repr__(self):
            return "<Opaque thing>"

    cfg = SubmitConfig(run_dir_root=str(tmp_path / "r"), extra={"obj": Opaque(), (1, 2): "tuple key",
                                                                 "nan": float("nan"), "t": (1, 2)})
    submit_run(cfg, _name(run_without_config), x=1)
    with open(os.path.join(cfg.run_dir, "submit_config.json")) as f:
        saved = json.load(f)
    assert saved["extra"]["obj"] == "<Opaque thing>"
    assert saved["extra"]["(1, 2)"] == "tuple key"
    assert saved["extra"]["nan"] == "nan" and saved["extra"]["t"] == [1, 2]


def test_submit_run_with_run_context(tmp_path):
    cfg = SubmitConfig(run_dir_root=str(tmp_path / "r"), run_desc="ctx")
    assert submit_run(cfg, _name(run_with_context), steps=4) == (4, 1.0)


# ----------------------------------------------------------------------------------------------
# RunContext


def test_run_context(tmp_path):
    run_dir = make_run_dir(str(tmp_path / "r"), "ctx")
    cfg = SubmitConfig(run_dir=run_dir)
    ctx = RunContext(cfg)
    assert ctx.get_run_dir() == run_dir
    assert ctx.get_progress() is None
    time.sleep(0.02)
    ctx.update(loc="train", cur_epoch=5, max_epoch=20)
    assert ctx.loc == "train" and ctx.get_progress() == 0.25
    assert ctx.get_last_update_interval() >= 0.01
    assert ctx.get_time_since_start() >= 0.01
    ctx.update()
    assert ctx.loc == "train" and ctx.cur_epoch == 5 and ctx.num_updates == 2
    assert not ctx.should_stop()
    with open(os.path.join(run_dir, "_abort.txt"), "w") as f:
        f.write("")
    assert ctx.should_stop()
    ctx.close()
    t = ctx.get_time_since_start()
    time.sleep(0.01)
    assert ctx.get_time_since_start() == t and ctx.closed
    ctx.close()


def test_run_context_defaults():
    with RunContext() as ctx:
        assert ctx.get_run_dir() is None
        assert not ctx.should_stop()
        ctx.request_stop()
        assert ctx.should_stop()
    assert ctx.closed


def test_submit_config_defaults():
    cfg = SubmitConfig()
    assert cfg.run_dir_root == "results" and cfg.run_desc == "" and cfg.num_gpus == 1
    assert cfg.print_info is False and cfg.run_dir is None and cfg.run_func_kwargs is None
    assert isinstance(cfg, util.EasyDict)
    cfg2 = SubmitConfig({"run_desc": "x"}, num_gpus=2)
    assert cfg2.run_desc == "x" and cfg2.num_gpus == 2


def test_exports():
    assert dnnlib.submit_run is submit_run and dnnlib.SubmitConfig is SubmitConfig
    assert dnnlib.RunContext is RunContext and dnnlib.make_run_dir_path is make_run_dir_path
    assert submit_mod.locate_latest_run_dir is locate_latest_run_dir
