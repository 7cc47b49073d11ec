"""A dataset export or a pair folder killed mid-write leaves nothing that looks complete, and the next run of
the same command removes the staging folder it left (and says so)."""

import glob
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.background_runs import REPO, env


def _kill_once_staging_appears(argv, target, timeout=120):
    """Start argv, SIGKILL it as soon as a ``<target>.tmp-*`` staging folder holds a file; return that folder."""
    proc = subprocess.Popen(argv, cwd=REPO, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            staged = [d for d in glob.glob(target + ".tmp-*") if os.path.isdir(d) and os.listdir(d)]
            if staged:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                return staged[0]
            if proc.poll() is not None:
                pytest.fail("the command ended (%s) before it was killed:\n%s" % (proc.returncode,
                                                                                proc.stderr.read().decode()[-2000:]))
            time.sleep(0.05)
        pytest.fail("no staging folder appeared within %d s" % timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _rerun(argv):
    proc = subprocess.run(argv, cwd=REPO, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stderr


def test_killed_dsprites_export_is_reclaimed_by_the_next_run(tmp_path):
    target = str(tmp_path / "dsprites")
    staged = _kill_once_staging_appears([sys.executable, "dataset_tool.py", "create_dsprites", target,
                                         "--max_images", "200000"], target)
    assert not os.path.exists(target)                     # nothing looks complete
    err = _rerun([sys.executable, "dataset_tool.py", "create_dsprites", target, "--max_images", "40",
                  "--progress", "0"])
    assert "removed stale staging %s" % staged in err
    assert glob.glob(target + ".tmp-*") == [] and os.path.isdir(target)


def test_killed_pair_folder_is_reclaimed_by_the_next_run(tmp_path):
    target = str(tmp_path / "pairs")
    staged = _kill_once_staging_appears([sys.executable, "run_pair_imgs.py", "--network_pkl", "synthetic:perfect",
                                         "--n_imgs", "200000", "--batch_size", "200", "--result-dir", target],
                                        target)
    assert not os.path.exists(target)
    err = _rerun([sys.executable, "run_pair_imgs.py", "--network_pkl", "synthetic:perfect@32", "--n_imgs", "20",
                  "--result-dir", target])
    assert "removed stale staging %s" % staged in err
    assert glob.glob(target + ".tmp-*") == [] and len(glob.glob(os.path.join(target, "pair_*.jpg"))) == 20
