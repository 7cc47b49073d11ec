"""Reading the multi-resolution TFRecord datasets written by ``dataset_tool.py``.

See ``training/tfrecord_export.py`` for the on-disk format. The reader uses one resolution (by
default the largest, "lod 0") and streams it through ``tf.data`` in graph mode: read buffer,
shuffle buffer and prefetch sizes are given in megabytes as in StyleGAN2.
"""

import glob
import json
import os

import numpy as np

from training.tfrecord_export import (DatasetError, DatasetNotFoundError, factors_file_names,
                                      tfrecord_file_name)  # noqa: F401  (re-exported)

__all__ = [
    "DatasetError", "DatasetNotFoundError", "TFRecordDataset", "load_dataset", "read_factors", "read_factors_source",
    "convert_images_to_float", "list_tfrecord_files", "count_records", "iterate_images", "parse_example",
    "tfrecord_file_name", "factors_file_names", "CREATE_HINT",
]

CREATE_HINT = ("create it with dataset_tool.py (e.g. 'python dataset_tool.py create_dsprites <dir>' or "
               "'python dataset_tool.py create_celeba <dir> <celeba_dir>')")


# ----------------------------------------------------------------------------------------------
# Small helpers shared with dataset_tool.py


def convert_images_to_float(x, drange_in=(0, 255), drange_out=(-1, 1)):
    """Map images linearly from ``drange_in`` to ``drange_out`` as float32; 0 -> -1 and 255 -> 1
    exactly with the defaults. Works on TF tensors and on numpy arrays."""
    in0, in1 = float(drange_in[0]), float(drange_in[1])
    out0, out1 = float(drange_out[0]), float(drange_out[1])
    from dnnlib.tflib.compat import tf

    if isinstance(x, (tf.Tensor, tf.Variable)):
        x = tf.cast(x, tf.float32)
        return (x - in0) / (in1 - in0) * (out1 - out0) + out0
    x = np.asarray(x, dtype=np.float32)
    return ((x - np.float32(in0)) / np.float32(in1 - in0) * np.float32(out1 - out0) + np.float32(out0)).astype(np.float32)


def _tf():
    from dnnlib.tflib.compat import tf
    return tf


def _first_record(path):
    """The first serialized record of a TFRecord file (DatasetError if unreadable or empty)."""
    tf = _tf()
    try:
        for record in tf.io.tf_record_iterator(path):
            return record
    except Exception as e:  # DataLossError, OSError, ...
        raise DatasetError("corrupt tfrecord file %s (%s); recreate the dataset with dataset_tool.py"
                           % (path, str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__))
    raise DatasetError("empty tfrecord file %s; recreate the dataset with dataset_tool.py" % path)


def parse_example(record, path="<record>"):
    """Serialized ``tf.train.Example`` -> uint8 [C, H, W] numpy image."""
    tf = _tf()
    try:
        ex = tf.train.Example.FromString(record)
        shape = [int(v) for v in ex.features.feature["shape"].int64_list.value]
        data = ex.features.feature["data"].bytes_list.value[0]
    except Exception as e:
        raise DatasetError("corrupt record in %s (%s: %s); recreate the dataset with dataset_tool.py"
                           % (path, type(e).__name__, e))
    if len(shape) != 3 or len(data) != int(np.prod(shape)):
        raise DatasetError("corrupt record in %s: shape %s does not match %d data bytes; recreate the dataset "
                           "with dataset_tool.py" % (path, shape, len(data)))
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)


def iterate_images(path, limit=None):
    """Yield uint8 [C, H, W] images from one TFRecord file, in file order."""
    tf = _tf()
    count = 0
    try:
        for record in tf.io.tf_record_iterator(path):
            if limit is not None and count >= limit:
                return
            yield parse_example(record, path)
            count += 1
    except DatasetError:
        raise
    except Exception as e:
        raise DatasetError("corrupt tfrecord file %s after %d records (%s); recreate the dataset with "
                           "dataset_tool.py" % (path, count, str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__))


def count_records(path, first_record=None):
    """Number of records in a TFRecord file. Records of one level all have the same length, so the
    count normally follows from the file size; otherwise the file is read through."""
    if first_record is None:
        first_record = _first_record(path)
    size = os.path.getsize(path)
    rec = len(first_record) + 16  # uint64 length, uint32 crc, data, uint32 crc
    if size % rec == 0:
        return size // rec
    count = 0
    tf = _tf()
    try:
        for _ in tf.io.tf_record_iterator(path):
            count += 1
    except Exception as e:
        raise DatasetError("corrupt or truncated tfrecord file %s after %d records (%s); recreate the dataset "
                           "with dataset_tool.py" % (path, count, type(e).__name__))
    return count


def list_tfrecord_files(tfrecord_dir):
    """{resolution: (path, shape [C, H, W], first record)} for the TFRecord files of a dataset."""
    if not os.path.isdir(tfrecord_dir):
        if os.path.exists(tfrecord_dir):
            raise DatasetNotFoundError("dataset path %s is not a directory" % tfrecord_dir)
        raise DatasetNotFoundError("dataset directory %s does not exist; %s" % (tfrecord_dir, CREATE_HINT))
    paths = sorted(glob.glob(os.path.join(glob.escape(tfrecord_dir), "*.tfrecords")))
    if not paths:
        raise DatasetNotFoundError("no *.tfrecords files in %s; %s" % (tfrecord_dir, CREATE_HINT))
    levels = {}
    for path in paths:
        record = _first_record(path)
        shape = list(parse_example(record, path).shape)
        c, h, w = shape
        if c not in (1, 3) or h != w or h < 1 or (h & (h - 1)) != 0:
            raise DatasetError("unsupported image shape %s in %s: expected [C, R, R] with C in (1, 3) and R a power "
                               "of two" % (shape, path))
        if h in levels:
            raise DatasetError("two tfrecord files with resolution %d in %s: %s and %s; remove the stray file"
                               % (h, tfrecord_dir, levels[h][0], path))
        levels[h] = (path, shape, record)
    return levels


def read_factors(tfrecord_dir):
    """Ground-truth factors stored beside the tfrecords: (factors int64 [N, F], names, sizes), or
    None when the dataset has none."""
    npy, js = factors_file_names(tfrecord_dir)
    if not os.path.exists(npy):
        return None
    if not os.path.exists(js):
        raise DatasetError("%s has no companion %s; recreate the dataset with dataset_tool.py" % (npy, js))
    try:
        factors = np.load(npy)
        with open(js, "r") as f:
            meta = json.load(f)
        names = [str(v) for v in meta["names"]]
        sizes = [int(v) for v in meta["sizes"]]
    except Exception as e:
        raise DatasetError("cannot read the factors of %s (%s: %s); recreate the dataset with dataset_tool.py"
                           % (tfrecord_dir, type(e).__name__, e))
    if factors.ndim != 2 or factors.shape[1] != len(names) or len(names) != len(sizes):
        raise DatasetError("inconsistent factor files in %s: array %s, %d names, %d sizes"
                           % (tfrecord_dir, factors.shape, len(names), len(sizes)))
    return factors.astype(np.int64), names, sizes


def read_factors_source(tfrecord_dir):
    """What made the images, as recorded in the factors file (e.g. 'dSprites, procedural renderer version 2'),
    or None (no factors, or written before sources were recorded)."""
    _, js = factors_file_names(tfrecord_dir)
    try:
        with open(js, "r") as f:
            source = json.load(f).get("source")
    except (OSError, ValueError, AttributeError):
        return None
    return None if source is None else str(source)


# ----------------------------------------------------------------------------------------------
# The reader


class TFRecordDataset(object):
    """Images (uint8) and labels from one resolution of a TFRecord dataset directory.

    Images come as [N, C, H, W] (``data_format='NCHW'``) or [N, H, W, C] (``'NHWC'``), uint8 in
    [0, 255]; use :func:`convert_images_to_float` to map them to [-1, 1]. ``repeat=False`` reads
    the file once (``tf.errors.OutOfRangeError`` at the end). ``shuffle_mb=0`` keeps file order.
    """

    def __init__(self, tfrecord_dir, resolution=None, label_file=None, max_label_size="full", repeat=True,
                 shuffle_mb=4096, prefetch_mb=2048, buffer_mb=256, num_threads=2, data_format="NCHW",
                 verbose=False):
        tf = _tf()
        self.tfrecord_dir = tfrecord_dir
        self.name = os.path.basename(os.path.normpath(os.path.abspath(tfrecord_dir)))
        if data_format not in ("NCHW", "NHWC"):
            raise ValueError("data_format must be 'NCHW' or 'NHWC', got %r" % (data_format,))
        self.data_format = data_format
        self.dtype = "uint8"
        self.dynamic_range = [0, 255]
        self.repeat = repeat

        levels = list_tfrecord_files(tfrecord_dir)
        available = sorted(levels)
        max_res = available[-1]
        if resolution is None:
            resolution = max_res
        resolution = int(resolution)
        if resolution not in levels:
            raise DatasetError("resolution %d is not in dataset %s (available: %s); request one of these or recreate "
                               "the dataset at that resolution with dataset_tool.py (--resolution %d)"
                               % (resolution, tfrecord_dir, ", ".join(str(r) for r in available), resolution))
        self.available_resolutions = available
        self.resolution = resolution
        self.resolution_log2 = int(np.log2(resolution))
        self.tfrecord_file, self.shape, first = levels[resolution]
        self.num_channels = self.shape[0]
        self.lod = int(np.log2(max_res)) - self.resolution_log2
        self.num_images = count_records(self.tfrecord_file, first)

        # Labels.
        if label_file is None:
            found = sorted(glob.glob(os.path.join(glob.escape(tfrecord_dir), "*.labels")))
            if len(found) > 1:
                raise DatasetError("several *.labels files in %s: %s; pass label_file= to choose one"
                                   % (tfrecord_dir, ", ".join(os.path.basename(p) for p in found)))
            label_file = found[0] if found else None
        elif not os.path.isabs(label_file) and not os.path.exists(label_file):
            label_file = os.path.join(tfrecord_dir, label_file)
        self.label_file = label_file
        if label_file is not None:
            try:
                labels = np.load(label_file)
            except Exception as e:
                raise DatasetError("cannot read label file %s (%s); recreate the dataset with dataset_tool.py"
                                   % (label_file, e))
            if labels.ndim == 1:
                labels = labels[:, np.newaxis]
            if labels.ndim != 2 or labels.shape[0] != self.num_images:
                raise DatasetError("label file %s has shape %s but the dataset has %d images; recreate the dataset "
                                   "with dataset_tool.py" % (label_file, labels.shape, self.num_images))
        else:
            labels = np.zeros([self.num_images, 0], dtype=np.float32)
        if max_label_size != "full":
            labels = labels[:, :int(max_label_size)]
        self._np_labels = np.ascontiguousarray(labels)
        self.label_size = int(labels.shape[1])
        self.label_dtype = labels.dtype.name

        # The tf.data pipeline (in the current default graph).
        c, h, w = self.shape
        bytes_per_item = c * h * w + 4 * max(self.label_size, 0) + 64
        self._cur_minibatch = -1
        self._tf_minibatch_np = None
        self._tf_labels_const = None
        with tf.name_scope("Dataset"), tf.device("/cpu:0"):
            self._tf_minibatch_in = tf.placeholder(tf.int64, name="minibatch_in", shape=[])
            self._tf_labels_in = tf.placeholder(self._np_labels.dtype, name="labels_in", shape=[None, self.label_size])
            records = tf.data.TFRecordDataset(self.tfrecord_file, compression_type="",
                                              buffer_size=max(int(buffer_mb), 0) << 20)
            dset = tf.data.Dataset.zip((records, tf.data.Dataset.from_tensor_slices(self._tf_labels_in)))
            if shuffle_mb > 0:
                dset = dset.shuffle(((int(shuffle_mb) << 20) - 1) // bytes_per_item + 1)
            if repeat:
                dset = dset.repeat()
            if prefetch_mb > 0:
                dset = dset.prefetch(((int(prefetch_mb) << 20) - 1) // bytes_per_item + 1)
            dset = dset.batch(self._tf_minibatch_in)
            dset = dset.map(self._parse_batch, num_parallel_calls=max(int(num_threads), 1))
            dset = dset.prefetch(2)
            self._tf_dataset = dset
            self._tf_iterator = tf.data.Iterator.from_structure(tf.data.get_output_types(dset),
                                                                tf.data.get_output_shapes(dset))
            self._tf_init_op = self._tf_iterator.make_initializer(dset)

        if verbose:
            print("Dataset %s: %d images, shape %s, label size %d, resolution %d (available %s)"
                  % (tfrecord_dir, self.num_images, self.shape, self.label_size, self.resolution, available))

    def _parse_batch(self, records, labels):
        tf = _tf()
        feats = tf.io.parse_example(records, features={
            "shape": tf.io.FixedLenFeature([3], tf.int64),
            "data": tf.io.FixedLenFeature([], tf.string),
        })
        data = tf.io.decode_raw(feats["data"], tf.uint8)
        images = tf.reshape(data, [-1] + list(self.shape))
        if self.data_format == "NHWC":
            images = tf.transpose(images, [0, 2, 3, 1])
        return images, labels

    @property
    def image_shape(self):
        """Shape of one image in the requested layout."""
        c, h, w = self.shape
        return [c, h, w] if self.data_format == "NCHW" else [h, w, c]

    def configure(self, minibatch_size, lod=0):
        """Set the minibatch size of :meth:`get_minibatch_tf` (re-initialises the pipeline when it
        changes). ``lod`` is accepted for StyleGAN2 compatibility; only 0 is supported."""
        minibatch_size = int(minibatch_size)
        if minibatch_size < 1:
            raise ValueError("minibatch_size must be >= 1, got %d" % minibatch_size)
        if lod not in (0, None) and int(np.floor(lod)) != 0:
            raise ValueError("this dataset reader serves one resolution only (lod 0), got lod=%s" % (lod,))
        if minibatch_size != self._cur_minibatch:
            self._initialize(minibatch_size)

    def reset(self):
        """Restart reading from the beginning (with the current minibatch size)."""
        if self._cur_minibatch > 0:
            self._initialize(self._cur_minibatch)

    def _initialize(self, minibatch_size):
        tf = _tf()
        sess = tf.get_default_session()
        if sess is None:
            raise RuntimeError("TFRecordDataset needs a default TensorFlow session (tflib.init_tf() or "
                               "'with tf.Session().as_default()')")
        sess.run(self._tf_init_op, {self._tf_minibatch_in: minibatch_size, self._tf_labels_in: self._np_labels})
        self._cur_minibatch = minibatch_size

    def get_minibatch_tf(self):
        """(images uint8 [N, ...], labels [N, label_size]) tensors; every call creates a new
        get_next op that yields its own minibatches (one per GPU tower)."""
        tf = _tf()
        with tf.name_scope("Dataset"):
            return self._tf_iterator.get_next()

    def get_minibatch_np(self, minibatch_size, lod=0):
        """Fetch one minibatch as numpy arrays (images, labels)."""
        tf = _tf()
        self.configure(minibatch_size, lod)
        if self._tf_minibatch_np is None:
            with tf.device("/cpu:0"):
                self._tf_minibatch_np = self.get_minibatch_tf()
        try:
            return tf.get_default_session().run(self._tf_minibatch_np)
        except tf.errors.DataLossError as e:
            raise DatasetError("corrupt record in %s (%s); recreate the dataset with dataset_tool.py"
                               % (self.tfrecord_file, str(e).strip().splitlines()[0]))
        except tf.errors.InvalidArgumentError as e:
            raise DatasetError("cannot parse a record of %s (%s); recreate the dataset with dataset_tool.py"
                               % (self.tfrecord_file, str(e).strip().splitlines()[0]))

    def get_random_labels_tf(self, minibatch_size):
        """Labels of random dataset images, [minibatch_size, label_size] tensor."""
        tf = _tf()
        with tf.name_scope("Dataset"), tf.device("/cpu:0"):
            if self.label_size == 0:
                return tf.zeros([minibatch_size, 0], dtype=tf.as_dtype(self._np_labels.dtype))
            if self._tf_labels_const is None:
                self._tf_labels_const = tf.constant(self._np_labels, name="labels_const")
            idx = tf.random_uniform([minibatch_size], 0, self._np_labels.shape[0], dtype=tf.int32)
            return tf.gather(self._tf_labels_const, idx)

    def get_random_labels_np(self, minibatch_size):
        """Labels of random dataset images, numpy [minibatch_size, label_size]."""
        if self.label_size == 0:
            return np.zeros([minibatch_size, 0], dtype=self._np_labels.dtype)
        return self._np_labels[np.random.randint(self._np_labels.shape[0], size=[minibatch_size])]

    def read_factors(self):
        """Ground-truth factors of this dataset (see :func:`read_factors`)."""
        return read_factors(self.tfrecord_dir)

    def close(self):
        pass


def load_dataset(data_dir=None, tfrecord_dir=None, class_name=None, verbose=False, **kwargs):
    """Open a dataset: ``data_dir`` is the parent folder, ``tfrecord_dir`` the dataset folder's name
    (or path) inside it, as StyleGAN2's ``--data-dir`` / ``--dataset``."""
    if tfrecord_dir is None:
        raise ValueError("load_dataset() needs tfrecord_dir")
    path = tfrecord_dir if data_dir is None else os.path.join(data_dir, tfrecord_dir)
    if not os.path.isdir(path):
        where = (" (--data-dir %s is the parent folder, --dataset %s the dataset folder inside it)"
                 % (data_dir, tfrecord_dir)) if data_dir is not None else ""
        raise DatasetNotFoundError("dataset directory %s does not exist%s; %s" % (path, where, CREATE_HINT))
    if class_name is None:
        cls = TFRecordDataset
    else:
        import dnnlib.util
        cls = dnnlib.util.get_obj_by_name(class_name)
    dataset = cls(tfrecord_dir=path, verbose=verbose, **kwargs)
    return dataset
