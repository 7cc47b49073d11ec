"""VP-VAE and its baselines (vae, beta_vae, factor_vae): networks, the loss decomposition checked in
numpy, gradient routing, CLI defaults, short training runs with snapshots / grids / resume /
divergence, and pair generation from a VAE pickle (CPU, NHWC, 64x64 procedural dSprites).

Training runs are subprocesses of run_training.py started together by one module-scoped fixture;
the in-process tests run while they train.
"""

import glob
import json
import os
import re
import shutil
import signal
import sys
import time

import numpy as np
import PIL.Image
import pytest

from dnnlib import tflib
from dnnlib.tflib.compat import tf
from training import loss_vae, snapshots
from tests.background_runs import REPO, RUN_TIMEOUT, Proc, read as _read
from tests import background_runs

RES = 64
LATENT = 6
SNAPSHOT_RE = snapshots.SNAPSHOT_RE
TUPLES = {"vae": ["E", "Dec"], "beta_vae": ["E", "Dec"], "vp_vae": ["E", "Dec", "I"],      # snapshot networks
          "factor_vae": ["E", "Dec", "TC"]}
# batch 20 and 0.1-kimg ticks: tick kimgs are exact in the log's %.1f format
COMMON = ["--minibatch-size", "20", "--kimg-per-tick", "0.1", "--snapshot-ticks", "1", "--cpu-threads", "1",
          "--n_samples_per", "5"]
N_COLS = 5


def _net(name, func, **kwargs):
    return tflib.Network(name, func_name="training.networks_vae." + func, **kwargs)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _log_softmax(x):
    x = x - x.max(axis=1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=1, keepdims=True))


def _binary_images(n, seed=0):
    rng = np.random.RandomState(seed)
    images = np.zeros([n, RES, RES, 1], np.float32)
    for i in range(n):
        y, x = rng.randint(0, RES - 12, size=2)
        images[i, y:y + rng.randint(4, 12), x:x + rng.randint(4, 12)] = 1.0
    return images


def _vae_nets(with_I=True, with_TC=False, data_format="NHWC"):
    kw = dict(num_channels=1, resolution=RES, data_format=data_format)
    E = _net("E", "vae_encoder", latent_size=LATENT, **kw)
    Dec = _net("Dec", "vae_decoder", latent_size=LATENT, latent_type="uniform", label_size=0, **kw)
    I = _net("I", "vae_recognizer", num_outputs=LATENT, **kw) if with_I else None
    TC = _net("TC", "tc_discriminator", latent_size=LATENT) if with_TC else None
    return E, Dec, I, TC


# ----------------------------------------------------------------------------------------------
# Background training runs (started first; the in-process tests below overlap with them)


def _train_argv(data_dir, result_dir, model, *extra):
    return [sys.executable, "run_training.py", "--data-dir", data_dir, "--dataset", "dsprites", "--result-dir", result_dir,
            "--model_type", model] + COMMON + list(extra)


def _resume_sequence(runs):
    """A 1.2-kimg vp_vae run, SIGKILLed once its first snapshot exists, then rerun with --resume latest."""
    first = runs.start("resume1", "vp_vae", "--total-kimg", "1.2", "--delta_type", "onedim")
    deadline = time.time() + RUN_TIMEOUT
    found = None
    while found is None:
        assert time.time() < deadline, "no snapshot within %d s" % RUN_TIMEOUT
        if first.popen.poll() is not None:
            raise AssertionError("resume1 exited (rc %s) before it could be killed:\n%s" % (first.popen.returncode, _read(first.err_path)[-3000:]))
        for run_dir in first.run_dirs():
            if any(SNAPSHOT_RE.match(n) for n in os.listdir(run_dir)):
                found = run_dir
        time.sleep(0.05)
    os.kill(first.popen.pid, signal.SIGKILL)
    first.popen.wait()
    runs.info["resume.run_dir"] = found
    runs.info["resume.listing"] = sorted(os.listdir(found))
    latest = snapshots.latest_snapshot(found)
    runs.info["resume.state"] = snapshots.load_state(latest[2])
    runs.info["resume.log_before"] = _read(os.path.join(found, "log.txt"))
    second = Proc("resume2", first.argv + ["--resume", "latest"], first.result_dir, runs.logs)
    runs.procs["resume2"] = second
    second.wait()


def _pairs_sequence(runs):
    src = runs.procs["vp_vae"].wait()
    if src.popen.returncode != 0:
        raise AssertionError("vp_vae run failed")
    pkl = os.path.join(src.run_dirs()[0], "network-final.pkl")
    out = os.path.join(runs.root, "pairs")
    argv = [sys.executable, "run_pair_imgs.py", "--network_pkl", pkl, "--n_imgs", "12", "--batch_size", "5",
            "--latent_type", "onedim", "--result-dir", out, "--n_continuous", str(LATENT)]
    proc = Proc("pairs", argv, out, runs.logs)
    runs.procs["pairs"] = proc
    proc.wait()
    runs.info["pairs.dir"] = out


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return background_runs.dsprites_data(tmp_path_factory, "vae_data", 256)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, data_dir):
    runs = background_runs.Runs(str(tmp_path_factory.mktemp("vae_runs")), data_dir, _train_argv)
    try:
        runs.in_background("resume", lambda: _resume_sequence(runs))
        runs.start("vp_vae", "vp_vae", "--total-kimg", "0.2")
        runs.start("vae", "vae", "--total-kimg", "0.2")
        runs.start("beta_vae", "beta_vae", "--total-kimg", "0.2", "--beta", "4")
        runs.start("factor_vae", "factor_vae", "--total-kimg", "0.2")
        runs.start("nan", "beta_vae", "--total-kimg", "0.3", "--learning-rate", "1e30")
        runs.in_background("pairs", lambda: _pairs_sequence(runs))
        yield runs
    finally:
        runs.close()


def test_background_runs_started(runs):
    assert all(p.popen.pid for p in runs.procs.values())


# ----------------------------------------------------------------------------------------------
# Networks


def test_network_shapes_and_parameter_counts(tf_session):
    E, Dec, I, TC = _vae_nets(with_TC=True)
    images = _binary_images(3)
    mean, std = E.run(images)
    assert mean.shape == std.shape == (3, LATENT) and (std > 0).all()
    out = Dec.run(mean, np.zeros([3, 0], np.float32))
    assert out.shape == (3, RES, RES, 1) and out.min() >= -1 and out.max() <= 1
    logits = Dec.run(mean, np.zeros([3, 0], np.float32), return_logits=True)
    np.testing.assert_allclose(out, 2 * _sigmoid(logits) - 1, atol=1e-5)
    assert I.run(logits, logits).shape == (3, LATENT)
    assert TC.run(mean).shape == (3, 2)
    # conv 4x4: (16*Cin + 1)*Cout; dense 1024->256, 256->2L
    body = (16 + 1) * 32 + (16 * 32 + 1) * 32 + (16 * 32 + 1) * 64 + (16 * 64 + 1) * 64 + (1024 + 1) * 256
    assert E.num_params() == body + (256 + 1) * 2 * LATENT
    assert I.num_params() == body + 16 * 32 + (256 + 1) * LATENT
    assert Dec.num_params() == ((LATENT + 1) * 256 + (256 + 1) * 1024 + (16 * 64 + 1) * 64 + (16 * 64 + 1) * 32
                                + (16 * 32 + 1) * 32 + (16 * 32 + 1) * 1)
    assert TC.num_params() == (LATENT + 1) * 1000 + 5 * 1001 * 1000 + 1001 * 2


def test_nchw_layout_gives_the_same_outputs(tf_session):
    E, Dec, I, _ = _vae_nets()
    E2, Dec2, I2 = (n.clone(n.name + "_nchw", data_format="NCHW") for n in (E, Dec, I))
    images = _binary_images(2, seed=3)
    nchw = images.transpose(0, 3, 1, 2)
    np.testing.assert_allclose(E2.run(nchw)[0], E.run(images)[0], rtol=1e-5, atol=1e-5)
    codes = np.random.RandomState(0).uniform(-2, 2, [2, LATENT]).astype(np.float32)
    labels = np.zeros([2, 0], np.float32)
    out = Dec.run(codes, labels, return_logits=True)
    out2 = Dec2.run(codes, labels, return_logits=True)
    np.testing.assert_allclose(out2, out.transpose(0, 3, 1, 2), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(I2.run(out2, out2[::-1]), I.run(out, out[::-1]), rtol=1e-5, atol=1e-5)


def test_representation_function_takes_nchw_observations(tf_session):
    from training.networks_vae import representation_function

    E, _, _, _ = _vae_nets(with_I=False)
    images = _binary_images(5, seed=5)
    got = representation_function(E, minibatch_size=2)(images.transpose(0, 3, 1, 2))
    assert got.dtype == np.float64 and got.shape == (5, LATENT)
    np.testing.assert_allclose(got, E.run(images)[0], rtol=1e-6, atol=1e-6)


def test_bad_resolution(tf_session):
    with pytest.raises(ValueError, match="divisible by 16"):
        _net("E", "vae_encoder", resolution=40)


# ----------------------------------------------------------------------------------------------
# The loss, recomputed in numpy


LOSS_CASES = [
    ("vp_vae", "fulldim", dict(beta=10.0, C_lambda=1.0, vc_epsilon=1.0)),
    ("vp_vae", "onedim", dict(beta=4.0, C_lambda=0.5)),
    ("vp_vae", "fulldim", dict(beta=1.0, C_lambda=2.0, vc_epsilon=3.0, l2_weight=1e-3)),
    ("factor_vae", None, dict(beta=1.0, tc_gamma=35.0)),
    ("beta_vae", None, dict(beta=10.0)),
]


@pytest.mark.parametrize("model,delta_type,args", LOSS_CASES, ids=["%s-%s-%d" % (m, d, i) for i, (m, d, _) in enumerate(LOSS_CASES)])
def test_loss_equals_sum_of_terms(tf_session, model, delta_type, args):
    E, Dec, I, TC = _vae_nets(with_I=model == "vp_vae", with_TC=model == "factor_vae")
    reals_np = _binary_images(8, seed=1)
    reals = tf.constant(reals_np)
    kw = dict(l2_weight=4e-5, delta_type=delta_type or "fulldim")
    kw.update(args)
    t = loss_vae.vae_loss(E, Dec, reals, I=I, TC=TC, **kw)
    kernels = [v for net in (E, Dec, I) if net is not None for name, v in net.trainables.items() if name.endswith("/weight")]
    fetch = dict(total=t.total, mean=t.mean, std=t.std, eps=t.eps, z=t.z, logits=t.logits, l2=t.l2, kernels=kernels)
    if I is not None:
        fetch.update(vp_logits=t.vp_logits, target=t.target, delta=t.delta)
    if TC is not None:
        fetch.update(tc_logits=t.tc_logits)
    v = tf_session.run(fetch)
    f64 = {k: np.asarray(x, np.float64) for k, x in v.items() if k != "kernels"}

    np.testing.assert_allclose(v["z"], v["mean"] + v["std"] * v["eps"], rtol=1e-5, atol=1e-6)
    # x1 = Dec(z): the logits are the decoder's output on the posterior sample
    np.testing.assert_allclose(Dec.run(v["z"], np.zeros([8, 0], np.float32), return_logits=True), v["logits"], rtol=1e-4, atol=1e-4)
    lg = f64["logits"]
    recon = np.sum((np.maximum(lg, 0) - lg * reals_np + np.log1p(np.exp(-np.abs(lg)))).reshape(8, -1), axis=1)
    m, s = f64["mean"], f64["std"]
    kl = 0.5 * (m ** 2 + s ** 2 - 1 - np.log(s ** 2 + 1e-8))
    l2 = kw["l2_weight"] * sum(np.sum(np.square(np.asarray(k, np.float64))) for k in v["kernels"]) / 2
    np.testing.assert_allclose(v["l2"], l2, rtol=1e-5)
    expected = recon.mean() + kw["beta"] * kl.mean(axis=0).sum() + l2
    if I is not None:
        target, delta, vl = f64["target"], f64["delta"], f64["vp_logits"]
        if delta_type == "onedim":
            assert ((target == 0) | (target == 1)).all() and (target.sum(axis=1) == 1).all()
            assert ((delta != 0) == (target == 1)).all()  # only the chosen dim moves
            vp = -kw["C_lambda"] * np.sum(target * np.log(np.exp(_log_softmax(vl)) + 1e-12), axis=1)
        else:
            assert ((target >= 0) & (target <= 1)).all()
            np.testing.assert_allclose(delta, (target - 0.5) * kw["vc_epsilon"], rtol=1e-5, atol=1e-6)
            vp = kw["C_lambda"] * np.sum((_sigmoid(vl) - target) ** 2, axis=1)
        # the pair is (Dec(z), Dec(z + delta)) as logit maps
        logits2 = Dec.run((f64["z"] + delta).astype(np.float32), np.zeros([8, 0], np.float32), return_logits=True)
        np.testing.assert_allclose(I.run(v["logits"], logits2), vl, rtol=1e-4, atol=1e-4)
        expected += vp.mean()
    if TC is not None:
        expected += kw["tc_gamma"] * np.mean(f64["tc_logits"][:, 0] - f64["tc_logits"][:, 1])
    np.testing.assert_allclose(v["total"], expected, rtol=2e-5)


def test_onedim_step_distribution(tf_session):
    delta, target = loss_vae.sample_vae_deltas(20000, LATENT, "onedim")
    d, t = tf_session.run([delta, target])
    steps = d[t == 1]
    assert steps.shape == (20000,) and abs(np.std(steps) - 2.0) < 0.05  # N(0, 2^2), no epsilon factor
    assert np.all(np.bincount(t.argmax(axis=1), minlength=LATENT) > 20000 / LATENT * 0.9)


def test_permute_dims_keeps_each_column(tf_session):
    z = np.arange(40, dtype=np.float32).reshape(10, 4)
    out = tf_session.run(loss_vae.permute_dims(tf.constant(z)))
    for j in range(4):
        assert sorted(out[:, j]) == sorted(z[:, j])
    assert not np.array_equal(out, z)


# ----------------------------------------------------------------------------------------------
# Gradient routing


def _grads(loss, net):
    names = list(net.trainables)
    return dict(zip(names, tf.gradients(loss, [net.trainables[n] for n in names])))


def test_vp_gradient_reaches_recognizer_decoder_and_encoder(tf_session):
    E, Dec, I, _ = _vae_nets()
    t = loss_vae.vae_loss(E, Dec, tf.constant(_binary_images(4, seed=2)), I=I, delta_type="onedim", summaries=False)
    vp = tf.reduce_mean(t.vp)
    for net in (I, Dec, E):
        grads = _grads(vp, net)
        assert all(g is not None for g in grads.values()), (net.name, [k for k, g in grads.items() if g is None])
        norms = tf_session.run({k: tf.norm(g) for k, g in grads.items() if k.endswith("weight")})
        assert all(n > 0 for n in norms.values()), (net.name, norms)
    # through the posterior sample only: the VP term depends on E via z
    assert tf.gradients(vp, [t.z])[0] is not None
    # the reconstruction and KL terms never reach the recognizer; KL does not reach the decoder
    assert all(g is None for g in _grads(tf.reduce_mean(t.recon), I).values())
    assert all(g is None for g in _grads(tf.reduce_sum(t.kl), I).values())
    assert all(g is None for g in _grads(tf.reduce_sum(t.kl), Dec).values())


def test_tc_discriminator_loss_does_not_reach_the_encoder(tf_session):
    E, Dec, _, TC = _vae_nets(with_I=False, with_TC=True)
    reals = tf.constant(_binary_images(6, seed=4))
    d_loss, accuracy = loss_vae.tc_discriminator_loss(E, TC, reals, summaries=False)
    assert all(g is None for g in _grads(d_loss, E).values())
    assert all(g is not None for g in _grads(d_loss, TC).values())
    value, acc = tf_session.run([d_loss, accuracy])
    assert np.isfinite(value) and 0 <= acc <= 1
    t = loss_vae.vae_loss(E, Dec, reals, TC=TC, summaries=False)
    assert all(g is not None for g in _grads(tf.reduce_mean(t.tc), E).values())  # the TC term trains the encoder


# ----------------------------------------------------------------------------------------------
# Generator-oriented tools on the decoder


def test_generator_plan_split_networks_and_pairs(tf_session):
    from metrics import pair_dataset

    E, Dec, I, TC = _vae_nets(with_TC=True)
    plan = pair_dataset.generator_plan(Dec)
    assert plan.discrete_size == 0 and plan.continuous_size == LATENT
    assert (plan.latent_type, plan.data_format, plan.label_size) == ("uniform", Dec.static_kwargs.data_format, 0)
    for nets, want_I, want_TC in (((E, Dec, Dec), None, None), ((E, Dec, I, Dec), I, None), ((E, Dec, TC, Dec), None, TC)):
        split = snapshots.split_networks(nets)
        assert split.kind == "vae" and split.E is E and split.Dec is Dec and split.Gs is Dec and split.G is Dec
        assert split.D is None and split.I is want_I and split.TC is want_TC
    pairs, labels = pair_dataset.generate_pairs(Dec, 7, seed=1, delta_type="onedim", batch_size=3, progress=False)
    assert pairs.shape == (7, RES, 2 * RES, 3) and pairs.dtype == np.uint8
    assert labels.shape == (7, LATENT) and ((labels != 0).sum(axis=1) == 1).all()
    assert np.abs(labels).max() <= 4  # U(-2, 2) prior


# ----------------------------------------------------------------------------------------------
# CLI (in-process dry runs)


def _dry_run(argv, capsys):
    import run_training

    rc = run_training.main(argv + ["--dry-run"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    return json.loads(captured.out[captured.out.index("{"):])


@pytest.fixture
def repo_cwd(monkeypatch):
    monkeypatch.chdir(REPO)


@pytest.fixture(scope="module")
def dsprites_parent(tmp_path_factory):
    """A folder holding a tiny 'dsprites' dataset (dry runs check the dataset as real runs do)."""
    import dataset_tool

    parent = tmp_path_factory.mktemp("dry_run_data")
    dataset_tool.create_dsprites(str(parent / "dsprites"), max_images=16, progress=False)
    return str(parent)


@pytest.mark.parametrize("model,beta", [("vae", 1.0), ("beta_vae", 10.0), ("vp_vae", 10.0), ("factor_vae", 1.0)])
def test_dry_run_defaults(repo_cwd, dsprites_parent, tmp_path, capsys, model, beta):
    data = _dry_run(["--data-dir", dsprites_parent, "--dataset", "dsprites", "--model_type", model,
                     "--result-dir", str(tmp_path / "r")], capsys)
    cfg = data["config"]
    assert data["run_desc"] == "%s-dsprites-1gpu-config-e" % model
    assert cfg["model_type"] == model and cfg["minibatch_size"] == 64 and cfg["total_kimg"] == 19200.0
    assert cfg["opt"] == dict(learning_rate=1e-4, beta1=0.9, beta2=0.999, epsilon=1e-8)
    loss = cfg["loss"]
    assert loss["beta"] == beta and loss["C_lambda"] == 1.0 and loss["l2_weight"] == 4e-5
    assert loss["delta_type"] == "fulldim" and loss["vc_epsilon"] == 1.0 and loss["tc_gamma"] == 35.0
    assert cfg["E_args"]["latent_size"] == 6 and cfg["Dec_args"]["latent_type"] == "uniform"
    assert (cfg["I_args"] is not None) == (model == "vp_vae") and (cfg["TC_args"] is not None) == (model == "factor_vae")
    if model == "factor_vae":
        assert cfg["TC_opt"] == dict(learning_rate=1e-4, beta1=0.5, beta2=0.9, epsilon=1e-8)
    assert not os.path.exists(str(tmp_path / "r"))


def test_presets_and_flags(repo_cwd, dsprites_parent, tmp_path, capsys):
    base = ["--data-dir", dsprites_parent, "--result-dir", str(tmp_path / "r")]
    cfg = _dry_run(base + ["--preset", "vp_vae_dsprites"], capsys)["config"]
    assert cfg["model_type"] == "vp_vae" and cfg["dataset"]["tfrecord_dir"] == "dsprites" and cfg["total_kimg"] == 19200.0
    assert cfg["loss"]["beta"] == 10.0 and cfg["loss"]["delta_type"] == "fulldim"
    cfg = _dry_run(base + ["--preset", "quickstart_vae", "--delta_type", "onedim", "--beta", "6", "--latent_size", "8",
                           "--C_lambda", "0.1", "--tc_gamma", "10", "--l2_weight", "0"], capsys)["config"]
    assert cfg["total_kimg"] < 100 and cfg["minibatch_size"] == 64 and cfg["opt"]["learning_rate"] == 1e-3
    assert cfg["loss"]["delta_type"] == "onedim" and cfg["loss"]["beta"] == 6.0 and cfg["loss"]["C_lambda"] == 0.1
    assert cfg["loss"]["l2_weight"] == 0.0 and cfg["E_args"]["latent_size"] == 8 and cfg["I_args"]["num_outputs"] == 8
    # the GAN defaults are untouched by the VAE ones
    cfg = _dry_run(base + ["--dataset", "dsprites", "--model_type", "vp_gan", "--module_list", "[Conv-up-1, C_global-2]",
                           "--resolution", "8"], capsys)["config"]
    assert cfg["minibatch_size"] == 32 and cfg["G_opt"]["learning_rate"] == 0.002 and cfg["loss"]["delta_type"] == "onedim"


def test_plain_vae_rejects_beta(repo_cwd, tmp_path, capsys):
    import run_training

    rc = run_training.main(["--data-dir", str(tmp_path), "--dataset", "dsprites", "--model_type", "vae", "--beta", "4",
                            "--result-dir", str(tmp_path / "r"), "--dry-run"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: ") and "beta_vae" in err


# ----------------------------------------------------------------------------------------------
# Training runs


def _tick_kimgs(text):
    return [float(m.group(1)) for m in re.finditer(r"^tick\s+\d+\s+kimg\s+([\d.]+)", text, re.M)]


def _event_tags(run_dir):
    tags = set()
    for path in glob.glob(os.path.join(run_dir, "events.out.tfevents.*")):
        for event in tf.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
    return tags


def _image_size(path):
    with PIL.Image.open(path) as image:
        return image.size, image.mode


def _load_names(pkl):
    graph = tf.Graph()
    with graph.as_default(), tf.Session(graph=graph).as_default():
        snapshot = snapshots.load_snapshot(pkl)
        split = snapshots.split_networks(snapshot)
        codes = np.random.RandomState(0).uniform(-2, 2, [2, LATENT]).astype(np.float32)
        out = split.Gs.run(codes, None)
        assert list(snapshot.networks) == [n.name for n in snapshot.networks.values()]
        assert snapshot.spec == snapshot.config["model_type"] and snapshot.format_version == 2
        return list(snapshot.networks), split.kind, out


@pytest.mark.parametrize("model", sorted(TUPLES))
def test_training_run(runs, model):
    proc = runs.procs[model].wait().check_ok()
    (run_dir,) = proc.run_dirs()
    assert os.path.basename(run_dir) == "00000-%s-dsprites-1gpu-config-e" % model
    names = set(os.listdir(run_dir))
    for required in ("log.txt", "reals.png", "fakes_init.png", "recons_init.png", "fakes000000.100.png",
                     "fakes000000.200.png", "recons000000.200.png", "network-snapshot-000000.100.pkl",
                     "network-snapshot-000000.200.pkl", "network-snapshot-000000.200.state", "network-final.pkl",
                     "_finished.txt"):
        assert required in names, (required, sorted(names))
    log = _read(os.path.join(run_dir, "log.txt"))
    assert _tick_kimgs(log) == [0.1, 0.2]
    assert re.search(r"sec/kimg\s+[\d.]+.*Loss/recon [\d.]+ Loss/KL [\d.]+", log)
    assert _image_size(os.path.join(run_dir, "fakes000000.200.png")) == ((N_COLS * RES, LATENT * RES), "L")
    assert _image_size(os.path.join(run_dir, "recons000000.200.png")) == ((N_COLS * RES, 2 * RES), "L")
    assert _image_size(os.path.join(run_dir, "reals.png")) == ((8 * RES, 8 * RES), "L")
    tags = _event_tags(run_dir)
    expected = {"Loss/recon", "Loss/KL", "Loss/L2", "Loss/total", "KL/dim0", "Timing/sec_per_kimg"}
    if model == "vp_vae":
        expected |= {"Loss/VP"}
    if model == "factor_vae":
        expected |= {"Loss/TC", "Loss/TC_D", "Acc/TC_D"}
    assert expected <= tags, sorted(tags)
    if model != "vp_vae":
        assert "Loss/VP" not in tags
    state = snapshots.load_state(os.path.join(run_dir, "network-snapshot-000000.200.state"))
    assert state["cur_nimg"] == 200 and state["step"] == 10
    assert any(k.startswith("TrainVAE/") for k in state["optimizers"])
    assert any(k.startswith("TrainTC/") for k in state["optimizers"]) == (model == "factor_vae")
    with open(os.path.join(run_dir, "submit_config.json")) as f:
        cfg = json.load(f)["run_func_kwargs"]["cfg"]
    if model == "beta_vae":
        assert cfg["loss"]["beta"] == 4.0
    names, kind, out = _load_names(os.path.join(run_dir, "network-final.pkl"))
    assert names == TUPLES[model] and kind == "vae"
    assert out.shape == (2, RES, RES, 1) and np.isfinite(out).all()


def test_resume_after_sigkill(runs):
    runs.wait_for("resume")
    info = runs.info
    run_dir = info["resume.run_dir"]
    assert "network-final.pkl" not in info["resume.listing"] and "_finished.txt" not in info["resume.listing"]
    resume_kimg = info["resume.state"]["cur_nimg"] / 1000.0
    assert 0 < resume_kimg < 1.2
    second = runs.procs["resume2"].check_ok()
    assert second.run_dirs() == [run_dir]
    log = _read(os.path.join(run_dir, "log.txt"))
    assert log.startswith(info["resume.log_before"])
    after = log[len(info["resume.log_before"]):]
    match = re.search(r"Resuming from (\S+) \(kimg ([\d.]+)\)", after)
    assert match, after[-3000:]
    assert float(match.group(2)) == pytest.approx(resume_kimg, abs=0.051)
    assert "resume state has no value" not in after
    ticks = _tick_kimgs(after)
    assert ticks and ticks[0] == pytest.approx(resume_kimg + 0.1) and ticks[-1] == pytest.approx(1.2), ticks
    names = os.listdir(run_dir)
    assert "network-final.pkl" in names and "_finished.txt" in names and "network-snapshot-000001.200.pkl" in names
    state = snapshots.load_state(os.path.join(run_dir, "network-snapshot-000001.200.state"))
    assert state["cur_nimg"] == 1200 and state["step"] == 60
    assert _load_names(os.path.join(run_dir, "network-final.pkl"))[0] == TUPLES["vp_vae"]


def test_divergence_stops_with_clear_error(runs):
    proc = runs.procs["nan"].wait()
    assert proc.popen.returncode == 3, _read(proc.err_path)[-3000:]
    err = _read(proc.err_path)
    lines = [l for l in err.splitlines() if l.startswith("error:")]
    assert len(lines) == 1 and "diverged" in lines[0] and "Traceback" not in err, err[-3000:]
    assert err.strip().splitlines()[-1] == lines[0]
    # it diverged before its first snapshot: the run dir held nothing worth keeping and is gone
    assert proc.run_dirs() == [] and "failed before its first snapshot" in err, err[-3000:]


def test_pair_images_from_vae_pickle(runs):
    runs.wait_for("pairs")
    runs.procs["pairs"].check_ok()
    out = runs.info["pairs.dir"]
    files = sorted(n for n in os.listdir(out) if n.endswith(".jpg"))
    assert files == ["pair_%06d.jpg" % i for i in range(12)]
    for name in files[:3]:
        assert _image_size(os.path.join(out, name)) == ((2 * RES, RES), "RGB")
    labels = np.load(os.path.join(out, "labels.npy"))
    assert labels.shape == (12, LATENT) and labels.dtype == np.float64
    assert ((labels != 0).sum(axis=1) == 1).all()
    with open(os.path.join(out, "pairs.json")) as f:
        info = json.load(f)
    assert info["num_continuous"] == LATENT and info["num_discrete"] == 0 and info["latent_type"] == "uniform"
    shutil.rmtree(out)
