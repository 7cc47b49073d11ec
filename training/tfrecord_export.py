"""Writing multi-resolution TFRecord datasets (the StyleGAN2 on-disk format).

Layout of a dataset directory ``<dir>`` whose base name is ``<name>``::

    <name>-rNN.tfrecords   one file per resolution 2**NN, from the full resolution down to 4x4
                           (NN = 02); every file holds the same images in the same order
    <name>-rxx.labels      optional: numpy .npy content, float32 [N, label_dim] (no .npy extension)
    <name>-factors.npy     optional: int64 [N, F] ground-truth factor classes, one row per image
    <name>-factors.json    optional: {"names": [...], "sizes": [...]} describing the columns, and
                           optionally "source" (what made the images, e.g. the dSprites renderer version)

Each record is a serialized ``tf.train.Example`` with two features: ``shape`` (int64 list
[C, H, W]) and ``data`` (bytes: the raw uint8 pixels in CHW, C order). Lower resolutions are 2x2
box averages computed in float32 from the previous *unquantised* level; every level is stored
rounded to nearest (``np.rint``), clipped to [0, 255] and cast to uint8.

The exporter writes into a temporary sibling directory ``<dir>.tmp-<pid>-<start>-<random>`` and renames it
into place only when :meth:`TFRecordExporter.close` completes, so an interrupted or failed export never
leaves a half-written dataset behind; the next export to ``<dir>`` removes staging folders whose process
is gone (a killed export), and says so.
"""

import errno
import json
import os
import shutil
import sys
import time

import numpy as np

from dnnlib import cli
from dnnlib.util import reclaim_stale_staging, staging_name

__all__ = [
    "DatasetError", "DatasetNotFoundError", "DatasetUsageError", "TFRecordExporter",
    "tfrecord_file_name", "labels_file_name", "factors_file_names",
    "encode_example", "example_header", "halve_images", "box_downsample",
]


# ----------------------------------------------------------------------------------------------
# Errors and file names


class DatasetError(cli.InputError):
    """A user-facing dataset problem (unreadable, corrupt or inconsistent files: exit 1). The message is one
    line that names the offending path and, where there is one, the fix."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """The dataset directory or one of its files does not exist (exit 2)."""


class DatasetUsageError(DatasetError, cli.UsageError):
    """A dataset command given the wrong flags or paths (exit 2)."""


def _dataset_name(tfrecord_dir):
    return os.path.basename(os.path.normpath(os.path.abspath(tfrecord_dir)))


def tfrecord_file_name(tfrecord_dir, resolution_log2, name=None):
    """``<dir>/<name>-rNN.tfrecords`` (``name`` defaults to the base name of ``dir``)."""
    name = _dataset_name(tfrecord_dir) if name is None else name
    return os.path.join(tfrecord_dir, "%s-r%02d.tfrecords" % (name, resolution_log2))


def labels_file_name(tfrecord_dir, name=None):
    name = _dataset_name(tfrecord_dir) if name is None else name
    return os.path.join(tfrecord_dir, "%s-rxx.labels" % name)


def factors_file_names(tfrecord_dir, name=None):
    """(``<name>-factors.npy``, ``<name>-factors.json``) inside ``tfrecord_dir``."""
    name = _dataset_name(tfrecord_dir) if name is None else name
    base = os.path.join(tfrecord_dir, "%s-factors" % name)
    return base + ".npy", base + ".json"


# ----------------------------------------------------------------------------------------------
# tf.train.Example encoding without protobuf objects
#
# Example   { Features features = 1; }
# Features  { map<string, Feature> feature = 1; }   (a map entry: key = 1, value = 2)
# Feature   { BytesList bytes_list = 1; Int64List int64_list = 3; ... }
# BytesList { repeated bytes value = 1; }
# Int64List { repeated int64 value = 1 [packed]; }
#
# All images of one level have the same shape and byte length, so every record of the level is a
# constant header followed by the pixel bytes ('data' is the last map entry).


def _varint(value):
    value = int(value)
    if value < 0:
        value += 1 << 64  # int64 two's complement, as protobuf encodes negative int64s
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _length_delimited(field_number, payload_len):
    """Tag and length of a length-delimited field (wire type 2); the payload follows."""
    return _varint((field_number << 3) | 2) + _varint(payload_len)


def _map_entry(key, feature_header, feature_payload_len):
    key = key.encode("ascii")
    feature_len = len(feature_header) + feature_payload_len
    entry_body_head = _length_delimited(1, len(key)) + key + _length_delimited(2, feature_len) + feature_header
    entry_len = len(entry_body_head) + feature_payload_len
    return _length_delimited(1, entry_len) + entry_body_head, entry_len


def example_header(shape, data_len):
    """Serialized ``tf.train.Example`` bytes up to (not including) the ``data_len`` pixel bytes."""
    packed = b"".join(_varint(v) for v in shape)
    int64_list = _length_delimited(1, len(packed)) + packed
    shape_feature = _length_delimited(3, len(int64_list)) + int64_list
    shape_entry, _ = _map_entry("shape", shape_feature, 0)
    bytes_list_head = _length_delimited(1, data_len)
    data_feature_head = _length_delimited(1, len(bytes_list_head) + data_len) + bytes_list_head
    data_entry_head, _ = _map_entry("data", data_feature_head, data_len)
    features_len = len(shape_entry) + len(data_entry_head) + data_len
    return _length_delimited(1, features_len) + shape_entry + data_entry_head


def encode_example(image_chw):
    """One uint8 [C, H, W] image -> serialized ``tf.train.Example`` bytes."""
    image_chw = np.ascontiguousarray(image_chw, dtype=np.uint8)
    data = image_chw.tobytes()
    return example_header(image_chw.shape, len(data)) + data


# ----------------------------------------------------------------------------------------------
# Pyramid helpers (numpy, batched)


def halve_images(x):
    """2x2 box average of a float32 batch [N, C, H, W] -> [N, C, H/2, W/2] (float32, unquantised).

    For integer-valued inputs every level down to 4x4 is exact in float32, so the summation order
    does not matter."""
    rows = x[:, :, 0::2, :] + x[:, :, 1::2, :]
    out = rows[:, :, :, 0::2] + rows[:, :, :, 1::2]
    out *= np.float32(0.25)
    return out


def box_downsample(x, factor):
    """k x k box average of a float32 batch [N, C, H, W] (H, W divisible by ``factor``)."""
    factor = int(factor)
    if factor == 1:
        return x
    n, c, h, w = x.shape
    x = x.reshape(n, c, h // factor, factor, w // factor, factor)
    return x.mean(axis=(3, 5), dtype=np.float32).astype(np.float32)


def _quantise(x):
    return np.rint(x).clip(0, 255).astype(np.uint8)


def _is_pow2(v):
    return v >= 1 and (v & (v - 1)) == 0


# ----------------------------------------------------------------------------------------------
# Progress


class _Progress(object):
    """A tqdm bar over the images written (to ``stream``, default stderr; off when not ``enabled``), then one
    summary line on stdout."""

    def __init__(self, total, enabled, stream=None):
        from tqdm import tqdm

        self.enabled = enabled
        self.start = time.time()
        self.bar = tqdm(total=total, unit="img", desc="export", file=stream, disable=not enabled, mininterval=1.0,
                        dynamic_ncols=True, leave=False)

    def update(self, done):
        self.bar.update(done - self.bar.n)

    def close(self):
        self.bar.close()

    def finish(self, done, message):
        self.bar.close()
        if self.enabled:
            elapsed = time.time() - self.start
            print("%s: %d images in %s (%.0f img/s)" % (message, done, _fmt_seconds(elapsed), done / max(elapsed, 1e-9)),
                  flush=True)


def _make_sibling_dir(path):
    """Create a staging folder next to ``path`` whose name records this process (``dnnlib.util.staging_name``;
    normal permissions, unlike tempfile.mkdtemp), after removing stale ones killed exports left. Returns it."""
    reclaim_stale_staging(path, log=lambda msg: print(msg, file=sys.stderr))
    for _ in range(100):
        candidate = staging_name(path)
        try:
            os.mkdir(candidate)
            return candidate
        except FileExistsError:
            continue
    raise OSError("cannot create a temporary directory next to %s" % path)


def _fmt_seconds(seconds):
    s = int(round(max(seconds, 0)))
    if s < 60:
        return "%ds" % s
    if s < 3600:
        return "%dm%02ds" % (s // 60, s % 60)
    return "%dh%02dm%02ds" % (s // 3600, (s // 60) % 60, s % 60)


# ----------------------------------------------------------------------------------------------
# The exporter


def check_output_dir(tfrecord_dir, overwrite=False):
    """Before any work: ``tfrecord_dir`` is a folder that can be created (or, non-empty, replaced with
    ``overwrite``) in a writable place. Raises DatasetError with a one-line message."""
    from dnnlib import util

    if not tfrecord_dir:
        raise DatasetUsageError("no output directory given")
    try:
        path = util.check_output_path(tfrecord_dir, "dir", "output dataset directory")
    except util.OutputPathError as e:
        raise DatasetUsageError(str(e))
    if os.path.isdir(path) and os.listdir(path) and not overwrite:
        raise DatasetUsageError("output directory %s already exists and is not empty; delete it, choose "
                                "another path or pass --overwrite to replace it" % tfrecord_dir)


class TFRecordExporter(object):
    """Write images (and optionally labels and ground-truth factors) as a multi-resolution
    TFRecord dataset.

    ``resolution``: store the pyramid starting at this resolution; larger input images are box
    averaged down to it first (in float32, before any rounding), so e.g. a 64x64 export of 128x128
    images stores exactly the lower levels of the 128x128 export.

    Use as a context manager, or call :meth:`close` (success) / :meth:`abort` (failure) yourself::

        with TFRecordExporter(path, n) as tfr:
            tfr.add_images(batch)          # uint8 [N, C, H, W], C in (1, 3)
            tfr.add_labels(labels)         # optional, float32 [n, L]
            tfr.add_factors(f, names, sizes)   # optional, int [n, F]
    """

    def __init__(self, tfrecord_dir, expected_images, overwrite=False, progress=True, resolution=None,
                 progress_stream=None):
        if not tfrecord_dir:
            raise DatasetError("no output directory given")
        self.tfrecord_dir = tfrecord_dir
        self.expected_images = None if expected_images is None else int(expected_images)
        self.overwrite = bool(overwrite)
        self.resolution = None if resolution is None else int(resolution)
        if self.resolution is not None and (not _is_pow2(self.resolution) or self.resolution < 4):
            raise DatasetError("resolution must be a power of two >= 4, got %d" % self.resolution)
        self.cur_images = 0
        self.shape = None           # stored [C, H, W] at the full (lod 0) resolution
        self.name = _dataset_name(tfrecord_dir)
        self._abs_dir = os.path.normpath(os.path.abspath(tfrecord_dir))
        self._labels = None
        self._factors = None
        self._writers = []
        self._levels = []           # [(resolution_log2, header bytes, bytes per image)]
        self._pre_halvings = 0
        self._pre_factor = 1
        self._in_shape = None
        self._closed = False
        self._progress = _Progress(self.expected_images, progress, progress_stream)

        check_output_dir(tfrecord_dir, self.overwrite)
        parent = os.path.dirname(self._abs_dir)
        self._created_parents = []  # folders made for the output, removed again by abort() when empty
        p = parent
        while p and not os.path.exists(p) and os.path.dirname(p) != p:
            self._created_parents.append(p)
            p = os.path.dirname(p)
        try:
            os.makedirs(parent, exist_ok=True)
            self.tmp_dir = _make_sibling_dir(self._abs_dir)
        except OSError as e:
            raise DatasetError("cannot create the output directory next to %s: %s" % (tfrecord_dir, e))

    # -- context manager ------------------------------------------------------------------------

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False

    # -- adding data ----------------------------------------------------------------------------

    def choose_shuffled_order(self, seed=123):
        """A permutation of ``range(expected_images)`` drawn with ``np.random.RandomState(seed)``."""
        order = np.arange(self.expected_images)
        np.random.RandomState(seed).shuffle(order)
        return order

    def _check_open(self):
        if self._closed:
            raise RuntimeError("TFRecordExporter for %s is already closed" % self.tfrecord_dir)

    def _setup(self, in_shape):
        from dnnlib.tflib.compat import tf

        c, h, w = in_shape
        if c not in (1, 3):
            raise DatasetError("images must have 1 or 3 channels, got %d" % c)
        if h != w:
            raise DatasetError("images must be square, got %dx%d (width x height)" % (w, h))
        res = self.resolution if self.resolution is not None else h
        if self.resolution is None and not _is_pow2(h):
            raise DatasetError("image size must be a power of two, got %dx%d" % (w, h))
        if h < 4 or res < 4:
            raise DatasetError("images must be at least 4x4, got %dx%d" % (w, h))
        if h % res != 0:
            raise DatasetError("cannot box-downsample %dx%d images to %dx%d: not an integer factor" % (w, h, res, res))
        factor = h // res
        if _is_pow2(factor):
            self._pre_halvings = int(np.log2(factor))
            self._pre_factor = 1
        else:
            self._pre_halvings = 0
            self._pre_factor = factor
        self._in_shape = tuple(in_shape)
        self.shape = [c, res, res]
        top = int(np.log2(res))
        for lvl, log2 in enumerate(range(top, 1, -1)):
            r = 1 << log2
            nbytes = c * r * r
            self._levels.append((log2, example_header([c, r, r], nbytes), nbytes))
            path = tfrecord_file_name(self.tmp_dir, log2, name=self.name)
            self._writers.append(tf.io.TFRecordWriter(path))

    def add_image(self, img):
        """Add one image: uint8 (or float in [0, 255]) [C, H, W], or [H, W] for grayscale."""
        img = np.asarray(img)
        if img.ndim == 2:
            img = img[np.newaxis]
        if img.ndim != 3:
            raise DatasetError("an image must be [C, H, W] or [H, W], got shape %s" % (img.shape,))
        self.add_images(img[np.newaxis])

    def add_images(self, imgs):
        """Add a batch: uint8 (or float in [0, 255]) [N, C, H, W], or [N, H, W] for grayscale."""
        self._check_open()
        imgs = np.asarray(imgs)
        if imgs.ndim == 3:
            imgs = imgs[:, np.newaxis]
        if imgs.ndim != 4:
            raise DatasetError("an image batch must be [N, C, H, W] or [N, H, W], got shape %s" % (imgs.shape,))
        n = imgs.shape[0]
        if n == 0:
            return
        if self.shape is None:
            self._setup(imgs.shape[1:])
        elif tuple(imgs.shape[1:]) != self._in_shape:
            raise DatasetError("all images must have the same shape: expected [C, H, W] = %s, got %s"
                               % (list(self._in_shape), list(imgs.shape[1:])))
        if self.expected_images is not None and self.cur_images + n > self.expected_images:
            raise DatasetError("more images than announced: %d > expected %d"
                               % (self.cur_images + n, self.expected_images))

        exact_uint8 = imgs.dtype == np.uint8 and self._pre_halvings == 0 and self._pre_factor == 1
        x = None
        if not (exact_uint8 and len(self._levels) == 1):
            x = imgs.astype(np.float32)
            if self._pre_factor != 1:
                x = box_downsample(x, self._pre_factor)
            for _ in range(self._pre_halvings):
                x = halve_images(x)
        for lvl, ((log2, header, nbytes), writer) in enumerate(zip(self._levels, self._writers)):
            if lvl == 0:
                q = imgs if exact_uint8 else _quantise(x)
            else:
                x = halve_images(x)
                q = _quantise(x)
            try:
                self._write_level(writer, header, nbytes, q)
            except Exception as exc:   # disk full: name the dataset, not the staging folder
                os_error = cli.as_os_error(exc, filename=self.tfrecord_dir)
                if os_error is None:
                    raise
                raise os_error from exc
        self.cur_images += n
        self._progress.update(self.cur_images)

    @staticmethod
    def _write_level(writer, header, nbytes, q):
        n = q.shape[0]
        hl = len(header)
        rec_len = hl + nbytes
        buf = np.empty((n, rec_len), dtype=np.uint8)
        buf[:, :hl] = np.frombuffer(header, dtype=np.uint8)
        buf[:, hl:] = np.ascontiguousarray(q).reshape(n, nbytes)
        blob = buf.tobytes()
        write = writer.write
        for i in range(n):
            write(blob[i * rec_len:(i + 1) * rec_len])

    def add_labels(self, labels):
        """Labels for all images, float32 [N, label_dim] (row i belongs to the i-th added image)."""
        self._check_open()
        labels = np.asarray(labels)
        if labels.ndim == 1:
            labels = labels[:, np.newaxis]
        if labels.ndim != 2:
            raise DatasetError("labels must be a 2-D array [N, label_dim], got shape %s" % (labels.shape,))
        self._labels = labels.astype(np.float32)

    def add_factors(self, factors, names, sizes, source=None):
        """Ground-truth factor classes for all images, int [N, F], with the factor names and sizes; ``source``
        (str, optional) says what made the images and is kept in the factors file."""
        self._check_open()
        factors = np.asarray(factors)
        if factors.ndim != 2:
            raise DatasetError("factors must be a 2-D array [N, F], got shape %s" % (factors.shape,))
        names = [str(v) for v in names]
        sizes = [int(v) for v in sizes]
        if len(names) != factors.shape[1] or len(sizes) != factors.shape[1]:
            raise DatasetError("factors have %d columns but %d names and %d sizes are given"
                               % (factors.shape[1], len(names), len(sizes)))
        factors = factors.astype(np.int64)
        if factors.size and (factors.min() < 0 or np.any(factors >= np.asarray(sizes, dtype=np.int64))):
            raise DatasetError("factor classes out of range for sizes %s" % (sizes,))
        self._factors = (factors, names, sizes, source)

    # -- finishing ------------------------------------------------------------------------------

    def _close_writers(self, check=False):
        """Close every writer; with ``check``, a failed flush or close (disk full) raises, naming the dataset."""
        writers, self._writers = self._writers, []
        for w in writers:
            try:
                w.flush()
                w.close()
            except Exception as exc:
                if check:
                    raise cli.as_os_error(exc, filename=self.tfrecord_dir) or exc

    def _check_file_sizes(self):
        """Every tfrecord file holds all its records: TensorFlow's writer can lose buffered data on a full disk
        without raising. A record is its data plus 16 framing bytes (length, two CRCs)."""
        for log2, header, nbytes in self._levels:
            path = tfrecord_file_name(self.tmp_dir, log2, name=self.name)
            want, have = self.cur_images * (len(header) + nbytes + 16), os.path.getsize(path)
            if have != want:
                if shutil.disk_usage(self.tmp_dir).free < want - have + (1 << 20):
                    raise OSError(errno.ENOSPC, "No space left on device", self.tfrecord_dir)
                raise DatasetError("%s was not written completely (%d of %d bytes of %s); nothing was kept"
                                   % (self.tfrecord_dir, have, want, os.path.basename(path)))

    def abort(self):
        """Discard everything written so far; the target directory is left as it was."""
        if self._closed:
            return
        self._closed = True
        self._progress.close()
        self._close_writers()
        shutil.rmtree(self.tmp_dir, ignore_errors=True)
        for p in self._created_parents:  # deepest first
            try:
                os.rmdir(p)
            except OSError:
                break

    def close(self):
        """Check the counts, write labels/factors and move the dataset into place."""
        if self._closed:
            return
        try:
            self._finish()
        except BaseException:
            self.abort()
            raise
        self._closed = True

    def _finish(self):
        from dnnlib.util import atomic_write

        self._close_writers(check=True)
        n = self.cur_images
        if n:
            self._check_file_sizes()
        if n == 0:
            raise DatasetError("no images were added to %s" % self.tfrecord_dir)
        if self.expected_images is not None and n != self.expected_images:
            raise DatasetError("expected %d images but %d were added to %s" % (self.expected_images, n, self.tfrecord_dir))
        if self._labels is not None:
            if self._labels.shape[0] != n:
                raise DatasetError("%d label rows for %d images" % (self._labels.shape[0], n))
            with atomic_write(labels_file_name(self.tmp_dir, name=self.name), "wb") as f:
                np.save(f, self._labels)
        if self._factors is not None:
            factors, names, sizes, source = self._factors
            if factors.shape[0] != n:
                raise DatasetError("%d factor rows for %d images" % (factors.shape[0], n))
            npy, js = factors_file_names(self.tmp_dir, name=self.name)
            with atomic_write(npy, "wb") as f:
                np.save(f, factors)
            with atomic_write(js, "w") as f:
                meta = {"names": names, "sizes": sizes}
                if source is not None:
                    meta["source"] = str(source)
                json.dump(meta, f, indent=1, sort_keys=True)
                f.write("\n")
        self._move_into_place()
        self._progress.finish(n, "wrote %s" % self.tfrecord_dir)

    def _move_into_place(self):
        target = self._abs_dir
        old = None
        if os.path.lexists(target):
            if os.path.isdir(target) and not os.listdir(target):
                os.rmdir(target)
            elif self.overwrite:
                old = staging_name(target)     # the replaced dataset, removed below (or reclaimed, if killed)
                os.rename(target, old)
            else:
                raise DatasetError("output directory %s appeared during the export; not replacing it" % self.tfrecord_dir)
        os.rename(self.tmp_dir, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def check_max_images(max_images, available):
    """How many images to export: ``max_images`` (None: all ``available``); DatasetUsageError below 1 or above."""
    if max_images is None:
        return available
    if max_images < 1:
        raise DatasetUsageError("--max_images must be at least 1, got %d" % max_images)
    if max_images > available:   # was silently capped (a full dSprites export is ~4 GB)
        raise DatasetUsageError("--max_images %d is more than the %d images available; give at most %d, or omit it for "
                           "all of them" % (max_images, available, available))
    return max_images


def warn(msg):
    """A one-line warning of dataset_tool.py on stderr (the export goes on)."""
    print("dataset_tool.py: warning: %s" % msg, file=sys.stderr)
    sys.stderr.flush()
