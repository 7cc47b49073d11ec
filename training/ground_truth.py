"""Ground-truth data objects for the disentanglement metrics.

A ground-truth data object knows the generative factors of a dataset and can produce an observation for any
combination of factor classes:

    num_factors                  int
    factor_sizes                 tuple of ints (number of classes of each factor)
    factor_names                 tuple of strings
    observation_shape            (C, H, W)
    sample_factors(num, random_state)                       -> int64 [num, num_factors]
    sample_observations_from_factors(factors, random_state) -> float32 [num, C, H, W] in [0, 1]
    sample(num, random_state)                               -> (factors, observations)
    sample_observations(num, random_state)                  -> observations

Observations are NCHW (channels first, as the networks take them on the GPU) float32 in [0, 1]; a caller
that feeds the networks converts them to the networks' range and layout. ``random_state`` is a
``numpy.random.RandomState``.

Implementations:
    DSpritesData   dSprites with the 5 metric factors (shape, scale, orientation, posX, posY); rendered on
                   demand (procedural approximation, see training.dsprites) or read from the official npz.
    GridData       any dataset whose images cover a complete factor grid (every combination exactly once, in
                   any order): 3DShapes (``from_3dshapes_h5``) and the datasets written by dataset_tool
                   (``from_arrays_dir``: ``<name>-factors.npy`` + ``<name>-factors.json`` beside the
                   tfrecords).
    make_ground_truth_data(name_or_path, ...) picks one.
"""

import glob
import json
import os

import numpy as np

from training import dsprites

# ----------------------------------------------------------------------------------------------------------


class GroundTruthData(object):
    """Base class. Subclasses set ``factor_sizes``, ``factor_names``, ``observation_shape`` and implement
    ``sample_observations_from_factors``."""

    factor_sizes = ()
    factor_names = ()
    observation_shape = ()

    @property
    def num_factors(self):
        return len(self.factor_sizes)

    def sample_factors(self, num, random_state):
        """Independent uniform factor classes int64 [num, num_factors] (one randint draw per factor, in
        factor order)."""
        factors = np.zeros((int(num), self.num_factors), dtype=np.int64)
        for k, size in enumerate(self.factor_sizes):
            factors[:, k] = random_state.randint(size, size=int(num))
        return factors

    def sample_observations_from_factors(self, factors, random_state):
        """Observations float32 [num, C, H, W] in [0, 1] for factor classes int [num, num_factors]."""
        raise NotImplementedError

    def sample(self, num, random_state):
        """(factors int64 [num, F], observations float32 [num, C, H, W])."""
        factors = self.sample_factors(num, random_state)
        return factors, self.sample_observations_from_factors(factors, random_state)

    def sample_observations(self, num, random_state):
        return self.sample(num, random_state)[1]

    def _check_factors(self, factors):
        factors = np.asarray(factors)
        if factors.ndim != 2 or factors.shape[1] != self.num_factors:
            raise ValueError('expected factors of shape [N, %d] (%s), got %s'
                             % (self.num_factors, ', '.join(self.factor_names), factors.shape))
        factors = factors.astype(np.int64)
        sizes = np.asarray(self.factor_sizes, dtype=np.int64)
        bad = (factors < 0) | (factors >= sizes[None, :])
        if bad.any():
            row, col = [int(v[0]) for v in np.nonzero(bad)]
            raise ValueError('factor %s class %d out of range [0, %d)'
                             % (self.factor_names[col], factors[row, col], self.factor_sizes[col]))
        return factors


# ----------------------------------------------------------------------------------------------------------


class DSpritesData(GroundTruthData):
    """dSprites with the metric factors (shape, scale, orientation, posX, posY); color (one value) is dropped,
    as disentanglement_lib does. Observations float32 [num, 1, 64, 64] in {0, 1}.

    Without ``npz_path`` every requested image is rendered on demand by the procedural renderer (an
    approximation of the official images: see ``training.dsprites.RENDERER_NOTE``); no 737k array is kept.
    With ``npz_path`` the official npz is loaded (about 3 GB in memory) and indexed.
    """

    factor_sizes = dsprites.METRIC_FACTOR_SIZES
    factor_names = dsprites.METRIC_FACTOR_NAMES
    observation_shape = (1, dsprites.IMAGE_SIZE, dsprites.IMAGE_SIZE)

    def __init__(self, npz_path=None):
        self.npz_path = npz_path
        self.images = None
        self.row_of_index = None
        if npz_path is not None:
            imgs, classes = dsprites.load_npz(npz_path)
            if imgs.shape[0] != dsprites.NUM_IMAGES:
                raise ValueError('%s: %d images, expected %d' % (npz_path, imgs.shape[0], dsprites.NUM_IMAGES))
            index = dsprites.classes_to_index(classes)
            if not np.array_equal(index, np.arange(dsprites.NUM_IMAGES)):
                counts = np.bincount(index, minlength=dsprites.NUM_IMAGES)
                if (counts != 1).any():
                    raise ValueError('%s: latents_classes do not cover the dSprites grid exactly once' % npz_path)
                self.row_of_index = np.empty(dsprites.NUM_IMAGES, dtype=np.int64)
                self.row_of_index[index] = np.arange(dsprites.NUM_IMAGES)
            self.images = imgs

    @property
    def procedural(self):
        return self.images is None

    def full_classes(self, factors):
        """Metric factors int [N, 5] -> dSprites classes int64 [N, 6] (color class 0 prepended)."""
        factors = self._check_factors(factors)
        return np.concatenate([np.zeros((factors.shape[0], 1), dtype=np.int64), factors], axis=1)

    def sample_observations_from_factors(self, factors, random_state):
        classes = self.full_classes(factors)
        if self.images is None:
            imgs = dsprites.render(classes)
        else:
            rows = dsprites.classes_to_index(classes)
            if self.row_of_index is not None:
                rows = self.row_of_index[rows]
            imgs = self.images[rows]
        return imgs.astype(np.float32)[:, None, :, :]


# ----------------------------------------------------------------------------------------------------------

SHAPES3D_FACTOR_NAMES = ('floor_hue', 'wall_hue', 'object_hue', 'scale', 'shape', 'orientation')
SHAPES3D_FACTOR_SIZES = (10, 10, 10, 8, 4, 15)
SHAPES3D_FACTOR_VALUES = (
    np.linspace(0.0, 1.0, 10),
    np.linspace(0.0, 1.0, 10),
    np.linspace(0.0, 1.0, 10),
    np.linspace(0.75, 1.25, 8),
    np.arange(4, dtype=np.float64),
    np.linspace(-30.0, 30.0, 15),
)


# Hue is cyclic (0 and 1 are the same colour), so a file may also store the hues as 0, 0.1, ..., 0.9; the
# reader accepts either spacing for the three hue factors (the class order is the same).
SHAPES3D_HUE_ALTERNATIVE = np.arange(10, dtype=np.float64) / 10.0


def _column_to_classes(column, grid, name, rtol):
    """Nearest class of each value of ``column`` on the sorted ``grid``; ValueError when a value is farther
    than ``rtol`` times the smallest grid step from every grid value."""
    grid = np.asarray(grid, dtype=np.float64)
    if len(grid) == 1:
        pos = np.zeros(len(column), dtype=np.int64)
        step = 1.0
    else:
        upper = np.clip(np.searchsorted(grid, column), 1, len(grid) - 1)
        left_closer = np.abs(column - grid[upper - 1]) <= np.abs(column - grid[upper])
        pos = np.where(left_closer, upper - 1, upper).astype(np.int64)
        step = float(np.min(np.diff(grid)))
    bad = ~(np.abs(column - grid[pos]) <= rtol * step)      # NaN counts as bad
    if bad.any():
        row = int(np.nonzero(bad)[0][0])
        raise ValueError('%s value %r (row %d) is not one of the documented values %s'
                         % (name, float(column[row]), row, np.array2string(grid, precision=4)))
    return pos


def values_to_classes(values, factor_values, factor_names=None, rtol=0.05, alternatives=None):
    """Map factor values float [N, F] to classes int64 [N, F]: the nearest documented value of each factor,
    which must lie within ``rtol`` of that factor's smallest step (a clear ValueError otherwise).
    ``alternatives`` {factor index: grid} gives a second accepted grid for a factor."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != len(factor_values):
        raise ValueError('expected factor values of shape [N, %d], got %s' % (len(factor_values), values.shape))
    classes = np.empty(values.shape, dtype=np.int64)
    for k, grid in enumerate(factor_values):
        name = factor_names[k] if factor_names else 'factor %d' % k
        try:
            classes[:, k] = _column_to_classes(values[:, k], grid, name, rtol)
        except ValueError:
            if not alternatives or k not in alternatives:
                raise
            classes[:, k] = _column_to_classes(values[:, k], alternatives[k], name, rtol)
    return classes


def shapes3d_classes(values):
    """3DShapes label values float [N, 6] -> factor classes int64 [N, 6] on the documented value grids
    (SHAPES3D_FACTOR_VALUES; the three hues also as 0, 0.1, ..., 0.9). ValueError names the first value off
    the grids."""
    return values_to_classes(values, SHAPES3D_FACTOR_VALUES, SHAPES3D_FACTOR_NAMES,
                             alternatives={k: SHAPES3D_HUE_ALTERNATIVE for k in range(3)})


def check_3dshapes_h5(handle, path):
    """Raise, with one line naming ``path``, when the open HDF5 file ``handle`` is not laid out as DeepMind's
    3dshapes.h5: KeyError when ``images`` or ``labels`` is missing, ValueError when ``images`` is not
    (N, H, W, 3) or ``labels`` not (N, 6). The values are checked by shapes3d_classes."""
    missing = [key for key in ('images', 'labels') if key not in handle]
    if missing:
        raise KeyError('%s is not a 3DShapes file: missing dataset(s) %s (has %s; expected images '
                       '(480000, 64, 64, 3) uint8 and labels (480000, 6) float64 as in the official 3dshapes.h5)'
                       % (path, ', '.join(missing), ', '.join(sorted(handle.keys())) or 'nothing'))
    images, labels = handle['images'], handle['labels']
    if len(images.shape) != 4 or images.shape[3] != 3:
        raise ValueError("%s: 'images' has shape %s, expected (N, H, W, 3)" % (path, images.shape))
    if tuple(labels.shape) != (images.shape[0], len(SHAPES3D_FACTOR_SIZES)):
        raise ValueError("%s: 'labels' has shape %s, expected %s"
                         % (path, labels.shape, (images.shape[0], len(SHAPES3D_FACTOR_SIZES))))


class GridData(GroundTruthData):
    """A dataset whose images cover a complete factor grid: every combination of factor classes exactly once,
    rows in any order.

    images: array-like [N, H, W, C] (NHWC, the default, as 3DShapes and image files), [N, C, H, W] with
        ``data_format='NCHW'``, or [N, H, W] (one channel). A numpy array or an h5py dataset (read lazily,
        rows fetched in increasing order). Values are multiplied by ``scale`` (default 1/255 for uint8) to
        give observations float32 NCHW in [0, 1].
    factor_classes: int [N, F], row r holds the classes of image r.
    factor_sizes: F ints. factor_names: F strings (default factor0, factor1, ...).
    """

    h5_file = None   # the open h5py.File when the images are read lazily (from_3dshapes_h5(in_memory=False))

    def __init__(self, images, factor_classes, factor_sizes, factor_names=None, data_format='NHWC', scale=None):
        factor_sizes = tuple(int(s) for s in factor_sizes)
        if not factor_sizes or min(factor_sizes) < 1:
            raise ValueError('factor_sizes must be positive, got %s' % (factor_sizes,))
        if factor_names is None:
            factor_names = tuple('factor%d' % k for k in range(len(factor_sizes)))
        factor_names = tuple(str(n) for n in factor_names)
        if len(factor_names) != len(factor_sizes):
            raise ValueError('%d factor names for %d factors' % (len(factor_names), len(factor_sizes)))
        if data_format not in ('NHWC', 'NCHW'):
            raise ValueError("data_format must be 'NHWC' or 'NCHW', got %r" % (data_format,))
        self.factor_sizes = factor_sizes
        self.factor_names = factor_names

        shape = tuple(images.shape)
        if len(shape) == 3:
            self._channel_axis = None
            self.observation_shape = (1,) + shape[1:]
        elif len(shape) == 4:
            self._channel_axis = 3 if data_format == 'NHWC' else 1
            self.observation_shape = ((shape[3], shape[1], shape[2]) if data_format == 'NHWC' else shape[1:])
        else:
            raise ValueError('images must be [N, H, W, C], [N, C, H, W] or [N, H, W], got %s' % (shape,))
        self.images = images
        if scale is None:
            scale = 1.0 / 255.0 if np.dtype(images.dtype) == np.uint8 else 1.0
        self.scale = float(scale)

        classes = np.asarray(factor_classes)
        if classes.ndim != 2 or classes.shape[1] != len(factor_sizes):
            raise ValueError('factor_classes must be [N, %d], got %s' % (len(factor_sizes), classes.shape))
        if classes.shape[0] != shape[0]:
            raise ValueError('%d images but %d rows of factor classes' % (shape[0], classes.shape[0]))
        if classes.dtype.kind not in 'iu':
            if not np.array_equal(np.rint(classes), classes):
                raise ValueError('factor_classes must be integers')
        classes = classes.astype(np.int64)
        sizes = np.asarray(factor_sizes, dtype=np.int64)
        bad = (classes < 0) | (classes >= sizes[None, :])
        if bad.any():
            row, col = [int(v[0]) for v in np.nonzero(bad)]
            raise ValueError('factor %s class %d out of range [0, %d) in row %d'
                             % (factor_names[col], classes[row, col], factor_sizes[col], row))
        self._bases = np.cumprod((1,) + factor_sizes[:0:-1])[::-1].astype(np.int64)   # last factor fastest
        total = int(np.prod(sizes))
        keys = classes.dot(self._bases)
        counts = np.bincount(keys, minlength=total)
        if (counts > 1).any():
            key = int(np.nonzero(counts > 1)[0][0])
            raise ValueError('factor grid has duplicates: %d combination(s) appear more than once, e.g. %s = %s'
                             % (int((counts > 1).sum()), self._describe(key), counts[key]))
        if (counts == 0).any():
            key = int(np.nonzero(counts == 0)[0][0])
            raise ValueError('factor grid is incomplete: %d of %d combinations missing, e.g. %s'
                             % (int((counts == 0).sum()), total, self._describe(key)))
        self.row_of_key = np.empty(total, dtype=np.int64)
        self.row_of_key[keys] = np.arange(len(keys), dtype=np.int64)

    def _describe(self, key):
        rest = key
        parts = []
        for name, base in zip(self.factor_names, self._bases):
            parts.append('%s=%d' % (name, rest // base))
            rest %= base
        return '(' + ', '.join(parts) + ')'

    def close(self):
        """Close the h5 file of a lazily read dataset (no-op otherwise)."""
        if self.h5_file is not None:
            self.h5_file.close()
            self.h5_file = None

    def rows_of(self, factors):
        """Row indices int64 [N] of the images with the given factor classes [N, F]."""
        return self.row_of_key[self._check_factors(factors).dot(self._bases)]

    def _take(self, rows):
        if isinstance(self.images, np.ndarray):
            return self.images[rows]
        # h5py and similar: indices must increase and be unique
        unique, inverse = np.unique(rows, return_inverse=True)
        block = np.asarray(self.images[unique.tolist()] if unique.size else self.images[0:0])
        return block[inverse.reshape(-1)]

    def sample_observations_from_factors(self, factors, random_state):
        imgs = self._take(self.rows_of(factors))
        out = imgs.astype(np.float32)
        if self.scale != 1.0:
            out *= np.float32(self.scale)
        if self._channel_axis is None:
            return out[:, None, :, :]
        if self._channel_axis == 3:
            return np.ascontiguousarray(out.transpose(0, 3, 1, 2))
        return out

    # ------------------------------------------------------------------------------------------------------

    @classmethod
    def from_3dshapes_h5(cls, path, in_memory=True):
        """3DShapes from DeepMind's ``3dshapes.h5`` (``images`` (480000, 64, 64, 3) uint8, ``labels``
        (480000, 6) float64). Label values are mapped to classes with the documented values
        (SHAPES3D_FACTOR_VALUES; hues also as 0, 0.1, ..., 0.9). ``in_memory`` reads the images once into one uint8 array (about 5.9 GB;
        never converted as a whole); otherwise they stay in the file and each batch is read from it."""
        import h5py
        handle = h5py.File(path, 'r')
        try:
            check_3dshapes_h5(handle, path)
            images = handle['images']
            classes = shapes3d_classes(handle['labels'][()])
            if in_memory:
                images = images[()]
        except Exception:
            handle.close()
            raise
        data = cls(images, classes, SHAPES3D_FACTOR_SIZES, SHAPES3D_FACTOR_NAMES, data_format='NHWC')
        if in_memory:
            handle.close()
        else:
            data.h5_file = handle   # keep the file open while the dataset is read lazily
        return data

    @classmethod
    def from_arrays_dir(cls, path, images, name=None, data_format='NHWC', scale=None, drop_single_valued=True):
        """Factors stored by dataset_tool beside the tfrecords: ``<name>-factors.npy`` (int64 [N, F], one row
        per image in tfrecord order) and ``<name>-factors.json`` ({"names": [...], "sizes": [...]}).
        ``images`` [N, ...] in the same order come from the caller (the tfrecord reader). ``name`` may be left
        out when the directory holds exactly one ``*-factors.npy``. Factors with a single class (dSprites'
        color) are dropped unless ``drop_single_valued`` is False, as disentanglement_lib does. The stored
        factors must cover the complete grid (a dataset written with --max_images is a subset: use
        DSpritesData for dSprites instead)."""
        npy_path, json_path = factor_file_paths(path, name)
        for p in (npy_path, json_path):
            if not os.path.isfile(p):
                raise IOError('missing ground-truth factors file %s' % p)
        with open(json_path) as f:
            meta = json.load(f)
        missing = [key for key in ('names', 'sizes') if key not in meta]
        if missing:
            raise KeyError('%s: missing key(s) %s' % (json_path, ', '.join(missing)))
        factors = np.load(npy_path, allow_pickle=False)
        sizes, names = list(meta['sizes']), list(meta['names'])
        if factors.ndim != 2 or factors.shape[1] != len(sizes) or len(names) != len(sizes):
            raise ValueError('%s: factors %s do not match %d names / %d sizes in %s'
                             % (npy_path, factors.shape, len(names), len(sizes), json_path))
        if drop_single_valued:
            keep = [k for k, size in enumerate(sizes) if int(size) > 1]
            factors = factors[:, keep]
            sizes, names = [sizes[k] for k in keep], [names[k] for k in keep]
        return cls(images, factors, sizes, names, data_format=data_format, scale=scale)


def factor_file_paths(path, name=None):
    """(npy, json) paths of the stored factors of dataset ``name`` in directory ``path``."""
    if name is None:
        found = sorted(glob.glob(os.path.join(path, '*-factors.npy')))
        if len(found) != 1:
            raise IOError('%s: expected exactly one *-factors.npy, found %d%s; pass name='
                          % (path, len(found), (' (' + ', '.join(os.path.basename(f) for f in found) + ')')
                             if found else ''))
        name = os.path.basename(found[0])[:-len('-factors.npy')]
    return (os.path.join(path, '%s-factors.npy' % name), os.path.join(path, '%s-factors.json' % name))


def write_factor_files(path, name, factors, names, sizes):
    """Write ``<name>-factors.npy`` and ``<name>-factors.json`` in directory ``path`` (for dataset_tool)."""
    factors = np.asarray(factors)
    if factors.ndim != 2 or factors.shape[1] != len(sizes) or len(names) != len(sizes):
        raise ValueError('factors %s do not match %d names / %d sizes' % (factors.shape, len(names), len(sizes)))
    npy_path, json_path = factor_file_paths(path, name)
    np.save(npy_path, factors.astype(np.int64))
    with open(json_path, 'w') as f:
        json.dump({'names': [str(n) for n in names], 'sizes': [int(s) for s in sizes]}, f)
    return npy_path, json_path


# ----------------------------------------------------------------------------------------------------------


def make_ground_truth_data(name_or_path, npz_path=None, images=None, image_loader=None, name=None, **kwargs):
    """Pick a ground-truth data object.

    'dsprites'                  -> DSpritesData(npz_path)  (procedural unless npz_path is given)
    path to a .npz              -> DSpritesData(npz_path=path)  (the official dSprites file)
    path to a .h5 / .hdf5       -> GridData.from_3dshapes_h5(path, **kwargs)
    directory with *-factors.npy (dataset_tool's tfrecord directory)
                                -> GridData.from_arrays_dir(path, images, name); ``images`` [N, ...] in tfrecord
                                   order, or ``image_loader(path, name)`` returning them.
    """
    key = str(name_or_path)
    if key.lower() == 'dsprites':
        return DSpritesData(npz_path=npz_path)
    lower = key.lower()
    if lower.endswith('.npz'):
        return DSpritesData(npz_path=key)
    if lower.endswith('.h5') or lower.endswith('.hdf5'):
        return GridData.from_3dshapes_h5(key, **kwargs)
    if os.path.isdir(key):
        if images is None:
            if image_loader is None:
                raise ValueError('%s is a dataset directory: pass images=[N, ...] in tfrecord order or '
                                 'image_loader=callable(path, name)' % key)
            images = image_loader(key, name)
        return GridData.from_arrays_dir(key, images, name=name, **kwargs)
    raise ValueError("unknown ground-truth dataset %r: use 'dsprites', an official dSprites .npz, a 3DShapes "
                     ".h5, or a dataset directory with <name>-factors.npy/.json" % key)
