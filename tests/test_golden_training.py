"""Golden weights: every model type, trained a few steps on one thread with a fixed seed, must give the trainable
weights it gave when the fixture was written -- the guard for refactoring the training code.

For each of the 7 model types the test trains ``STEPS`` optimiser steps (tiny networks, a 16x16 dataset) in a
subprocess and compares every trainable variable of ``network-final.pkl`` with
``tests/fixtures/golden_training/<runtime>.json``. TF 1.15 and TF 2.x sum in different orders, so each runtime
(TensorFlow major.minor) has its own fixture; a runtime without one is skipped, saying so.

Two strengths of comparison, because float32 kernels differ between CPUs (oneDNN and Eigen pick code paths by
instruction set: the first CI machine matched every fixture only to ~1e-7 relative):
- on the CPU that wrote the fixture (same model name and instruction-set flags) the weights must match bit for bit
  (sha256 of their float32 bytes);
- on any other CPU each variable's sum, L2 norm and a fixed random projection must agree within ``RTOL`` of the
  network's scale (``differing_variables``): round-off passes, a change of training does not.

Write or refresh a runtime's fixture -- only when a change is *meant* to change the numbers, and say so in the
commit -- with:  VPDIS_WRITE_GOLDEN=1 python -m pytest tests/test_golden_training.py
"""

import hashlib
import json
import os
import sys
import zlib

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


RTOL = 1e-4                # of a network's scale, off the fixture's CPU (differing_variables)


def runtime_key():
    from dnnlib.tflib.compat import tf

    return "tf" + ".".join(tf.__version__.split(".")[:2])


def cpu_fingerprint():
    """sha256 (16 hex digits) of this CPU's model name and instruction-set flags (/proc/cpuinfo), with the exact
    TensorFlow version: two machines with the same fingerprint run the same float32 kernels."""
    from dnnlib.tflib.compat import tf

    fields = {}
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "flags") and key.strip() not in fields:
                    fields[key.strip()] = " ".join(sorted(value.split()))
    text = "%s|%s|%s" % (tf.__version__, fields.get("model name", ""), fields.get("flags", ""))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def variable_digest(name, value):
    """{sha256, size, sum, l2, projection} of one variable: the sha256 of its float32 bytes and three float64
    statistics, the last its dot product with a fixed standard-normal vector seeded by the variable's name."""
    value = np.ascontiguousarray(value, dtype=np.float32)
    flat = value.reshape(-1).astype(np.float64)
    direction = np.random.RandomState(zlib.crc32(name.encode()) & 0x7FFFFFFF).standard_normal(flat.size)
    return dict(sha256=hashlib.sha256(value.tobytes()).hexdigest(), size=int(flat.size), sum=float(flat.sum()),
                l2=float(np.sqrt(np.dot(flat, flat))), projection=float(np.dot(flat, direction)))


def network_rms(digests):
    """{network: RMS of all its trainable weights} from a {network/variable: digest} dict."""
    sums = {}
    for key, d in digests.items():
        total = sums.setdefault(key.split("/")[0], [0.0, 0])
        total[0] += d["l2"] ** 2
        total[1] += d["size"]
    return {net: float(np.sqrt(sq / max(n, 1))) for net, (sq, n) in sums.items()}


def differing_variables(have, want, rtol=RTOL):
    """['name (what differs)'] of the variables whose digests in ``have`` do not match ``want`` within ``rtol``.

    A variable of ``size`` weights is compared on the scale RMS(network) x sqrt(size): what its sum, L2 norm and
    projection would be if its weights had the network's typical size. Round-off has random signs and adds up like
    a random walk on that scale (measured: <= 1.4e-6 of it, TF 2.21 with oneDNN on vs off); a change of training
    moves it by far more (beta 1 vs 10: up to 7e-2). Per-variable norms would not do: a bias a few Adam steps from
    zero is all round-off."""
    rms = network_rms(want)
    differ = []
    for name in sorted(want):
        h, w = have[name], want[name]
        if h["sha256"] == w["sha256"]:
            continue
        if h["size"] != w["size"]:
            differ.append("%s (size %d, fixture %d)" % (name, h["size"], w["size"]))
            continue
        bound = rtol * max(rms[name.split("/")[0]], 1e-12) * np.sqrt(w["size"])
        off = ["%s %.9g, fixture %.9g" % (k, h[k], w[k]) for k in ("sum", "l2", "projection")
               if abs(h[k] - w[k]) > bound]
        if off:
            differ.append("%s (%s)" % (name, "; ".join(off)))
    return differ


def weight_digests(pkl_path):
    """{network/variable: variable_digest} of every trainable of a pickle."""
    from dnnlib import tflib
    from dnnlib.tflib.compat import tf
    from training import snapshots

    digests = {}
    with tf.Graph().as_default(), tflib.create_session().as_default():
        for net in snapshots.load_snapshot(pkl_path).networks.values():
            names = sorted(net.trainables)
            for name, value in zip(names, tflib.run([net.trainables[n] for n in names])):
                key = "%s/%s" % (net.name, name)
                digests[key] = variable_digest(key, value)
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
        fixture = dict(steps=STEPS, minibatch=MINIBATCH, cpu_fingerprint=cpu_fingerprint(), models={m: weight_digests(p) for m, p in sorted(trained.items())})
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
    if golden["cpu_fingerprint"] == cpu_fingerprint():       # the fixture's own CPU: bit for bit
        differ = ["%s (sum %.9g, fixture %.9g)" % (name, have[name]["sum"], want[name]["sum"])
                  for name in sorted(want) if have[name]["sha256"] != want[name]["sha256"]]
        how = "bit for bit, on the CPU that wrote the fixture"
    else:
        differ = differing_variables(have, want)
        how = "within %g of the network's scale, on another CPU than the fixture's" % RTOL
    assert not differ, "%d of %d %s variables differ from the golden fixture (%s): %s" % (
        len(differ), len(want), model, how, "; ".join(differ[:5]))


def test_weight_digests_see_a_one_ulp_change(trained, tmp_path):
    """The strict comparison is bit for bit: the smallest change of one weight changes its sha256."""
    import pickle

    from dnnlib import tflib
    from dnnlib.tflib.compat import tf
    from training import snapshots

    with tf.Graph().as_default(), tflib.create_session().as_default():
        nets = snapshots.load_snapshot(trained["vae"])
        E = nets.networks["E"]
        name = sorted(E.trainables)[0]
        value = tflib.run(E.trainables[name])
        flat = value.reshape(-1)
        flat[0] = np.nextafter(flat[0], np.float32(np.inf))
        tflib.set_vars({E.trainables[name]: value})
        with open(str(tmp_path / "bumped.pkl"), "wb") as f:
            pickle.dump(dict(nets), f)
    before, after = weight_digests(trained["vae"]), weight_digests(str(tmp_path / "bumped.pkl"))
    changed = [k for k in before if before[k]["sha256"] != after[k]["sha256"]]
    assert changed == ["E/%s" % name]


def test_tolerant_comparison_passes_round_off_and_catches_a_training_change(trained):
    """Off the fixture's CPU: a few ulps on every weight pass; 1% of the network's RMS on every weight does not,
    nor do the beta-VAE's weights (the VAE's networks, seed and data, another KL weight) pass as the plain VAE's."""
    from dnnlib import tflib
    from dnnlib.tflib.compat import tf
    from training import snapshots

    vae, beta_vae = weight_digests(trained["vae"]), weight_digests(trained["beta_vae"])
    rms = network_rms(vae)
    rng = np.random.RandomState(0)
    noisy, shifted = {}, {}
    with tf.Graph().as_default(), tflib.create_session().as_default():
        for net in snapshots.load_snapshot(trained["vae"]).networks.values():
            for name in sorted(net.trainables):
                key, value = "%s/%s" % (net.name, name), tflib.run(net.trainables[name]).astype(np.float64)
                ulps = value * rng.uniform(-4, 4, size=value.shape) * np.finfo(np.float32).eps
                noisy[key] = variable_digest(key, (value + ulps).astype(np.float32))
                step = 1e-2 * rms[net.name] * rng.standard_normal(value.shape)
                shifted[key] = variable_digest(key, (value + step).astype(np.float32))
    assert any(noisy[k]["sha256"] != vae[k]["sha256"] for k in vae)
    assert differing_variables(noisy, vae) == []
    assert len(differing_variables(shifted, vae)) == len(vae)
    assert sorted(vae) == sorted(beta_vae)
    assert len(differing_variables(beta_vae, vae)) >= len(vae) // 4
