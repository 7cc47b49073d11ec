"""One trial of a sweep, run in its own folder: train (or resume) with run_training.py, then compute each metric
group with run_metrics.py on the final snapshot. Both are subprocesses that die with the process running the
trial (Linux: PR_SET_PDEATHSIG), so a trial retried after its Ray worker was lost never races an orphan.

Trial folder (``<out>/trials/<name>.<key>/``; a rerun with the same key continues it):
  trial.json     the trial's settings and key (written by run_sweep.py before the first attempt)
  attempts.json  one entry per start: time, host, pid
  train/         run_training.py --result-dir (one run folder, continued by --resume latest)
  train.log, metrics.log   the subprocesses' output, appended across attempts
  metrics/       metric-<name>.json / .txt of run_metrics.py
  child.json     the running subprocess (pid, host, start ticks), removed when it ends
Nothing here imports Ray: ray_runner.py calls run_trial() inside a task; it also runs on its own.
"""

import glob
import json
import os
import signal
import socket
import subprocess
import sys
import time

from dnnlib import util

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOG_TAIL_LINES = 15
# Runs in the child before exec: from here on the kernel kills it when the thread that started it dies.
DEATH_SIGNAL_LAUNCHER = (
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # 1 = PR_SET_PDEATHSIG\n"
    "if os.getppid() != int(sys.argv[1]):  # the parent died before prctl took effect\n"
    "    os._exit(137)\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)


def _log_tail(path, lines=LOG_TAIL_LINES):
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - 64 * 1024))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join([l for l in text.splitlines() if l.strip()][-lines:])


def _alive_as_recorded(record):
    """True when the process of a child.json record still runs on this host (same pid and start time)."""
    if record.get("host") != socket.gethostname():
        return False
    try:
        return bool(record["start_ticks"]) and util.process_start_ticks(record["pid"]) == record["start_ticks"]
    except (OSError, KeyError, ValueError, IndexError):
        return False


def kill_leftover_child(trial_dir, log=None):
    """Kill the process group of a subprocess an earlier attempt left running on this host (only possible
    without PR_SET_PDEATHSIG, e.g. not on Linux). Returns True when there was one."""
    path = os.path.join(trial_dir, "child.json")
    try:
        with open(path) as f:
            record = json.load(f)
    except (OSError, ValueError):
        return False
    found = _alive_as_recorded(record)
    if found:
        if log:
            log("killing the leftover subprocess %d of an earlier attempt" % record["pid"])
        try:
            os.killpg(record["pid"], signal.SIGKILL)
        except OSError:
            pass
        deadline = time.time() + 30
        while _alive_as_recorded(record) and time.time() < deadline:
            time.sleep(0.1)
    os.remove(path)
    return found


def run_child(cmd, log_path, trial_dir, env):
    """Run ``cmd`` (cwd: the repository) with its output appended to ``log_path``, in a process group of its own
    that dies with this thread. Returns the exit status (negative: killed by that signal)."""
    launcher = []
    if sys.platform.startswith("linux"):
        launcher = [sys.executable, "-S", "-c", DEATH_SIGNAL_LAUNCHER, str(os.getpid())]
    with open(log_path, "ab") as log:
        log.write(("\n=== %s on %s: %s\n" % (time.strftime("%Y-%m-%d %H:%M:%S"), socket.gethostname(),
                                              " ".join(cmd))).encode("utf-8"))
        log.flush()
        proc = subprocess.Popen(launcher + cmd, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)
    record = dict(pid=proc.pid, host=socket.gethostname(), start_ticks=util.process_start_ticks(proc.pid), cmd=cmd)
    with util.atomic_write(os.path.join(trial_dir, "child.json"), "w") as f:
        json.dump(record, f)
    try:
        return proc.wait()
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)     # anything it started; also when this thread is interrupted
        except OSError:
            pass
        proc.wait()
        try:
            os.remove(os.path.join(trial_dir, "child.json"))
        except OSError:
            pass


def child_env(trial):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if not trial.resources.get("gpus"):
        env["CUDA_VISIBLE_DEVICES"] = ""     # a CPU trial leaves the GPUs to the trials that asked for them
    return env


def finished_run(train_dir):
    """The run folder under ``train_dir`` holding network-final.pkl (the newest if several), or None."""
    done = sorted(glob.glob(os.path.join(train_dir, "*", "network-final.pkl")))
    return os.path.dirname(done[-1]) if done else None


def _read_attempts(trial_dir):
    try:
        with open(os.path.join(trial_dir, "attempts.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return []


def _write_attempts(trial_dir, attempts):
    with util.atomic_write(os.path.join(trial_dir, "attempts.json"), "w") as f:
        json.dump(attempts, f, indent=1)


def _record_attempt(trial_dir):
    """Append this attempt to attempts.json; an earlier attempt that never ended (its worker was lost) gets the
    time of its last log line as its end. Returns the number of attempts, this one included."""
    attempts = _read_attempts(trial_dir)
    if attempts and "ended" not in attempts[-1]:
        logs = [os.path.join(trial_dir, n) for n in ("train.log", "metrics.log")]
        attempts[-1]["ended"] = max([os.path.getmtime(p) for p in logs if os.path.exists(p)] or [attempts[-1]["started"]])
        attempts[-1]["lost"] = True
    attempts.append(dict(started=time.time(), host=socket.gethostname(), pid=os.getpid()))
    _write_attempts(trial_dir, attempts)
    return len(attempts)


def _update_attempt(trial_dir, **fields):
    attempts = _read_attempts(trial_dir)
    attempts[-1].update(fields)
    _write_attempts(trial_dir, attempts)
    return attempts


def train_seconds_total(attempts):
    """Seconds of training over all attempts (a lost attempt counts until its last log line)."""
    return sum(a.get("train_ended", a.get("ended", a["train_started"])) - a["train_started"]
               for a in attempts if "train_started" in a)


def _metric_done(metrics_dir, name, pkl):
    path = os.path.join(metrics_dir, "metric-%s.json" % name)
    try:
        with open(path) as f:
            return os.path.abspath(json.load(f).get("network_pkl", "")) == os.path.abspath(pkl)
    except (OSError, ValueError, AttributeError):
        return False


def run_trial(trial, trial_dir, log=None):
    """Train and score one trial in ``trial_dir``; resumes what an earlier attempt left. ``trial``: an entry of
    sweeps.spec.expand_trials with key and flags resolved. Returns a result dict (status 'ok' or 'failed', with
    the log tail of what failed); a failing subprocess is a result, not an exception."""
    from sweeps import spec

    os.makedirs(trial_dir, exist_ok=True)
    kill_leftover_child(trial_dir, log)
    result = dict(name=trial.name, key=trial.key, status="ok", error=None, log_tail=None, host=socket.gethostname(),
                  machine=util.machine_info(),
                  attempts=_record_attempt(trial_dir), task_started=time.time(), train_started=None,
                  train_ended=None, train_seconds=None, metrics={}, metric_seconds={})
    env = child_env(trial)
    train_dir = os.path.join(trial_dir, "train")
    run_dir = finished_run(train_dir)
    if run_dir is None:
        cmd = ([trial.python_path, os.path.join(REPO_ROOT, "run_training.py")] + spec.training_argv(trial.train)
               + ["--result-dir", train_dir, "--resume", "latest"])
        result["train_started"] = time.time()
        _update_attempt(trial_dir, train_started=result["train_started"])
        code = run_child(cmd, os.path.join(trial_dir, "train.log"), trial_dir, env)
        result["train_ended"] = time.time()
        result["train_seconds"] = result["train_ended"] - result["train_started"]
        _update_attempt(trial_dir, train_ended=result["train_ended"])
        run_dir = finished_run(train_dir)
        if code != 0 or run_dir is None:
            return dict(result, status="failed", log_tail=_log_tail(os.path.join(trial_dir, "train.log")),
                        error="training %s" % ("exited %d" % code if code > 0 else "killed by signal %d" % -code
                                               if code < 0 else "ended without network-final.pkl"))
    pkl = os.path.join(run_dir, "network-final.pkl")
    metrics_dir = os.path.join(trial_dir, "metrics")
    for group in trial.metrics:
        if all(_metric_done(metrics_dir, n, pkl) for n in group["metrics"]):
            continue
        cmd = ([trial.python_path, os.path.join(REPO_ROOT, "run_metrics.py"), "--network_pkl", pkl, "--result-dir",
                metrics_dir, "--quiet"] + spec.metric_argv(group))
        code = run_child(cmd, os.path.join(trial_dir, "metrics.log"), trial_dir, env)
        if code != 0:
            return dict(result, status="failed", log_tail=_log_tail(os.path.join(trial_dir, "metrics.log")),
                        error="run_metrics.py --metrics %s %s" % (",".join(group["metrics"]),
                                                                  "exited %d" % code if code > 0 else
                                                                  "killed by signal %d" % -code))
    for group in trial.metrics:
        for name in group["metrics"]:
            with open(os.path.join(metrics_dir, "metric-%s.json" % name)) as f:
                record = json.load(f)
            result["metrics"][name] = float(record["value"])
            result["metric_seconds"][name] = float(record["seconds"])
    result.update(run_dir=os.path.relpath(run_dir, trial_dir), task_ended=time.time())
    attempts = _update_attempt(trial_dir, ended=result["task_ended"])
    result.update(train_seconds_total=train_seconds_total(attempts),
                  seconds_total=sum(a["ended"] - a["started"] for a in attempts))
    return result
