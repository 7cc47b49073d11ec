"""run_sweep.py on Ray: trials complete on a two-node cluster (one Ray instance for the module, two 1-CPU nodes on
127.0.0.1), failures are reported without stopping the others, a lost worker's trial is retried and resumes, a
rerun skips what is done, a trial runs under Python 3.7, and a local Ray listens on the loopback address only.
Ray is a requirement on Python >= 3.10 (a missing ray fails these tests there); on 3.7 they are skipped."""

import csv
import glob
import ipaddress
import json
import os
import signal
import subprocess
import sys
import time

import pytest

if sys.version_info < (3, 10):
    pytest.skip("run_sweep.py runs on Ray, which needs Python >= 3.10 (this is %d.%d); its trials may use 3.7"
                % sys.version_info[:2], allow_module_level=True)

from tests.background_runs import REPO, dsprites_data, env as subprocess_env  # noqa: E402

pytestmark = pytest.mark.slow
SWEEP_TIMEOUT = 420
PY37 = os.environ.get("VPDIS_PY37", os.path.join(REPO, ".venv", "py3.7", "bin", "python"))
TINY_TRAIN = dict(model_type="beta_vae", dataset="dsprites", minibatch_size=20, kimg_per_tick=0.1, snapshot_ticks=1,
                  total_kimg=0.1, cpu_threads=1, n_samples_per=2)
TINY_METRICS = [dict(metrics=["vp_fast"], vp_pairs=60, vp_repeats=1, vp_epochs=1)]
GRID = [(beta, seed) for beta in (2, 4) for seed in (0, 1)]


@pytest.fixture(scope="module")
def cluster():
    """A Ray cluster of two nodes with one CPU each, bound to 127.0.0.1, shared by every test here."""
    from sweeps import ray_runner

    saved = {k: os.environ.get(k) for k in ray_runner.LOCAL_ENV}
    os.environ.update(ray_runner.LOCAL_ENV)     # before ray is imported: it reads them then
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args=dict(num_cpus=1, include_dashboard=False))
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    yield cluster
    cluster.shutdown()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return dsprites_data(tmp_path_factory, "sweep_data", 64)


def _write_sweep(path, trials, **top):
    sweep = dict(name="test", resources=dict(cpus=1), retries=2, train=TINY_TRAIN, metrics=TINY_METRICS, trials=trials)
    sweep.update(top)
    with open(path, "w") as f:
        json.dump(sweep, f)
    return str(path)


def _grid_trials(**changed):
    """The four grid trials as single entries; ``changed``: {name: {flag: value}} for some of them."""
    return [dict(name="b%d-s%d" % (beta, seed), train=dict(beta=beta, seed=seed, **changed.get("b%d-s%d" % (beta, seed), {})))
            for beta, seed in GRID]


def _sweep_argv(sweep_file, out, cluster, data_dir, *extra):
    return [sys.executable, "run_sweep.py", sweep_file, "--out", out, "--address", cluster.address,
            "--data-dir", data_dir, "--quiet"] + list(extra)


def _run_sweep(argv):
    start = time.time()
    proc = subprocess.run(argv, cwd=REPO, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=SWEEP_TIMEOUT)
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), time.time() - start


def _table(out):
    with open(os.path.join(out, "results.csv")) as f:
        return {row["trial"]: row for row in csv.DictReader(f)}


def _result(out, name):
    paths = glob.glob(os.path.join(out, "trials", name + ".*", "result.json"))
    assert len(paths) == 1, paths
    with open(paths[0]) as f:
        return json.load(f)


def _attempts(out, name, key):
    with open(os.path.join(out, "trials", "%s.%s" % (name, key), "attempts.json")) as f:
        return len(json.load(f))


@pytest.fixture(scope="module")
def first_sweep(tmp_path_factory, cluster, data_dir):
    """The grid's four trials, a trial with an unknown flag, one whose training refuses a value, and (where the
    interpreter exists) one under Python 3.7 + TensorFlow 1.15."""
    base = tmp_path_factory.mktemp("sweep1")
    trials = _grid_trials() + [dict(name="bad-flag", train=dict(no_such_flag=1)),
                               dict(name="bad-value", train=dict(total_kimg=-1))]
    if os.path.isfile(PY37):
        trials.append(dict(name="py37", python=PY37, train=dict(seed=0, beta=4)))
    sweep_file = _write_sweep(base / "sweep.json", trials)
    out = str(base / "out")
    rc, output, seconds = _run_sweep(_sweep_argv(sweep_file, out, cluster, data_dir))
    return dict(rc=rc, output=output, seconds=seconds, out=out, sweep_file=sweep_file, base=base)


def test_grid_trials_complete_with_their_settings(first_sweep):
    assert first_sweep["rc"] == 1, first_sweep["output"]      # two trials failed
    rows = _table(first_sweep["out"])
    for beta, seed in GRID:
        name = "b%d-s%d" % (beta, seed)
        row = rows[name]
        assert row["status"] == "ok" and row["attempts"] == "1", row
        assert (row["beta"], row["seed"], row["total_kimg"]) == (str(beta), str(seed), "0.1")
        assert 0 <= float(row["vp_fast"]) <= 100
        result = _result(first_sweep["out"], name)
        assert result["key"] == row["key"] and result["metrics"]["vp_fast"] == pytest.approx(float(row["vp_fast"]))
        with open(os.path.join(first_sweep["out"], "trials", "%s.%s" % (name, row["key"]), "trial.json")) as f:
            assert json.load(f)["flags"]["beta"] == beta
    assert len(set(rows[n]["key"] for n in rows if rows[n]["key"])) == len([n for n in rows if rows[n]["key"]])
    with open(os.path.join(first_sweep["out"], "results.md")) as f:
        assert sorted(line.split(" | ")[0][2:] for line in f if line.startswith("| b") and "-s" in line) == \
            sorted("b%d-s%d" % g for g in GRID)


def test_failing_trials_are_reported_not_retried_and_do_not_stop_the_others(first_sweep):
    rows, output = _table(first_sweep["out"]), first_sweep["output"]
    assert rows["bad-flag"]["status"] == "failed" and "no_such_flag" in rows["bad-flag"]["error"]
    assert "FAILED bad-flag" in output and "FAILED bad-value" in output
    bad = _result(first_sweep["out"], "bad-value")
    assert bad["status"] == "failed" and bad["attempts"] == 1 and bad["error"] == "training exited 2"
    assert "--total-kimg must be > 0" in bad["log_tail"] and "--total-kimg must be > 0" in output
    assert "failed: bad-flag, bad-value" in output


def test_trials_ran_on_both_nodes(first_sweep, cluster):
    nodes = {_result(first_sweep["out"], "b%d-s%d" % g)["node_id"] for g in GRID}
    assert nodes == {node.node_id for node in cluster.list_all_nodes()}


def test_a_trial_runs_under_python37(first_sweep):
    if not os.path.isfile(PY37):
        pytest.skip("no Python 3.7 interpreter at %s (set VPDIS_PY37)" % PY37)
    result = _result(first_sweep["out"], "py37")
    assert result["status"] == "ok", result
    with open(os.path.join(first_sweep["out"], "trials", "py37.%s" % result["key"], "trial.json")) as f:
        assert json.load(f)["python_version"].startswith("3.7.")
    with open(os.path.join(first_sweep["out"], "trials", "py37.%s" % result["key"], "train.log")) as f:
        assert PY37 + " " in f.read()           # the command line the trial ran


def test_rerun_skips_finished_trials_and_reruns_changed_ones(first_sweep, cluster, data_dir):
    out, only = first_sweep["out"], ",".join("b%d-s%d" % g for g in GRID)
    before = _table(out)
    rc, output, seconds = _run_sweep(_sweep_argv(first_sweep["sweep_file"], out, cluster, data_dir, "--only", only))
    assert rc == 0, output
    assert "4 done earlier, 0 to run" in output and seconds < 30
    assert all(_attempts(out, n, before[n]["key"]) == 1 for n in only.split(","))   # nothing trained again

    changed = _write_sweep(first_sweep["base"] / "changed.json", _grid_trials(**{"b2-s0": dict(total_kimg=0.2)}))
    rc, output, _ = _run_sweep(_sweep_argv(changed, out, cluster, data_dir))
    assert rc == 0, output
    assert "3 done earlier, 1 to run" in output
    after = _table(out)
    assert after["b2-s0"]["key"] != before["b2-s0"]["key"] and after["b2-s0"]["total_kimg"] == "0.2"
    assert after["b2-s0"]["status"] == "ok"
    assert os.path.isdir(os.path.join(out, "trials", "b2-s0." + before["b2-s0"]["key"]))   # the old folder stays
    assert all(after[n]["key"] == before[n]["key"] and _attempts(out, n, before[n]["key"]) == 1
               for n in only.split(",") if n != "b2-s0")


def _processes_with(text):
    """PIDs of live (not zombie) processes whose command line contains ``text``."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
            with open("/proc/%s/stat" % pid) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            found.append(int(pid))
    return found


def test_a_lost_worker_is_retried_and_resumes_from_its_snapshot(tmp_path, cluster, data_dir):
    sweep_file = _write_sweep(tmp_path / "kill.json", [dict(name="long", train=dict(total_kimg=1.0))])
    out = str(tmp_path / "out")
    with open(str(tmp_path / "sweep.log"), "wb") as log:
        proc = subprocess.Popen(_sweep_argv(sweep_file, out, cluster, data_dir), cwd=REPO, env=subprocess_env(),
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 240
        while not glob.glob(os.path.join(out, "trials", "long.*", "train", "*", "network-snapshot-*.pkl")):
            assert time.time() < deadline and proc.poll() is None, "no snapshot before the deadline"
            time.sleep(0.2)
        trial_dir = glob.glob(os.path.join(out, "trials", "long.*"))[0]
        training = [p for p in _processes_with(trial_dir) if "run_training.py" in open("/proc/%d/cmdline" % p).read()]
        assert len(training) == 1
        with open("/proc/%d/stat" % training[0]) as f:
            worker = int(f.read().rsplit(")", 1)[1].split()[1])
        os.kill(worker, signal.SIGKILL)
        deadline = time.time() + 10
        while training[0] in _processes_with(trial_dir):
            assert time.time() < deadline, "the training process outlived its Ray worker"
            time.sleep(0.1)
        rc = proc.wait(timeout=SWEEP_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
    output = open(str(tmp_path / "sweep.log"), errors="replace").read()
    assert rc == 0, output
    result = _result(out, "long")
    assert result["status"] == "ok" and result["attempts"] == 2
    runs = os.listdir(os.path.join(trial_dir, "train"))
    assert len(runs) == 1                                         # resumed in place, not a second run
    with open(os.path.join(trial_dir, "train.log")) as f:
        assert "Resuming from %s" % os.path.join(trial_dir, "train", runs[0], "network-snapshot-") in f.read()
    assert os.path.isfile(os.path.join(trial_dir, "train", runs[0], "network-final.pkl"))
    assert list(_table(out)) == ["long"] and _table(out)["long"]["attempts"] == "2"
    assert not _processes_with(trial_dir)


def _listening_sockets(pids):
    """[ip address] of the TCP sockets listening in processes ``pids`` (Linux /proc)."""
    inodes = set()
    for pid in pids:
        for fd in glob.glob("/proc/%d/fd/*" % pid):
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    addresses = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:      # 0A: LISTEN
                    hex_ip = fields[1].split(":")[0]
                    raw = b"".join(bytes.fromhex(hex_ip[i:i + 8])[::-1] for i in range(0, len(hex_ip), 8))
                    addresses.append(ipaddress.ip_address(raw))
    return addresses


def _descendants(root):
    children = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open("/proc/%s/stat" % pid) as f:
                    children.setdefault(int(f.read().rsplit(")", 1)[1].split()[1]), []).append(int(pid))
            except OSError:
                pass
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def test_a_trial_larger_than_the_local_ray_is_a_usage_error_not_a_hang(tmp_path, data_dir):
    """--local-workers 1 and a 2-CPU trial: exit 2 with one line (Ray would otherwise queue it for ever), no trial
    folder left behind."""
    sweep_file = _write_sweep(tmp_path / "sweep.json", [dict(name="wide", train=dict(seed=0))],
                              resources=dict(cpus=2))
    out = str(tmp_path / "out")
    argv = [sys.executable, "run_sweep.py", sweep_file, "--out", out, "--local-workers", "1", "--data-dir", data_dir,
            "--quiet"]
    rc, output, seconds = _run_sweep(argv)
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    assert rc == 2 and errors == ["error: the local Ray has cpus 1, gpus 0, too few for wide (cpus 2, gpus 0): "
                                  "raise --local-workers / --local-gpus, or lower the sweep file's resources"], output
    assert glob.glob(os.path.join(out, "trials", "*", "*")) == []


def test_local_ray_listens_on_loopback_only():
    """run_sweep.py's default: a Ray started in the process, every server of it on 127.0.0.1."""
    script = ("import sys; from sweeps import ray_runner; ray = ray_runner.init_ray(None, local_workers=1); "
              "ray.get(ray.remote(lambda: 1).remote()); print('ready', flush=True); sys.stdin.read(); ray.shutdown()")
    env = {k: v for k, v in subprocess_env().items() if not k.startswith("RAY_")}    # as a user's shell would be
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout.readline().strip() == b"ready", proc.stderr.read().decode()[-3000:]
        addresses = _listening_sockets(_descendants(proc.pid))
        assert len(addresses) >= 3      # at least the GCS, the raylet and a worker
        assert all(a.is_loopback or (a.version == 6 and a.ipv4_mapped and a.ipv4_mapped.is_loopback)
                   for a in addresses), addresses
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
