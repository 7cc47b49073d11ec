"""metrics/sprite_iou.py: nearest-render IoU against a brute-force reference, the score's bookkeeping, bad input,
and the metric end to end through run_metrics.py on a synthetic generator that draws exact sprites."""

import json
import os

import numpy as np
import pytest

from metrics import sprite_iou
from training import dsprites

SMALL_GRID = 3000      # the first renders of the official order: shape 0 (squares), scale 0, a few orientations


def brute_force(masks, num_renders):
    """IoU of every sample with each of the first ``num_renders`` renders, in float64 -> (best iou, first argmax)."""
    refs = sprite_iou.reference_masks(masks.shape[1], 0, num_renders).astype(bool)
    flat = masks.reshape(len(masks), -1)
    inter = (flat[:, None, :] & refs[None]).sum(axis=2).astype(np.float64)
    union = (flat[:, None, :] | refs[None]).sum(axis=2).astype(np.float64)
    iou = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    return iou.max(axis=1), iou.argmax(axis=1)


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    """The rendered grid is cached under $VPDIS_CACHE_DIR: a fresh one per test, none in the user's home."""
    monkeypatch.setenv("VPDIS_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "sprite-iou"


@pytest.fixture
def small_grid(monkeypatch):
    monkeypatch.setattr(dsprites, "NUM_IMAGES", SMALL_GRID)
    monkeypatch.setattr(sprite_iou, "RENDER_CHUNK", 700)      # chunks that do not divide the grid


def sample_masks(resolution=32, seed=0):
    rng = np.random.RandomState(seed)
    exact = sprite_iou.reference_masks(resolution, 0, SMALL_GRID)[rng.choice(SMALL_GRID, 6, replace=False)]
    exact = exact.reshape(-1, resolution, resolution).astype(bool)
    flipped = exact.copy()
    flipped[:, rng.randint(resolution, size=6), rng.randint(resolution, size=6)] ^= True      # a few pixels off
    shifted = np.roll(exact, 3, axis=2)
    noise = rng.uniform(size=(4, resolution, resolution)) < 0.3
    empty = np.zeros((1, resolution, resolution), bool)
    return np.concatenate([exact, flipped, shifted, noise, empty])


@pytest.mark.parametrize("resolution", [32, 16])
def test_nearest_renders_agree_with_brute_force(small_grid, resolution):
    masks = sample_masks(resolution)
    iou, index = sprite_iou.nearest_renders(masks)
    best, first = brute_force(masks, SMALL_GRID)
    np.testing.assert_allclose(iou, best, rtol=1e-6, atol=0)
    assert (index < SMALL_GRID).all()
    matched = best > 0
    np.testing.assert_array_equal(index[matched], first[matched])      # the first render of the best IoU
    assert (iou[:6] == 1.0).all() and (iou[6:12] < 1.0).all() and iou[-1] == 0.0 and index[-1] == -1
    if resolution == 32:     # at 16x16 a wrapped-round shift can leave the small grid's positions
        assert iou[12:18].min() > iou[18:22].max()            # a shifted sprite is nearer a sprite than noise is


def test_score_counts_samples_at_the_level_and_histograms_their_renders(small_grid):
    masks = sample_masks()
    images = masks.astype(np.uint8) * 255
    res = sprite_iou.compute_sprite_iou(images[:, :, :, None], iou_level=0.99)
    iou, _ = sprite_iou.nearest_renders(masks)
    assert res["fraction_at_level"] == pytest.approx((iou >= 0.99).mean()) and res["fraction_at_level"] > 0
    assert res["num_samples"] == len(masks) and res["resolution"] == 32 and res["empty_samples"] == 1
    assert res["unmatched_samples"] == int((iou == 0).sum()) >= 1                       # the empty one at least
    assert sum(res["nearest_shape_counts"]) == len(masks) - res["unmatched_samples"]
    assert len(res["nearest_shape_counts"]) == 3
    assert sum(res["shape_counts_at_level"]) == int((iou >= 0.99).sum())
    assert len(res["nearest_scale_counts"]) == 6 and res["median_iou"] == pytest.approx(np.median(iou))
    np.testing.assert_allclose(res["iou"], iou)
    # grey levels: 127 is background, 128 foreground (the dataset's half-coverage cut)
    grey = np.where(masks, 128, 127).astype(np.uint8)
    assert sprite_iou.compute_sprite_iou(grey)["iou"] == res["iou"]


def test_the_rendered_grid_is_cached_and_a_damaged_cache_rebuilt(small_grid, cache_dir, monkeypatch):
    masks = sample_masks()
    first = sprite_iou.nearest_renders(masks)
    files = sorted(os.listdir(str(cache_dir)))
    assert files == ["dsprites-v%d-32px-%d.npy" % (dsprites.RENDERER_VERSION, SMALL_GRID)]
    packed = np.load(str(cache_dir / files[0]))
    np.testing.assert_array_equal(np.unpackbits(packed, axis=1, count=1024),
                                  sprite_iou.reference_masks(32, 0, SMALL_GRID).astype(np.uint8))
    real = sprite_iou.reference_masks

    def no_rendering(*args):
        raise AssertionError("rendered although cached")

    monkeypatch.setattr(sprite_iou, "reference_masks", no_rendering)
    again = sprite_iou.nearest_renders(masks)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    monkeypatch.setattr(sprite_iou, "reference_masks", real)
    for damage in ("wrong shape", "cut off"):                          # both rendered again
        if damage == "wrong shape":
            np.save(str(cache_dir / files[0]), packed[:10])
        else:
            data = (cache_dir / files[0]).read_bytes()
            (cache_dir / files[0]).write_bytes(data[:len(data) // 2])
        np.testing.assert_array_equal(sprite_iou.nearest_renders(masks)[0], first[0])
        assert np.load(str(cache_dir / files[0])).shape == packed.shape


def test_an_iou_exactly_at_the_level_counts(small_grid):
    """IoU ratios are compared in float64: float32 rounds e.g. 9/10 below 0.9, which counted it below the level."""
    ref = sprite_iou.reference_masks(32, 0, SMALL_GRID).astype(bool)
    areas = ref.sum(axis=1)
    # a render of area a where float32((a - 1) / a) rounds below the ratio: the case float32 got wrong
    k = next(i for i in np.argsort(areas) if np.float32((areas[i] - 1) / areas[i]) < (areas[i] - 1) / areas[i])
    level = (areas[k] - 1) / areas[k]
    sample = ref[k].copy()
    sample[np.flatnonzero(sample)[0]] = False                          # a - 1 of its a pixels: IoU (a - 1) / a
    iou, _ = sprite_iou.nearest_renders(sample.reshape(1, 32, 32))
    assert iou[0] >= level
    assert sprite_iou.compute_sprite_iou(sample.reshape(1, 32, 32).astype(np.uint8) * 255, iou_level=level)[
        "fraction_at_level"] == 1.0


@pytest.mark.parametrize("images, needle", [
    (np.zeros((2, 32, 32, 3), np.uint8), "grey uint8"),
    (np.zeros((2, 32, 32), np.float32), "grey uint8"),
    (np.zeros((0, 32, 32), np.uint8), "at least one"),
    (np.zeros((2, 24, 24), np.uint8), "resolution dividing 64"),
])
def test_bad_images_are_refused(images, needle):
    with pytest.raises(ValueError, match=needle):
        sprite_iou.compute_sprite_iou(images)


@pytest.mark.slow
def test_run_metrics_scores_exact_sprites_at_one(tmp_path):
    """The synthetic perfect generator at 32x32 draws renders of the grid (box-averaged like the dataset):
    every sample has an exact twin, over the full 737,280-image grid."""
    import run_metrics

    out = str(tmp_path / "m")
    assert run_metrics.main(["--network_pkl", "synthetic:perfect@32", "--metrics", "sprite_iou", "--sprite-samples",
                             "24", "--batch_size", "8", "--result-dir", out, "--quiet"]) == 0
    res = json.load(open(os.path.join(out, "metric-sprite_iou.json")))
    assert res["value"] == 1.0 and res["details"]["num_samples"] == 24 and res["details"]["mean_iou"] == 1.0
    assert res["settings"] == {"seed": 0, "sprite_samples": 24, "batch_size": 8}
    assert sum(res["details"]["nearest_shape_counts"]) == 24


def test_run_metrics_refuses_a_sample_count_below_one(capsys):
    import run_metrics

    assert run_metrics.main(["--network_pkl", "synthetic:perfect@32", "--metrics", "sprite_iou",
                             "--sprite-samples", "0", "--result-dir", "unused"]) == 2
    assert "--sprite-samples must be at least 1" in capsys.readouterr().err.strip().splitlines()[-1]
