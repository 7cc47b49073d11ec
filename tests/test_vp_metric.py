"""The VP metric (metrics/vp_metric.py): scores, splits, the VarPred graph against numpy, pair folders, errors,
and end-to-end behaviour on synthetic pairs (learnable -> ~100 %, unrelated -> chance)."""

import json
import math
import os
import re
import subprocess
import sys

import numpy as np
import PIL.Image
import pytest

from metrics import vp_metric as vm

# ------------------------------------------------------------------------------------------------------------
# Synthetic pairs


def bar_pairs(num, dims=4, size=16, seed=0):
    """x1 = dark noise + `dims` vertical bars of random brightness; x2 = x1 with bar d (the varied dim) inverted.
    labels = c1 - c2 non-zero only in dim d. The diff image is non-zero only inside bar d."""
    rng = np.random.RandomState(seed)
    d = rng.randint(dims, size=num)
    labels = np.zeros((num, dims))
    labels[np.arange(num), d] = rng.uniform(0.5, 4.0, num) * rng.choice([-1.0, 1.0], num)
    labels += rng.uniform(-0.01, 0.01, labels.shape) * (labels == 0)  # tiny noise in the other dims
    x1 = rng.randint(0, 60, size=(num, size, size, 3)).astype(np.uint8)
    width = size // dims
    bars = rng.randint(70, 190, size=(num, dims))
    for k in range(dims):
        x1[:, :, k * width:k * width + width // 2, :] = bars[:, k, None, None, None]
    x2 = x1.copy()
    for i in range(num):
        k = d[i]
        x2[i, :, k * width:k * width + width // 2, :] = 255 - bars[i, k]
    return np.concatenate([x1, x2], axis=2), labels


def onedim(labels):
    """The labels as a pair folder stores them: non-zero only in the varied dim (bar_pairs adds noise elsewhere)."""
    labels = np.asarray(labels)
    return np.where(np.abs(labels) == np.abs(labels).max(axis=1, keepdims=True), labels, 0.0)


def random_pairs(num, dims=4, size=16, seed=0):
    """Images and labels drawn independently: nothing to learn."""
    rng = np.random.RandomState(seed)
    pairs = rng.randint(0, 256, size=(num, size, 2 * size, 3)).astype(np.uint8)
    labels = rng.normal(size=(num, dims))
    return pairs, labels


def quiet(**kw):
    kw.setdefault("verbose", False)
    kw.setdefault("threads", 2)
    return kw


# ------------------------------------------------------------------------------------------------------------
# Targets, splits, scores


def test_targets_from_labels():
    labels = np.array([[0.0, -3.0, 1.0], [2.5, 0.0, -2.0], [0.0, 0.0, 0.0], [1.0, -1.0, 0.5]])
    np.testing.assert_array_equal(vm.targets_from_labels(labels), [1, 0, 0, 0])  # ties -> first
    with pytest.raises(ValueError):
        vm.targets_from_labels(np.zeros(3))


def test_split_rule_first_part_is_test_and_seeded():
    train, test = vm.split_indices(10000, 0.9, seed=3)
    assert (len(train), len(test)) == (1000, 9000)
    perm = np.random.RandomState(3).permutation(10000)
    np.testing.assert_array_equal(test, perm[:9000])
    np.testing.assert_array_equal(train, perm[9000:])
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(10000))
    again = vm.split_indices(10000, 0.9, seed=3)
    np.testing.assert_array_equal(again[1], test)
    other = vm.split_indices(10000, 0.9, seed=4)
    assert not np.array_equal(other[1], test)
    # int() truncation as the reference: 7 * 0.9 = 6.3 -> 6 test, 1 train
    assert [len(a) for a in vm.split_indices(7, 0.9, seed=0)] == [1, 6]
    with pytest.raises(ValueError):
        vm.split_indices(10, 1.0)


def test_split_heldout():
    test = np.arange(100, 190)
    val, rest = vm.split_heldout(test, 1.0 / 3.0)
    np.testing.assert_array_equal(val, np.arange(100, 130))
    np.testing.assert_array_equal(rest, np.arange(130, 190))
    val, rest = vm.split_heldout(test, 0.5)
    assert len(val) == len(rest) == 45


def test_summarize_history_by_hand():
    history = [50.0, 70.0, 65.0, 70.0, 60.0]
    val = [48.0, 66.0, 69.0, 67.0, 69.0]
    rest = [51.0, 71.0, 63.0, 72.0, 59.0]
    s = vm.summarize_history(history, val, rest)
    assert s["vp_score"] == 70.0 and s["best_epoch"] == 2  # first maximum, 1-based
    assert s["vp_score_final"] == 60.0
    assert s["heldout_epoch"] == 3 and s["vp_score_heldout"] == 63.0  # val's first max at epoch 3 -> rest there
    s = vm.summarize_history(history, val)
    assert s["vp_score_heldout"] == 65.0  # without a rest history: the test accuracy at the chosen epoch
    s = vm.summarize_history(history)
    assert s["vp_score_heldout"] is None and s["heldout_epoch"] is None
    with pytest.raises(ValueError):
        vm.summarize_history(history, val[:3])
    with pytest.raises(ValueError):
        vm.summarize_history([])


def test_aggregate_repeats():
    results = [dict(vp_score=70.0, vp_score_final=60.0, vp_score_heldout=65.0),
               dict(vp_score=72.0, vp_score_final=62.0, vp_score_heldout=None),
               dict(vp_score=74.0, vp_score_final=67.0, vp_score_heldout=69.0)]
    agg = vm.aggregate_repeats(results)
    assert agg["repeats"] == 3
    assert agg["vp_score"]["mean"] == pytest.approx(72.0) and agg["vp_score"]["std"] == pytest.approx(2.0)  # ddof=1
    assert agg["vp_score_final"]["mean"] == pytest.approx(63.0)
    assert agg["vp_score_final"]["std"] == pytest.approx(math.sqrt(((3.0 ** 2) + 1 + 4 ** 2) / 2))
    assert agg["vp_score_heldout"]["n"] == 2 and agg["vp_score_heldout"]["mean"] == pytest.approx(67.0)
    assert vm.aggregate_repeats(results[:1])["vp_score"]["std"] == 0.0
    line = vm.summary_line(agg, 30, 10000)
    assert line == "vp_score 72.0 +- 2.0 (final 63.0 +- 3.6, heldout 67.0 +- 2.8, 3 repeats, C=30, 10000 pairs)"


# ------------------------------------------------------------------------------------------------------------
# VarPred against a numpy re-statement of the PyTorch model


def _np_conv(x, w, stride, pad):
    x = np.pad(x, [(0, 0), (pad, pad), (pad, pad), (0, 0)])
    k = w.shape[0]
    ho = (x.shape[1] - k) // stride + 1
    wo = (x.shape[2] - k) // stride + 1
    out = np.zeros((x.shape[0], ho, wo, w.shape[3]))
    for i in range(k):
        for j in range(k):
            patch = x[:, i:i + stride * (ho - 1) + 1:stride, j:j + stride * (wo - 1) + 1:stride, :]
            out += patch @ w[i, j]
    return out


def _np_maxpool(x):
    x = np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)], constant_values=-np.inf)
    ho, wo = (x.shape[1] - 3) // 2 + 1, (x.shape[2] - 3) // 2 + 1
    out = np.full((x.shape[0], ho, wo, x.shape[3]), -np.inf)
    for i in range(3):
        for j in range(3):
            out = np.maximum(out, x[:, i:i + 2 * (ho - 1) + 1:2, j:j + 2 * (wo - 1) + 1:2, :])
    return out


def _np_varpred(pairs_uint8, params, mode, training):
    """Returns logits and, in training mode, the new running (mean, var) per BN layer."""
    x = pairs_uint8.astype(np.float64) / 255.0
    x = (x - 0.5) / 0.5
    half = x.shape[2] // 2
    x1, x2 = x[:, :, :half], x[:, :, half:]
    x = x1 - x2 if mode == "diff" else np.concatenate([x1, x2], axis=3)
    new_stats = []
    for layer, (stride, pad) in enumerate([(2, 3), (1, 1), (1, 1), (1, 1)]):
        x = _np_conv(x, params["w"][layer], stride, pad)
        gamma, beta, rmean, rvar = params["bn"][layer]
        if training:
            mean = x.mean(axis=(0, 1, 2))
            var = x.var(axis=(0, 1, 2))
            n = x.shape[0] * x.shape[1] * x.shape[2]
            new_stats.append((0.9 * rmean + 0.1 * mean, 0.9 * rvar + 0.1 * var * n / (n - 1)))
        else:
            mean, var = rmean, rvar
        x = np.maximum((x - mean) / np.sqrt(var + 1e-5) * gamma + beta, 0.0)
        if layer == 1:
            x = _np_maxpool(x)
    x = x.mean(axis=(1, 2))
    return x @ params["fc_w"] + params["fc_b"], new_stats


@pytest.mark.parametrize("mode", ["diff", "concat"])
def test_varpred_matches_numpy_and_bn_updates(tf_session, mode):
    from dnnlib.tflib.compat import tf

    rng = np.random.RandomState(1)
    pairs = rng.randint(0, 256, size=(3, 13, 26, 3)).astype(np.uint8)  # odd sizes exercise the padding
    x_in = tf.placeholder(tf.uint8, [None, 13, 26, 3])
    images = tf.cast(x_in, tf.float32) / 127.5 - 1.0
    net = vm.VarPred(5, 3, mode, seed=7)
    train_logits = net.logits(images, training=True)
    eval_logits = net.logits(images, training=False)
    tf_session.run(tf.global_variables_initializer())
    # perturb BN parameters / running stats away from their identity init so the check sees them
    for gamma, beta, mean, var in net.bns:
        c = gamma.shape.as_list()[0]
        tf_session.run([gamma.assign(rng.uniform(0.5, 1.5, c)), beta.assign(rng.normal(0, 0.1, c)),
                        mean.assign(rng.normal(0, 0.1, c)), var.assign(rng.uniform(0.5, 2.0, c))])
    params = dict(w=tf_session.run(net.convs), bn=[tf_session.run(list(b)) for b in net.bns],
                  fc_w=tf_session.run(net.fc_w), fc_b=tf_session.run(net.fc_b))
    params = {k: (np.asarray(v, np.float64) if not isinstance(v, list) else
                  [np.asarray(a, np.float64) if not isinstance(a, list) else [np.asarray(b, np.float64) for b in a]
                   for a in v]) for k, v in params.items()}

    ref_eval, _ = _np_varpred(pairs, params, mode, training=False)
    np.testing.assert_allclose(tf_session.run(eval_logits, {x_in: pairs}), ref_eval, rtol=1e-4, atol=1e-4)
    ref_train, new_stats = _np_varpred(pairs, params, mode, training=True)
    out, _ = tf_session.run([train_logits, net.update_ops], {x_in: pairs})
    np.testing.assert_allclose(out, ref_train, rtol=1e-4, atol=1e-4)
    for (_, _, mean, var), (ref_mean, ref_var) in zip(net.bns, new_stats):
        np.testing.assert_allclose(tf_session.run(mean), ref_mean, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(tf_session.run(var), ref_var, rtol=1e-4, atol=1e-5)


def test_varpred_size_params_and_init(tf_session):
    from dnnlib.tflib.compat import tf

    x_in = tf.placeholder(tf.float32, [2, 128, 256, 3])
    net = vm.VarPred(30, 3, "diff", seed=0)
    logits = net.logits(x_in, training=False)
    assert logits.shape.as_list() == [2, 30]
    assert net.num_params() == 423646  # the reference's ~423.6 k (diff, 30 dims)
    tf_session.run(tf.global_variables_initializer())
    w1 = tf_session.run(net.convs[0])
    bound = 1.0 / math.sqrt(3 * 49)  # PyTorch default: kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(fan_in))
    assert np.abs(w1).max() <= bound and np.abs(w1).max() > 0.95 * bound
    # 128-px halves: 7x7/2 -> 64, pool -> 32 (PyTorch's sizes)
    graph = tf.get_default_graph()
    pools = [op for op in graph.get_operations() if op.type == "MaxPool"]
    assert pools and pools[0].outputs[0].shape.as_list() == [2, 32, 32, 64]
    concat = vm.VarPred(30, 3, "concat", seed=0, scope="VarPredConcat")
    assert concat.num_params() == 423646 + 3 * 64 * 49


def test_adam_follows_pytorch_rule(tf_session):
    from dnnlib.tflib.compat import tf

    p = tf.get_variable("p", initializer=np.array([1.0, -2.0, 0.5], np.float32), use_resource=True)
    c = tf.placeholder(tf.float32, [3])
    loss = tf.reduce_sum(p * c) + 0.5 * tf.reduce_sum(tf.square(p))
    step = vm._adam_pytorch(tf, loss, [p], lr=0.01)
    tf_session.run(tf.global_variables_initializer())
    ref, m, v = np.array([1.0, -2.0, 0.5]), np.zeros(3), np.zeros(3)
    for t, coeffs in enumerate([[1.0, -3.0, 1e-7], [0.5, 2.0, -1.0], [-2.0, 0.0, 3.0]], start=1):
        g = np.array(coeffs) + ref
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        ref = ref - 0.01 / (1 - 0.9 ** t) * m / (np.sqrt(v) / math.sqrt(1 - 0.999 ** t) + 1e-8)
        tf_session.run(step, {c: coeffs})
        np.testing.assert_allclose(tf_session.run(p), ref, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------------------------------------
# Pair folders


def write_pair_folder(folder, pairs, labels, grayscale=()):
    os.makedirs(folder, exist_ok=True)
    for i, pair in enumerate(pairs):
        image = PIL.Image.fromarray(pair, "RGB")
        if i in grayscale:
            image = image.convert("L")
        image.save(os.path.join(str(folder), "pair_%06d.jpg" % i))  # PIL defaults (quality 75), as the original
    np.save(os.path.join(str(folder), "labels.npy"), labels)


def test_folder_round_trip_and_grayscale(tmp_path):
    pairs, labels = bar_pairs(70, dims=4, size=16)
    labels = onedim(labels)
    write_pair_folder(tmp_path, pairs, labels, grayscale={3})
    (tmp_path / "pairs.json").write_text("{}")  # extra files are ignored
    loaded, loaded_labels = vm.load_pair_folder(tmp_path)
    assert loaded.dtype == np.uint8 and loaded.shape == (70, 16, 32, 3)
    assert loaded_labels.dtype == np.float64
    np.testing.assert_array_equal(loaded_labels, labels)
    for i in (0, 3, 69):
        with PIL.Image.open(str(tmp_path / ("pair_%06d.jpg" % i))) as image:
            np.testing.assert_array_equal(loaded[i], np.asarray(image.convert("RGB")))
    assert np.array_equal(loaded[3, ..., 0], loaded[3, ..., 1]) and np.array_equal(loaded[3, ..., 0], loaded[3, ..., 2])
    assert np.abs(loaded.astype(int) - pairs.astype(int)).mean() < 10  # JPEG q75 stays close
    few, few_labels = vm.load_pair_folder(tmp_path, max_pairs=12)  # the first 12 pairs vary all 4 dims
    np.testing.assert_array_equal(few, loaded[:12])
    assert few_labels.shape == (12, 4)
    with pytest.raises(vm.LabelFormatError, match=r"latent dim\(s\) 2 never vary in the 5 pairs used.*--max-pairs"):
        vm.load_pair_folder(tmp_path, max_pairs=5)  # dims 0, 3, 1, 0, 3


def test_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        vm.load_pair_folder(tmp_path / "nope")
    pairs, labels = bar_pairs(6, dims=4, size=16, seed=2)  # seed 2: the 6 pairs vary all 4 dims
    labels = onedim(labels)
    write_pair_folder(tmp_path / "a", pairs, labels)
    os.remove(str(tmp_path / "a" / "labels.npy"))
    with pytest.raises(FileNotFoundError, match="not a pair folder.*run_pair_imgs.py"):
        vm.load_pair_folder(tmp_path / "a")

    write_pair_folder(tmp_path / "b", pairs, labels[:5])
    with pytest.raises(ValueError, match="6 pair_.*jpg images but 5 rows"):
        vm.load_pair_folder(tmp_path / "b")

    write_pair_folder(tmp_path / "c", pairs, labels)
    (tmp_path / "c" / "pair_000004.jpg").write_bytes(b"\xff\xd8 this is not a jpeg")
    with pytest.raises(ValueError, match="pair_000004.jpg"):
        vm.load_pair_folder(tmp_path / "c")

    write_pair_folder(tmp_path / "d", pairs, labels[:, :1])
    with pytest.raises(ValueError, match="at least 2 latent dims"):
        vm.load_pair_folder(tmp_path / "d")

    write_pair_folder(tmp_path / "e", pairs[:, :, :31], labels)
    with pytest.raises(ValueError, match="even width"):
        vm.load_pair_folder(tmp_path / "e")

    write_pair_folder(tmp_path / "f", pairs, labels)
    os.rename(str(tmp_path / "f" / "pair_000002.jpg"), str(tmp_path / "f" / "pair_000009.jpg"))
    with pytest.raises(ValueError, match="pair_000002.jpg is missing"):
        vm.load_pair_folder(tmp_path / "f")


def _cli(capsys, *argv):
    """vm.main in-process -> (exit status, stdout, the last line of stderr)."""
    rc = vm.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    return rc, out, lines[-1] if lines else ""


def test_check_onedim_labels():
    good = onedim(bar_pairs(40, dims=4, size=16)[1])
    vm.check_onedim_labels(good)
    vm.check_onedim_labels(bar_pairs(40, dims=4, size=16)[1], strict=False)  # noise in other dims: in-memory only
    with pytest.raises(ValueError, match=r"lab\.npy: 5 of 5 label rows .* \(rows 0, 1, 2, 3, 4; 5 all zero\).*fulldim"):
        vm.check_onedim_labels(np.zeros((5, 3)), "lab.npy")
    bad = good.copy()
    bad[[3, 7, 8, 9, 20, 33], 1] = 0.5  # rows with two non-zero entries (some already had dim 1: one entry only)
    twice = [i for i in (3, 7, 8, 9, 20, 33) if np.count_nonzero(bad[i]) == 2]
    with pytest.raises(ValueError, match=r"%d of 40 label rows .*rows %s.*several non-zero" % (
            len(twice), ", ".join(str(i) for i in twice[:5]))):
        vm.check_onedim_labels(bad)
    fulldim = np.random.RandomState(0).uniform(-2, 2, (30, 4))
    with pytest.raises(ValueError,
                       match=r"30 of 30 .*rows 0, 1, 2, 3, 4, \.\.\.; 30 with several.*--latent_type onedim"):
        vm.check_onedim_labels(fulldim)
    nan = good.copy()
    nan[11, 0] = np.nan
    with pytest.raises(ValueError, match=r"rows 11; 1 non-finite"):
        vm.check_onedim_labels(nan)
    single = np.zeros((10, 3))
    single[:, 2] = 1.5
    with pytest.raises(vm.LabelFormatError, match=r"only latent dim 2 varies .*dims 0, 1 never vary"):
        vm.check_onedim_labels(single)
    with pytest.raises(vm.LabelFormatError, match=r"only latent dim 2 varies"):
        vm.check_onedim_labels(single, strict=False)
    missing = np.eye(5)[[0, 1, 3, 0, 1, 3]]
    with pytest.raises(vm.LabelFormatError, match=r"latent dim\(s\) 2, 4 never vary in the 6 pairs used.*C=5"):
        vm.check_onedim_labels(missing)
    with pytest.raises(vm.LabelFormatError, match=r"2 of 3 label rows name no varied dim \(rows 0, 2"):
        vm.check_onedim_labels(np.array([[0.0, 0.0], [1.0, 0.1], [0.0, 0.0]]), strict=False)


def test_bad_labels_refused_before_decoding_or_training(tmp_path, capsys, monkeypatch):
    """The silent 100 %: an all-zero labels.npy made every class 0. Now: exit 1, one line, no JSON, no training."""
    pairs, labels = bar_pairs(40, dims=4, size=16, seed=3)
    labels = onedim(labels)
    cases = dict(zeros=np.zeros_like(labels), fulldim=labels + 0.5, single=np.abs(labels).sum(axis=1)[:, None]
                 * np.eye(4)[[1]], missing=np.abs(labels).sum(axis=1)[:, None] * np.eye(4)[np.arange(40) % 3])
    needles = dict(zeros=r"40 of 40 label rows do not have exactly one non-zero entry \(rows 0, 1, 2, 3, 4, \.\.\.; "
                         r"40 all zero\).*'fulldim'",
                   fulldim=r"40 of 40 .*40 with several non-zero entries.*run_pair_imgs.py --latent_type onedim",
                   single=r"only latent dim 1 varies in the 40 pairs used \(dims 0, 2, 3 never vary\)",
                   missing=r"latent dim\(s\) 3 never vary in the 40 pairs used")

    def no_work(*args, **kwargs):
        raise AssertionError("decoded or trained on bad labels")

    from metrics import pair_folder

    monkeypatch.setattr(pair_folder, "_decode_rgb", no_work)     # where load_pair_folder looks it up
    monkeypatch.setattr(vm, "VarPred", no_work)
    for name, bad in cases.items():
        folder = tmp_path / name
        write_pair_folder(folder, pairs, bad)
        with pytest.raises(ValueError, match=needles[name]):
            vm.load_pair_folder(folder)
        out = tmp_path / ("%s.json" % name)
        rc, _, last = _cli(capsys, folder, "--repeats", "1", "--epochs", "1", "--quiet", "--out", out)
        assert rc == 1, (name, last)
        assert last.startswith("error: %s" % os.path.join(str(folder), "labels.npy")), last
        assert re.search(needles[name], last), (name, last)
        assert not out.exists()
        assert sorted(os.listdir(str(folder))) == ["labels.npy"] + ["pair_%06d.jpg" % i for i in range(40)]
    # in memory: all-zero rows and a single class are refused before the graph is built
    with pytest.raises(vm.LabelFormatError, match="40 of 40 label rows name no varied dim"):
        vm.compute_vp_score(pairs, np.zeros_like(labels), **quiet(epochs=1))
    with pytest.raises(vm.LabelFormatError, match="only latent dim 1 varies"):
        vm.compute_vp_score(pairs, cases["single"], **quiet(epochs=1))


def test_out_path_checked_before_the_metric_runs(tmp_path, capsys, monkeypatch):
    """--out naming a folder used to crash with IsADirectoryError after the whole run: now exit 2 first."""
    monkeypatch.setattr(vm, "load_pair_folder", lambda *a, **k: pytest.fail("loaded pairs despite a bad --out"))
    (tmp_path / "taken").mkdir()
    (tmp_path / "file").write_text("x")
    for out, needle in ((tmp_path / "taken", "is an existing folder, but a file goes there; give another path"),
                        (tmp_path / "file" / "res.json",
                         "cannot be created: %s is a file, not a folder" % (tmp_path / "file"))):
        rc, stdout, last = _cli(capsys, tmp_path / "pairs", "--quiet", "--out", out)
        assert rc == 2, last
        assert last.startswith("error: --out %s " % out) and needle in last, last
        assert stdout == ""
    assert sorted(os.listdir(str(tmp_path))) == ["file", "taken"] and os.listdir(str(tmp_path / "taken")) == []
    with pytest.raises(ValueError, match="out_json .* is an existing folder"):
        vm.run_vp_metric((None, None), out_json=str(tmp_path / "taken"), verbose=False)


def test_in_memory_input_errors():
    pairs, labels = bar_pairs(20, dims=4, size=16)
    with pytest.raises(ValueError, match="at least 2 latent dims"):
        vm.compute_vp_score(pairs, labels[:, :1], **quiet(epochs=1))
    with pytest.raises(ValueError, match="count mismatch"):
        vm.compute_vp_score(pairs, labels[:10], **quiet(epochs=1))
    with pytest.raises(ValueError, match="uint8"):
        vm.compute_vp_score(pairs.astype(np.float32), labels, **quiet(epochs=1))
    with pytest.raises(ValueError, match="odd"):
        vm.compute_vp_score(pairs[:, :, :31], labels, **quiet(epochs=1))
    with pytest.raises(ValueError, match="protocol"):
        vm.compute_vp_score(pairs, labels, **quiet(protocol="slow"))


def test_pairs_from_images():
    x1 = np.full((2, 3, 4, 5), -1.0)
    x2 = np.full((2, 3, 4, 5), 1.0)
    pairs = vm.pairs_from_images(x1, x2)
    assert pairs.shape == (2, 4, 10, 3) and pairs.dtype == np.uint8
    assert (pairs[:, :, :5] == 0).all() and (pairs[:, :, 5:] == 255).all()


# ------------------------------------------------------------------------------------------------------------
# End to end


def test_learnable_pairs_score_near_100():
    pairs, labels = bar_pairs(400, dims=4, size=16, seed=0)
    r = vm.compute_vp_score(pairs, labels, **quiet(seed=0, epochs=5, test_ratio=0.5))
    assert (r["num_train"], r["num_test"], r["num_dims"]) == (200, 200, 4)
    assert r["chance"] == 25.0 and len(r["accuracy_history"]) == r["epochs_run"] == 5
    # The bar task is separable (diff image non-zero only inside bar d); a classifier with true accuracy >= 97 %
    # falls below 90 % on 200 test pairs with probability < 1e-4 (binomial tail, 6 standard errors).
    assert r["vp_score"] >= 90.0
    assert r["vp_score_final"] >= 85.0 and r["vp_score_heldout"] >= 85.0
    assert r["vp_score"] == max(r["accuracy_history"])


def test_unrelated_pairs_score_near_chance():
    dims = 4
    pairs, labels = random_pairs(2000, dims=dims, size=16, seed=1)
    r = vm.compute_vp_score(pairs, labels, **quiet(seed=1, epochs=3, test_ratio=0.9, eval_batch_size=600))
    n_test = r["num_test"]
    assert n_test == 1800
    chance = 100.0 / dims
    # Labels are independent of the images, so each test prediction is right with probability exactly 1/C:
    # accuracy ~ Binomial(n_test, 1/C) / n_test per epoch (SE ~1.0 % here). 4 SE, union-bounded over 3 epochs.
    se = 100.0 * math.sqrt(0.25 * 0.75 / n_test)
    for key in ("vp_score", "vp_score_final"):
        assert abs(r[key] - chance) <= 4 * se, (key, r[key])
    se_rest = 100.0 * math.sqrt(0.25 * 0.75 / r["num_heldout"])
    assert abs(r["vp_score_heldout"] - chance) <= 4 * se_rest


def test_same_seed_same_numbers():
    pairs, labels = bar_pairs(160, dims=4, size=16, seed=2)
    kw = quiet(seed=5, epochs=2, test_ratio=0.5)
    a = vm.compute_vp_score(pairs, labels, **kw)
    b = vm.compute_vp_score(pairs, labels, **kw)
    for key in ("accuracy_history", "val_accuracy_history", "heldout_accuracy_history", "train_loss_history",
                "test_loss_history"):
        assert a[key] == b[key], key
    assert a["vp_score"] == b["vp_score"] and a["vp_score_heldout"] == b["vp_score_heldout"]
    c = vm.compute_vp_score(pairs, labels, **quiet(seed=6, epochs=2, test_ratio=0.5))
    assert c["train_loss_history"] != a["train_loss_history"]


def test_learning_rate_schedules():
    assert vm.learning_rate(0.01, 7, 100, "constant") == 0.01
    assert vm.learning_rate(0.01, 0, 100, "cosine") == pytest.approx(0.01)
    assert vm.learning_rate(0.01, 50, 100, "cosine") == pytest.approx(0.005)
    assert vm.learning_rate(0.01, 25, 100, "cosine") == pytest.approx(0.005 * (1 + math.sqrt(0.5)))
    assert vm.learning_rate(0.01, 100, 100, "cosine") == pytest.approx(0.0, abs=1e-12)


def test_fast_protocol_scores_the_last_epoch():
    pairs, labels = bar_pairs(400, dims=4, size=16, seed=0)
    r = vm.compute_vp_score(pairs, labels, **quiet(seed=0, protocol="fast", epochs=4, test_ratio=0.5))
    s = r["settings"]
    assert (s["epochs"], s["lr_schedule"], s["val_ratio"], s["patience"]) == (4, "cosine", vm.FAST_VAL_RATIO, None)
    assert r["num_val"] == int(200 * vm.FAST_VAL_RATIO) and r["num_heldout"] == 200 - r["num_val"]
    # per epoch only the validation part; the whole test split once at the end, and every score from it
    assert len(r["val_accuracy_history"]) == len(r["train_loss_history"]) == 4
    assert len(r["accuracy_history"]) == len(r["heldout_accuracy_history"]) == len(r["test_loss_history"]) == 1
    assert r["vp_score"] == r["vp_score_final"] == r["accuracy_history"][0]
    assert r["vp_score_heldout"] == r["heldout_accuracy_history"][0]
    assert r["best_epoch"] == r["heldout_epoch"] == 4
    # whole-split accuracy is the count-weighted mean of the validation part (last epoch) and the scored rest
    whole = (r["num_val"] * r["val_accuracy_history"][-1] + r["num_heldout"] * r["vp_score_heldout"]) / 200.0
    assert r["vp_score"] == pytest.approx(whole)
    assert r["vp_score"] >= 85.0  # separable task, see test_learnable_pairs_score_near_100
    assert vm.FAST_EPOCHS == vm.compute_vp_score(pairs[:40], labels[:40], **quiet(
        protocol="fast", lr=0.0, test_ratio=0.5, batch_size=20))["settings"]["epochs"]


def test_patience_stops_early():
    pairs, labels = random_pairs(300, dims=3, size=8, seed=3)
    r = vm.compute_vp_score(pairs, labels, **quiet(seed=0, epochs=12, patience=1, test_ratio=0.5))
    val = r["val_accuracy_history"]
    assert r["settings"]["patience"] == 1 and r["epochs_run"] == len(val) <= 12
    if r["stopped_early"]:  # stopped at the first epoch that did not beat every earlier one
        assert r["epochs_run"] < 12 and val[-1] <= max(val[:-1])
        assert all(val[i] > max(val[:i]) for i in range(1, len(val) - 1))
    else:
        assert all(val[i] > max(val[:i]) for i in range(1, len(val)))
    assert r["vp_score_heldout"] == r["heldout_accuracy_history"][r["heldout_epoch"] - 1]


@pytest.mark.slow    # a tool end to end
def test_run_vp_metric_repeats_json_and_cli(tmp_path, capsys):
    pairs, labels = bar_pairs(120, dims=4, size=16, seed=4)
    out = tmp_path / "res.json"
    res = vm.run_vp_metric((pairs, labels), repeats=2, seed=10, out_json=str(out), **quiet(epochs=1, test_ratio=0.5))
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("vp_score ") and line.endswith("(final %s, heldout %s, 2 repeats, C=4, 120 pairs)" % (
        vm._fmt(res["summary"]["vp_score_final"]), vm._fmt(res["summary"]["vp_score_heldout"])))
    saved = json.loads(out.read_text())
    assert [r["settings"]["seed"] for r in saved["repeats"]] == [10, 11]
    assert saved["summary"]["vp_score"]["n"] == 2 and saved["line"] == line
    assert not [p for p in os.listdir(str(tmp_path)) if p.endswith(".tmp")]

    seeds = []

    def make_pairs(seed):
        seeds.append(seed)
        return bar_pairs(80, dims=4, size=16, seed=seed)

    vm.run_vp_metric(make_pairs, repeats=2, seed=3, **quiet(epochs=1, test_ratio=0.5))
    assert seeds == [3, 4]

    write_pair_folder(tmp_path / "pairs", pairs, onedim(labels))
    rc = vm.main([str(tmp_path / "pairs"), "--repeats", "1", "--epochs", "1", "--test-ratio", "0.5", "--quiet",
                  "--max-pairs", "100", "--threads", "2", "--out", str(tmp_path / "cli.json")])
    assert rc == 0
    assert capsys.readouterr().out.strip().endswith("1 repeats, C=4, 100 pairs)")
    assert json.loads((tmp_path / "cli.json").read_text())["repeats"][0]["num_pairs"] == 100
    assert vm.main([str(tmp_path / "missing"), "--quiet"]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        vm.main(["--help"])
    assert "published" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------------------------
# Module layout and progress output


def test_parts_import_without_tensorflow():
    """pair folders, scores, the CLI's parser and the metric's front door load without TensorFlow (it comes with the
    first graph), and vp_metric's names are the parts' own objects (one PairFolderError class, not two)."""
    code = ("import sys\n"
            "from metrics import pair_folder, vp_cli, vp_metric, vp_network, vp_scores\n"
            "vp_cli.build_parser()\n"
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'\n"
            "assert vp_metric.PairFolderError is pair_folder.PairFolderError\n"
            "assert vp_metric.VarPred is vp_network.VarPred and vp_metric.split_indices is vp_scores.split_indices\n")
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, "-c", code], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_epoch_bar_on_stderr_only_when_verbose(capsys):
    """verbose: one bar (epochs, best test accuracy) on stderr; quiet: none. The bar changes no number."""
    pairs, labels = bar_pairs(40, dims=4, size=16, seed=1)
    kw = dict(seed=2, epochs=2, test_ratio=0.5, threads=2)
    capsys.readouterr()
    a = vm.compute_vp_score(pairs, labels, verbose=False, **kw)
    out, err = capsys.readouterr()
    assert "VP seed" not in err and "epoch" not in err and out == ""
    b = vm.compute_vp_score(pairs, labels, verbose=True, **kw)
    out, err = capsys.readouterr()
    last = err.replace("\r", "\n").strip().splitlines()[-1]
    assert last.startswith("VP seed 2: 100%") and " 2/2 " in last and "epoch" in last, last
    assert last.endswith("best test %.2f%%]" % a["vp_score"]), last
    assert "epoch   2/2" in out and "VP seed" not in out
    for key in ("accuracy_history", "val_accuracy_history", "train_loss_history", "test_loss_history", "confusion"):
        assert a[key] == b[key], key
