"""A dataset export or a pair folder killed mid-write leaves nothing that looks complete, and the next run of
the same command removes the staging folder it left (and says so); a training run killed while writing a
snapshot file resumes from the snapshot before it, bit for bit like a clean resume."""

import glob
import os
import signal
import subprocess
import sys
import time

import numpy as np
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


@pytest.mark.slow
def test_killed_dsprites_export_is_reclaimed_by_the_next_run(tmp_path):
    target = str(tmp_path / "dsprites")
    staged = _kill_once_staging_appears([sys.executable, "dataset_tool.py", "create_dsprites", target,
                                         "--max_images", "200000"], target)
    assert not os.path.exists(target)                     # nothing looks complete
    err = _rerun([sys.executable, "dataset_tool.py", "create_dsprites", target, "--max_images", "40",
                  "--progress", "0"])
    assert "removed stale staging %s" % staged in err
    assert glob.glob(target + ".tmp-*") == [] and os.path.isdir(target)


@pytest.mark.slow
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


# ----------------------------------------------------------------------------------------------
# Training killed while writing a snapshot file


KILL_TICK_KIMG = 0.016   # 2 steps of 8 images: snapshots at 0.016, 0.032, 0.048 kimg
KILL_FLAGS = ["--model_type", "vae", "--latent_size", "3", "--minibatch-size", "8", "--kimg-per-tick", str(KILL_TICK_KIMG),
              "--snapshot-ticks", "1", "--cpu-threads", "1", "--seed", "4", "--n_samples_per", "2"]


def _run_training(flags, victim=None):
    argv = [sys.executable] + ([os.path.join("tests", "kill_during_write.py"), victim, "--"] if victim else
                               ["run_training.py"]) + flags
    return subprocess.run(argv, cwd=REPO, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=300)


@pytest.fixture(scope="module")
def kill_data(tmp_path_factory):
    from training.tfrecord_export import TFRecordExporter

    data_dir = str(tmp_path_factory.mktemp("kill_data"))
    images = np.zeros([32, 1, 16, 16], np.uint8)
    for i in range(len(images)):
        images[i, 0, i % 11:i % 11 + 5, (3 * i) % 11:(3 * i) % 11 + 5] = 255
    with TFRecordExporter(os.path.join(data_dir, "kill"), len(images), progress=False) as tfr:
        tfr.add_images(images)
    return data_dir


def test_training_killed_during_each_snapshot_file_resumes_bit_for_bit(kill_data, tmp_path):
    """SIGKILL while the 0.032-kimg .state is written, and while its .pkl is written: each run resumes from the
    0.016-kimg snapshot, reclaims the staging file, and ends with exactly the weights of a clean resume from it."""
    from tests.test_golden_training import weight_digests

    def flags(result_dir, total_kimg, *extra):
        return (["--data-dir", kill_data, "--dataset", "kill", "--result-dir", str(result_dir),
                 "--total-kimg", str(total_kimg)] + KILL_FLAGS + list(extra))

    clean = tmp_path / "clean"      # the reference: stop cleanly at 0.016 kimg, then resume to the end
    assert _run_training(flags(clean, KILL_TICK_KIMG)).returncode == 0
    (clean_dir,) = glob.glob(str(clean / "0*"))
    done = _run_training(flags(clean, 3 * KILL_TICK_KIMG, "--resume", clean_dir))
    assert done.returncode == 0, done.stderr[-3000:]
    want = weight_digests(os.path.join(clean_dir, "network-final.pkl"))

    for victim in ("network-snapshot-000000.032.state", "network-snapshot-000000.032.pkl"):
        result = tmp_path / victim.replace(".", "_")
        killed = _run_training(flags(result, 3 * KILL_TICK_KIMG), victim=victim)
        assert killed.returncode == -signal.SIGKILL, (victim, killed.returncode, killed.stderr[-2000:])
        (run_dir,) = glob.glob(str(result / "0*"))
        names = sorted(os.listdir(run_dir))
        staged = [n for n in names if n.startswith(victim + ".tmp-")]
        assert len(staged) == 1 and os.path.getsize(os.path.join(run_dir, staged[0])) > 0, names
        assert victim not in names and "network-snapshot-000000.032.pkl" not in names, names
        assert "network-snapshot-000000.016.pkl" in names and "network-final.pkl" not in names, names

        resumed = _run_training(flags(result, 3 * KILL_TICK_KIMG, "--resume", "latest"))
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        assert "network-snapshot-000000.016.pkl (kimg 0.016)" in resumed.stdout, resumed.stdout[-2000:]
        assert not [n for n in os.listdir(run_dir) if ".tmp-" in n], sorted(os.listdir(run_dir))
        assert "removed" in (resumed.stdout + resumed.stderr).lower(), "the reclaimed staging file is not reported"
        have = weight_digests(os.path.join(run_dir, "network-final.pkl"))
        assert have == want, "%s: the resumed weights differ from a clean resume" % victim
