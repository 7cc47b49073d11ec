"""Golden weights: every model type, trained a few steps on one thread with a fixed seed, must give exactly the
trainable weights it gave when the fixture was written -- the guard for refactoring the training code.

For each of the 7 model types the test trains ``STEPS`` optimiser steps (tiny networks, a 16x16 dataset) in a
subprocess and compares every trainable variable of ``network-final.pkl``, bit for bit (sha256 of its float32
bytes), with ``tests/fixtures/golden_training/<runtime>.json``. TF 1.15 and TF 2.x sum in different orders, so
each runtime (TensorFlow major.minor) has its own fixture; a runtime without one is skipped, saying so.

Write or refresh a runtime's fixture -- only when a change is *meant* to change the numbers, and say so in the
commit -- with:  VPDIS_WRITE_GOLDEN=1 python -m pytest tests/test_golden_training.py
"""

import hashlib
import json
import os
import sys

import numpy as np
import pytest

from tests.background_runs import REPO, Runs, read as _read

RES = 16
STEPS = 3
MINIBATCH = 8
FIXTURES = os.path.join(REPO, "tests", "fixtures", "golden_training")
GAN_MODULES = "[Conv-up-1, C_global-2, Conv-up-1, C_global-2, Noise-1]"     # 16x16, 4 continuous dims
COMMON = ["--minibatch-size", str(MINIBATCH), "--total-kimg", str(STEPS * MINIBATCH / 1000.0), "--kimg-per-tick", "1",
          "--snapshot-ticks", "0", "--cpu-threads", "1", "--seed", "3", "--n_samples_per", "2"]
MODEL_FLAGS = {
    "vp_gan": ["--module_list", GAN_MODULES, "--fmap_base", "32", "--minibatch-gpu", str(MINIBATCH)],
    "gan": ["--module_list", GAN_MODULES, "--fmap_base", "32", "--minibatch-gpu", str(MINIBATCH)],
    "info_gan": ["--module_list", GAN_MODULES, "--fmap_base", "32", "--minibatch-gpu", str(MINIBATCH)],
    "vae": ["--latent_size", "3"],
    "beta_vae": ["--latent_size", "3"],
    "vp_vae": ["--latent_size", "3", "--delta_type", "onedim"],
    "factor_vae": ["--latent_size", "3"],
}


def runtime_key():
    from dnnlib.tflib.compat import tf

    return "tf" + ".".join(tf.__version__.split(".")[:2])


def weight_digests(pkl_path):
    """{network/variable: [sha256 of its float32 bytes, float64 sum]} of every trainable of a pickle."""
    from dnnlib import tflib
    from dnnlib.tflib.compat import tf
    from training import snapshots

    digests = {}
    with tf.Graph().as_default(), tflib.create_session().as_default():
        for net in snapshots.load_networks(pkl_path):
            names = sorted(net.trainables)
            for name, value in zip(names, tflib.run([net.trainables[n] for n in names])):
                value = np.ascontiguousarray(value, dtype=np.float32)
                digests["%s/%s" % (net.name, name)] = [hashlib.sha256(value.tobytes()).hexdigest(),
                                                      float(value.astype(np.float64).sum())]
    return digests


def _train_argv(data_dir, result_dir, model, *extra):
    return ([sys.executable, "run_training.py", "--data-dir", data_dir, "--dataset", "golden", "--result-dir", result_dir,
             "--model_type", model] + COMMON + MODEL_FLAGS[model] + list(extra))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """{model type: network-final.pkl} of the golden runs (all started at once, awaited in turn)."""
    from training.tfrecord_export import TFRecordExporter

    data_dir = str(tmp_path_factory.mktemp("golden_data"))
    rng = np.random.RandomState(5)
    images = np.zeros([64, 1, RES, RES], np.uint8)
    for i in range(len(images)):
        y, x = rng.randint(0, RES - 5, size=2)
        images[i, 0, y:y + 5, x:x + 5] = 255
    with TFRecordExporter(os.path.join(data_dir, "golden"), len(images), progress=False) as tfr:
        tfr.add_images(images)
    runs = Runs(str(tmp_path_factory.mktemp("golden_runs")), data_dir, _train_argv)
    try:
        for model in MODEL_FLAGS:
            runs.start(model, model)
        finals = {}
        for model in MODEL_FLAGS:
            proc = runs.procs[model].wait().check_ok()
            (run_dir,) = proc.run_dirs()
            assert "Training for %g kimg" % (STEPS * MINIBATCH / 1000.0) in _read(os.path.join(run_dir, "log.txt"))
            finals[model] = os.path.join(run_dir, "network-final.pkl")
        yield finals
    finally:
        runs.close()


@pytest.fixture(scope="module")
def golden(trained):
    """The fixture of this runtime ({model: digests}); written instead of read with VPDIS_WRITE_GOLDEN=1."""
    path = os.path.join(FIXTURES, "%s.json" % runtime_key())
    if os.environ.get("VPDIS_WRITE_GOLDEN") == "1":
        from dnnlib import util

        os.makedirs(FIXTURES, exist_ok=True)
        fixture = dict(steps=STEPS, minibatch=MINIBATCH, models={m: weight_digests(p) for m, p in sorted(trained.items())})
        with util.atomic_write(path, "w") as f:
            json.dump(fixture, f, indent=1, sort_keys=True)
    if not os.path.exists(path):
        pytest.skip("no golden fixture for %s (%s); write one with VPDIS_WRITE_GOLDEN=1" % (runtime_key(), path))
    with open(path) as f:
        return json.load(f)


@pytest.mark.parametrize("model", sorted(MODEL_FLAGS))
def test_trained_weights_match_the_golden_fixture(trained, golden, model):
    assert golden["steps"] == STEPS and golden["minibatch"] == MINIBATCH
    want, have = golden["models"][model], weight_digests(trained[model])
    assert sorted(have) == sorted(want), "the networks' variables changed: %s" % sorted(set(have) ^ set(want))
    differ = ["%s (sum %.9g, fixture %.9g)" % (name, have[name][1], want[name][1])
              for name in sorted(want) if have[name][0] != want[name][0]]
    assert not differ, "%d of %d %s variables differ from the golden fixture: %s" % (
        len(differ), len(want), model, "; ".join(differ[:5]))


def test_weight_digests_see_a_one_ulp_change(trained, tmp_path):
    """The comparison is bit for bit: the smallest change of one weight changes its digest."""
    import pickle

    from dnnlib import tflib
    from dnnlib.tflib.compat import tf
    from training import snapshots

    with tf.Graph().as_default(), tflib.create_session().as_default():
        nets = snapshots.load_networks(trained["vae"])
        E = nets[0]
        name = sorted(E.trainables)[0]
        value = tflib.run(E.trainables[name])
        flat = value.reshape(-1)
        flat[0] = np.nextafter(flat[0], np.float32(np.inf))
        tflib.set_vars({E.trainables[name]: value})
        with open(str(tmp_path / "bumped.pkl"), "wb") as f:
            pickle.dump(nets, f)
    before, after = weight_digests(trained["vae"]), weight_digests(str(tmp_path / "bumped.pkl"))
    changed = [k for k in before if before[k][0] != after[k][0]]
    assert changed == ["E/%s" % name]
