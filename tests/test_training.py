"""End-to-end tests of run_training.py / training_loop / snapshots on a tiny CPU dataset.

Training runs are real subprocesses (``sys.executable run_training.py ...``, cwd = the repo).
They are slow on a CPU, so one module-scoped fixture starts all independent runs at once and
the tests wait for the run they inspect:

  vp_gan / gan / info_gan   0.2 kimg each, one snapshot (000000) + network-final.pkl
  towers                    --num-gpus 2 on two virtual CPU devices
  resume                    2 kimg, snapshot every kimg; SIGKILLed as soon as its first snapshot
                            exists, then rerun with --resume latest (a watcher thread does both)
  nan                       a copy of the finished vp_gan run continued with --learning-rate 1e30

The cheap CLI checks (dry runs, bad flags) call run_training.main(argv) in-process.
Set VPDIS_OTHER_PYTHON to the interpreter for the cross-version pickle check (default: the other
of /tmp/venvs/py37 and /tmp/venvs/py311, or the repo's .venv/py3.*); it is skipped if none exists.
"""

import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import PIL.Image
import pytest
from tests.background_runs import REPO, RUN_TIMEOUT, Proc, env as _env, read as _read
from tests import background_runs

MODULES = "[Conv-up-1, C_global-2, Conv-up-1, C_global-2, Noise-1]"  # 16x16, 4 continuous dims
CONT_DIMS = 4
RES = 16
DATASET = "blocks"
from training.snapshots import SNAPSHOT_RE, parse_snapshot_kimg, snapshot_paths  # noqa: E402

COMMON = ["--fmap_base", "32", "--minibatch-size", "8", "--minibatch-gpu", "4", "--random_eps", "True",
          "--module_list", MODULES, "--cpu-threads", "1"]


def _train_argv(data_dir, result_dir, model, *extra):
    return ([sys.executable, "run_training.py", "--data-dir", data_dir, "--dataset", DATASET,
             "--result-dir", result_dir, "--model_type", model] + COMMON + list(extra))


SHORT = ["--total-kimg", "0.2", "--kimg-per-tick", "0.1", "--snapshot-ticks", "2"]


def _tmp_files(run_dir):
    return sorted(n for n in os.listdir(run_dir) if ".tmp" in n)


# ----------------------------------------------------------------------------------------------
# Runs in the background


RESUME_ARGS = ["--total-kimg", "2", "--kimg-per-tick", "0.5", "--snapshot-ticks", "2", "--minibatch-size", "16",
               "--minibatch-gpu", "16"]


def _resume_sequence(runs):
    """Start a 2-kimg run, SIGKILL it as soon as its first snapshot exists, record what was on
    disk at that moment, then rerun the same command with --resume latest."""
    first = runs.start("resume1", "vp_gan", *RESUME_ARGS)
    deadline = time.time() + RUN_TIMEOUT
    found = None
    while found is None:
        assert time.time() < deadline, "no snapshot within %d s" % RUN_TIMEOUT
        if first.popen.poll() is not None:
            raise AssertionError("resume1 exited (rc %s) before it could be killed:\n%s" % (first.rc, first.err[-3000:]))
        for run_dir in first.run_dirs():
            names = [n for n in os.listdir(run_dir) if SNAPSHOT_RE.match(n)]
            if names:
                found = run_dir
        time.sleep(0.05)
    os.kill(first.popen.pid, signal.SIGKILL)  # a real, unannounced kill
    first.popen.wait()
    runs.info["resume.killed_rc"] = first.rc
    runs.info["resume.run_dir"] = found
    listing = sorted(os.listdir(found))
    runs.info["resume.listing"] = listing
    runs.info["resume.tmp"] = _tmp_files(found)
    saved = os.path.join(runs.root, "resume_killed_snapshots")
    os.makedirs(saved)
    for name in listing:
        if name.endswith(".pkl") or name.endswith(".state"):
            shutil.copy2(os.path.join(found, name), os.path.join(saved, name))
    runs.info["resume.saved"] = saved
    runs.info["resume.log_before"] = _read(os.path.join(found, "log.txt"))
    second = Proc("resume2", first.argv + ["--resume", "latest"], first.result_dir, runs.logs)
    runs.procs["resume2"] = second
    second.wait()


def _nan_sequence(runs):
    """Continue a copy of the finished vp_gan run with an absurd learning rate."""
    src = runs.procs["vp_gan"].wait()
    if src.rc != 0:
        raise AssertionError("vp_gan run failed; cannot build the NaN run")
    run_dir = src.run_dirs()[0]
    result_dir = os.path.join(runs.root, "nan")
    copy = os.path.join(result_dir, os.path.basename(run_dir))
    shutil.copytree(run_dir, copy)
    runs.info["nan.run_dir"] = copy
    runs.info["nan.before"] = sorted(os.listdir(copy))
    argv = _train_argv(runs.data_dir, result_dir, "vp_gan", "--total-kimg", "1", "--kimg-per-tick", "0.1",
                       "--snapshot-ticks", "1", "--learning-rate", "1e30", "--resume", copy)
    proc = Proc("nan", argv, result_dir, runs.logs)
    runs.procs["nan"] = proc
    proc.wait()


def _make_dataset(data_dir, name=DATASET, n=256, res=RES):
    from training.tfrecord_export import TFRecordExporter

    rng = np.random.RandomState(123)
    images = np.zeros([n, 1, res, res], np.uint8)
    for i in range(n):
        y, x = rng.randint(0, res - 3, size=2)
        images[i, 0, y:y + 4, x:x + 4] = 255
    with TFRecordExporter(os.path.join(data_dir, name), n, overwrite=False, progress=False) as tfr:
        tfr.add_images(images)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("training_data"))
    _make_dataset(path)
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory, data_dir):
    runs = background_runs.Runs(str(tmp_path_factory.mktemp("training_runs")), data_dir, _train_argv)
    try:
        # the longest chains first: two towers build two graphs; resume is two runs in a row
        runs.start("towers", "gan", "--num-gpus", "2", "--total-kimg", "0.1", "--kimg-per-tick", "0.1")
        runs.in_background("resume", lambda: _resume_sequence(runs))
        runs.start("vp_gan", "vp_gan", *SHORT)
        runs.start("gan", "gan", *(SHORT + ["--metrics", "vp_fast", "--vp-pairs", "120"]))
        runs.start("info_gan", "info_gan", *(SHORT + ["--n_samples_per", "6"]))
        runs.in_background("nan", lambda: _nan_sequence(runs))
        yield runs
    finally:
        runs.close()
        timings = ", ".join("%s %.0fs" % (k, p.seconds) for k, p in sorted(runs.procs.items()) if p.seconds)
        sys.stderr.write("\n[test_training] run timings: %s\n" % timings)


def _single_run_dir(proc):
    dirs = proc.run_dirs()
    assert len(dirs) == 1, dirs
    return dirs[0]


def _load_in_fresh_graph(pkl_path, codes=None):
    """(number of networks, names, Gs output or None) using a new graph and session."""
    from dnnlib.tflib.compat import tf
    from training import snapshots

    graph = tf.Graph()
    with graph.as_default(), tf.Session(graph=graph).as_default():
        snapshot = snapshots.load_snapshot(pkl_path)
        nets = list(snapshot.networks.values())
        out = None
        if codes is not None:
            out = snapshots.split_networks(snapshot).Gs.run(codes, None, randomize_noise=False)
        return len(nets), [n.name for n in nets], out


def _codes(n=6):
    return np.random.RandomState(7).uniform(-2, 2, [n, CONT_DIMS]).astype(np.float32)


def _event_tags(run_dir):
    from dnnlib.tflib.compat import tf

    files = glob.glob(os.path.join(run_dir, "events.out.tfevents.*"))
    assert files, "no TensorBoard events file in %s" % run_dir
    tags = set()
    for path in files:
        for event in tf.train.summary_iterator(path):
            for value in event.summary.value:
                tags.add(value.tag)
    return tags


def _tick_kimgs(text):
    return [float(m.group(1)) for m in re.finditer(r"^tick\s+\d+\s+kimg\s+([\d.]+)", text, re.M)]


# ----------------------------------------------------------------------------------------------
# Start the background runs first, so that the cheap in-process tests below overlap with them


def test_background_runs_started(runs):
    assert all(p.popen.pid for p in runs.procs.values())


# ----------------------------------------------------------------------------------------------
# CLI: dry runs and errors (in-process; no training starts)


def _main(argv):
    import run_training

    return run_training.main(argv)


@pytest.fixture
def repo_cwd(monkeypatch):
    monkeypatch.chdir(REPO)
    if REPO not in sys.path:
        monkeypatch.syspath_prepend(REPO)


def test_dry_run_prints_resolved_config(repo_cwd, data_dir, tmp_path, capsys):
    result_dir = str(tmp_path / "results")
    rc = _main(["--data-dir", data_dir, "--dataset", DATASET, "--result-dir", result_dir, "--model_type", "vc_gan_with_vc_head",
                "--module_list", MODULES, "--C_lambda", "0.5", "--dry-run"])
    out = capsys.readouterr().out
    assert rc == 0
    data = json.loads(out)
    cfg = data["config"]
    assert cfg["model_type"] == "vp_gan"  # alias resolved
    assert cfg["loss"]["C_lambda"] == 0.5 and cfg["loss"]["gamma"] == 100.0
    assert cfg["G_args"]["module_list"] == MODULES
    assert cfg["I_args"]["func_name"] == "training.networks_vp.recognizer"
    assert data["run_desc"] == "vp_gan-%s-1gpu-config-e" % DATASET and data["run_dir"] is None
    assert not os.path.exists(result_dir)


def test_preset_quickstart_dry_run(repo_cwd, tmp_path, capsys):
    _make_dataset(str(tmp_path), name="dsprites", n=8, res=32)
    rc = _main(["--preset", "quickstart", "--data-dir", str(tmp_path), "--result-dir", str(tmp_path / "r"),
                "--num-gpus", "2", "--minibatch-gpu", "8", "--dry-run"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    data = json.loads(captured.out)
    assert data["flags"]["preset"] == "quickstart"
    cfg = data["config"]
    assert cfg["model_type"] == "vp_gan" and cfg["dataset"]["resolution"] == 32
    assert cfg["total_kimg"] == 4.0 and cfg["minibatch_size"] == 16 and cfg["num_gpus"] == 2 and cfg["minibatch_gpu"] == 8  # flags beat the preset
    assert not os.path.exists(str(tmp_path / "r"))


def _base_argv(data_dir, result_dir):
    return ["--data-dir", data_dir, "--dataset", DATASET, "--result-dir", result_dir, "--model_type", "vp_gan",
            "--module_list", MODULES, "--fmap_base", "32", "--minibatch-size", "8", "--minibatch-gpu", "4"]


BAD_FLAGS = [
    (["--module_list", "[Conv-up-1,, C_global-2]"], "module_list"),
    (["--module_list", "Conv-up-1, C_global-2"], "module_list"),
    (["--module_list", "[Conv-up-1, Foo-2]"], "unknown module"),
    (["--module_list", "[Conv-up-1, C_global-2]"],                 # 8x8 output on a 16x16 dataset
     "produces 8x8 images (4 * 2^1 Conv-up) but training is at 16x16 (--resolution, else the dataset's): use 2 "
     "Conv-up layers in total for 16x16"),
    # a --resolution the 16x16 dataset lacks is named as such, whatever the module list (was: "the dataset is 32x32")
    (["--module_list", "[Conv-up-1, C_global-2, Conv-up-2]", "--resolution", "32"], "is 16x16 (levels 4, 8, 16); "
     "give --resolution 16 or omit it"),
    (["--resolution", "32"], "--resolution 32: the dataset"),
    (["--resolution", "8"], "produces 16x16 images (4 * 2^2 Conv-up) but training is at 8x8"),
    (["--model_type", "wgan"], "--model_type"),
    (["--num-gpus", "3"], "--num-gpus"),
    (["--minibatch-gpu", "3"], "multiple"),
    (["--dataset", "no_such_dataset"], "does not exist"),
    (["--config", "config-z"], "--config"),
    (["--metrics", "fid50k"], "metric"),
    (["--resume", "/nonexistent/run"], "--resume"),
]


@pytest.mark.parametrize("extra,needle", BAD_FLAGS, ids=[" ".join(e)[:40] for e, _ in BAD_FLAGS])
def test_bad_flags_fail_before_any_run_dir(repo_cwd, data_dir, tmp_path, capsys, extra, needle):
    result_dir = str(tmp_path / "results")
    argv = _base_argv(data_dir, result_dir) + extra
    rc = _main(argv)
    captured = capsys.readouterr()
    assert rc != 0
    lines = [l for l in captured.err.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert needle in lines[0], lines[0]
    assert not os.path.exists(result_dir), os.listdir(result_dir)


OUT_OF_RANGE = [
    (["--total-kimg", "-1"], "--total-kimg must be > 0 (thousands of real images to train on), got -1"),
    (["--total-kimg", "0"], "--total-kimg must be > 0 (thousands of real images to train on), got 0"),
    (["--total-kimg", "nan"], "--total-kimg must be > 0 (thousands of real images to train on), got nan"),
    (["--total-kimg", "inf"], "--total-kimg must be > 0 (thousands of real images to train on), got inf"),
    (["--model_type", "vp_vae", "--total-kimg", "0"], "--total-kimg must be > 0"),
    (["--kimg-per-tick", "0"], "--kimg-per-tick must be > 0 (kimg between progress lines), got 0"),
    (["--snapshot-ticks", "-1"], "--snapshot-ticks must be >= 0 (ticks between snapshots and grids; 0: none), got -1"),
    (["--minibatch-size", "0"], "--minibatch-size must be >= 1 (images per step), got 0"),
    (["--minibatch-gpu", "0"], "--minibatch-gpu must be >= 1 (images per tower and step), got 0"),  # was ZeroDivisionError
    (["--learning-rate", "0"], "--learning-rate must be > 0 (Adam step size), got 0"),
    (["--model_type", "beta_vae", "--learning-rate", "-0.0001"], "--learning-rate must be > 0 (Adam step size), got -0.0001"),
    (["--vp-pairs", "0"], "--vp-pairs must be >= 1 (pairs per VP metric), got 0"),
    (["--n_samples_per", "0"], "--n_samples_per must be >= 1 (traversal grid columns), got 0"),
    (["--cpu-threads", "-2"], "--cpu-threads must be >= 0 (TF threads; 0: TF's choice), got -2"),
    (["--resume_pkl", "x.pkl", "--resume_kimg", "-5"], "--resume_kimg must be >= 0 (kimg to count from), got -5"),
]


@pytest.mark.parametrize("extra,message", OUT_OF_RANGE, ids=[" ".join(e)[:40] for e, _ in OUT_OF_RANGE])
def test_out_of_range_numbers_are_usage_errors(repo_cwd, data_dir, tmp_path, capsys, extra, message):
    """--total-kimg -1 used to exit 0 and write an untrained network-final.pkl: now exit 2, one line, nothing made."""
    result_dir = str(tmp_path / "results")
    argv = _base_argv(data_dir, result_dir) + extra
    rc = _main(argv)
    captured = capsys.readouterr()
    assert rc == 2, captured.err
    errors = [l for l in captured.err.splitlines() if "error" in l]
    assert errors == [captured.err.strip().splitlines()[-1]], captured.err
    assert errors[0].startswith("error: " + message), errors[0]
    assert "Done" not in captured.out
    assert not os.path.exists(result_dir) and os.listdir(str(tmp_path)) == []


def test_boundary_numbers_are_accepted(repo_cwd, data_dir, tmp_path, capsys):
    """0 stays valid where it means something: no periodic snapshots, TF's thread count."""
    rc = _main(["--data-dir", data_dir, "--dataset", DATASET, "--result-dir", str(tmp_path / "r"), "--model_type", "gan",
                "--module_list", MODULES, "--snapshot-ticks", "0", "--cpu-threads", "0", "--total-kimg", "0.001",
                "--kimg-per-tick", "0.001", "--learning-rate", "1e-6", "--dry-run"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    cfg = json.loads(captured.out)["config"]
    assert cfg["network_snapshot_ticks"] == 0 and cfg["total_kimg"] == 0.001 and cfg["G_opt"]["learning_rate"] == 1e-6
    assert not os.path.exists(str(tmp_path / "r"))


@pytest.mark.parametrize("dry_run", [False, True])
@pytest.mark.parametrize("content,needle,code", [(b"\x80\x04\x95", "truncated, corrupt or not a vpdis snapshot", 1),
                                                 (None, "is not a vpdis network pickle", 1),
                                                 ("missing", "does not exist", 2)])
def test_bad_resume_pickle_fails_before_any_run_dir(repo_cwd, data_dir, tmp_path, capsys, content, needle, code,
                                                    dry_run):
    """A truncated or foreign --resume_pkl used to fail inside the run, leaving 00000-.../log.txt behind. Exit 1
    for an unusable file, 2 for a path that is not there (dnnlib/cli.py)."""
    import pickle

    pkl = str(tmp_path / "in.pkl")
    if content is None:
        with open(pkl, "wb") as f:
            pickle.dump({"G": 1}, f)               # a pickled dict
    elif content != "missing":
        with open(pkl, "wb") as f:
            f.write(content)                       # a truncated pickle
    result_dir = str(tmp_path / "results")
    rc = _main(_base_argv(data_dir, result_dir) + ["--resume_pkl", pkl] + (["--dry-run"] if dry_run else []))
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == code and len(err) == 1 and err[0].startswith("error: ") and needle in err[0] and pkl in err[0], err
    assert not os.path.exists(result_dir)


def test_run_that_fails_before_its_first_snapshot_leaves_no_run_dir(repo_cwd, data_dir, tmp_path, capsys,
                                                                    monkeypatch):
    import run_training

    def fail(cfg):
        raise ValueError("broken on purpose")

    monkeypatch.setattr(run_training, "run", fail)
    result_dir = str(tmp_path / "results")
    rc = _main(_base_argv(data_dir, result_dir) + ["--total-kimg", "0.01"])
    captured = capsys.readouterr()
    assert rc == 2 and captured.err.strip().splitlines()[-1] == "error: broken on purpose", captured.err
    assert "Removed" in captured.err and not os.path.exists(result_dir)   # the --result-dir it created, too


def test_resume_latest_reports_run_dirs_without_a_snapshot(repo_cwd, data_dir, tmp_path, capsys):
    result_dir = tmp_path / "results"
    empty = result_dir / "00003-vp_gan-blocks-1gpu-config-e"
    empty.mkdir(parents=True)
    (empty / "log.txt").write_text("killed before the first snapshot\n")
    rc = _main(_base_argv(data_dir, str(result_dir)) + ["--resume", "latest", "--dry-run"])
    out = capsys.readouterr().out
    assert rc == 0 and "skipping %s" % empty in out and "starting a new run" in out
    assert json.loads(out[out.index("{"):])["run_dir"] is None


def test_dry_run_checks_the_dataset(repo_cwd, tmp_path, capsys):
    """A dry run checks what the real run checks before training: a missing dataset is an error, not a config."""
    rc = _main(["--preset", "quickstart", "--data-dir", str(tmp_path), "--result-dir", str(tmp_path / "r"),
                "--dry-run"])
    captured = capsys.readouterr()
    assert rc == 2 and captured.out == "" and captured.err.startswith("error: "), captured
    assert "dsprites" in captured.err and "does not exist" in captured.err
    assert not os.path.exists(str(tmp_path / "r"))


def test_missing_data_dir_flag(repo_cwd, tmp_path, capsys):
    rc = _main(["--result-dir", str(tmp_path / "r"), "--model_type", "gan", "--module_list", MODULES, "--dataset", DATASET])
    err = capsys.readouterr().err
    assert rc != 0 and err.startswith("error: ") and "--data-dir" in err
    assert not os.path.exists(str(tmp_path / "r"))


# ----------------------------------------------------------------------------------------------
# One run per model type


MODELS = [("vp_gan", 4, 10), ("gan", 3, 10), ("info_gan", 4, 6)]  # (model, pickle tuple length, grid columns)


@pytest.mark.parametrize("model,n_nets,columns", MODELS)
def test_run_dir_contents(runs, model, n_nets, columns):
    proc = runs.procs[model].wait().check_ok()
    run_dir = _single_run_dir(proc)
    assert os.path.basename(run_dir) == "00000-%s-%s-1gpu-config-e" % (model, DATASET)
    names = set(os.listdir(run_dir))
    for required in ("log.txt", "submit_config.json", "reals.png", "fakes_init.png", "network-final.pkl", "_finished.txt"):
        assert required in names, (required, sorted(names))
    assert _tmp_files(run_dir) == []
    assert _tick_kimgs(_read(os.path.join(run_dir, "log.txt"))) == [0.1, 0.2]
    with open(os.path.join(run_dir, "submit_config.json")) as f:
        config = json.load(f)
    cfg = config["run_func_kwargs"]["cfg"]
    assert cfg["model_type"] == model
    assert cfg["G_args"]["module_list"] == MODULES
    assert cfg["total_kimg"] == 0.2 and cfg["minibatch_size"] == 8 and cfg["minibatch_gpu"] == 4
    assert cfg["data_format"] == "NHWC"
    snaps = sorted(n for n in names if SNAPSHOT_RE.match(n))
    assert snaps == ["network-snapshot-000000.200.pkl"]     # 0.2 kimg: named by image count, never overwritten
    assert "network-snapshot-000000.200.state" in names
    fakes = sorted(n for n in names if re.match(r"^fakes[\d.]+\.png$", n))
    assert fakes, sorted(names)
    for name in fakes + ["fakes_init.png"]:
        with PIL.Image.open(os.path.join(run_dir, name)) as image:
            assert image.size == (columns * RES, CONT_DIMS * RES), (name, image.size)
            assert image.mode == "L"
    with PIL.Image.open(os.path.join(run_dir, "reals.png")) as image:
        assert image.size == (8 * RES, 8 * RES)


@pytest.mark.parametrize("model", [m for m, _, _ in MODELS])
def test_tensorboard_scalars(runs, model):
    run_dir = _single_run_dir(runs.procs[model].wait().check_ok())
    tags = _event_tags(run_dir)
    expected = {"Loss/G_adv", "Loss/D"}
    if model == "vp_gan":
        expected |= {"Loss/VP", "Acc/VP_recognizer"}
    if model == "info_gan":
        expected |= {"Loss/Info"}
    assert expected <= tags, sorted(tags)
    if model == "gan":
        assert not any(t.startswith("Loss/VP") or t.startswith("Loss/Info") for t in tags)


def test_metrics_flag_scores_each_snapshot(runs):
    run_dir = _single_run_dir(runs.procs["gan"].wait().check_ok())
    with open(os.path.join(run_dir, "metric-vp_fast.json")) as f:
        result = json.load(f)
    assert result["metric"] == "vp_fast" and 0.0 <= result["value"] <= 100.0
    assert result["network_pkl"].endswith(".pkl") and "vp_score" in _read(os.path.join(run_dir, "metric-vp_fast.txt"))


@pytest.mark.parametrize("model,n_nets,columns", MODELS)
def test_final_pickle_loads_and_reproduces(runs, model, n_nets, columns):
    run_dir = _single_run_dir(runs.procs[model].wait().check_ok())
    pkl = os.path.join(run_dir, "network-final.pkl")
    n1, names, out1 = _load_in_fresh_graph(pkl, _codes())
    n2, _, out2 = _load_in_fresh_graph(pkl, _codes())
    assert n1 == n2 == n_nets
    assert names == (["G", "D", "I", "Gs"] if n_nets == 4 else ["G", "D", "Gs"])
    assert out1.shape == (6, RES, RES, 1)  # NHWC on the CPU
    assert np.isfinite(out1).all()
    np.testing.assert_array_equal(out1, out2)
    assert np.std(out1) > 0


# ----------------------------------------------------------------------------------------------
# Pickles across interpreters (TF 1.15 / numpy 1.x <-> TF 2.x / numpy 2.x)

HELPER = r'''
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from dnnlib.tflib.compat import tf
from training import snapshots
out_dir, codes_path, pkls = sys.argv[2], sys.argv[3], sys.argv[4:]
codes = np.load(codes_path)
report = {}
for i, pkl in enumerate(pkls):
    graph = tf.Graph()
    with graph.as_default(), tf.Session(graph=graph).as_default():
        snapshot = snapshots.load_snapshot(pkl)
        Gs = snapshots.split_networks(snapshot).Gs
        np.save("%s/out%d.npy" % (out_dir, i), Gs.run(codes, None, randomize_noise=False))
        report[pkl] = [n.name for n in snapshot.networks.values()]
with open(out_dir + "/report.json", "w") as f:
    json.dump(dict(report=report, tf=tf.__version__, numpy=np.__version__, python=sys.version.split()[0]), f)
'''


def _other_python():
    env = os.environ.get("VPDIS_OTHER_PYTHON")
    candidates = [env] if env else [
        "/tmp/venvs/py37/bin/python", "/tmp/venvs/py311/bin/python",
        os.path.join(REPO, ".venv", "py3.7", "bin", "python"), os.path.join(REPO, ".venv", "py3.11", "bin", "python")]
    mine = "%d.%d" % sys.version_info[:2]
    for cand in candidates:
        if not cand or not os.path.isfile(cand):
            continue
        try:
            version = subprocess.check_output([cand, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                              universal_newlines=True, timeout=60).strip()
        except (OSError, subprocess.SubprocessError):
            continue
        if version != mine:
            return cand
    return None


def test_pickles_load_under_both_interpreters(runs, tmp_path):
    other = _other_python()
    if other is None:
        pytest.skip("no second interpreter (set VPDIS_OTHER_PYTHON)")
    pkls = []
    for model, _, _ in MODELS:
        run_dir = _single_run_dir(runs.procs[model].wait().check_ok())
        pkls.append(os.path.join(run_dir, "network-final.pkl"))
    helper = str(tmp_path / "gs_outputs.py")
    with open(helper, "w") as f:
        f.write(HELPER)
    codes_path = str(tmp_path / "codes.npy")
    np.save(codes_path, _codes())
    procs = {}
    for label, python in (("mine", sys.executable), ("other", other)):
        out_dir = tmp_path / label
        out_dir.mkdir()
        procs[label] = (str(out_dir), subprocess.Popen([python, helper, REPO, str(out_dir), codes_path] + pkls, cwd=REPO,
                                                        env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                        universal_newlines=True))
    results = {}
    for label, (out_dir, proc) in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, "%s helper failed:\n%s" % (label, stderr[-3000:])
        with open(os.path.join(out_dir, "report.json")) as f:
            results[label] = json.load(f)
    assert results["mine"]["report"] == results["other"]["report"]
    assert results["mine"]["python"] != results["other"]["python"]
    for i, pkl in enumerate(pkls):
        mine = np.load(os.path.join(procs["mine"][0], "out%d.npy" % i))
        theirs = np.load(os.path.join(procs["other"][0], "out%d.npy" % i))
        _, _, here = _load_in_fresh_graph(pkl, _codes())  # and this process (same interpreter as "mine")
        np.testing.assert_array_equal(here, mine)
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-5, err_msg=pkl)


# ----------------------------------------------------------------------------------------------
# Resume after SIGKILL


def test_resume_after_sigkill(runs):
    runs.wait_for("resume")
    info = runs.info
    assert info["resume.killed_rc"] == -signal.SIGKILL
    run_dir = info["resume.run_dir"]
    assert os.path.basename(run_dir) == "00000-vp_gan-%s-1gpu-config-e" % DATASET
    # At the moment of the kill: only complete snapshots under snapshot names, at most one temp file.
    listing = info["resume.listing"]
    assert len(info["resume.tmp"]) <= 1, info["resume.tmp"]
    snaps = [n for n in listing if SNAPSHOT_RE.match(n)]
    assert snaps, listing
    assert all(SNAPSHOT_RE.match(n) or n == "network-final.pkl" for n in listing if n.endswith(".pkl")), listing
    assert "network-final.pkl" not in listing and "_finished.txt" not in listing
    for name in snaps:
        n_nets, _, out = _load_in_fresh_graph(os.path.join(info["resume.saved"], name), _codes(2))
        assert n_nets == 4 and np.isfinite(out).all()
    latest = max(parse_snapshot_kimg(n) for n in snaps)
    from training import snapshots

    state = snapshots.load_state(snapshot_paths(info["resume.saved"], latest)[1])
    assert state["cur_nimg"] >= 1000 and state["tick"] >= 2 and state["step"] > 0
    opt = state["optimizers"]
    assert any(k.startswith("TrainG/") for k in opt) and any(k.startswith("TrainD/") for k in opt), sorted(opt)[:10]
    assert all(np.isfinite(np.asarray(v)).all() for v in opt.values())
    resume_kimg = state["cur_nimg"] / 1000.0

    # The resumed run: same run dir, from that snapshot, to the end.
    second = runs.procs["resume2"].check_ok()
    assert second.run_dirs() == [run_dir], "resume must continue in the same run dir, not make a new one"
    log = _read(os.path.join(run_dir, "log.txt"))
    assert log.startswith(info["resume.log_before"])  # appended, not overwritten
    after = log[len(info["resume.log_before"]):]
    match = re.search(r"Resuming from (\S+) \(kimg ([\d.]+)\)", after)
    assert match, after[-3000:]
    assert os.path.basename(match.group(1)) == os.path.basename(snapshot_paths(run_dir, latest)[0])
    assert float(match.group(2)) == pytest.approx(resume_kimg, abs=0.051) and resume_kimg > 0  # printed as %.1f
    assert "resume state has no value" not in after  # every optimiser variable was restored
    ticks = _tick_kimgs(after)
    assert ticks and ticks[0] > resume_kimg and ticks[-1] == pytest.approx(2.0), ticks
    names = os.listdir(run_dir)
    assert "network-final.pkl" in names and "_finished.txt" in names
    assert "network-snapshot-000002.pkl" in names
    assert len(_tmp_files(run_dir)) <= 1
    n_nets, _, _ = _load_in_fresh_graph(os.path.join(run_dir, "network-final.pkl"))
    assert n_nets == 4
    assert len(glob.glob(os.path.join(run_dir, "events.out.tfevents.*"))) >= 2


# ----------------------------------------------------------------------------------------------
# Two towers, divergence, --resume latest


def test_two_towers(runs):
    proc = runs.procs["towers"].wait().check_ok()
    run_dir = _single_run_dir(proc)
    assert os.path.basename(run_dir) == "00000-gan-%s-2gpu-config-e" % DATASET
    assert os.path.exists(os.path.join(run_dir, "network-final.pkl"))
    assert _tick_kimgs(_read(os.path.join(run_dir, "log.txt"))) == [0.1]
    with open(os.path.join(run_dir, "submit_config.json")) as f:
        cfg = json.load(f)["run_func_kwargs"]["cfg"]
    assert cfg["num_gpus"] == 2 and cfg["tf_config"]["device_count.CPU"] == 2
    n_nets, _, out = _load_in_fresh_graph(os.path.join(run_dir, "network-final.pkl"), _codes(2))
    assert n_nets == 3 and np.isfinite(out).all()


def test_divergence_stops_with_clear_error(runs):
    runs.wait_for("nan")
    proc = runs.procs["nan"]
    assert proc.rc not in (0, None), proc.out[-2000:]
    err_lines = [l for l in proc.err.splitlines() if l.startswith("error:")]
    assert len(err_lines) == 1, proc.err[-3000:]
    assert "diverged" in err_lines[0] and "Traceback" not in proc.err
    run_dir = runs.info["nan.run_dir"]
    assert "network-snapshot-000000.200.pkl" in err_lines[0]  # names the last good snapshot
    # no new snapshot after divergence; the earlier ones are intact and load
    assert sorted(n for n in os.listdir(run_dir) if n.endswith(".pkl")) == sorted(
        n for n in runs.info["nan.before"] if n.endswith(".pkl"))
    for name in ("network-snapshot-000000.200.pkl", "network-final.pkl"):
        n_nets, _, out = _load_in_fresh_graph(os.path.join(run_dir, name), _codes(2))
        assert n_nets == 4 and np.isfinite(out).all()
    assert "diverged" in _read(os.path.join(run_dir, "log.txt"))


def test_resume_latest_matches_model_type_exactly(repo_cwd, runs, data_dir, tmp_path, capsys):
    """'gan-blocks-...' is a substring of 'vp_gan-blocks-...': --model_type gan --resume latest
    must still pick the newest *gan* run, and a model without runs starts fresh."""
    result_dir = tmp_path / "results"
    result_dir.mkdir()
    gan_dir = _single_run_dir(runs.procs["gan"].wait().check_ok())
    vp_dir = _single_run_dir(runs.procs["vp_gan"].wait().check_ok())
    shutil.copytree(gan_dir, str(result_dir / ("00000-gan-%s-1gpu-config-e" % DATASET)))
    shutil.copytree(vp_dir, str(result_dir / ("00001-vp_gan-%s-1gpu-config-e" % DATASET)))
    os.makedirs(str(result_dir / ("00002-gan-%s-1gpu-config-e" % DATASET)))  # newer, but no snapshot
    base = ["--data-dir", data_dir, "--dataset", DATASET, "--result-dir", str(result_dir), "--module_list", MODULES,
            "--resume", "latest", "--dry-run"]
    expected = {"gan": "00000-gan", "vp_gan": "00001-vp_gan", "info_gan": None}
    for model, prefix in expected.items():
        assert _main(base + ["--model_type", model]) == 0
        out = capsys.readouterr().out
        data = json.loads(out[out.index("{"):])
        if prefix is None:
            assert data["run_dir"] is None and data["config"]["resume"] is None
        else:
            assert os.path.basename(data["run_dir"]).startswith(prefix), (model, data["run_dir"])
            assert data["config"]["resume"]["kimg"] == pytest.approx(0.2)


@pytest.mark.slow
def test_cli_error_exit_code_in_subprocess(data_dir, tmp_path):
    """Last in the file, so that its interpreter start does not compete with the training runs."""
    result_dir = str(tmp_path / "results")
    for argv, needle in ((_train_argv(data_dir, result_dir, "no_such_model"), "no_such_model"),
                         (_train_argv(data_dir, result_dir, "vp_gan", "--total-kimg", "-1"),
                          "error: --total-kimg must be > 0 (thousands of real images to train on), got -1")):
        proc = subprocess.run(argv, cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=120)
        assert proc.returncode == 2
        err_lines = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
        assert len(err_lines) == 1 and needle in err_lines[0]
        assert proc.stderr.rstrip().splitlines()[-1] == err_lines[0]
        assert "Traceback" not in proc.stderr and "Done" not in proc.stdout
        assert not os.path.exists(result_dir)
