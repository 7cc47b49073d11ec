"""Ground-truth data objects for the metrics (training/ground_truth.py)."""

import json
import os

import numpy as np
import pytest

from training import dsprites as ds
from training import ground_truth as gt


def _grid(sizes):
    """All combinations int64 [prod(sizes), F], last factor fastest."""
    return np.stack(np.meshgrid(*[np.arange(s) for s in sizes], indexing='ij'), axis=-1).reshape(-1, len(sizes))


def _encoding_images(classes, height=3, width=2):
    """uint8 NHWC images whose first channel holds the factor classes (row-major) and whose pixels are
    otherwise distinct per channel, so a test can read back which image it got."""
    n, f = classes.shape
    imgs = np.zeros((n, height, width, 3), dtype=np.uint8)
    flat = imgs[..., 0].reshape(n, -1)
    flat[:, :f] = classes
    imgs[..., 0] = flat.reshape(n, height, width)
    imgs[..., 1] = 200
    imgs[..., 2] = np.arange(height * width, dtype=np.uint8).reshape(height, width)
    return imgs


def _decode(observations, num_factors):
    """float NCHW observations in [0, 1] -> the classes encoded by _encoding_images."""
    return np.rint(observations[:, 0].reshape(len(observations), -1)[:, :num_factors] * 255).astype(np.int64)


# ------------------------------------------------------------------------------------------------------------
# dSprites


def test_dsprites_data_procedural():
    data = gt.DSpritesData()
    assert data.procedural
    assert data.num_factors == 5
    assert data.factor_sizes == (3, 6, 40, 32, 32)
    assert data.factor_names == ('shape', 'scale', 'orientation', 'posX', 'posY')
    assert data.observation_shape == (1, 64, 64)
    rng = np.random.RandomState(0)
    factors, obs = data.sample(50, rng)
    assert factors.dtype == np.int64 and factors.shape == (50, 5)
    assert (factors >= 0).all() and (factors < np.array(data.factor_sizes)).all()
    assert obs.dtype == np.float32 and obs.shape == (50, 1, 64, 64)
    assert set(np.unique(obs).tolist()) <= {0.0, 1.0}
    expected = ds.render(np.concatenate([np.zeros((50, 1), np.int64), factors], axis=1))
    np.testing.assert_array_equal(obs[:, 0], expected.astype(np.float32))
    assert data.sample_observations(7, rng).shape == (7, 1, 64, 64)
    with pytest.raises(ValueError, match='orientation'):
        data.sample_observations_from_factors([[0, 0, 40, 0, 0]], rng)
    with pytest.raises(ValueError):
        data.sample_observations_from_factors(np.zeros((2, 6), np.int64), rng)


@pytest.mark.parametrize('shuffled', [False, True])
def test_dsprites_data_from_npz(monkeypatch, shuffled):
    """With an npz the images are read from it, in official order or not. The official file is 3 GB, so
    load_npz is replaced by a fake whose 'images' (1 x 3 bytes) spell each row's official index."""
    order = np.arange(ds.NUM_IMAGES)
    if shuffled:
        order = np.random.RandomState(1).permutation(ds.NUM_IMAGES)
    classes = ds.index_to_classes(order)

    def fake_load(path):
        assert path == 'fake.npz'
        digits = np.stack([(order >> (8 * k)) & 255 for k in range(3)], axis=1).astype(np.uint8)
        return digits[:, None, :], classes
    monkeypatch.setattr(ds, 'load_npz', fake_load)
    data = gt.make_ground_truth_data('fake.npz')
    assert isinstance(data, gt.DSpritesData) and not data.procedural
    assert (data.row_of_index is None) != shuffled
    rng = np.random.RandomState(2)
    factors = data.sample_factors(1000, rng)
    obs = data.sample_observations_from_factors(factors, rng)
    assert obs.dtype == np.float32 and obs.shape == (1000, 1, 1, 3)
    index = (np.rint(obs[:, 0, 0]).astype(np.int64) << np.array([0, 8, 16])).sum(axis=1)
    np.testing.assert_array_equal(ds.index_to_classes(index)[:, 1:], factors)


# ------------------------------------------------------------------------------------------------------------
# GridData


def test_grid_accepts_complete_grid_in_any_order():
    sizes = (2, 3, 4)
    classes = _grid(sizes)
    perm = np.random.RandomState(3).permutation(len(classes))
    data = gt.GridData(_encoding_images(classes[perm]), classes[perm], sizes, ('a', 'b', 'c'))
    assert data.num_factors == 3 and data.factor_sizes == sizes and data.factor_names == ('a', 'b', 'c')
    assert data.observation_shape == (3, 3, 2)
    rng = np.random.RandomState(4)
    factors = data.sample_factors(100, rng)
    obs = data.sample_observations_from_factors(factors, rng)
    assert obs.dtype == np.float32 and obs.shape == (100, 3, 3, 2)
    assert obs.min() >= 0 and obs.max() <= 1
    np.testing.assert_array_equal(_decode(obs, 3), factors)
    np.testing.assert_allclose(obs[:, 1], 200 / 255.0, rtol=1e-6)       # channel 1 constant 200
    np.testing.assert_allclose(obs[0, 2] * 255, np.arange(6).reshape(3, 2), atol=1e-4)   # NCHW layout
    np.testing.assert_array_equal(classes[perm][data.rows_of(factors)], factors)
    # every tuple maps to the row holding it
    np.testing.assert_array_equal(classes[perm][data.rows_of(classes)], classes)


def test_grid_layouts():
    sizes = (3, 2)
    classes = _grid(sizes)
    nhwc = _encoding_images(classes)
    rng = np.random.RandomState(5)
    want = gt.GridData(nhwc, classes, sizes).sample_observations_from_factors(classes, rng)
    nchw = np.ascontiguousarray(nhwc.transpose(0, 3, 1, 2))
    got = gt.GridData(nchw, classes, sizes, data_format='NCHW').sample_observations_from_factors(classes, rng)
    np.testing.assert_array_equal(got, want)
    gray = gt.GridData(nhwc[..., 0], classes, sizes)
    assert gray.observation_shape == (1, 3, 2)
    np.testing.assert_array_equal(gray.sample_observations_from_factors(classes, rng), want[:, :1])
    binary = gt.GridData(nhwc[..., 0] > 0, classes, sizes, scale=1.0)
    assert binary.sample_observations_from_factors(classes, rng).max() == 1.0
    assert gt.GridData(nhwc, classes, sizes).factor_names == ('factor0', 'factor1')


def test_grid_missing_combination_rejected():
    sizes = (2, 3, 4)
    classes = _grid(sizes)[:-1]
    with pytest.raises(ValueError, match=r'incomplete.*1 of 24 .*\(a=1, b=2, c=3\)'):
        gt.GridData(_encoding_images(classes), classes, sizes, ('a', 'b', 'c'))


def test_grid_duplicate_combination_rejected():
    sizes = (2, 3, 4)
    classes = _grid(sizes)
    classes[5] = classes[6]
    with pytest.raises(ValueError, match='duplicates'):
        gt.GridData(_encoding_images(classes), classes, sizes)


def test_grid_other_errors():
    sizes = (2, 3)
    classes = _grid(sizes)
    imgs = _encoding_images(classes)
    with pytest.raises(ValueError, match='out of range'):
        gt.GridData(imgs, np.where(classes == 2, 3, classes), sizes)
    with pytest.raises(ValueError, match='rows'):
        gt.GridData(imgs[:-1], classes, sizes)
    with pytest.raises(ValueError, match='names'):
        gt.GridData(imgs, classes, sizes, ('only_one',))
    data = gt.GridData(imgs, classes, sizes)
    with pytest.raises(ValueError):
        data.sample_observations_from_factors(np.zeros((1, 3), np.int64), np.random.RandomState(0))


def test_sample_factors_deterministic():
    sizes = (2, 3, 4)
    classes = _grid(sizes)
    data = gt.GridData(_encoding_images(classes), classes, sizes)
    for obj in (data, gt.DSpritesData()):
        a = obj.sample_factors(500, np.random.RandomState(42))
        b = obj.sample_factors(500, np.random.RandomState(42))
        c = obj.sample_factors(500, np.random.RandomState(43))
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)
        # every class of every factor is drawn
        for k, size in enumerate(obj.factor_sizes):
            assert len(np.unique(a[:, k])) == size
    f1, o1 = data.sample(20, np.random.RandomState(9))
    f2, o2 = data.sample(20, np.random.RandomState(9))
    np.testing.assert_array_equal(f1, f2)
    np.testing.assert_array_equal(o1, o2)


# ------------------------------------------------------------------------------------------------------------
# 3DShapes


def _write_3dshapes(path, image_hw=(2, 2), shuffle=False, hue_tenths=False):
    """A 3DShapes-format h5 with the full 480,000-row label grid (real label values, storage order) and tiny
    images that encode each row's classes."""
    import h5py
    classes = _grid(gt.SHAPES3D_FACTOR_SIZES)
    labels = np.stack([np.asarray(v)[classes[:, k]] for k, v in enumerate(gt.SHAPES3D_FACTOR_VALUES)], axis=1)
    # the file stores values that went through float32 and back in places: perturb slightly
    labels = labels.astype(np.float32).astype(np.float64)
    if hue_tenths:
        labels[:, :3] = classes[:, :3] / 10.0
    imgs = _encoding_images(classes, *image_hw) if image_hw[0] * image_hw[1] >= 6 else None
    if imgs is None:
        imgs = np.zeros((len(classes),) + tuple(image_hw) + (3,), dtype=np.uint8)
        imgs.reshape(len(classes), -1)[:, :6] = classes
    if shuffle:
        perm = np.random.RandomState(0).permutation(len(classes))
        classes, labels, imgs = classes[perm], labels[perm], imgs[perm]
    with h5py.File(path, 'w') as f:
        f.create_dataset('images', data=imgs)
        f.create_dataset('labels', data=labels)
    return classes


@pytest.mark.parametrize('in_memory', [True, False])
def test_3dshapes_reader(tmp_path, in_memory):
    path = str(tmp_path / '3dshapes.h5')
    _write_3dshapes(path, image_hw=(2, 2))
    data = gt.GridData.from_3dshapes_h5(path, in_memory=in_memory)
    assert data.factor_names == ('floor_hue', 'wall_hue', 'object_hue', 'scale', 'shape', 'orientation')
    assert data.factor_sizes == (10, 10, 10, 8, 4, 15)
    assert data.observation_shape == (3, 2, 2)
    rng = np.random.RandomState(6)
    factors = data.sample_factors(300, rng)
    obs = data.sample_observations_from_factors(factors, rng)
    assert obs.shape == (300, 3, 2, 2) and obs.dtype == np.float32
    # the classes are stored in the first 6 bytes of the NHWC image (h, w, c order)
    got = np.rint(obs.transpose(0, 2, 3, 1).reshape(300, -1)[:, :6] * 255).astype(np.int64)
    np.testing.assert_array_equal(got, factors)
    # storage order: orientation fastest
    np.testing.assert_array_equal(data.rows_of(np.array([[0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0]])), [1, 15])
    assert (data.h5_file is None) == in_memory
    data.close()
    assert data.h5_file is None


def test_3dshapes_via_factory_and_errors(tmp_path):
    path = str(tmp_path / 'shapes.h5')
    classes = _write_3dshapes(path, image_hw=(1, 2), shuffle=True, hue_tenths=True)
    data = gt.make_ground_truth_data(path)
    assert isinstance(data, gt.GridData) and data.factor_sizes == (10, 10, 10, 8, 4, 15)
    np.testing.assert_array_equal(classes[data.rows_of(classes[:50])], classes[:50])
    obs = data.sample_observations_from_factors(classes[:50], np.random.RandomState(0))
    np.testing.assert_array_equal(np.rint(obs.transpose(0, 2, 3, 1).reshape(50, -1) * 255), classes[:50])
    import h5py
    for missing in ('images', 'labels'):
        bad = str(tmp_path / ('no_%s.h5' % missing))
        with h5py.File(bad, 'w') as f:
            f.create_dataset('other', data=np.zeros(3))
            if missing == 'images':
                f.create_dataset('labels', data=np.zeros((4, 6)))
            else:
                f.create_dataset('images', data=np.zeros((4, 1, 1, 3), np.uint8))
        with pytest.raises(KeyError, match='missing dataset\\(s\\) %s' % missing):
            gt.GridData.from_3dshapes_h5(bad)
    for name, images_shape, labels_shape in (('gray', (4, 2, 2), (4, 6)), ('short_labels', (4, 2, 2, 3), (3, 6)),
                                             ('five_factors', (4, 2, 2, 3), (4, 5))):
        bad = str(tmp_path / ('%s.h5' % name))
        with h5py.File(bad, 'w') as f:
            f.create_dataset('images', data=np.zeros(images_shape, np.uint8))
            f.create_dataset('labels', data=np.zeros(labels_shape))
        with pytest.raises(ValueError, match="%s.h5: '%s' has shape" % (name, 'images' if name == 'gray' else 'labels')):
            gt.GridData.from_3dshapes_h5(bad)


def test_values_to_classes():
    values = np.array([[0.0, 0.75, -30.0], [1.0, 1.25, 30.0], [0.5555556, 0.8214286, -25.714285]])
    grids = (gt.SHAPES3D_FACTOR_VALUES[0], gt.SHAPES3D_FACTOR_VALUES[3], gt.SHAPES3D_FACTOR_VALUES[5])
    np.testing.assert_array_equal(gt.values_to_classes(values, grids), [[0, 0, 0], [9, 7, 14], [5, 1, 1]])
    with pytest.raises(ValueError, match='scale value 0.8'):
        gt.values_to_classes(np.array([[0.0, 0.8, 0.0]]), grids, ('hue', 'scale', 'orientation'))
    with pytest.raises(ValueError):
        gt.values_to_classes(np.array([[np.nan, 0.75, 0.0]]), grids)
    # hues stored as 0, 0.1, ..., 0.9 are accepted as an alternative grid
    tenths = np.array([[0.1, 0.75, 0.0], [0.9, 0.75, 0.0]])
    with pytest.raises(ValueError, match='factor 0 value 0.1'):
        gt.values_to_classes(tenths, grids)
    got = gt.values_to_classes(tenths, grids, alternatives={0: gt.SHAPES3D_HUE_ALTERNATIVE})
    np.testing.assert_array_equal(got[:, 0], [1, 9])


# ------------------------------------------------------------------------------------------------------------
# Stored factors beside the tfrecords


def test_from_arrays_dir(tmp_path):
    sizes = (3, 2, 2)
    classes = _grid(sizes)[::-1].copy()        # any order
    imgs = _encoding_images(classes)
    npy, js = gt.write_factor_files(str(tmp_path), 'toy', classes, ['a', 'b', 'c'], sizes)
    assert os.path.basename(npy) == 'toy-factors.npy' and os.path.basename(js) == 'toy-factors.json'
    assert json.load(open(js)) == {'names': ['a', 'b', 'c'], 'sizes': [3, 2, 2]}
    assert np.load(npy).dtype == np.int64
    data = gt.GridData.from_arrays_dir(str(tmp_path), imgs)
    assert data.factor_names == ('a', 'b', 'c') and data.factor_sizes == sizes
    rng = np.random.RandomState(8)
    factors = data.sample_factors(40, rng)
    np.testing.assert_array_equal(_decode(data.sample_observations_from_factors(factors, rng), 3), factors)
    # the factory: images given, or a loader
    same = gt.make_ground_truth_data(str(tmp_path), images=imgs)
    np.testing.assert_array_equal(same.rows_of(factors), data.rows_of(factors))
    loaded = gt.make_ground_truth_data(str(tmp_path), image_loader=lambda path, name: imgs, name='toy')
    np.testing.assert_array_equal(loaded.rows_of(factors), data.rows_of(factors))
    with pytest.raises(ValueError, match='images'):
        gt.make_ground_truth_data(str(tmp_path))
    # two datasets in one directory: the name is needed
    gt.write_factor_files(str(tmp_path), 'other', classes, ['a', 'b', 'c'], sizes)
    with pytest.raises(IOError, match='exactly one'):
        gt.GridData.from_arrays_dir(str(tmp_path), imgs)
    assert gt.GridData.from_arrays_dir(str(tmp_path), imgs, name='other').factor_sizes == sizes
    with pytest.raises(IOError, match='missing'):
        gt.GridData.from_arrays_dir(str(tmp_path), imgs, name='nothing')


def test_from_arrays_dir_drops_single_valued_factors(tmp_path):
    sizes = (1, 3, 2)                          # like dSprites' color
    classes = _grid(sizes)
    imgs = _encoding_images(classes[:, 1:])
    gt.write_factor_files(str(tmp_path), 'toy', classes, ['color', 'b', 'c'], sizes)
    data = gt.GridData.from_arrays_dir(str(tmp_path), imgs)
    assert data.factor_names == ('b', 'c') and data.factor_sizes == (3, 2)
    kept = gt.GridData.from_arrays_dir(str(tmp_path), imgs, drop_single_valued=False)
    assert kept.factor_sizes == sizes
    # a subset of the grid (e.g. written with --max_images) is refused
    gt.write_factor_files(str(tmp_path), 'toy', classes[:-1], ['color', 'b', 'c'], sizes)
    with pytest.raises(ValueError, match='incomplete'):
        gt.GridData.from_arrays_dir(str(tmp_path), imgs[:-1])


def test_factory_names():
    assert isinstance(gt.make_ground_truth_data('dsprites'), gt.DSpritesData)
    assert isinstance(gt.make_ground_truth_data('dSprites'), gt.DSpritesData)
    with pytest.raises(ValueError, match='unknown'):
        gt.make_ground_truth_data('no_such_dataset')
