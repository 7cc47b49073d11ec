"""dataset_tool.py: the creators, display/info/compare, errors and determinism."""

import glob
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import dataset_tool
from training import dataset, dsprites, factor_datasets
from training.tfrecord_export import factors_file_names, labels_file_name, tfrecord_file_name

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ----------------------------------------------------------------------------------------------
# Helpers


def _read(d, log2):
    return np.stack(list(dataset.iterate_images(tfrecord_file_name(d, log2))))


def _run(capsys, *argv):
    """Run the tool in-process -> (exit status, stdout, stderr)."""
    try:
        rc = dataset_tool.main([str(a) for a in argv])
    except SystemExit as e:
        rc = e.code
    out, err = capsys.readouterr()
    return rc, out, err


def _assert_clean_error(rc, err, *words, code=1):
    """One error line naming ``words``; exit ``code`` (dnnlib/cli.py: 1 unusable input, 2 usage)."""
    assert rc == code, (rc, err)
    lines = [line for line in err.splitlines() if "error" in line]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for w in words:
        assert w in lines[0], lines[0]


def _entries(parent):
    return sorted(os.listdir(str(parent)))


def _write_images(folder, arrays, ext=".png", names=None):
    os.makedirs(str(folder), exist_ok=True)
    for k, arr in enumerate(arrays):
        name = names[k] if names else "img%03d%s" % (k, ext)
        Image.fromarray(arr).save(os.path.join(str(folder), name))


def _index_images(n, side, channels=3):
    """Images whose pixels encode their index (value 3k + 1 everywhere, plus a little texture)."""
    out = []
    for k in range(n):
        img = np.full((side, side, channels), 3 * k + 1, dtype=np.uint8)
        img[0, 0] = 250
        out.append(img[:, :, 0] if channels == 1 else img)
    return out


def _celeba_image(k):
    """178x218 RGB: R = row, G = column, B = index."""
    rows, cols = np.mgrid[0:218, 0:178]
    return np.stack([rows, cols, np.full_like(rows, k)], axis=2).astype(np.uint8)


# ----------------------------------------------------------------------------------------------
# create_from_images


def test_create_from_images_shuffled_order(tmp_path, capsys):
    src = tmp_path / "src"
    imgs = _index_images(12, 16)
    _write_images(src, imgs)
    rc, out, err = _run(capsys, "create_from_images", tmp_path / "out", src, "--progress", 0)
    assert rc == 0, err
    got = _read(str(tmp_path / "out"), 4)
    order = np.arange(12)
    np.random.RandomState(123).shuffle(order)
    np.testing.assert_array_equal(got, np.stack([imgs[i].transpose(2, 0, 1) for i in order]))
    # Unshuffled, grayscale, downsized by box averaging.
    gray = [np.random.RandomState(k).randint(0, 256, (32, 32)).astype(np.uint8) for k in range(5)]
    _write_images(tmp_path / "gray", gray)
    rc, _, err = _run(capsys, "create_from_images", tmp_path / "g", tmp_path / "gray", "--shuffle", 0,
                      "--resolution", 16)
    assert rc == 0, err
    got = _read(str(tmp_path / "g"), 4)
    ref = np.stack(gray).astype(np.float32).reshape(5, 16, 2, 16, 2).mean(axis=(2, 4))
    np.testing.assert_array_equal(got[:, 0], np.rint(ref).astype(np.uint8))
    assert not os.path.exists(tfrecord_file_name(str(tmp_path / "g"), 5))


def test_create_from_images_non_pow2_with_resolution(tmp_path, capsys):
    imgs = [np.random.RandomState(k).randint(0, 256, (48, 48, 3)).astype(np.uint8) for k in range(3)]
    _write_images(tmp_path / "src", imgs)
    rc, _, err = _run(capsys, "create_from_images", tmp_path / "out", tmp_path / "src", "--shuffle", 0,
                      "--resolution", 16)
    assert rc == 0, err
    ref = np.stack(imgs).astype(np.float64).reshape(3, 16, 3, 16, 3, 3).mean(axis=(2, 4))
    np.testing.assert_array_equal(_read(str(tmp_path / "out"), 4), np.rint(ref).astype(np.uint8).transpose(0, 3, 1, 2))


@pytest.mark.parametrize("case, words", [
    ("empty", ["no image files", "src"]),
    ("mixed", ["img001.png is 8x8", "same size"]),
    ("nonsquare", ["img000.png is 16x8", "square"]),
    ("nonpow2", ["img000.png is 12x12", "power of two"]),
    ("corrupt", ["cannot read image file", "img001.png"]),
    ("mode", ["img000.png has image mode RGBA", "RGB or grayscale"]),
    ("channels", ["img001.png has 1 channel", "grayscale"]),
])
def test_create_from_images_bad_input(tmp_path, capsys, case, words):
    src = tmp_path / "src"
    src.mkdir()
    if case == "mixed":
        _write_images(src, [np.zeros((16, 16, 3), np.uint8), np.zeros((8, 8, 3), np.uint8)])
    elif case == "nonsquare":
        _write_images(src, [np.zeros((8, 16, 3), np.uint8)])
    elif case == "nonpow2":
        _write_images(src, [np.zeros((12, 12, 3), np.uint8)])
    elif case == "corrupt":
        _write_images(src, [np.zeros((8, 8, 3), np.uint8)])
        (src / "img001.png").write_bytes(b"this is not a png")
    elif case == "mode":
        _write_images(src, [np.zeros((8, 8, 4), np.uint8)])
    elif case == "channels":
        _write_images(src, [np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.uint8)])
    rc, _, err = _run(capsys, "create_from_images", tmp_path / "out", src)
    _assert_clean_error(rc, err, *words, code=2 if case == "empty" else 1)
    assert _entries(tmp_path) == ["src"]


def test_truncated_image_midway_leaves_nothing(tmp_path, capsys):
    src = tmp_path / "src"
    _write_images(src, _index_images(6, 16))
    data = (src / "img004.png").read_bytes()
    (src / "img004.png").write_bytes(data[:len(data) // 2])  # header fine, pixel data cut
    rc, _, err = _run(capsys, "create_from_images", tmp_path / "out", src, "--shuffle", 0)
    _assert_clean_error(rc, err, "img004.png")
    assert _entries(tmp_path) == ["src"]


# ----------------------------------------------------------------------------------------------
# create_celeba


def test_create_celeba_png_crop_and_order(tmp_path, capsys):
    src = tmp_path / "celeba" / "img_align_celeba_png"
    n = 6
    _write_images(src, [_celeba_image(k) for k in range(n)], names=["%06d.png" % (k + 1) for k in range(n)])
    rc, _, err = _run(capsys, "create_celeba", tmp_path / "c128", tmp_path / "celeba", "--progress", 0)
    assert rc == 0, err
    assert "warning" in err and "202599" in err  # wrong count: a warning, not an error
    got = _read(str(tmp_path / "c128"), 7)
    assert got.shape == (n, 3, 128, 128)
    order = np.arange(n)
    np.random.RandomState(123).shuffle(order)
    np.testing.assert_array_equal(got[:, 2, 0, 0], order)
    np.testing.assert_array_equal(got[0, 0, :, 0], np.arange(57, 185))  # rows 57..184
    np.testing.assert_array_equal(got[0, 1, 0, :], np.arange(25, 153))  # cols 25..152
    assert sorted(os.listdir(str(tmp_path / "c128")))[0] == "c128-r02.tfrecords"

    # --resolution 64 stores exactly the lower levels of the 128 dataset.
    rc, _, err = _run(capsys, "create_celeba", tmp_path / "c64", tmp_path / "celeba", "--resolution", 64,
                      "--max_images", 4, "--progress", 0)
    assert rc == 0, err
    for log2 in (6, 5, 2):
        np.testing.assert_array_equal(_read(str(tmp_path / "c64"), log2), _read(str(tmp_path / "c128"), log2)[:4])
    assert not os.path.exists(tfrecord_file_name(str(tmp_path / "c64"), 7))


def test_create_celeba_jpeg_and_bad_size(tmp_path, capsys):
    src = tmp_path / "celeba" / "img_align_celeba"
    _write_images(src, [_celeba_image(k) for k in range(3)], names=["%06d.jpg" % (k + 1) for k in range(3)])
    rc, _, err = _run(capsys, "create_celeba", tmp_path / "out", tmp_path / "celeba", "--cx", 80, "--cy", 100,
                      "--progress", 0)
    assert rc == 0, err
    got = _read(str(tmp_path / "out"), 7)
    order = np.arange(3)
    np.random.RandomState(123).shuffle(order)
    for k, i in enumerate(order):
        decoded = np.asarray(Image.open(str(src / ("%06d.jpg" % (i + 1))))).transpose(2, 0, 1)
        np.testing.assert_array_equal(got[k], decoded[:, 36:164, 16:144])

    Image.fromarray(np.zeros((100, 100, 3), np.uint8)).save(str(src / "000002.jpg"))
    rc, _, err = _run(capsys, "create_celeba", tmp_path / "bad", tmp_path / "celeba")
    _assert_clean_error(rc, err, "000002.jpg is 100x100", "178x218")
    rc, _, err = _run(capsys, "create_celeba", tmp_path / "bad", tmp_path / "nowhere")
    _assert_clean_error(rc, err, "img_align_celeba", code=2)
    assert _entries(tmp_path) == ["celeba", "out"]


# ----------------------------------------------------------------------------------------------
# create_dsprites


def test_create_dsprites_render_labels_factors(tmp_path, capsys):
    d = str(tmp_path / "ds")
    rc, out, err = _run(capsys, "create_dsprites", d, "--max_images", 300, "--labels", "shape", "--progress", 0)
    assert rc == 0, err
    imgs = _read(d, 6)
    assert imgs.shape == (300, 1, 64, 64) and set(np.unique(imgs)) <= {0, 255}
    factors, names, sizes = dataset.read_factors(d)
    assert names == list(dsprites.FACTOR_NAMES) and sizes == list(dsprites.FACTOR_SIZES)
    assert factors.shape == (300, 6) and len(set(dsprites.classes_to_index(factors))) == 300
    np.testing.assert_array_equal(imgs[:, 0], dsprites.render(factors) * 255)
    assert dataset.read_factors_source(d) == "dSprites, procedural renderer version %d" % dsprites.RENDERER_VERSION
    rc, out, err = _run(capsys, "info", d)
    assert rc == 0 and "source:       dSprites, procedural renderer version 2" in out, (out, err)
    labels = np.load(labels_file_name(d))
    assert labels.shape == (300, 3) and labels.dtype == np.float32
    np.testing.assert_array_equal(labels.argmax(axis=1), factors[:, 1])
    assert not np.all(np.diff(dsprites.classes_to_index(factors)) > 0)  # shuffled

    d2 = str(tmp_path / "ordered")
    rc, _, err = _run(capsys, "create_dsprites", d2, "--max_images", 50, "--shuffle", 0, "--labels", "factors",
                      "--seed", 7, "--progress", 0)
    assert rc == 0, err
    f2 = dataset.read_factors(d2)[0]
    assert np.all(np.diff(dsprites.classes_to_index(f2)) > 0)
    np.testing.assert_array_equal(np.load(labels_file_name(d2)), f2.astype(np.float32))


def test_create_dsprites_is_deterministic(tmp_path, capsys):
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        rc, _, err = _run(capsys, "create_dsprites", tmp_path / name, "--max_images", 64, "--seed", seed,
                          "--labels", "factors", "--progress", 0)
        assert rc == 0, err

    def files(name):
        d = str(tmp_path / name)
        return {os.path.basename(p).split("-", 1)[1]: open(p, "rb").read() for p in glob.glob(d + "/*")}

    assert files("a") == files("b")
    assert files("a") != files("c")
    rc, out, _ = _run(capsys, "compare", tmp_path / "a", tmp_path / "b")
    assert rc == 0 and "identical" in out
    rc, out, _ = _run(capsys, "compare", tmp_path / "a", tmp_path / "c")
    assert rc == 3 and "different" in out


def test_create_dsprites_from_npz(tmp_path, capsys):
    rng = np.random.RandomState(0)
    n = 40
    classes = dsprites.index_to_classes(rng.choice(dsprites.NUM_IMAGES, n, replace=False))
    imgs = rng.randint(0, 2, size=(n, 64, 64)).astype(np.uint8)
    imgs[:, 0, 0] = np.arange(n)  # tag each image (not binary, only for the test)
    npz = str(tmp_path / "fake.npz")
    np.savez(npz, imgs=imgs, latents_classes=classes, latents_values=classes.astype(np.float64))
    d = str(tmp_path / "ds")
    rc, _, err = _run(capsys, "create_dsprites", d, "--npz", npz, "--progress", 0)
    assert rc == 0, err
    got = _read(d, 6)[:, 0]
    factors = dataset.read_factors(d)[0]
    order = np.array([np.nonzero(np.all(classes == f, axis=1))[0][0] for f in factors])
    np.testing.assert_array_equal(got, (imgs[order] * np.uint8(255)).astype(np.uint8))
    assert not np.array_equal(order, np.arange(n))
    assert dataset.read_factors_source(d) == "dSprites, official file fake.npz"

    np.savez(str(tmp_path / "bad.npz"), imgs=imgs)
    rc, _, err = _run(capsys, "create_dsprites", tmp_path / "bad_out", "--npz", tmp_path / "bad.npz")
    _assert_clean_error(rc, err, "latents_classes")
    rc, _, err = _run(capsys, "create_dsprites", tmp_path / "bad_out", "--npz", tmp_path / "missing.npz")
    _assert_clean_error(rc, err, "missing.npz", "does not exist", code=2)
    assert "bad_out" not in _entries(tmp_path)


def test_interrupted_dsprites_export_leaves_nothing(tmp_path, capsys, monkeypatch):
    calls = []
    real_render = dsprites.render

    def flaky_render(classes, *args, **kwargs):
        calls.append(len(classes))
        if len(calls) == 2:
            raise KeyboardInterrupt()
        return real_render(classes, *args, **kwargs)

    monkeypatch.setattr(dsprites, "render", flaky_render)
    monkeypatch.setattr(factor_datasets, "BATCH", 16)
    rc, _, err = _run(capsys, "create_dsprites", tmp_path / "ds", "--max_images", 64, "--progress", 0)
    assert rc == 130 and "interrupted" in err
    assert _entries(tmp_path) == []

    def broken_render(classes, *args, **kwargs):
        calls.append(len(classes))
        if len(calls) > 3:
            raise RuntimeError("simulated failure")
        return real_render(classes, *args, **kwargs)

    monkeypatch.setattr(dsprites, "render", broken_render)
    with pytest.raises(RuntimeError, match="simulated failure"):
        dataset_tool.main(["create_dsprites", str(tmp_path / "ds"), "--max_images", "64", "--progress", "0"])
    assert _entries(tmp_path) == []


# ----------------------------------------------------------------------------------------------
# create_3dshapes


def _fake_3dshapes(path, n, keys=("images", "labels"), hue_tenths=False):
    import h5py
    from training import ground_truth

    rng = np.random.RandomState(1)
    values = list(ground_truth.SHAPES3D_FACTOR_VALUES)
    if hue_tenths:  # the hues may also be stored as 0, 0.1, ..., 0.9
        values[:3] = [np.arange(10) / 10.0] * 3
    classes = np.stack([rng.randint(0, len(v), n) for v in values], axis=1)
    labels = np.stack([values[j][classes[:, j]] for j in range(6)], axis=1)
    images = rng.randint(0, 256, size=(n, 64, 64, 3)).astype(np.uint8)
    with h5py.File(path, "w") as f:
        if "images" in keys:
            f.create_dataset("images", data=images)
        if "labels" in keys:
            f.create_dataset("labels", data=labels)
    return images, classes


def test_create_3dshapes(tmp_path, capsys):
    pytest.importorskip("h5py")
    h5 = str(tmp_path / "3dshapes.h5")
    images, classes = _fake_3dshapes(h5, 30)
    d = str(tmp_path / "shapes")
    rc, _, err = _run(capsys, "create_3dshapes", d, h5, "--max_images", 20, "--progress", 0)
    assert rc == 0, err
    assert "480000" in err  # count warning
    got = _read(d, 6)
    factors, names, sizes = dataset.read_factors(d)
    assert names[0] == "floor_hue" and sizes == [10, 10, 10, 8, 4, 15] and factors.shape == (20, 6)
    for k in range(20):
        i = [j for j in range(30) if np.array_equal(images[j].transpose(2, 0, 1), got[k])]
        assert len(i) == 1
        np.testing.assert_array_equal(factors[k], classes[i[0]])

    h5b = str(tmp_path / "tenths.h5")
    _, classes_b = _fake_3dshapes(h5b, 10, hue_tenths=True)
    rc, _, err = _run(capsys, "create_3dshapes", tmp_path / "tenths", h5b, "--shuffle", 0, "--progress", 0)
    assert rc == 0, err
    np.testing.assert_array_equal(dataset.read_factors(str(tmp_path / "tenths"))[0], classes_b)

    bad = str(tmp_path / "bad.h5")
    _fake_3dshapes(bad, 5, keys=("images",))
    rc, _, err = _run(capsys, "create_3dshapes", tmp_path / "out", bad)
    _assert_clean_error(rc, err, "bad.h5", "labels")
    assert "out" not in _entries(tmp_path)

    import h5py
    with h5py.File(str(tmp_path / "badval.h5"), "w") as f:
        f.create_dataset("images", data=np.zeros((2, 64, 64, 3), np.uint8))
        f.create_dataset("labels", data=np.full((2, 6), 0.37))
    rc, _, err = _run(capsys, "create_3dshapes", tmp_path / "out", tmp_path / "badval.h5")
    _assert_clean_error(rc, err, "floor_hue", "official 3dshapes.h5")
    assert "out" not in _entries(tmp_path)


# ----------------------------------------------------------------------------------------------
# display / info / compare / errors / help


def test_display_info_compare(tmp_path, capsys):
    src = tmp_path / "src"
    _write_images(src, _index_images(10, 8, channels=1))
    rc, _, err = _run(capsys, "create_from_images", tmp_path / "a", src, "--progress", 0)
    assert rc == 0, err
    rc, out, _ = _run(capsys, "info", tmp_path / "a")
    assert rc == 0
    assert "resolution:   8" in out and "images:       10" in out and "channels:     1" in out
    assert "labels:       none" in out and "factors:      none" in out
    png = str(tmp_path / "grid.png")
    rc, out, err = _run(capsys, "display", tmp_path / "a", "--out", png, "--num", 9)
    assert rc == 0, err
    grid = np.asarray(Image.open(png))
    assert grid.shape == (24, 24)
    np.testing.assert_array_equal(grid[:8, :8], _read(str(tmp_path / "a"), 3)[0, 0])

    rc, _, _ = _run(capsys, "create_from_images", tmp_path / "b", src, "--shuffle", 0, "--progress", 0)
    rc, out, _ = _run(capsys, "compare", tmp_path / "a", tmp_path / "b")
    assert rc == 3 and "differing" in out
    rc, out, _ = _run(capsys, "compare", tmp_path / "a", tmp_path / "a")
    assert rc == 0


def test_existing_target_and_overwrite(tmp_path, capsys):
    src = tmp_path / "src"
    _write_images(src, _index_images(4, 8))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_text(u"x")
    rc, _, err = _run(capsys, "create_from_images", tmp_path / "out", src)
    _assert_clean_error(rc, err, "already exists", "--overwrite", code=2)
    assert _entries(tmp_path / "out") == ["old.txt"]
    rc, _, err = _run(capsys, "create_from_images", tmp_path / "out", src, "--overwrite", "--progress", 0)
    assert rc == 0, err
    assert _entries(tmp_path / "out") == ["out-r02.tfrecords", "out-r03.tfrecords"]
    assert _entries(tmp_path) == ["out", "src"]


def test_bad_output_paths_fail_before_any_input_is_read(tmp_path, capsys):
    """Output paths are checked first: the inputs named here do not even exist, and their error never shows."""
    (tmp_path / "a_file").write_text(u"x")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old.txt").write_text(u"x")
    (tmp_path / "grid_dir").mkdir()
    missing = tmp_path / "no_such_input"
    cases = [
        (["create_from_images", tmp_path / "a_file", missing],
         "output dataset directory %s is an existing file, but a folder goes there" % (tmp_path / "a_file")),
        (["create_celeba", tmp_path / "a_file" / "ds", missing],
         "output dataset directory %s cannot be created: %s is a file, not a folder" % (tmp_path / "a_file" / "ds",
                                                                                         tmp_path / "a_file")),
        (["create_3dshapes", tmp_path / "full", missing], "output directory %s already exists and is not empty"
         % (tmp_path / "full")),
        (["display", missing, "--out", tmp_path / "grid_dir"],
         "--out %s is an existing folder, but a file goes there; give another path or remove the folder"
         % (tmp_path / "grid_dir")),
        (["display", missing, "--out", tmp_path / "nowhere" / "grid.png"],
         "folder %s for --out does not exist" % (tmp_path / "nowhere")),
    ]
    for argv, message in cases:
        rc, out, err = _run(capsys, *argv)
        _assert_clean_error(rc, err, message, code=2)
        assert err.strip().splitlines()[-1].startswith("%s %s: error: %s" % (dataset_tool.PROG, argv[0], message)), err
        assert "no_such_input" not in err, err
    assert _entries(tmp_path) == ["a_file", "full", "grid_dir"]
    assert _entries(tmp_path / "full") == ["old.txt"] and _entries(tmp_path / "grid_dir") == []


def test_missing_dataset_errors(tmp_path, capsys):
    rc, _, err = _run(capsys, "info", tmp_path / "nope")
    _assert_clean_error(rc, err, "nope", "does not exist", "dataset_tool.py", code=2)
    rc, _, err = _run(capsys, "create_dsprites", tmp_path / "x", "--max_images", 0)
    _assert_clean_error(rc, err, "--max_images", code=2)
    rc, _, err = _run(capsys, "create_dsprites", tmp_path / "x", "--max_images", 99999999)   # was capped silently
    _assert_clean_error(rc, err, "--max_images 99999999 is more than the 737280 images available; give at most 737280", code=2)
    assert _entries(tmp_path) == []


def test_help_and_unknown_command(capsys):
    for cmd in ("create_celeba", "create_from_images", "create_dsprites", "create_3dshapes", "display", "info",
                "compare"):
        rc, out, _ = _run(capsys, cmd, "--help")
        assert rc == 0 and "usage:" in out
        if cmd == "create_dsprites":
            assert "APPROXIMATION" in out and "--npz" in out
    rc, _, err = _run(capsys, "create_imagenet", "x")
    _assert_clean_error(rc, err, "invalid choice", "create_dsprites", "create_celeba", code=2)


def test_command_line_errors_are_one_line(tmp_path):
    """A real process: one line on stderr, exit status 2 (usage), no traceback."""
    (tmp_path / "empty").mkdir()
    for argv, word in ((["create_from_images", str(tmp_path / "out"), str(tmp_path / "empty")], "no image files"),
                       (["frobnicate"], "invalid choice")):
        proc = subprocess.run([sys.executable, os.path.join(REPO, "dataset_tool.py")] + argv, cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        assert proc.returncode == 2
        assert proc.stderr.strip().count("\n") == 0 and word in proc.stderr and "Traceback" not in proc.stderr
    assert _entries(tmp_path) == ["empty"]


def test_factor_json_is_documented_format(tmp_path, capsys):
    rc, _, err = _run(capsys, "create_dsprites", tmp_path / "ds", "--max_images", 8, "--progress", 0)
    assert rc == 0, err
    npy, js = factors_file_names(str(tmp_path / "ds"))
    with open(js) as f:
        meta = json.load(f)
    assert meta == {"names": list(dsprites.FACTOR_NAMES), "sizes": list(dsprites.FACTOR_SIZES),
                    "source": "dSprites, procedural renderer version 2"}
    assert np.load(npy).dtype == np.int64


def test_quiet_means_no_progress_bar(tmp_path, capsys):
    """--quiet (= --progress 0) writes the same dataset without the export bar on stderr."""
    assert dataset_tool.main(["create_dsprites", str(tmp_path / "loud"), "--max_images", "8"]) == 0
    assert "export" in capsys.readouterr().err
    assert dataset_tool.main(["create_dsprites", str(tmp_path / "quiet"), "--max_images", "8", "--quiet"]) == 0
    assert "export" not in capsys.readouterr().err
    assert (tmp_path / "quiet" / "quiet-r05.tfrecords").read_bytes() == (tmp_path / "loud" / "loud-r05.tfrecords").read_bytes()
