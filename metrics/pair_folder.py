"""Pair folders and in-memory pairs of the VP metric (metrics/vp_metric.py): reading, converting, checking.

A pair folder holds ``pair_%06d.jpg`` images (x1 | x2 side by side, RGB, even width) and ``labels.npy``
[N, C] (row = c1 - c2), as run_pair_imgs.py writes them. Only 'onedim' pairs are VP-metric input: every label
row has exactly one non-zero entry (the varied dim, the pair's class) and each of the C dims varies in some
pair (``check_onedim_labels``). numpy, PIL and dnnlib.cli only (no TensorFlow).
"""

import os
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from dnnlib import cli

_PAIR_NAME = re.compile(r"^pair_(\d+)\.jpg$")
_ONEDIM_FIX = "write the pairs with run_pair_imgs.py --latent_type onedim"


class PairFolderError(cli.InputError):
    """A pair folder whose files cannot be read as pairs (a data error: the CLI exits 1)."""


class LabelFormatError(PairFolderError):
    """Labels the VP metric cannot score correctly (a data error: the CLI exits 1)."""


def _some(indices, limit=5, count=True):
    """'0, 3, 7' or '0, 3, 7, ... (12 in all)' (without count: '0, 3, 7, ...') for error messages."""
    indices = [int(i) for i in indices]
    text = ", ".join(str(i) for i in indices[:limit])
    if len(indices) > limit:
        text += ", ... (%d in all)" % len(indices) if count else ", ..."
    return text


def check_onedim_labels(labels, source="labels", strict=True):
    """Refuse labels [N, C] (row = c1 - c2) that would give a silently wrong VP score. Raises LabelFormatError.

    strict (pair folders, as run_pair_imgs.py writes them): every row has exactly one non-zero, finite entry
    (the 'onedim' format) and each of the C >= 2 dims varies in some row. Not strict (in-memory pairs, whose other
    dims may carry small noise: the class is argmax |row|): every row is finite and not all zero, and at least two
    dims are some row's class.
    """
    labels = np.asarray(labels, dtype=np.float64)
    num, dims = labels.shape
    if num == 0:
        raise LabelFormatError("%s: no label rows (no pairs to score)" % source)
    finite = np.isfinite(labels).all(axis=1)
    nonzero = np.count_nonzero(labels, axis=1)
    bad = ~finite | (nonzero != 1) if strict else ~finite | (nonzero == 0)
    if bad.any():
        rows = np.flatnonzero(bad)
        kinds = [(int(np.sum(finite & (nonzero == 0))), "all zero"), (int(np.sum(~finite)), "non-finite")]
        if strict:
            kinds.insert(1, (int(np.sum(finite & (nonzero > 1))), "with several non-zero entries"))
        detail = ", ".join("%d %s" % (n, what) for n, what in kinds if n)
        where = (source, len(rows), num, _some(rows, count=False), detail)
        if strict:
            raise LabelFormatError(
                "%s: %d of %d label rows do not have exactly one non-zero entry (rows %s; %s): the VP metric reads "
                "'onedim' pairs (row = c1 - c2, non-zero only in the one varied dim); 'fulldim' pairs (every entry "
                "varies) are not VP-metric input: %s" % (where + (_ONEDIM_FIX,)))
        raise LabelFormatError("%s: %d of %d label rows name no varied dim (rows %s; %s): each row must be c1 - c2 "
                               "of a pair that varies one dim" % where)
    if strict:
        varied = (labels != 0).any(axis=0)
    else:
        varied = np.zeros(dims, dtype=bool)
        varied[np.argmax(np.abs(labels), axis=1)] = True
    if varied.sum() < 2:
        raise LabelFormatError(
            "%s: only latent dim %s varies in the %d pairs used (dims %s never vary): the VP metric needs pairs that "
            "vary at least 2 of the C=%d dims, or its classifier has a single class and scores 100%% trivially: %s"
            % (source, _some(np.flatnonzero(varied)), num, _some(np.flatnonzero(~varied)), dims, _ONEDIM_FIX))
    if strict and not varied.all():
        raise LabelFormatError(
            "%s: latent dim(s) %s never vary in the %d pairs used: each of the C=%d dims must vary in some pair, or "
            "the chance level (100/C) and the classifier's task are wrong; write more pairs with run_pair_imgs.py "
            "(--n_imgs) or use more of them (--max-pairs)" % (source, _some(np.flatnonzero(~varied), 10), num, dims))


def _decode_rgb(path):
    """uint8 [H, W, 3] of an image file; PairFolderError naming the file if it cannot be decoded."""
    import PIL.Image

    try:
        with PIL.Image.open(path) as image:
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except Exception as exc:  # PIL raises OSError / UnidentifiedImageError / SyntaxError for broken files
        raise PairFolderError("cannot read pair image %s: %s: %s" % (path, type(exc).__name__, exc)) from exc


def load_pair_folder(path, max_pairs=None, workers=None):
    """Read a pair folder (``pair_%06d.jpg`` + ``labels.npy``) into memory, decoding every JPEG once.

    Returns (pairs uint8 [N, H, 2W, 3], labels float64 [N, C]). Grayscale (or other-mode) JPEGs are converted
    like PIL's ``convert('RGB')``. ``max_pairs`` keeps pairs 0 .. max_pairs - 1 only. Other files in the folder
    (pairs.json, preview.png, a dnnlib run dir) are ignored. The labels of the pairs kept must be 'onedim'
    (``check_onedim_labels``, LabelFormatError otherwise), checked before any JPEG is decoded.
    """
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise FileNotFoundError("pair folder %s does not exist (or is not a folder)" % path)
    labels_path = os.path.join(path, "labels.npy")
    if not os.path.isfile(labels_path):
        raise FileNotFoundError("not a pair folder: %s has no labels.npy; write one with run_pair_imgs.py "
                                "(pair_%%06d.jpg images + labels.npy)" % path)
    try:
        labels = np.load(labels_path, allow_pickle=False)
    except Exception as exc:
        raise PairFolderError("cannot read %s: %s; %s"
                              % (labels_path, cli.numpy_load_problem(exc), _ONEDIM_FIX)) from exc
    labels = np.asarray(labels, dtype=np.float64)
    if labels.ndim == 1:
        labels = labels[:, None]
    if labels.ndim != 2:
        raise PairFolderError("%s must be a 2-D array [num_pairs, num_dims], got shape %s"
                              % (labels_path, labels.shape))
    if labels.shape[1] < 2:
        raise PairFolderError("the VP metric needs at least 2 latent dims, %s has %d column(s)"
                              % (labels_path, labels.shape[1]))

    indices = {}
    for name in os.listdir(path):
        match = _PAIR_NAME.match(name)
        if match:
            indices[int(match.group(1))] = name
    if not indices:
        raise PairFolderError("no pair_%%06d.jpg images in %s (labels.npy has %d rows)" % (path, labels.shape[0]))
    if len(indices) != labels.shape[0]:
        raise PairFolderError("count mismatch in %s: %d pair_*.jpg images but %d rows in labels.npy"
                              % (path, len(indices), labels.shape[0]))
    missing = [i for i in range(len(indices)) if i not in indices]
    if missing:
        raise PairFolderError("pair images in %s are not numbered 0..%d: pair_%06d.jpg is missing"
                              % (path, len(indices) - 1, missing[0]))

    num = len(indices) if max_pairs is None else max(0, min(int(max_pairs), len(indices)))
    if num == 0:
        raise ValueError("max_pairs=%r leaves no pairs to load from %s" % (max_pairs, path))
    check_onedim_labels(labels[:num], labels_path)
    files = [os.path.join(path, indices[i]) for i in range(num)]
    first = _decode_rgb(files[0])
    if first.shape[1] % 2:
        raise PairFolderError("%s is %d pixels wide: a pair image must have an even width (x1 | x2 side by side)"
                              % (files[0], first.shape[1]))
    pairs = np.empty((num,) + first.shape, dtype=np.uint8)
    pairs[0] = first

    def decode_into(i):
        image = _decode_rgb(files[i])
        if image.shape != first.shape:
            raise PairFolderError("%s has size %dx%d but %s has %dx%d: all pair images must have the same size"
                                  % (files[i], image.shape[1], image.shape[0], files[0], first.shape[1],
                                     first.shape[0]))
        pairs[i] = image

    workers = workers or min(8, os.cpu_count() or 1)
    if workers > 1 and num > 64:
        with ThreadPoolExecutor(workers) as pool:  # PIL releases the GIL while decoding
            for _ in pool.map(decode_into, range(1, num)):
                pass
    else:
        for i in range(1, num):
            decode_into(i)
    return pairs, labels[:num].copy()


def pairs_from_images(x1, x2, drange=(-1, 1), data_format="NCHW"):
    """Two float image batches (e.g. generator outputs) -> uint8 side-by-side pairs [N, H, 2W, 3].

    Same conversion as the on-disk format (x * 127.5 + 127.5 for [-1, 1], rint, clip), minus the JPEG step.
    """
    def to_uint8(x):
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 4:
            raise ValueError("images must be 4-D, got shape %s" % (x.shape,))
        if data_format == "NCHW":
            x = x.transpose(0, 2, 3, 1)
        lo, hi = drange
        x = np.clip(np.rint((x - lo) * (255.0 / (hi - lo))), 0, 255).astype(np.uint8)
        return np.repeat(x, 3, axis=3) if x.shape[3] == 1 else x

    a, b = to_uint8(x1), to_uint8(x2)
    if a.shape != b.shape:
        raise ValueError("x1 and x2 must have the same shape, got %s and %s" % (a.shape, b.shape))
    return np.concatenate([a, b], axis=2)


def targets_from_labels(labels):
    """Class of each pair = the varied latent dim = argmax |c1 - c2| (first one on ties)."""
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError("labels must be 2-D [num_pairs, num_dims], got shape %s" % (labels.shape,))
    return np.argmax(np.abs(labels), axis=1).astype(np.int64)


def check_pair_arrays(pairs, labels):
    """In-memory pairs uint8 [N, H, 2W, C] and labels [N, C_dims] (c1 - c2) checked (ValueError /
    LabelFormatError); returns them as (uint8 array, float64 [N, C_dims]), 1-D labels as one column."""
    pairs = np.asarray(pairs)
    labels = np.asarray(labels, dtype=np.float64)
    if labels.ndim == 1:
        labels = labels[:, None]
    if pairs.dtype != np.uint8:
        raise ValueError("pairs must be uint8 [N, H, 2W, C], got dtype %s" % pairs.dtype)
    if pairs.ndim != 4:
        raise ValueError("pairs must be 4-D uint8 [N, H, 2W, C], got shape %s" % (pairs.shape,))
    if pairs.shape[2] % 2:
        raise ValueError("pair width %d is odd: pairs are x1 | x2 side by side" % pairs.shape[2])
    if labels.ndim != 2 or labels.shape[0] != pairs.shape[0]:
        raise ValueError("count mismatch: %d pairs but labels of shape %s" % (pairs.shape[0], labels.shape))
    if labels.shape[1] < 2:
        raise ValueError("the VP metric needs at least 2 latent dims, labels have %d" % labels.shape[1])
    check_onedim_labels(labels, "labels", strict=False)
    return pairs, labels
