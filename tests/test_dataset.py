"""TFRecord export (training/tfrecord_export.py) and reading (training/dataset.py)."""

import json
import os

import numpy as np
import pytest

from training import dataset
from training.tfrecord_export import (DatasetError, DatasetNotFoundError, TFRecordExporter, encode_example,
                                      factors_file_names, labels_file_name, tfrecord_file_name)


# ----------------------------------------------------------------------------------------------
# Helpers


def _reference_pyramid(imgs):
    """{resolution: uint8 [N, C, R, R]}: 2x2 box averages of the unquantised previous level (float64 loops
    over the 2x2 blocks, independent of the exporter's vectorised code), each rounded half to even."""
    x = imgs.astype(np.float64)
    out = {x.shape[2]: np.rint(x).clip(0, 255).astype(np.uint8)}
    while x.shape[2] > 4:
        n, c, h, w = x.shape
        y = np.zeros((n, c, h // 2, w // 2))
        for di in range(2):
            for dj in range(2):
                y += x[:, :, di::2, dj::2]
        x = y / 4.0
        out[x.shape[2]] = np.rint(x).clip(0, 255).astype(np.uint8)
    return out


def _read_tfrecords(path):
    """Parse a TFRecord file with tf.train.Example directly -> uint8 [N, C, H, W]."""
    from dnnlib.tflib.compat import tf

    images = []
    for record in tf.io.tf_record_iterator(path):
        ex = tf.train.Example.FromString(record)
        shape = list(ex.features.feature["shape"].int64_list.value)
        data = ex.features.feature["data"].bytes_list.value[0]
        images.append(np.frombuffer(data, np.uint8).reshape(shape))
    return np.stack(images)


def _export(path, imgs, labels=None, factors=None, **kwargs):
    with TFRecordExporter(str(path), len(imgs), progress=False, **kwargs) as tfr:
        tfr.add_images(imgs[:5])
        for img in imgs[5:]:
            tfr.add_image(img)
        if labels is not None:
            tfr.add_labels(labels)
        if factors is not None:
            tfr.add_factors(*factors)
    return str(path)


def _leftovers(parent):
    return sorted(e for e in os.listdir(str(parent)) if ".tmp-" in e or ".old-" in e)


@pytest.fixture
def rgb16():
    rng = np.random.RandomState(0)
    return rng.randint(0, 256, size=(11, 3, 16, 16)).astype(np.uint8)


# ----------------------------------------------------------------------------------------------
# Format


def test_encode_example_parses_as_tf_example():
    from dnnlib.tflib.compat import tf

    img = np.random.RandomState(1).randint(0, 256, size=(3, 8, 8)).astype(np.uint8)
    ex = tf.train.Example.FromString(encode_example(img))
    assert list(ex.features.feature["shape"].int64_list.value) == [3, 8, 8]
    assert ex.features.feature["data"].bytes_list.value[0] == img.tobytes()
    ref = tf.train.Example(features=tf.train.Features(feature={
        "shape": tf.train.Feature(int64_list=tf.train.Int64List(value=[3, 8, 8])),
        "data": tf.train.Feature(bytes_list=tf.train.BytesList(value=[img.tobytes()]))}))
    assert ex == ref


def test_export_files_and_levels(tmp_path, rgb16):
    labels = np.arange(11 * 2, dtype=np.float32).reshape(11, 2)
    factors = (np.stack([np.arange(11) % 3, np.arange(11) % 5], axis=1), ["a", "b"], [3, 5])
    d = _export(tmp_path / "ds", rgb16, labels, factors)
    names = sorted(os.listdir(d))
    assert names == ["ds-factors.json", "ds-factors.npy", "ds-r02.tfrecords", "ds-r03.tfrecords",
                     "ds-r04.tfrecords", "ds-rxx.labels"]
    ref = _reference_pyramid(rgb16)
    for log2 in (4, 3, 2):
        got = _read_tfrecords(tfrecord_file_name(d, log2))
        np.testing.assert_array_equal(got, ref[1 << log2])
    np.testing.assert_array_equal(np.load(labels_file_name(d)), labels)
    assert np.load(labels_file_name(d)).dtype == np.float32
    npy, js = factors_file_names(d)
    np.testing.assert_array_equal(np.load(npy), factors[0])
    assert np.load(npy).dtype == np.int64
    with open(js) as f:
        assert json.load(f) == {"names": ["a", "b"], "sizes": [3, 5]}
    fac, fnames, fsizes = dataset.read_factors(d)
    np.testing.assert_array_equal(fac, factors[0])
    assert (fnames, fsizes) == (["a", "b"], [3, 5])
    assert _leftovers(tmp_path) == []


def test_hand_computed_box_average(tmp_path):
    img = np.zeros((1, 16, 16), dtype=np.float64)
    img[0, 0:2, 0:2] = [[1, 2], [3, 5]]        # mean 2.75 -> 3 at 8x8
    img[0, 0:2, 2:4] = [[0, 0], [1, 1]]        # mean 0.5 -> 0 (round half to even)
    img[0, 2:4, 0:2] = [[1, 1], [2, 2]]        # mean 1.5 -> 2
    # One 4x4 block -> one 4x4-level pixel: three 2x2 blocks averaging 0.5 and one averaging 1.0. From the
    # unquantised 8x8 level: (0.5 * 3 + 1) / 4 = 0.625 -> 1; from the rounded level it would be 0.25 -> 0.
    img[0, 8:12, 8:12] = [[0, 0, 0, 0], [1, 1, 1, 1], [0, 0, 1, 1], [1, 1, 1, 1]]
    d = _export(tmp_path / "hand", np.stack([img.astype(np.uint8)] * 6))
    r8 = _read_tfrecords(tfrecord_file_name(d, 3))[0, 0]
    r4 = _read_tfrecords(tfrecord_file_name(d, 2))[0, 0]
    assert (r8[0, 0], r8[0, 1], r8[1, 0]) == (3, 0, 2)
    assert r4[2, 2] == 1


def test_exporter_resolution_matches_lower_levels(tmp_path, rgb16):
    full = _export(tmp_path / "full", rgb16)
    half = _export(tmp_path / "half", rgb16, resolution=8)
    assert sorted(os.listdir(half)) == ["half-r02.tfrecords", "half-r03.tfrecords"]
    for log2 in (3, 2):
        np.testing.assert_array_equal(_read_tfrecords(tfrecord_file_name(half, log2)),
                                      _read_tfrecords(tfrecord_file_name(full, log2)))


def test_exporter_grayscale_and_float_input(tmp_path):
    imgs = np.random.RandomState(3).randint(0, 256, size=(6, 8, 8)).astype(np.uint8)
    d = _export(tmp_path / "gray", imgs.astype(np.float32))  # [N, H, W] float in [0, 255]
    got = _read_tfrecords(tfrecord_file_name(d, 3))
    assert got.shape == (6, 1, 8, 8)
    np.testing.assert_array_equal(got[:, 0], imgs)


@pytest.mark.parametrize("shape, match", [
    ((2, 8, 8), "1 or 3 channels"),
    ((3, 8, 16), "square"),
    ((3, 12, 12), "power of two"),
])
def test_exporter_rejects_bad_shapes(tmp_path, shape, match):
    with pytest.raises(DatasetError, match=match):
        with TFRecordExporter(str(tmp_path / "bad"), 2, progress=False) as tfr:
            tfr.add_images(np.zeros((2,) + shape, np.uint8))
    assert os.listdir(str(tmp_path)) == []


def test_exporter_count_mismatch_leaves_nothing(tmp_path, rgb16):
    with pytest.raises(DatasetError, match="expected 12 images but 11"):
        with TFRecordExporter(str(tmp_path / "ds"), 12, progress=False) as tfr:
            tfr.add_images(rgb16)
    assert os.listdir(str(tmp_path)) == []


def test_interrupted_export_leaves_nothing(tmp_path, rgb16):
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with TFRecordExporter(str(tmp_path / "ds"), 11, progress=False) as tfr:
            tfr.add_images(rgb16[:4])
            assert len(_leftovers(tmp_path)) == 1  # the temporary sibling exists while writing
            raise Boom()
    assert os.listdir(str(tmp_path)) == []


def test_failed_export_removes_created_parents(tmp_path, rgb16):
    with pytest.raises(DatasetError):
        with TFRecordExporter(str(tmp_path / "new" / "sub" / "ds"), 3, progress=False) as tfr:
            tfr.add_images(rgb16)  # 11 > 3 announced
    assert os.listdir(str(tmp_path)) == []


def test_existing_target_and_overwrite(tmp_path, rgb16):
    target = tmp_path / "ds"
    target.mkdir()
    (target / "keep.txt").write_text(u"old")
    with pytest.raises(DatasetError, match="already exists"):
        TFRecordExporter(str(target), 11, progress=False)
    assert os.listdir(str(target)) == ["keep.txt"] and _leftovers(tmp_path) == []

    tfr = TFRecordExporter(str(target), 11, overwrite=True, progress=False)
    tfr.add_images(rgb16)
    assert os.listdir(str(target)) == ["keep.txt"]  # replaced only at the end
    tfr.close()
    assert "keep.txt" not in os.listdir(str(target)) and "ds-r04.tfrecords" in os.listdir(str(target))
    assert _leftovers(tmp_path) == []

    # An empty existing directory is fine without overwrite.
    empty = tmp_path / "empty"
    empty.mkdir()
    _export(empty, rgb16)
    assert "empty-r04.tfrecords" in os.listdir(str(empty))


def test_progress_output(tmp_path, rgb16, capsys):
    with TFRecordExporter(str(tmp_path / "ds"), 11, progress=True) as tfr:
        tfr.add_images(rgb16)
    out = capsys.readouterr().out
    assert "11 images" in out and "img/s" in out


# ----------------------------------------------------------------------------------------------
# Reader


def test_reader_roundtrip_all_levels(tmp_path, rgb16, tf_session):
    labels = np.random.RandomState(5).randn(11, 4).astype(np.float32)
    d = _export(tmp_path / "ds", rgb16, labels)
    ref = _reference_pyramid(rgb16)
    for res in (16, 8, 4):
        ds = dataset.TFRecordDataset(d, resolution=res, repeat=False, shuffle_mb=0, prefetch_mb=0)
        assert ds.shape == [3, res, res] and ds.resolution == res and ds.num_images == 11
        assert ds.label_size == 4 and ds.label_dtype == "float32"
        imgs, labs = ds.get_minibatch_np(11)
        assert imgs.dtype == np.uint8
        np.testing.assert_array_equal(imgs, ref[res])
        np.testing.assert_array_equal(labs, labels)
    assert ds.available_resolutions == [4, 8, 16]


def test_reader_default_resolution_and_no_labels(tmp_path, rgb16, tf_session):
    d = _export(tmp_path / "ds", rgb16)
    ds = dataset.TFRecordDataset(d, repeat=True, shuffle_mb=0)
    assert ds.resolution == 16 and ds.lod == 0 and ds.label_size == 0
    imgs, labs = ds.get_minibatch_np(7)
    assert imgs.shape == (7, 3, 16, 16) and labs.shape == (7, 0)
    imgs2, _ = ds.get_minibatch_np(7)  # wraps around (repeat)
    np.testing.assert_array_equal(imgs2[:4], rgb16[7:])
    np.testing.assert_array_equal(imgs2[4:], rgb16[:3])
    assert ds.get_random_labels_np(5).shape == (5, 0)
    assert tf_session.run(ds.get_random_labels_tf(5)).shape == (5, 0)


def test_reader_shuffle_keeps_labels_aligned(tmp_path, tf_session):
    n = 40
    imgs = np.repeat(np.arange(n, dtype=np.uint8)[:, None, None, None] * 5, 8, axis=2).repeat(8, axis=3)
    labels = np.arange(n, dtype=np.float32)[:, None] * 5
    d = _export(tmp_path / "ds", imgs, labels)
    ds = dataset.TFRecordDataset(d, shuffle_mb=1, prefetch_mb=1)
    got, labs = ds.get_minibatch_np(n)
    assert not np.array_equal(labs[:, 0], labels[:, 0])  # shuffled (40! orders: never the identity)
    np.testing.assert_array_equal(got[:, 0, 3, 3].astype(np.float32), labs[:, 0])
    rnd = ds.get_random_labels_np(100)
    assert rnd.shape == (100, 1) and set(rnd[:, 0]) <= set(labels[:, 0])
    rt = tf_session.run(ds.get_random_labels_tf(50))
    assert rt.shape == (50, 1) and set(rt[:, 0]) <= set(labels[:, 0])


def test_reader_nhwc_is_transposed_and_float_conversion(tmp_path, rgb16, tf_session):
    d = _export(tmp_path / "ds", rgb16)
    a = dataset.TFRecordDataset(d, shuffle_mb=0, data_format="NCHW")
    b = dataset.TFRecordDataset(d, shuffle_mb=0, data_format="NHWC")
    xa, _ = a.get_minibatch_np(4)
    xb, _ = b.get_minibatch_np(4)
    assert xb.shape == (4, 16, 16, 3) and b.image_shape == [16, 16, 3]
    np.testing.assert_array_equal(xb, xa.transpose(0, 2, 3, 1))

    x = np.array([0, 1, 127, 128, 254, 255], dtype=np.uint8)
    expected = np.array([-1, -1 + 2 / 255.0, -1 + 254 / 255.0, -1 + 256 / 255.0, 1 - 2 / 255.0, 1], np.float32)
    f = dataset.convert_images_to_float(x)
    assert f.dtype == np.float32 and f[0] == -1.0 and f[-1] == 1.0
    np.testing.assert_allclose(f, expected, atol=1e-6)
    from dnnlib.tflib.compat import tf
    ft = tf_session.run(dataset.convert_images_to_float(tf.constant(x)))
    assert ft[0] == -1.0 and ft[-1] == 1.0
    np.testing.assert_allclose(ft, expected, atol=1e-6)


def test_reader_minibatch_tf_per_tower(tmp_path, rgb16, tf_session):
    d = _export(tmp_path / "ds", rgb16)
    ds = dataset.TFRecordDataset(d, shuffle_mb=0)
    ds.configure(3)
    towers = [ds.get_minibatch_tf() for _ in range(2)]
    (x0, _), (x1, _) = tf_session.run(towers)
    assert x0.shape == x1.shape == (3, 3, 16, 16)
    seen = {x0[i].tobytes() for i in range(3)} | {x1[i].tobytes() for i in range(3)}
    assert len(seen) == 6  # each get_next op yields its own minibatch


def test_reader_errors(tmp_path, rgb16, tf_session):
    with pytest.raises(DatasetNotFoundError, match="does not exist.*dataset_tool.py"):
        dataset.TFRecordDataset(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFoundError, match="no \\*.tfrecords files in .*empty.*dataset_tool.py"):
        dataset.TFRecordDataset(str(tmp_path / "empty"))

    d = _export(tmp_path / "ds", rgb16)
    with pytest.raises(DatasetError, match="resolution 32 is not in dataset .*available: 4, 8, 16"):
        dataset.TFRecordDataset(d, resolution=32)

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "bad-r04.tfrecords").write_bytes(b"\x07" * 100)
    with pytest.raises(DatasetError, match="corrupt tfrecord file .*bad-r04.tfrecords"):
        dataset.TFRecordDataset(str(bad))

    # A corrupted byte in the middle of the file: caught when the record is read.
    path = tfrecord_file_name(d, 4)
    raw = bytearray(open(path, "rb").read())
    raw[len(raw) // 2] ^= 0xFF
    with open(path, "wb") as f:
        f.write(bytes(raw))
    ds = dataset.TFRecordDataset(d, shuffle_mb=0, repeat=False)
    with pytest.raises(DatasetError, match="corrupt record in .*ds-r04.tfrecords"):
        ds.get_minibatch_np(11)


def test_load_dataset_uses_parent_dir(tmp_path, rgb16, tf_session):
    _export(tmp_path / "ds", rgb16)
    ds = dataset.load_dataset(data_dir=str(tmp_path), tfrecord_dir="ds", shuffle_mb=0)
    assert ds.shape == [3, 16, 16] and ds.name == "ds"
    assert ds.read_factors() is None
    with pytest.raises(DatasetNotFoundError, match="--data-dir"):
        dataset.load_dataset(data_dir=str(tmp_path), tfrecord_dir="nope")
