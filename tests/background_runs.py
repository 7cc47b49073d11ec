"""Training runs in subprocesses, started in the background and awaited by tests (shared by the
GAN and VAE training tests)."""

import glob
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN_TIMEOUT = 420  # seconds for any one training subprocess (2 slow CPU cores, several in parallel)


def env():
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONUNBUFFERED"] = "1"
    env["CUDA_VISIBLE_DEVICES"] = ""
    return env


def dsprites_data(tmp_path_factory, name, max_images):
    """A procedural dSprites tfrecord folder <tmp>/<name>N/dsprites of ``max_images`` images (seed 0); returns
    its parent, the --data-dir of training runs."""
    path = str(tmp_path_factory.mktemp(name))
    subprocess.check_call([sys.executable, "dataset_tool.py", "create_dsprites", os.path.join(path, "dsprites"),
                           "--max_images", str(max_images), "--seed", "0"], cwd=REPO, env=env(),
                          stdout=subprocess.DEVNULL)
    return path


def read(path):
    with open(path, "r", errors="replace") as f:
        return f.read()


class Proc(object):
    def __init__(self, name, argv, result_dir, log_dir):
        self.name, self.argv, self.result_dir = name, argv, result_dir
        self.out_path = os.path.join(log_dir, name + ".out")
        self.err_path = os.path.join(log_dir, name + ".err")
        self.start = time.time()
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.popen = subprocess.Popen(argv, cwd=REPO, stdout=out, stderr=err, env=env())
        self.seconds = None

    def wait(self, timeout=RUN_TIMEOUT):
        try:
            self.popen.wait(timeout=max(1.0, timeout - (time.time() - self.start)))
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail("run %s did not finish in %d s; stderr tail:\n%s" % (self.name, timeout, read(self.err_path)[-3000:]))
        if self.seconds is None:
            self.seconds = time.time() - self.start
        return self

    def kill(self):
        if self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGKILL)
            self.popen.wait()

    @property
    def rc(self):
        return self.popen.returncode

    @property
    def out(self):
        return read(self.out_path)

    @property
    def err(self):
        return read(self.err_path)

    def run_dirs(self):
        return sorted(d for d in glob.glob(os.path.join(self.result_dir, "0*")) if os.path.isdir(d))

    def check_ok(self):
        assert self.rc == 0, "run %s exited %s\nstdout tail:\n%s\nstderr tail:\n%s" % (
            self.name, self.rc, self.out[-3000:], self.err[-3000:])
        return self


class Runs(object):
    """Named background runs; ``train_argv(data_dir, result_dir, model, *extra)`` builds a command line."""

    def __init__(self, root, data_dir, train_argv):
        self.root, self.data_dir, self.train_argv = root, data_dir, train_argv
        self.logs = os.path.join(root, "logs")
        os.makedirs(self.logs)
        self.procs = {}
        self.events = {}
        self.info = {}
        self.threads = []

    def start(self, name, model, *extra):
        result_dir = os.path.join(self.root, name)
        self.procs[name] = Proc(name, self.train_argv(self.data_dir, result_dir, model, *extra), result_dir, self.logs)
        return self.procs[name]

    def in_background(self, name, func):
        self.events[name] = threading.Event()

        def body():
            try:
                func()
            except BaseException as exc:  # reported by wait_for()
                self.info[name + ":error"] = repr(exc)
            finally:
                self.events[name].set()

        thread = threading.Thread(target=body, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def wait_for(self, name, timeout=2 * RUN_TIMEOUT):
        assert self.events[name].wait(timeout), "background step %s did not finish" % name
        assert name + ":error" not in self.info, "background step %s failed: %s" % (name, self.info[name + ":error"])

    def close(self):
        for proc in self.procs.values():
            proc.kill()
        for thread in self.threads:
            thread.join(timeout=5)
