"""Datasets with ground-truth factors for dataset_tool.py: dSprites (procedural, or DeepMind's npz) and
3DShapes (DeepMind's h5), each written with its factors beside the images (``<name>-factors.npy`` / ``.json``).
"""

import concurrent.futures
import os
import zipfile

import numpy as np

from dnnlib import cli
from training.tfrecord_export import (DatasetError, DatasetNotFoundError, DatasetUsageError, TFRecordExporter,
                                      check_max_images, warn)

BATCH = 4096          # images rendered / read per chunk
SHAPES3D_COUNT = 480000


def _choose_indices(total, max_images, seed, shuffle):
    """Seeded subset (sorted) and order of ``range(total)``."""
    rng = np.random.RandomState(seed)
    n = check_max_images(max_images, total)
    if n < total:
        idx = np.sort(rng.choice(total, n, replace=False))
    else:
        idx = np.arange(total)
    if shuffle:
        idx = idx[rng.permutation(n)]
    return idx.astype(np.int64)


def _dsprites_labels(kind, classes):
    from training import dsprites

    if kind == "none":
        return None
    if kind == "shape":
        onehot = np.zeros([classes.shape[0], dsprites.FACTOR_SIZES[1]], dtype=np.float32)
        onehot[np.arange(classes.shape[0]), classes[:, 1]] = 1.0
        return onehot
    if kind == "factors":
        return classes.astype(np.float32)
    raise DatasetUsageError("unknown --labels %r (choose from none, shape, factors)" % kind)


def create_dsprites(tfrecord_dir, npz=None, max_images=None, seed=123, labels="none", shuffle=True, overwrite=False,
                    progress=True):
    from training import dsprites

    if labels not in ("none", "shape", "factors"):
        raise DatasetUsageError("unknown --labels %r (choose from none, shape, factors)" % labels)
    imgs = None
    if npz is not None:
        if not os.path.isfile(npz):
            raise DatasetNotFoundError("dSprites file %s does not exist; download %s from DeepMind's dsprites-dataset "
                                       "repository" % (npz, dsprites.NPZ_FILENAME))
        try:
            imgs, all_classes = dsprites.load_npz(npz)
        except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
            raise DatasetError("cannot read dSprites file %s: %s; download %s again"
                               % (npz, cli.numpy_load_problem(e.args[0] if e.args else e), dsprites.NPZ_FILENAME))
        total = imgs.shape[0]
    else:
        total = dsprites.NUM_IMAGES
    idx = _choose_indices(total, max_images, seed, shuffle)
    classes = all_classes[idx] if imgs is not None else dsprites.index_to_classes(idx)
    n = idx.shape[0]

    def make_batch(start):
        stop = min(start + BATCH, n)
        if imgs is not None:
            batch = imgs[idx[start:stop]]
        else:
            batch = dsprites.render(classes[start:stop])
        np.multiply(batch, np.uint8(255), out=batch)
        return batch[:, np.newaxis]

    with TFRecordExporter(tfrecord_dir, n, overwrite=overwrite, progress=progress) as tfr:
        # Render the next batch in a second thread while this one is encoded and written.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            starts = list(range(0, n, BATCH))
            future = pool.submit(make_batch, starts[0])
            for k in range(len(starts)):
                batch = future.result()
                if k + 1 < len(starts):
                    future = pool.submit(make_batch, starts[k + 1])
                tfr.add_images(batch)
        lab = _dsprites_labels(labels, classes)
        if lab is not None:
            tfr.add_labels(lab)
        source = ("dSprites, official file %s" % os.path.basename(npz) if imgs is not None
                  else "dSprites, procedural renderer version %d" % dsprites.RENDERER_VERSION)
        tfr.add_factors(classes, dsprites.FACTOR_NAMES, dsprites.FACTOR_SIZES, source=source)


# ----------------------------------------------------------------------------------------------
# create_3dshapes


def _shapes3d_classes(values):
    """3DShapes label values float [N, 6] -> factor classes int64 [N, 6] (ground_truth.shapes3d_classes), a
    DatasetError when a value is off the documented grids."""
    from training import ground_truth as gt

    try:
        return gt.shapes3d_classes(values)
    except ValueError as e:
        raise DatasetError("3DShapes labels: %s; is this the official 3dshapes.h5?" % cli.one_line(e))


def create_3dshapes(tfrecord_dir, h5_file, max_images=None, seed=123, shuffle=True, overwrite=False, progress=True):
    try:
        import h5py
    except ImportError:
        raise DatasetError("h5py is not installed; run 'pip install h5py' to read %s" % h5_file)
    if not os.path.isfile(h5_file):
        raise DatasetNotFoundError("3DShapes file %s does not exist; download 3dshapes.h5 from DeepMind's 3d-shapes repository"
                           % h5_file)
    try:
        h5 = h5py.File(h5_file, "r")
    except Exception as e:
        raise DatasetError("cannot open HDF5 file %s (%s)" % (h5_file, cli.one_line(e)))
    with h5:
        from training import ground_truth as gt
        try:
            gt.check_3dshapes_h5(h5, h5_file)
        except (KeyError, ValueError) as e:
            raise DatasetError(cli.one_line(e.args[0]))
        images, labels = h5["images"], h5["labels"]
        if images.shape[1] != images.shape[2]:     # the tfrecords hold square levels
            raise DatasetError("%s: 'images' has shape %s, expected (N, R, R, 3)" % (h5_file, images.shape))
        total = images.shape[0]
        if total != SHAPES3D_COUNT:
            warn("%s holds %d images; the official 3DShapes has %d" % (h5_file, total, SHAPES3D_COUNT))
        idx = _choose_indices(total, max_images, seed, shuffle)
        n = idx.shape[0]
        all_values = np.asarray(labels[...], dtype=np.float64)
        classes = _shapes3d_classes(all_values[idx])
        contiguous = np.array_equal(idx, np.arange(n))
        with TFRecordExporter(tfrecord_dir, n, overwrite=overwrite, progress=progress) as tfr:
            for start in range(0, n, BATCH):
                stop = min(start + BATCH, n)
                if contiguous:
                    batch = np.asarray(images[start:stop])
                else:
                    part = idx[start:stop]
                    srt = np.argsort(part)
                    batch = np.empty((stop - start,) + tuple(images.shape[1:]), dtype=np.uint8)
                    batch[srt] = np.asarray(images[part[srt].tolist()])
                tfr.add_images(np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.uint8))
            tfr.add_factors(classes, gt.SHAPES3D_FACTOR_NAMES, gt.SHAPES3D_FACTOR_SIZES)
