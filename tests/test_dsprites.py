"""dSprites factor grid, index formula and the procedural renderer (training/dsprites.py)."""

import hashlib
import os
import sys

import numpy as np
import pytest

from training import dsprites as ds

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'experiments',
                                'dsprites_renderer'))
import compare  # noqa: E402  (reads tests/fixtures/dsprites_official)

SEED = 1234


def _random_classes(num, seed=SEED):
    rng = np.random.RandomState(seed)
    return np.stack([rng.randint(size, size=num) for size in ds.FACTOR_SIZES], axis=1).astype(np.int64)


@pytest.fixture(scope='module')
def sample():
    """2,000 seeded random factor combinations and their images."""
    classes = _random_classes(2000)
    return classes, ds.render(classes)


def _with(classes, **changes):
    out = np.array(classes, dtype=np.int64, copy=True)
    for name, value in changes.items():
        out[..., ds.FACTOR_NAMES.index(name)] = value
    return out


def _areas(images):
    return images.reshape(images.shape[0], -1).sum(axis=1).astype(np.int64)


# ------------------------------------------------------------------------------------------------------------
# Factor grid and index formula


def test_published_constants():
    assert ds.FACTOR_NAMES == ('color', 'shape', 'scale', 'orientation', 'posX', 'posY')
    assert ds.FACTOR_SIZES == (1, 3, 6, 40, 32, 32)
    assert ds.NUM_IMAGES == 737280 == int(np.prod(ds.FACTOR_SIZES))
    assert ds.INDEX_BASES == (737280, 245760, 40960, 1024, 32, 1)
    # bases = products of the sizes of the faster factors (posY fastest)
    for k in range(6):
        assert ds.INDEX_BASES[k] == int(np.prod(ds.FACTOR_SIZES[k + 1:]))
    assert ds.METRIC_FACTOR_SIZES == (3, 6, 40, 32, 32)


def test_factor_values_match_definition():
    vals = ds.FACTOR_VALUES
    assert [len(v) for v in vals] == list(ds.FACTOR_SIZES)
    np.testing.assert_array_equal(vals[0], [1.0])
    np.testing.assert_array_equal(vals[1], [1.0, 2.0, 3.0])
    np.testing.assert_allclose(vals[2], [0.5, 0.6, 0.7, 0.8, 0.9, 1.0], rtol=0, atol=1e-12)
    assert vals[3][0] == 0.0 and vals[3][-1] == 2 * np.pi
    np.testing.assert_allclose(np.diff(vals[3]), 2 * np.pi / 39, rtol=1e-12)
    for v in vals[4:]:
        assert v[0] == 0.0 and v[-1] == 1.0
        np.testing.assert_allclose(np.diff(v), 1.0 / 31, rtol=1e-12)


def test_index_formula_and_round_trip():
    classes = _random_classes(5000)
    index = ds.classes_to_index(classes)
    assert index.dtype == np.int64 and index.shape == (5000,)
    np.testing.assert_array_equal(index, (classes * np.array(ds.INDEX_BASES)).sum(axis=1))
    np.testing.assert_array_equal(ds.index_to_classes(index), classes)
    # corners: every factor at 0 or at its last class
    corners = np.array(np.meshgrid(*[[0, s - 1] for s in ds.FACTOR_SIZES], indexing='ij')).reshape(6, -1).T
    np.testing.assert_array_equal(ds.index_to_classes(ds.classes_to_index(corners)), corners)
    assert ds.classes_to_index([[0, 0, 0, 0, 0, 0]])[0] == 0
    assert ds.classes_to_index([[0, 2, 5, 39, 31, 31]])[0] == ds.NUM_IMAGES - 1
    assert ds.classes_to_index([[0, 0, 0, 0, 0, 1]])[0] == 1
    assert ds.classes_to_index([[0, 0, 0, 0, 1, 0]])[0] == 32
    # the whole grid: index_to_classes enumerates every combination once, in order
    all_classes = ds.all_classes()
    assert all_classes.shape == (ds.NUM_IMAGES, 6)
    np.testing.assert_array_equal(ds.classes_to_index(all_classes), np.arange(ds.NUM_IMAGES))
    assert (np.diff(all_classes[:, 5])[:31] == 1).all()


def test_classes_to_values():
    classes = _random_classes(100)
    values = ds.classes_to_values(classes)
    assert values.dtype == np.float64 and values.shape == (100, 6)
    for k in range(6):
        np.testing.assert_array_equal(values[:, k], ds.FACTOR_VALUES[k][classes[:, k]])


def test_invalid_classes_rejected():
    with pytest.raises(ValueError, match='orientation'):
        ds.classes_to_index([[0, 0, 0, 40, 0, 0]])
    with pytest.raises(ValueError, match=r'\[N, 6\]'):
        ds.render(np.zeros((3, 5), dtype=np.int64))
    with pytest.raises(ValueError):
        ds.index_to_classes([ds.NUM_IMAGES])


# ------------------------------------------------------------------------------------------------------------
# Renderer


def test_note_says_approximation():
    assert 'approximation' in ds.RENDERER_NOTE.lower() or 'APPROXIMATION' in ds.RENDERER_NOTE
    assert ds.NPZ_FILENAME in ds.RENDERER_NOTE and '--npz' in ds.RENDERER_NOTE
    assert 'approximation' in ds.__doc__.lower()


def test_binary_nonempty_inside_frame(sample):
    classes, images = sample
    assert images.dtype == np.uint8 and images.shape == (2000, 64, 64)
    assert set(np.unique(images).tolist()) <= {0, 1}
    assert (_areas(images) > 0).all()
    # never touches the outermost rows / columns
    assert not images[:, 0, :].any() and not images[:, -1, :].any()
    assert not images[:, :, 0].any() and not images[:, :, -1].any()


def test_sprite_is_never_cut(sample):
    """Rendered on a 128x128 canvas (32 px margin), nothing lies outside the 64x64 frame, and the frame
    equals the windowed render."""
    classes, images = sample
    big = ds._render_chunk(classes, None, canvas=(128, 32))
    assert big.shape == (2000, 128, 128)
    np.testing.assert_array_equal(big[:, 32:96, 32:96].astype(np.uint8), images)
    np.testing.assert_array_equal(big.reshape(2000, -1).sum(axis=1), _areas(images))
    # analytic: centre +- the largest outline radius stays in [1, 63]
    scale = ds.FACTOR_VALUES[2][classes[:, 2]]
    radius = np.array([ds.MAX_RADIUS[ds.SHAPE_NAMES[s]] for s in classes[:, 1]]) * scale
    for axis in (4, 5):
        centre = 16.0 + 32.0 * ds.FACTOR_VALUES[axis][classes[:, axis]]
        assert (centre - radius >= 1.0).all() and (centre + radius <= 63.0).all()


def _nominal_area(shape, scale, turned):
    """Analytic area (px) of the outline the renderer fills: turned squares lose the 0.4-px inset rim."""
    if shape == 0:
        side = 20.0 * scale - np.where(turned, 2 * ds.SQUARE_ROTATED_INSET, 0.0)
        return side ** 2
    if shape == 1:
        a, b = ds.ELLIPSE_SEMI_AXES
        return np.pi * (a * scale + ds.ELLIPSE_AXIS_OFFSET) * (b * scale + ds.ELLIPSE_AXIS_OFFSET)
    return ds.HEART_AREA * scale ** 2


def test_areas_follow_the_fitted_geometry(sample):
    """Single-image pixel counts scatter around the analytic area of the fitted outline (each boundary pixel
    is in or out by where its centre falls): within 12% here. Means over many positions and orientations
    converge to the analytic areas, so they are held to 2%."""
    classes, images = sample
    scale = ds.FACTOR_VALUES[2][classes[:, 2]]
    turned = classes[:, 3] % 39 != 0
    for shape in range(3):
        sel = classes[:, 1] == shape
        nominal = _nominal_area(shape, scale[sel], turned[sel])
        ratio = _areas(images[sel]) / nominal
        assert abs(ratio.mean() - 1) < 0.02, (shape, ratio.mean())
        assert (np.abs(ratio - 1) < 0.12).all(), (shape, ratio.min(), ratio.max())
    # measured means over 600 positions / orientations at scale 1 and 0.5 (official frames: turned squares
    # 364-372 at scale 1, ellipses 288 / 76, hearts 222 / 58)
    base = _random_classes(600, seed=8)
    for shape, (lo1, hi1), (lo05, hi05) in [(0, (365, 375), (82, 89)), (1, (285, 294), (71, 77)),
                                             (2, (220, 230), (54, 59))]:
        one = _areas(ds.render(_with(base, shape=shape, scale=5))).mean()
        half = _areas(ds.render(_with(base, shape=shape, scale=0))).mean()
        assert lo1 <= one <= hi1, (shape, one)
        assert lo05 <= half <= hi05, (shape, half)
    assert abs(ds.HEART_AREA - 225.0) < 0.01


def test_square_is_exact_when_axis_aligned():
    base = _with(_random_classes(64, seed=3), shape=0, orientation=0)
    for k in range(6):
        imgs = ds.render(_with(base, scale=k))
        side = 10 + 2 * k
        assert (_areas(imgs) == side * side).all()
        for img in imgs:
            rows, cols = np.nonzero(img.any(axis=1))[0], np.nonzero(img.any(axis=0))[0]
            assert rows[-1] - rows[0] + 1 == side and cols[-1] - cols[0] + 1 == side


def test_outline_extents_at_scale_1():
    """Bounding boxes at orientation 0: ellipse 25-26 x 14-15 (long axis horizontal), heart 19-20 x 17-18
    (official frames at position 0: 26 x 14 and 20 x 17)."""
    base = _with(_random_classes(200, seed=4), scale=5, orientation=0)
    for shape, (w_lo, w_hi), (h_lo, h_hi) in [(1, (25, 26), (14, 15)), (2, (19, 20), (17, 18))]:
        for img in ds.render(_with(base, shape=shape)):
            rows, cols = np.nonzero(img.any(axis=1))[0], np.nonzero(img.any(axis=0))[0]
            assert w_lo <= cols[-1] - cols[0] + 1 <= w_hi
            assert h_lo <= rows[-1] - rows[0] + 1 <= h_hi


def test_heart_points_down_and_rotates_counter_clockwise():
    """The heart reaches ~10 px from its centroid at the point and ~7 px at the lobes."""
    def reach(orientation):
        img = ds.render([[0, 2, 5, orientation, 16, 16]])[0]
        ys, xs = np.nonzero(img)
        cy, cx = ys.mean(), xs.mean()
        return {'down': ys.max() - cy, 'up': cy - ys.min(), 'right': xs.max() - cx, 'left': cx - xs.min()}
    r = reach(0)                                # point down at orientation 0
    assert r['down'] > r['up'] + 2 and abs(r['left'] - r['right']) < 1.5
    r = reach(10)                               # 92 degrees counter-clockwise as displayed: point to the right
    assert r['right'] > r['left'] + 1 and abs(r['up'] - r['down']) < 1.5
    r = reach(29)                               # 268 degrees: point to the left
    assert r['left'] > r['right'] + 1 and abs(r['up'] - r['down']) < 1.5
    # the ellipse's long axis turns vertical at ~90 degrees
    img = ds.render([[0, 1, 5, 10, 16, 16]])[0]
    rows, cols = np.nonzero(img.any(axis=1))[0], np.nonzero(img.any(axis=0))[0]
    assert rows[-1] - rows[0] > cols[-1] - cols[0] + 8


def test_neighbouring_positions_differ(sample):
    classes, images = sample
    for name in ('posX', 'posY'):
        k = ds.FACTOR_NAMES.index(name)
        moved = classes.copy()
        moved[:, k] = np.where(classes[:, k] < 31, classes[:, k] + 1, classes[:, k] - 1)
        other = ds.render(moved)
        assert (other != images).reshape(len(images), -1).any(axis=1).all()


def test_orientation_0_equals_39():
    base = _random_classes(300, seed=5)
    np.testing.assert_array_equal(ds.render(_with(base, orientation=0)), ds.render(_with(base, orientation=39)))


def test_deterministic_and_chunking_independent(sample):
    classes, images = sample
    np.testing.assert_array_equal(ds.render(classes), images)
    out = np.full((2000, 64, 64), 7, dtype=np.uint8)
    assert ds.render(classes, out=out, chunk_size=97) is out
    assert out.tobytes() == images.tobytes()
    np.testing.assert_array_equal(ds.render(classes[5:6]), images[5:6])
    with pytest.raises(ValueError):
        ds.render(classes, out=np.zeros((2000, 64, 64), dtype=np.float32))


def _centres_of_mass(images):
    imgs = images.astype(np.float64)
    total = imgs.sum(axis=(1, 2))
    xs = (imgs.sum(axis=1) * (np.arange(64) + 0.5)).sum(axis=1) / total
    ys = (imgs.sum(axis=2) * (np.arange(64) + 0.5)).sum(axis=1) / total
    return xs, ys


def test_centre_of_mass_moves_with_position():
    """One position step moves the sprite by 32/31 ~ 1.03 px; pos 0 puts the anchor at 16 (between pixels 15
    and 16). Squares and ellipses are centred on the anchor; the heart's centroid sits 1.99 * scale px from
    it, away from the point, and turns with it (counter-clockwise as displayed)."""
    assert abs(ds.HEART_CENTROID[0]) < 1e-9 and abs(ds.HEART_CENTROID[1] + 1.991) < 0.001
    for shape in range(3):
        for orientation in (0, 7, 20):
            classes = np.zeros((32, 6), dtype=np.int64)
            classes[:, 1], classes[:, 2], classes[:, 3] = shape, 5, orientation
            classes[:, 4] = np.arange(32)
            classes[:, 5] = 20
            xs, ys = _centres_of_mass(ds.render(classes))
            slope = np.polyfit(np.arange(32), xs, 1)[0]
            assert abs(slope - 32.0 / 31.0) < 0.02, (shape, orientation, slope)
            du, dv = ds.HEART_CENTROID if shape == 2 else (0.0, 0.0)
            angle = 2 * np.pi * orientation / 39
            off_x = du * np.cos(angle) + dv * np.sin(angle)       # the renderer's rotation, scale 1
            off_y = -du * np.sin(angle) + dv * np.cos(angle)
            # pixel quantisation moves the centre of mass by up to half a pixel
            assert np.abs(xs - (16 + 32 * np.arange(32) / 31.0 + off_x)).max() <= 0.5, (shape, orientation)
            assert np.abs(ys - (16 + 32 * 20 / 31.0 + off_y)).max() <= 0.5, (shape, orientation)


def test_heart_centroid_offset_scales_with_the_sprite():
    """Averaged over positions, the heart's centroid lies 1.99 * scale px above its anchor at orientation 0
    (official frames at position 0: 0.88, 1.26, 1.52, 1.53, 1.84, 1.93 px for scales 0.5 ... 1)."""
    base = _with(_random_classes(400, seed=9), shape=2, orientation=0)
    for k, scale in enumerate(ds.FACTOR_VALUES[2]):
        classes = _with(base, scale=k)
        _, ys = _centres_of_mass(ds.render(classes))
        above = (16 + 32 * classes[:, 5] / 31.0 - ys).mean()
        assert abs(above - 1.991 * scale) < 0.05, (scale, above)


def test_distinct_images_where_the_grid_allows():
    """Images of different shape / scale / position never coincide, nor do two hearts (apart from
    orientation 39 == 0). (Documented coincidences: squares every ~90 and ellipses every ~180 degrees.)"""
    classes = _random_classes(6000, seed=11)
    classes[:, 3] %= 39
    keys = {}
    for c, img in zip(classes, ds.render(classes)):
        key = np.packbits(img).tobytes()
        if key in keys:
            other = keys[key]
            assert (other[[1, 2, 4, 5]] == c[[1, 2, 4, 5]]).all(), (other, c)
            assert other[1] != 2 or other[3] == c[3]
        keys[key] = c
    hearts = ds.all_classes()
    hearts = hearts[(hearts[:, 1] == 2) & (hearts[:, 3] < 39) & (hearts[:, 5] % 4 == 0)]
    packed = np.packbits(ds.render(hearts).reshape(len(hearts), -1), axis=1)
    assert len(set(row.tobytes() for row in packed)) == len(hearts)


# ------------------------------------------------------------------------------------------------------------
# The official frames (tests/fixtures/dsprites_official: DeepMind's dsprites.gif and the classes of each frame)


@pytest.fixture(scope='module')
def official():
    """(frames bool [320, 64, 64], classes int64 [320, 6]) of the official animation."""
    frames, classes = compare.official_frames()
    assert frames.shape == (320, 64, 64) and classes.shape == (320, 6)
    return frames, classes


_iou = compare.frame_iou


def test_renders_match_the_official_frames(official):
    """Every one of the 320 official frames is matched with IoU >= 0.9; per-shape figures as measured when the
    geometry was fitted (mean / lowest: squares 0.9997 / 0.989, ellipses 0.995 / 0.973, hearts 0.989 / 0.957)."""
    frames, classes = official
    iou = _iou(frames, ds.render(classes))
    assert iou.min() >= 0.9, (iou.min(), classes[iou.argmin()])
    for shape, mean, lowest in [(0, 0.999, 0.985), (1, 0.993, 0.97), (2, 0.987, 0.955)]:
        sel = classes[:, 1] == shape
        assert sel.sum() == (192 if shape == 2 else 64)
        assert iou[sel].mean() >= mean and iou[sel].min() >= lowest, (shape, iou[sel].mean(), iou[sel].min())
    # the fixture is consistent with itself: frames with equal classes (39 counted as 0) are identical
    key = [tuple(c[:3]) + (c[3] % 39,) + tuple(c[4:]) for c in classes]
    first = {}
    for k, frame in zip(key, frames):
        np.testing.assert_array_equal(first.setdefault(k, frame), frame)


def test_official_axis_aligned_squares_are_exact(official):
    frames, classes = official
    sel = (classes[:, 1] == 0) & (classes[:, 3] % 39 == 0)
    assert sel.sum() >= 6
    np.testing.assert_array_equal(ds.render(classes[sel]).astype(bool), frames[sel])


# sha256 of ds.render(_random_classes(3000, seed=2020)) followed by the 320 official classes (renderer version
# 2). The same bytes on both runtimes (numpy 1.18 / Python 3.7 and numpy 2.x / Python 3.11).
RENDER_SHA256 = '72633eaea5ce01454bf2c2c35bdbc5407b78e52ca891b74da9277a06f8325c22'


def test_render_bytes_are_pinned(official):
    classes = np.concatenate([_random_classes(3000, seed=2020), official[1]])
    digest = hashlib.sha256(ds.render(classes).tobytes()).hexdigest()
    assert ds.RENDERER_VERSION == 2
    assert digest == RENDER_SHA256


# ------------------------------------------------------------------------------------------------------------
# The official npz


def test_load_npz(tmp_path):
    classes = _random_classes(10)
    imgs = ds.render(classes)
    path = str(tmp_path / 'fake.npz')
    np.savez(path, imgs=imgs, latents_classes=classes, latents_values=ds.classes_to_values(classes))
    got_imgs, got_classes = ds.load_npz(path)
    assert got_imgs.dtype == np.uint8 and got_classes.dtype == np.int64
    np.testing.assert_array_equal(got_imgs, imgs)
    np.testing.assert_array_equal(got_classes, classes)
    bad = str(tmp_path / 'bad.npz')
    np.savez(bad, images=imgs)
    with pytest.raises(KeyError, match='imgs, latents_classes'):
        ds.load_npz(bad)
