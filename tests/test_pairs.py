"""Pair datasets: file names, sizes, label semantics, determinism, bad input (run_pair_imgs.py)."""

import hashlib
import os
import pickle
import subprocess
import sys

import numpy as np
import PIL.Image
import pytest

from dnnlib import tflib
from dnnlib.tflib.compat import tf
from metrics import pair_dataset

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE_LIST = "[Conv-up-1, C_global-3, Conv-up-1, C_global-2, Noise-1]"  # 16x16, C = 5


def _tiny_networks():
    common = dict(num_channels=1, resolution=16, fmap_base=16, data_format="NHWC", impl="ref")
    G = tflib.Network("G", func_name="training.networks_vp.G_main_vp", module_list=MODULE_LIST, **common)
    D = tflib.Network("D", func_name="training.networks_stylegan2.D_stylegan2", **common)
    I = tflib.Network("I", func_name="training.networks_vp.recognizer", num_outputs=5, **common)
    return G, D, I, G.clone("Gs")


@pytest.fixture(scope="module")
def network_pkl(tmp_path_factory):
    path = tmp_path_factory.mktemp("net") / "network-final.pkl"
    graph = tf.Graph()
    with graph.as_default(), tf.Session(graph=graph).as_default():
        nets = _tiny_networks()
        # Non-zero noise strength, so fixed noise is really exercised.
        for name in nets[-1].trainables:
            if name.endswith("noise_strength"):
                nets[-1].set_var(name, np.float32(0.5))
        path.write_bytes(pickle.dumps(nets, protocol=4))
    return str(path)


def _run(*args):
    """run_pair_imgs.py in a subprocess, as a user runs it."""
    return subprocess.run([sys.executable, "run_pair_imgs.py"] + list(args), cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=300)


def _main(capsys, *args):
    """run_pair_imgs.main in this process (fast); returns (exit code, stderr)."""
    import run_pair_imgs

    code = run_pair_imgs.main(list(args))
    return code, capsys.readouterr().err


def test_sample_pair_codes_onedim_and_fulldim():
    rng = np.random.RandomState(0)
    c1, c2, labels = pair_dataset.sample_pair_codes(rng, 2000, 0, 6, "onedim")
    nonzero = np.count_nonzero(labels, axis=1)
    assert np.all(nonzero == 1)
    np.testing.assert_allclose(labels, c1.astype(np.float64) - c2.astype(np.float64))
    dims = np.argmax(np.abs(labels), axis=1)  # the argmax rule of the VP metric recovers the varied dim
    assert np.array_equal(dims, np.nonzero(labels)[1])
    assert np.all(np.abs(c1) <= 2) and np.all(np.abs(c2) <= 2)
    counts = np.bincount(dims, minlength=6)
    assert counts.min() > 2000 / 6 * 0.75  # every dim is chosen (expected 333 each; 4+ sigma margin)
    _, _, full = pair_dataset.sample_pair_codes(rng, 100, 0, 6, "fulldim")
    assert np.mean(np.count_nonzero(full, axis=1)) == 6
    d1, d2, _ = pair_dataset.sample_pair_codes(rng, 50, 3, 4, "onedim")
    assert np.array_equal(d1[:, :3], d2[:, :3]) and np.all(d1[:, :3].sum(axis=1) == 1)  # shared one-hot
    with pytest.raises(ValueError, match="delta type"):
        pair_dataset.sample_pair_codes(rng, 1, 0, 2, "sideways")


@pytest.mark.slow    # a tool end to end
def test_pair_folder_format_and_determinism(network_pkl, tmp_path):
    out_a, out_b = str(tmp_path / "a"), str(tmp_path / "b")
    res = _run("--network_pkl", network_pkl, "--n_imgs", "23", "--batch_size", "10", "--result-dir", out_a, "--seed", "7")
    assert res.returncode == 0, res.stderr
    import run_pair_imgs  # the second folder in-process, with another batch size: same bytes

    assert run_pair_imgs.main(["--network_pkl", network_pkl, "--n_imgs", "23", "--batch_size", "23", "--result-dir", out_b, "--seed", "7"]) == 0
    names = sorted(os.listdir(out_a))
    assert names == sorted(["pair_%06d.jpg" % i for i in range(23)] + ["labels.npy", "pairs.json", "preview.png"])
    image = PIL.Image.open(os.path.join(out_a, "pair_000022.jpg"))  # no remainder dropped (23 = 2*10 + 3)
    assert image.size == (32, 16) and image.mode == "RGB"  # 2W x H
    labels = np.load(os.path.join(out_a, "labels.npy"))
    assert labels.dtype == np.float64 and labels.shape == (23, 5)
    assert np.all(np.count_nonzero(labels, axis=1) == 1)
    for name in names:  # byte-identical folders for the same seed
        with open(os.path.join(out_a, name), "rb") as fa, open(os.path.join(out_b, name), "rb") as fb:
            assert hashlib.sha256(fa.read()).digest() == hashlib.sha256(fb.read()).digest(), name


def test_pairs_differ_only_through_the_varied_dim(network_pkl):
    graph = tf.Graph()
    with graph.as_default(), tf.Session(graph=graph).as_default():
        from training import snapshots

        Gs = snapshots.split_networks(snapshots.load_snapshot(network_pkl)).Gs
        pairs, labels = pair_dataset.generate_pairs(Gs, 12, seed=3, batch_size=5, progress=False)
        assert pairs.shape == (12, 16, 32, 3) and pairs.dtype == np.uint8
        # Fixed noise: regenerating gives the same pixels; left half = G(c1).
        again, labels2 = pair_dataset.generate_pairs(Gs, 12, seed=3, batch_size=12, progress=False)
        assert np.array_equal(pairs, again) and np.array_equal(labels, labels2)
        rng = np.random.RandomState(3)
        c1, c2, _ = pair_dataset.sample_pair_codes(rng, 5, 0, 5, "onedim")
        x1 = pair_dataset.images_to_uint8_rgb(Gs.run(c1, np.zeros([5, 0], np.float32), randomize_noise=False), "NHWC")
        assert np.array_equal(pairs[:5, :, :16], x1)
        # A code that equals itself gives identical halves: only the code separates x1 from x2.
        same = pair_dataset.images_to_uint8_rgb(Gs.run(np.concatenate([c1, c1]), np.zeros([10, 0], np.float32), randomize_noise=False), "NHWC")
        assert np.array_equal(same[:5], same[5:])


def test_bad_input(network_pkl, tmp_path, capsys):
    out = tmp_path / "full"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    code, err = _main(capsys, "--network_pkl", network_pkl, "--n_imgs", "2", "--result-dir", str(out))
    assert code != 0 and "not empty" in err and (out / "keep.txt").exists()
    not_ours = tmp_path / "not_ours.pkl"
    not_ours.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    code, err = _main(capsys, "--network_pkl", str(not_ours), "--n_imgs", "2", "--result-dir", str(tmp_path / "x"))
    assert code != 0 and "not a vpdis network pickle" in err
    garbage = tmp_path / "garbage.pkl"
    garbage.write_bytes(b"\x80\x04not a pickle at all")
    code, err = _main(capsys, "--network_pkl", str(garbage), "--n_imgs", "2", "--result-dir", str(tmp_path / "y"))
    assert code != 0 and "cannot read network pickle" in err
    code, err = _main(capsys, "--network_pkl", network_pkl, "--n_imgs", "2", "--n_continuous", "30", "--result-dir", str(tmp_path / "z"))
    assert code != 0 and "--n_continuous 30" in err and not (tmp_path / "z").exists()
    code, err = _main(capsys, "--network_pkl", network_pkl, "--n_imgs", "2", "--sha256", "0" * 64, "--result-dir", str(tmp_path / "w"))
    assert code != 0 and "sha256" in err.lower()
    assert not [p for p in os.listdir(str(tmp_path)) if ".tmp-" in p]  # no half-written folders


def test_a_failed_jpeg_write_leaves_no_folder(network_pkl, tmp_path, monkeypatch):
    """The writer threads' errors reach the caller; nothing half-written stays, an existing folder survives."""
    from training import snapshots

    calls = []
    real_save = PIL.Image.Image.save

    def failing_save(self, fp, *args, **kwargs):
        calls.append(1)
        if len(calls) == 25:  # inside the third batch of 10
            raise OSError("disk full (simulated)")
        return real_save(self, fp, *args, **kwargs)

    out = tmp_path / "pairs"
    out.mkdir()
    (out / "old.txt").write_text("earlier results")
    monkeypatch.setattr(PIL.Image.Image, "save", failing_save)
    graph = tf.Graph()
    with graph.as_default(), tf.Session(graph=graph).as_default():
        Gs = snapshots.split_networks(snapshots.load_snapshot(network_pkl)).Gs
        with pytest.raises(OSError, match="disk full"):
            pair_dataset.write_pair_folder(str(out), Gs, 60, seed=0, batch_size=10, overwrite=True, progress=False)
    assert (out / "old.txt").read_text() == "earlier results" and os.listdir(str(out)) == ["old.txt"]
    assert not [p for p in os.listdir(str(tmp_path)) if ".tmp-" in p]


def test_bad_result_dir_fails_before_the_pickle_is_read(tmp_path, capsys, monkeypatch):
    """--result-dir naming a file (it crashed in os.listdir) or under a file: exit 2, one line, nothing written."""
    from training import snapshots

    monkeypatch.setattr(snapshots, "load_snapshot", lambda *a, **k: pytest.fail("read the pickle despite a bad --result-dir"))
    (tmp_path / "a_file").write_text("x")
    for result_dir, message in ((tmp_path / "a_file", "--result-dir %s is an existing file, but a folder goes there; "
                                 "give another path or remove the file" % (tmp_path / "a_file")),
                                (tmp_path / "a_file" / "pairs", "--result-dir %s cannot be created: %s is a file, not a "
                                 "folder; give another path" % (tmp_path / "a_file" / "pairs", tmp_path / "a_file"))):
        code, err = _main(capsys, "--network_pkl", str(tmp_path / "net.pkl"), "--n_imgs", "2", "--result-dir", str(result_dir))
        assert code == 2 and err == "error: %s\n" % message, err
    assert os.listdir(str(tmp_path)) == ["a_file"] and (tmp_path / "a_file").read_text() == "x"
