"""Synthetic generators of known disentanglement (training/synthetic.py) and their use by the tools."""

import json
import os
import time

import numpy as np
import pytest

from training import dsprites
from training import synthetic as syn


def _codes(num, dims, seed=0):
    return np.random.RandomState(seed).uniform(-2, 2, size=(num, dims)).astype(np.float32)


def _factors(num, seed=1):
    rng = np.random.RandomState(seed)
    return np.stack([rng.randint(s, size=num) for s in syn.FACTOR_SIZES], axis=1)


ALL = ["perfect", "rotation-10", "rotation-45", "warp-0.5", "context-0.5", "redundant", "dead-2", "undriven",
       "noise-0.2"]


def test_names_parse_and_bad_names_are_refused():
    assert syn.parse_name("synthetic:rotation-30@32") == ("rotation", 30.0, 32)
    assert syn.parse_name("perfect") == ("perfect", None, 64)
    for bad, match in [("synthetic:spiral-3", "unknown synthetic generator"), ("rotation", "needs a strength"),
                       ("perfect-2", "takes no strength"), ("perfect@48", "resolution 48"),
                       ("dead-1.5", "whole number"), ("noise-0", "sigma > 0")]:
        with pytest.raises(ValueError, match=match):
            syn.SyntheticGenerator(bad)


def test_perfect_generator_draws_each_factor_from_its_own_dimension():
    gen = syn.SyntheticGenerator("perfect")
    z = _codes(300, 5)
    factors = gen.factors_of_codes(z)
    for k, size in enumerate(syn.FACTOR_SIZES):
        np.testing.assert_array_equal(factors[:, k], np.clip(np.floor((z[:, k] + 2) / 4 * size), 0, size - 1))
    full = np.concatenate([np.zeros((300, 1), np.int64), factors], axis=1)
    images = gen.run(z)
    assert images.shape == (300, 1, 64, 64) and images.dtype == np.float32
    np.testing.assert_array_equal(images[:, 0], dsprites.render(full).astype(np.float32) * 2 - 1)
    assert gen.static_kwargs.latent_size == 5 and gen.output_shapes == [[None, 1, 64, 64]]


def test_32_pixel_images_are_the_box_averaged_render():
    z = _codes(50, 5, seed=3)
    big = (syn.SyntheticGenerator("perfect").run(z)[:, 0] + 1) / 2
    small = syn.SyntheticGenerator("perfect@32", data_format="NHWC").run(z)
    assert small.shape == (50, 32, 32, 1)
    box = big.reshape(50, 32, 2, 32, 2).mean(axis=(2, 4))
    np.testing.assert_allclose((small[..., 0] + 1) * 127.5, np.rint(box * 255), atol=1e-3)


def test_rotation_0_equals_the_perfect_generator_pixel_for_pixel():
    z = _codes(500, 5, seed=4)
    np.testing.assert_array_equal(syn.SyntheticGenerator("rotation-0").run(z), syn.SyntheticGenerator("perfect").run(z))
    # and a turned code does move both positions at once
    gen = syn.SyntheticGenerator("rotation-45")
    moved = z.copy()
    moved[:, syn.POS_X] = np.clip(moved[:, syn.POS_X] + 1.0, -2, 2)
    a, b = gen.factors_of_codes(z), gen.factors_of_codes(moved)
    assert (a[:, syn.POS_Y] != b[:, syn.POS_Y]).mean() > 0.9 and (a[:, syn.POS_X] != b[:, syn.POS_X]).mean() > 0.9


@pytest.mark.parametrize("n", [1, 2])
def test_a_dead_dimension_changes_no_pixel(n):
    gen = syn.SyntheticGenerator("dead-%d@32" % n)
    assert gen.num_latent_dims == 5 + n
    z = _codes(200, 5 + n, seed=5)
    other = z.copy()
    other[:, 5:] = _codes(200, n, seed=6)
    np.testing.assert_array_equal(gen.run(z), gen.run(other))
    live = z.copy()
    live[:, 3] = -live[:, 3]
    assert (gen.run(live) != gen.run(z)).reshape(200, -1).any(axis=1).mean() > 0.9


def test_undriven_factor_ignores_the_code_and_noise_is_a_function_of_the_code():
    gen = syn.SyntheticGenerator("undriven")
    z = _codes(2000, 4, seed=7)
    pos_y = gen.factors_of_codes(z)[:, syn.POS_Y]
    assert len(np.unique(pos_y)) == 32
    for k in range(4):
        assert abs(np.corrcoef(z[:, k], pos_y)[0, 1]) < 0.1
    noisy = syn.SyntheticGenerator("noise-0.2@32")
    z5 = _codes(40, 5, seed=8)
    a, b = noisy.run(z5[:20]), noisy.run(z5[20:])
    np.testing.assert_array_equal(a, noisy.run(z5[:20]))            # same code, same image
    residual = (a - syn.SyntheticGenerator("perfect@32").run(z5[:20])) / 2      # pixel range [0, 1]
    assert 0.08 < residual.std() < 0.2 and not np.array_equal(a, b)


@pytest.mark.parametrize("name", ALL)
def test_codes_for_factors_show_those_factors(name):
    gen = syn.SyntheticGenerator(name)
    factors = _factors(3000)
    codes = gen.codes_for_factors(factors)
    assert codes.shape == (3000, gen.num_latent_dims)
    np.testing.assert_array_equal(codes, gen.codes_for_factors(factors))        # deterministic
    back = gen.factors_of_codes(codes.astype(np.float32))
    driven = [k for k in range(5) if not (name == "undriven" and k == syn.POS_Y)]
    np.testing.assert_array_equal(back[:, driven], factors[:, driven])
    obs = gen.ground_truth_data().sample_observations_from_factors(factors, np.random.RandomState(0))
    np.testing.assert_array_equal(gen.representation(obs), codes)


def test_mig_of_the_45_degree_code_is_clearly_below_the_0_degree_one():
    from metrics import mig

    scores = {}
    for name in ("rotation-0", "rotation-45"):
        gen = syn.SyntheticGenerator(name)
        scores[name] = mig.compute_mig(gen.ground_truth_data(), gen.representation, np.random.RandomState(0),
                                       num_train=4000)["discrete_mig"]
    assert scores["rotation-0"] > 0.75 and scores["rotation-45"] < scores["rotation-0"] - 0.2, scores


def test_pair_folders_of_synthetic_generators_pass_the_folder_checks(tmp_path):
    from metrics import pair_dataset, vp_metric

    gen = syn.SyntheticGenerator("dead-1@32", data_format="NHWC")
    out = str(tmp_path / "pairs")
    pair_dataset.write_pair_folder(out, gen, 60, seed=3, batch_size=25, progress=False)
    pairs, labels = vp_metric.load_pair_folder(out)
    assert pairs.shape == (60, 32, 64, 3) and labels.shape == (60, 6)
    again, labels2 = pair_dataset.generate_pairs(gen, 60, seed=3, batch_size=60, progress=False)
    np.testing.assert_array_equal(labels, labels2)
    dead = np.abs(labels).argmax(axis=1) == 5
    assert dead.any() and (again[dead, :, :32] == again[dead, :, 32:]).all()   # dead-dim pairs: two equal halves
    info = json.load(open(os.path.join(out, "pairs.json")))
    assert info["num_pairs"] == 60


def test_an_interrupted_pair_folder_leaves_nothing_also_after_a_second_ctrl_c_during_the_join(tmp_path, monkeypatch):
    """Ctrl-C while pairs are written, and another one while the JPEG writers are joined (CI saw this: the
    join was cut short, the staging folder removed, and a writer still running re-created it)."""
    from concurrent.futures import ThreadPoolExecutor

    import PIL.Image

    from metrics import pair_dataset

    real_fromarray, real_shutdown, real_generate = PIL.Image.fromarray, ThreadPoolExecutor.shutdown, pair_dataset.generate_pairs
    monkeypatch.setattr(PIL.Image, "fromarray", lambda *a, **k: (time.sleep(0.005), real_fromarray(*a, **k))[1])
    shutdowns = []

    def shutdown_interrupted_once(self, wait=True, **kwargs):
        shutdowns.append(wait)
        if len(shutdowns) == 1:
            raise KeyboardInterrupt            # the second Ctrl-C
        return real_shutdown(self, wait=wait, **kwargs)

    def generate_then_interrupt(*args, callback=None, **kwargs):
        def first_ctrl_c_after_two_batches(start, pairs, labels):
            callback(start, pairs, labels)
            if start > 0:
                raise KeyboardInterrupt
        return real_generate(*args, callback=first_ctrl_c_after_two_batches, **kwargs)

    monkeypatch.setattr(ThreadPoolExecutor, "shutdown", shutdown_interrupted_once)
    monkeypatch.setattr(pair_dataset, "generate_pairs", generate_then_interrupt)
    gen = syn.SyntheticGenerator("dead-1@32", data_format="NHWC")
    with pytest.raises(KeyboardInterrupt):
        pair_dataset.write_pair_folder(str(tmp_path / "pairs"), gen, 400, seed=0, batch_size=100, progress=False)
    assert len(shutdowns) >= 2                  # the join was retried after the interrupt
    time.sleep(1.5)                             # a writer left running (~1 s of work) would write by now
    assert os.listdir(str(tmp_path)) == []


@pytest.mark.slow
@pytest.mark.parametrize("num_dead", [1, 2])
def test_recognizer_on_a_folder_with_dead_dimensions(tmp_path, num_dead):
    """A dead dim gives an empty difference image. Two dead dims are therefore indistinguishable, and the
    recognizer is at chance between them (~50 % each on average). A single dead dim is NOT at chance: the
    empty difference names it, so the recognizer gets it right (at the expense of live dims whose change left
    the image unchanged, e.g. a new code inside the same shape bin) -- VP does not penalise one dead dim."""
    from metrics import pair_dataset, vp_metric

    gen = syn.SyntheticGenerator("dead-%d@32" % num_dead, data_format="NHWC")
    folder = str(tmp_path / "pairs")
    pair_dataset.write_pair_folder(folder, gen, 2400, seed=0, batch_size=400, progress=False)
    pairs, labels = vp_metric.load_pair_folder(folder)            # passes the onedim folder checks
    res = vp_metric.compute_vp_score(pairs, labels, seed=0, protocol="fast", epochs=8, test_ratio=0.5,
                                     threads=2, verbose=False)
    acc = res["per_dim_accuracy"]
    confusion = np.array(res["confusion"])
    dead_rows = confusion[5:]
    dead_mean = 100.0 * np.trace(confusion[5:, 5:]) / dead_rows.sum()
    assert (dead_rows[:, 5:].sum() / dead_rows.sum()) > 0.8        # named as dead, not as a live dim
    if num_dead == 2:
        assert 35 <= dead_mean <= 65, (acc, dead_mean)              # chance between the two
    else:
        assert dead_mean > 90, (acc, dead_mean)                     # recognised by the absence of change
    assert np.mean(acc[3:5]) > 70, acc                              # posX, posY changes are plain to see


def test_tools_accept_a_synthetic_generator(tmp_path, capsys):
    import run_metrics
    import run_pair_imgs

    out = str(tmp_path / "pairs")
    assert run_pair_imgs.main(["--network_pkl", "synthetic:rotation-30@32", "--n_imgs", "40", "--result-dir", out,
                               "--batch_size", "20"]) == 0
    assert len([f for f in os.listdir(out) if f.endswith(".jpg")]) == 40
    res_dir = str(tmp_path / "metrics")
    assert run_metrics.main(["--network_pkl", "synthetic:rotation-30@32", "--metrics", "mig", "--gt-points", "600",
                             "--result-dir", res_dir, "--quiet"]) == 0
    value = json.load(open(os.path.join(res_dir, "metric-mig.json")))["value"]
    assert 0.2 < value < 0.9
    assert run_pair_imgs.main(["--network_pkl", "synthetic:spiral-2", "--n_imgs", "4", "--result-dir",
                               str(tmp_path / "x")]) == 2
    assert "unknown synthetic generator" in capsys.readouterr().err


def test_traversal_grid_of_a_synthetic_generator():
    from training import grids

    gen = syn.SyntheticGenerator("perfect@32", data_format="NHWC")
    grid = grids.traversal_grid(gen, seed=1, n_samples_per=6)
    assert grid.shape == (30, 32, 32, 1) and grid.dtype == np.uint8
    codes = grids.traversal_latents(np.random.RandomState(1), 0, 5, 6, "uniform")
    np.testing.assert_array_equal(grid, np.rint((gen.run(codes) + 1) * 127.5).astype(np.uint8))
    factors = gen.factors_of_codes(codes).reshape(5, 6, 5)
    for d in range(5):                       # row d moves factor d only, across its range
        others = np.delete(factors[d], d, axis=1)
        assert (others == others[0]).all() and factors[d, 0, d] == 0 and factors[d, -1, d] == syn.FACTOR_SIZES[d] - 1
