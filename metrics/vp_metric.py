"""The VP (variation predictability) disentanglement metric, re-implemented in TF1 graph mode.

What it measures. A pair folder holds N image pairs (x1 | x2 side by side) whose latent codes differ in
one dimension d (``labels.npy`` row = c1 - c2, so d = argmax |row|). A small CNN, ``VarPred``, is trained on
a few pairs to predict d from the pair; its test top-1 accuracy (percent) is the VP score. A disentangled
generator makes each dimension change the image in its own recognisable way, so d is easy to predict.
A folder is refused (``check_onedim_labels``) unless every row has exactly one non-zero entry ('onedim' pairs)
and every one of the C dims varies in some pair; otherwise the score and its chance level would be wrong.

Published protocol (``protocol='reference'``, the defaults):
  * split: random permutation of the N pairs; the FIRST int(N * 0.9) go to the test set, the rest to the
    train set (10,000 pairs -> 1,000 train / 9,000 test). Seeded here (the reference is not).
  * input: RGB scaled to [-1, 1], pair split along the width, 'diff' = x1 - x2 (3 channels) or
    'concat' (6 channels).
  * VarPred: conv 7x7/2 (pad 3) -> 64, BN, ReLU; conv 3x3 -> 64, BN, ReLU; max-pool 3x3/2 (pad 1);
    conv 3x3 -> 128, BN, ReLU; conv 3x3 -> 256, BN, ReLU; global average pool; linear 256 -> C.
    Convs have no bias; BN and initialisation follow PyTorch's defaults.
  * training: cross-entropy, Adam(lr 0.01, betas (0.9, 0.999), eps 1e-8, PyTorch's update rule), batch
    32 with the last partial batch kept, reshuffled every epoch, 200 epochs, no schedule, no augmentation.
  * after every epoch the whole test split is evaluated (BN in eval mode = running statistics).

Three scores from one run (all percent, 0-100):
  * ``vp_score``          best test accuracy over all epochs -- THE PUBLISHED NUMBER. The epoch is chosen on
                          the test split itself, which biases it upward.
  * ``vp_score_final``    test accuracy after the last epoch.
  * ``vp_score_heldout``  the test split is cut once more (``split_heldout``): its first third
                          (``val_ratio=1/3``) is a validation part that picks the epoch (first maximum),
                          the remaining two thirds are scored at that epoch. Unbiased by selection.
The whole procedure is usually repeated (3 times in the paper's README, with fresh pairs) and averaged:
``run_vp_metric`` runs seeds seed, seed + 1, ... and reports mean and sample std (ddof=1).

``protocol='fast'`` (quick looks only, NOT the published protocol): the same split, network, optimiser and
batch size, but ``FAST_EPOCHS = 40`` epochs with the learning rate decayed to 0 on a cosine (per step), so the
last epoch is the one to report and no epoch has to be picked on the test split. Each epoch evaluates only the
validation part (``FAST_VAL_RATIO = 1/9`` of the test split, 1,000 of 9,000 pairs, for the progress line); the
whole test split is evaluated once, after the last epoch. All three scores come from that last epoch:
``vp_score`` = ``vp_score_final`` = whole test split, ``vp_score_heldout`` = the test split minus the
validation part. On the CPU this takes about 1/10 of the reference protocol's time (``benchmarks/
bench_vp_metric.py``); ``patience`` adds early stopping on the validation part to either protocol.

Pairs in memory. ``compute_vp_score(pairs, labels)`` takes uint8 [N, H, 2W, C] + float [N, C_dims] directly,
e.g. ``metrics.pair_dataset.generate_pairs(Gs, 10000, seed=s)``; ``run_vp_metric`` also accepts such a tuple or
a callable ``make_pairs(seed) -> (pairs, labels)`` called once per repeat (fresh pairs per repeat, as the
README's repeat-everything procedure). In-memory pairs skip the JPEG (quality 75) round trip of the on-disk
format, so their scores can differ slightly from scores on a written folder.

Determinism. Weights are initialised from numpy (seeded, identical on TF 1.15 and TF 2.x), the split and the
epoch shuffles come from numpy RandomStates, the graph has no random ops and the graph-level seed is set. On
the CPU the same seed gives the same numbers run after run with the same thread counts (``threads``); a
different thread count or TF version can change the float summation order and hence, after many epochs, the
numbers. On a GPU cuDNN may choose non-deterministic kernels: set TF_DETERMINISTIC_OPS=1 (TF >= 2.1) or
TF_CUDNN_DETERMINISTIC=1 (TF 1.15) before TensorFlow starts (the CLI's ``--deterministic``) for repeatable runs.

CLI:  python -m metrics.vp_metric PAIR_DIR [--repeats 3] [--epochs 200] [--protocol reference|fast]
                                  [--input-mode diff|concat] [--seed 0] [--out results.json] [--max-pairs N]
"""

import argparse
import json
import os
import re
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

if not __package__:   # run as a script (python metrics/vp_metric.py): the repository root is not on the path
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dnnlib import cli  # noqa: E402

PROTOCOLS = ("reference", "fast")
INPUT_MODES = ("diff", "concat")
SCORE_KEYS = ("vp_score", "vp_score_final", "vp_score_heldout")
LR_SCHEDULES = ("constant", "cosine")
FAST_EPOCHS = 40
FAST_VAL_RATIO = 1.0 / 9.0
DEFAULT_VAL_RATIO = 1.0 / 3.0
BN_MOMENTUM = 0.1
BN_EPS = 1e-5

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


# ------------------------------------------------------------------------------------------------------------
# Pair folders


def _decode_rgb(path):
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
        raise PairFolderError("cannot read %s: %s; %s" % (labels_path, cli.numpy_load_problem(exc), _ONEDIM_FIX)) from exc
    labels = np.asarray(labels, dtype=np.float64)
    if labels.ndim == 1:
        labels = labels[:, None]
    if labels.ndim != 2:
        raise PairFolderError("%s must be a 2-D array [num_pairs, num_dims], got shape %s" % (labels_path, labels.shape))
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
                             % (files[i], image.shape[1], image.shape[0], files[0], first.shape[1], first.shape[0]))
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


# ------------------------------------------------------------------------------------------------------------
# Targets, splits, scores


def targets_from_labels(labels):
    """Class of each pair = the varied latent dim = argmax |c1 - c2| (first one on ties)."""
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError("labels must be 2-D [num_pairs, num_dims], got shape %s" % (labels.shape,))
    return np.argmax(np.abs(labels), axis=1).astype(np.int64)


def split_indices(n, test_ratio=0.9, seed=0):
    """The reference's split, seeded: perm = RandomState(seed).permutation(n); test = perm[:int(n * test_ratio)],
    train = the rest. Returns (train_idx, test_idx)."""
    n = int(n)
    if not 0.0 < test_ratio < 1.0:
        raise ValueError("test_ratio must be in (0, 1), got %r" % (test_ratio,))
    perm = np.random.RandomState(seed).permutation(n)
    num_test = int(n * test_ratio)
    return perm[num_test:].copy(), perm[:num_test].copy()


def split_heldout(test_idx, val_ratio=DEFAULT_VAL_RATIO):
    """Cut the (already shuffled) test indices for ``vp_score_heldout``: the first int(len * val_ratio) form the
    validation part that picks the epoch, the rest is scored. Returns (val_idx, scored_idx)."""
    test_idx = np.asarray(test_idx)
    if not 0.0 < val_ratio < 1.0:
        raise ValueError("val_ratio must be in (0, 1), got %r" % (val_ratio,))
    num_val = int(len(test_idx) * val_ratio)
    return test_idx[:num_val].copy(), test_idx[num_val:].copy()


def _first_argmax(values):
    best = None
    for i, v in enumerate(values):
        if v is not None and not np.isnan(v) and (best is None or v > values[best]):
            best = i
    return best


def summarize_history(history, val_history=None, heldout_history=None):
    """Scores from per-epoch accuracies (percent).

    history          accuracy on the whole test split after each epoch.
    val_history      accuracy on the validation part after each epoch (picks the held-out epoch).
    heldout_history  accuracy on the scored (rest) part after each epoch; if omitted, the held-out score is read
                     from ``history`` at the validation-chosen epoch.
    Returns dict(vp_score = max(history), vp_score_final = history[-1], best_epoch (1-based, first maximum, as the
    reference's 'improved' rule), vp_score_heldout, heldout_epoch (1-based) -- the last two None without
    val_history).
    """
    history = [float(h) for h in history]
    if not history:
        raise ValueError("empty accuracy history")
    best = _first_argmax(history)
    out = dict(vp_score=history[best], vp_score_final=history[-1], best_epoch=best + 1,
               vp_score_heldout=None, heldout_epoch=None)
    if val_history is not None:
        val_history = [float(v) for v in val_history]
        if len(val_history) != len(history):
            raise ValueError("val_history has %d epochs but history has %d" % (len(val_history), len(history)))
        chosen = _first_argmax(val_history)
        if chosen is not None:
            scored = history if heldout_history is None else [float(h) for h in heldout_history]
            if len(scored) != len(history):
                raise ValueError("heldout_history has %d epochs but history has %d" % (len(scored), len(history)))
            out["vp_score_heldout"] = scored[chosen]
            out["heldout_epoch"] = chosen + 1
    return out


def aggregate_repeats(results):
    """Mean and sample standard deviation (ddof=1; 0 for a single value) of each score over repeats.

    ``results``: dicts with the SCORE_KEYS (None values are skipped). Returns
    {key: {'mean', 'std', 'n', 'values'}} for each score plus 'repeats'.
    """
    results = list(results)
    out = {"repeats": len(results)}
    for key in SCORE_KEYS:
        values = [float(r[key]) for r in results if r.get(key) is not None]
        if values:
            std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
            out[key] = dict(mean=float(np.mean(values)), std=std, n=len(values), values=values)
        else:
            out[key] = dict(mean=None, std=None, n=0, values=[])
    return out


# ------------------------------------------------------------------------------------------------------------
# VarPred in TF1 graph mode (NHWC)


def _torch_default_uniform(rng, shape, fan_in):
    """PyTorch's default conv / linear init: kaiming_uniform(a=sqrt(5)) == U(-1/sqrt(fan_in), 1/sqrt(fan_in));
    the linear bias uses the same bound."""
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(np.float32)


class VarPred(object):
    """The reference CNN. Build with ``VarPred(num_dims, in_channels, seed)``, then call ``logits(x, training)``
    (x = float [B, H, 2W, C] in [-1, 1]) once with training=True and once with training=False; both share the
    variables. ``update_ops`` collects the BN running-statistic updates of the training branch."""

    WIDTHS = (64, 64, 128, 256)

    def __init__(self, num_dims, image_channels=3, input_mode="diff", seed=0, scope="VarPred"):
        from dnnlib.tflib.compat import tf

        if input_mode not in INPUT_MODES:
            raise ValueError("input_mode must be one of %s, got %r" % (", ".join(INPUT_MODES), input_mode))
        self.tf = tf
        self.input_mode = input_mode
        self.num_dims = int(num_dims)
        in_ch = image_channels if input_mode == "diff" else 2 * image_channels
        rng = np.random.RandomState([int(seed) & 0xFFFFFFFF, 2])  # a stream apart from the split's and shuffles'
        self.update_ops = []
        self.bn_vars = []
        specs = [("conv1", 7, in_ch, 64), ("conv2", 3, 64, 64), ("conv3", 3, 64, 128), ("conv4", 3, 128, 256)]
        self.convs, self.bns = [], []
        with tf.variable_scope(scope):
            for name, k, cin, cout in specs:
                w = _torch_default_uniform(rng, (k, k, cin, cout), cin * k * k)  # HWIO
                self.convs.append(tf.get_variable(name + "/weight", initializer=w, use_resource=True))
                gamma = tf.get_variable(name + "_bn/gamma", initializer=np.ones(cout, np.float32), use_resource=True)
                beta = tf.get_variable(name + "_bn/beta", initializer=np.zeros(cout, np.float32), use_resource=True)
                mean = tf.get_variable(name + "_bn/running_mean", initializer=np.zeros(cout, np.float32),
                                       trainable=False, use_resource=True)
                var = tf.get_variable(name + "_bn/running_var", initializer=np.ones(cout, np.float32),
                                      trainable=False, use_resource=True)
                self.bns.append((gamma, beta, mean, var))
            self.fc_w = tf.get_variable("fc/weight", initializer=_torch_default_uniform(rng, (256, num_dims), 256),
                                        use_resource=True)
            self.fc_b = tf.get_variable("fc/bias", initializer=_torch_default_uniform(rng, (num_dims,), 256),
                                        use_resource=True)
        self.trainables = list(self.convs) + [v for bn in self.bns for v in bn[:2]] + [self.fc_w, self.fc_b]

    def num_params(self):
        return int(sum(np.prod(v.shape.as_list()) for v in self.trainables))

    def _batch_norm(self, x, index, training):
        tf = self.tf
        gamma, beta, running_mean, running_var = self.bns[index]
        if training:
            mean = tf.reduce_mean(x, axis=[0, 1, 2])
            var = tf.reduce_mean(tf.square(x - mean), axis=[0, 1, 2])  # biased: used to normalise
            shape = tf.shape(x)
            count = tf.cast(shape[0] * shape[1] * shape[2], tf.float32)
            unbiased = var * count / tf.maximum(count - 1.0, 1.0)
            self.update_ops.append(running_mean.assign((1.0 - BN_MOMENTUM) * running_mean + BN_MOMENTUM * mean))
            self.update_ops.append(running_var.assign((1.0 - BN_MOMENTUM) * running_var + BN_MOMENTUM * unbiased))
        else:
            mean, var = running_mean, running_var
        return (x - mean) * (gamma * tf.rsqrt(var + BN_EPS)) + beta

    def logits(self, images, training):
        """images: float [B, H, 2W, C] in [-1, 1] (x1 | x2 along the width) -> logits [B, num_dims]."""
        tf = self.tf
        width = images.shape.as_list()[2]
        half = width // 2
        x1, x2 = images[:, :, :half, :], images[:, :, half:, :]
        x = x1 - x2 if self.input_mode == "diff" else tf.concat([x1, x2], axis=3)
        # conv 7x7 stride 2 pad 3 (PyTorch's symmetric padding; TF 'SAME' would pad 2/3 on even sizes)
        x = tf.pad(x, [[0, 0], [3, 3], [3, 3], [0, 0]])
        x = tf.nn.conv2d(x, self.convs[0], strides=[1, 2, 2, 1], padding="VALID")
        x = tf.nn.relu(self._batch_norm(x, 0, training))
        x = tf.nn.conv2d(x, self.convs[1], strides=[1, 1, 1, 1], padding="SAME")  # 3x3 s1: SAME == pad 1
        x = tf.nn.relu(self._batch_norm(x, 1, training))
        # max-pool 3x3 stride 2 pad 1, padding never wins (PyTorch pads with -inf)
        x = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], constant_values=-np.inf)
        x = tf.nn.max_pool(x, ksize=[1, 3, 3, 1], strides=[1, 2, 2, 1], padding="VALID")
        x = tf.nn.conv2d(x, self.convs[2], strides=[1, 1, 1, 1], padding="SAME")
        x = tf.nn.relu(self._batch_norm(x, 2, training))
        x = tf.nn.conv2d(x, self.convs[3], strides=[1, 1, 1, 1], padding="SAME")
        x = tf.nn.relu(self._batch_norm(x, 3, training))
        x = tf.reduce_mean(x, axis=[1, 2])
        return tf.matmul(x, self.fc_w) + self.fc_b


def _adam_pytorch(tf, loss, params, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam with PyTorch's update: p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
    (tf.train.AdamOptimizer puts eps inside the bias correction, which differs slightly.)"""
    grads = tf.gradients(loss, params)
    with tf.variable_scope("adam"):
        step = tf.get_variable("step", initializer=np.float32(0.0), trainable=False, use_resource=True)
        slots = [(tf.get_variable("m%d" % i, initializer=np.zeros(p.shape.as_list(), np.float32), trainable=False,
                                  use_resource=True),
                  tf.get_variable("v%d" % i, initializer=np.zeros(p.shape.as_list(), np.float32), trainable=False,
                                  use_resource=True)) for i, p in enumerate(params)]
    updates = []
    with tf.control_dependencies(grads):  # every gradient is computed before any weight changes
        t = step.read_value() + 1.0
        step_size = lr / (1.0 - tf.pow(beta1, t))
        root_c2 = tf.sqrt(1.0 - tf.pow(beta2, t))
        for p, g, (m, v) in zip(params, grads, slots):
            m_new = m.assign(beta1 * m + (1.0 - beta1) * g)
            v_new = v.assign(beta2 * v + (1.0 - beta2) * tf.square(g))
            updates.append(p.assign_sub(step_size * m_new / (tf.sqrt(v_new) / root_c2 + eps)))
    with tf.control_dependencies(updates):
        step_update = step.assign(t)
    return tf.group(*(updates + [step_update]))


# ------------------------------------------------------------------------------------------------------------
# Training and evaluation


def learning_rate(base_lr, step, total_steps, schedule):
    """Learning rate of training step ``step`` (0-based) of ``total_steps``: constant, or a cosine from base_lr at
    step 0 down to 0 at step total_steps."""
    if schedule == "cosine":
        return 0.5 * base_lr * (1.0 + np.cos(np.pi * step / float(total_steps)))
    return base_lr


def _check_inputs(pairs, labels):
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


def _session_config(tf, threads):
    kw = dict(allow_soft_placement=True)
    if threads:
        kw.update(intra_op_parallelism_threads=int(threads), inter_op_parallelism_threads=int(threads))
    config = tf.ConfigProto(**kw)
    config.gpu_options.allow_growth = True
    return config


def compute_vp_score(pairs, labels, seed=0, epochs=None, batch_size=32, lr=0.01, test_ratio=0.9, input_mode="diff",
                     protocol="reference", eval_batch_size=256, val_ratio=None, patience=None, lr_schedule=None,
                     threads=None, device=None, verbose=True, log=None):
    """Train VarPred on one seeded split of in-memory pairs; return the scores and the per-epoch history.

    pairs uint8 [N, H, 2W, C] (x1 | x2), labels [N, C_dims] (c1 - c2). ``protocol`` sets the defaults of
    ``epochs`` (200 | 40), ``lr_schedule`` ('constant' | 'cosine'), ``val_ratio`` (1/3 | 1/9) and what each epoch
    evaluates (the whole test split | only its validation part; see the module docstring). ``patience`` (epochs)
    stops early when the validation accuracy stops improving. ``threads`` fixes TF's thread pools.
    Returns a JSON-ready dict: vp_score, vp_score_final, vp_score_heldout, best_epoch, heldout_epoch,
    confusion ([C, C] counts of the last whole-test-split evaluation, rows = the varied dim) and
    per_dim_accuracy ([C] percent correct per varied dim, same evaluation),
    accuracy_history (whole test split; 'fast': only the last epoch), val_accuracy_history,
    heldout_accuracy_history, train_loss_history, test_loss_history, epoch_train_seconds, epoch_eval_seconds (wall)
    and epoch_*_cpu_seconds (process CPU time), test_eval_[cpu_]seconds (one whole-test-split evaluation),
    num_train, num_test, num_val, num_heldout, num_dims, chance, epochs_run, stopped_early, wall_seconds,
    num_params, settings.
    """
    from dnnlib.tflib.compat import tf, TF_VERSION

    if protocol not in PROTOCOLS:
        raise ValueError("protocol must be one of %s, got %r" % (", ".join(PROTOCOLS), protocol))
    if input_mode not in INPUT_MODES:
        raise ValueError("input_mode must be one of %s, got %r" % (", ".join(INPUT_MODES), input_mode))
    fast = protocol == "fast"
    epochs = int(epochs if epochs is not None else (FAST_EPOCHS if fast else 200))
    lr_schedule = lr_schedule or ("cosine" if fast else "constant")
    val_ratio = float(val_ratio if val_ratio is not None else (FAST_VAL_RATIO if fast else DEFAULT_VAL_RATIO))
    if lr_schedule not in LR_SCHEDULES:
        raise ValueError("lr_schedule must be one of %s, got %r" % (", ".join(LR_SCHEDULES), lr_schedule))
    batch_size, eval_batch_size = int(batch_size), int(eval_batch_size)
    if epochs < 1 or batch_size < 1 or eval_batch_size < 1:
        raise ValueError("epochs, batch_size and eval_batch_size must be positive")
    log = log or (lambda msg: print(msg, flush=True))
    start_time = time.time()

    pairs, labels = _check_inputs(pairs, labels)
    num_dims = labels.shape[1]
    targets = targets_from_labels(labels)
    train_idx, test_idx = split_indices(len(pairs), test_ratio, seed)
    if len(train_idx) == 0 or len(test_idx) == 0:
        raise ValueError("%d pairs with test_ratio %r leave %d train / %d test pairs: need both non-empty"
                         % (len(pairs), test_ratio, len(train_idx), len(test_idx)))
    val_idx, rest_idx = split_heldout(test_idx, val_ratio)
    num_val = len(val_idx) if len(rest_idx) else 0
    # 'fast' evaluates only the validation part per epoch (the whole split after the last one)
    epoch_eval_idx = val_idx if fast and num_val else test_idx
    shuffle_rng = np.random.RandomState([int(seed) & 0xFFFFFFFF, 1])  # independent of the split's stream
    steps_per_epoch = (len(train_idx) + batch_size - 1) // batch_size
    total_steps = epochs * steps_per_epoch

    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(seed)
        with tf.device(device) if device else _nullcontext():
            images_in = tf.placeholder(tf.uint8, [None] + list(pairs.shape[1:]), name="pairs")
            targets_in = tf.placeholder(tf.int64, [None], name="targets")
            lr_in = tf.placeholder(tf.float32, [], name="learning_rate")
            images = tf.cast(images_in, tf.float32) * (1.0 / 127.5) - 1.0  # == ToTensor + Normalize(.5, .5)
            net = VarPred(num_dims, pairs.shape[3], input_mode, seed=seed)
            train_logits = net.logits(images, training=True)
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets_in, logits=train_logits))
            train_op = tf.group(_adam_pytorch(tf, loss, net.trainables, lr_in), *net.update_ops)
            eval_logits = net.logits(images, training=False)
            init = tf.global_variables_initializer()
        graph.finalize()

    def evaluate(sess, idx_all):
        """Correct-prediction mask [len] and summed NLL over pairs[idx_all]; the predicted dims go to
        ``predicted`` (the per-dimension figures of the last whole-split evaluation)."""
        correct = np.empty(len(idx_all), dtype=bool)
        predicted[:len(idx_all)] = -1
        nll = 0.0
        for begin in range(0, len(idx_all), eval_batch_size):
            idx = idx_all[begin:begin + eval_batch_size]
            logits = sess.run(eval_logits, {images_in: pairs[idx]}).astype(np.float64)
            y = targets[idx]
            predicted[begin:begin + len(idx)] = np.argmax(logits, axis=1)
            correct[begin:begin + len(idx)] = predicted[begin:begin + len(idx)] == y
            shifted = logits - logits.max(axis=1, keepdims=True)
            nll += float(np.sum(np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(len(y)), y]))
        return correct, nll

    def record_test_split(correct, nll):
        """Append one whole-test-split evaluation to the histories; keep its confusion matrix."""
        confusion[...] = 0
        np.add.at(confusion, (targets[test_idx], predicted[:len(test_idx)]), 1)
        history.append(float(100.0 * correct.mean()))
        test_losses.append(nll / len(test_idx))
        if num_val:
            rest_history.append(float(100.0 * correct[num_val:].mean()))

    per_epoch_test = epoch_eval_idx is test_idx
    predicted = np.empty(len(test_idx), dtype=np.int64)
    confusion = np.zeros((num_dims, num_dims), dtype=np.int64)   # rows: the varied dim; columns: predicted
    history, val_history, rest_history = [], [], []
    train_losses, test_losses, train_secs, eval_secs, train_cpu, eval_cpu = [], [], [], [], [], []
    stopped_early, since_best, best_val, step = False, 0, None, 0
    with tf.Session(graph=graph, config=_session_config(tf, threads)) as sess:
        sess.run(init)
        if verbose:
            log("VarPred %s: %d params, %d train / %d test pairs (%d val + %d scored), C=%d, images %dx%d, "
                "protocol %s (%d epochs, lr %g %s), seed %d"
                % (input_mode, net.num_params(), len(train_idx), len(test_idx), num_val, len(test_idx) - num_val,
                   num_dims, pairs.shape[2] // 2, pairs.shape[1], protocol, epochs, lr, lr_schedule, seed))
        for epoch in range(epochs):
            t0, c0 = time.time(), time.process_time()
            order = train_idx[shuffle_rng.permutation(len(train_idx))]
            loss_sum = 0.0
            for begin in range(0, len(order), batch_size):  # last partial batch kept (DataLoader default)
                idx = np.sort(order[begin:begin + batch_size])  # sorted gather is faster; batch order irrelevant
                _, batch_loss = sess.run([train_op, loss], {images_in: pairs[idx], targets_in: targets[idx],
                                                            lr_in: learning_rate(lr, step, total_steps, lr_schedule)})
                loss_sum += float(batch_loss) * len(idx)
                step += 1
            t1, c1 = time.time(), time.process_time()
            correct, nll = evaluate(sess, epoch_eval_idx)
            t2, c2 = time.time(), time.process_time()
            if per_epoch_test:
                record_test_split(correct, nll)
            if num_val:
                val_history.append(float(100.0 * correct[:num_val].mean()))
            train_losses.append(loss_sum / len(order))
            train_secs.append(t1 - t0)
            eval_secs.append(t2 - t1)
            train_cpu.append(c1 - c0)
            eval_cpu.append(c2 - c1)
            if verbose:
                if per_epoch_test:
                    extra = " (val %.2f, scored %.2f)" % (val_history[-1], rest_history[-1]) if num_val else ""
                    acc = "test loss %.4f  test acc %.2f%s  best %.2f" % (test_losses[-1], history[-1], extra,
                                                                           max(history))
                else:
                    acc = "val acc %.2f (%d pairs)" % (val_history[-1], num_val)
                log("epoch %3d/%d  train loss %.4f  %s  %.1fs + %.1fs"
                    % (epoch + 1, epochs, train_losses[-1], acc, t1 - t0, t2 - t1))
            if patience and num_val:
                if best_val is None or val_history[-1] > best_val:
                    best_val, since_best = val_history[-1], 0
                else:
                    since_best += 1
                    if since_best >= patience and epoch + 1 < epochs:
                        stopped_early = True
                        if verbose:
                            log("early stop: validation accuracy has not improved for %d epochs" % patience)
                        break
        if not per_epoch_test:  # 'fast': the whole test split once, after the last epoch
            t1, c1 = time.time(), time.process_time()
            correct, nll = evaluate(sess, test_idx)
            record_test_split(correct, nll)
            final_eval = (time.time() - t1, time.process_time() - c1)
            eval_secs[-1] += final_eval[0]
            eval_cpu[-1] += final_eval[1]
            if verbose:
                log("final: test acc %.2f (val %.2f, scored %.2f)" % (history[-1], 100.0 * correct[:num_val].mean(),
                                                                     rest_history[-1]))

    epochs_run = len(train_losses)
    if per_epoch_test:
        final_eval = (eval_secs[-1], eval_cpu[-1])
        scores = summarize_history(history, val_history if num_val else None, rest_history if num_val else None)
    else:  # one whole-split evaluation, after the last epoch: all three scores come from it
        scores = dict(vp_score=history[-1], vp_score_final=history[-1], best_epoch=epochs_run,
                      vp_score_heldout=rest_history[-1], heldout_epoch=epochs_run)
    result = dict(scores)
    result.update(
        accuracy_history=history, val_accuracy_history=val_history, heldout_accuracy_history=rest_history,
        train_loss_history=train_losses, test_loss_history=test_losses,
        epoch_train_seconds=train_secs, epoch_eval_seconds=eval_secs,
        epoch_train_cpu_seconds=train_cpu, epoch_eval_cpu_seconds=eval_cpu,
        test_eval_seconds=final_eval[0], test_eval_cpu_seconds=final_eval[1],
        num_pairs=int(len(pairs)), num_train=int(len(train_idx)), num_test=int(len(test_idx)), num_val=int(num_val),
        num_heldout=int(len(test_idx) - num_val if num_val else 0), num_dims=int(num_dims), chance=100.0 / num_dims,
        epochs_run=epochs_run, stopped_early=stopped_early, wall_seconds=time.time() - start_time,
        num_params=net.num_params(),
        confusion=confusion.tolist(),
        per_dim_accuracy=[float(100.0 * confusion[d, d] / confusion[d].sum()) if confusion[d].sum() else None
                          for d in range(num_dims)],
        settings=dict(seed=int(seed), epochs=epochs, batch_size=batch_size, lr=float(lr), lr_schedule=lr_schedule,
                      test_ratio=float(test_ratio), input_mode=input_mode, protocol=protocol,
                      eval_batch_size=eval_batch_size, val_ratio=val_ratio, patience=patience, threads=threads,
                      image_size=[int(pairs.shape[1]), int(pairs.shape[2] // 2)], tf_version=TF_VERSION),
    )
    return result


class _nullcontext(object):
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


# ------------------------------------------------------------------------------------------------------------
# Repeats, JSON, CLI


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj


def write_json_atomic(path, obj):
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(_jsonable(obj), f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _fmt(stat):
    return "n/a" if stat["mean"] is None else "%.1f +- %.1f" % (stat["mean"], stat["std"])


def summary_line(summary, num_dims, num_pairs):
    return "vp_score %s (final %s, heldout %s, %d repeats, C=%d, %d pairs)" % (
        _fmt(summary["vp_score"]), _fmt(summary["vp_score_final"]), _fmt(summary["vp_score_heldout"]),
        summary["repeats"], num_dims, num_pairs)


def run_vp_metric(source, repeats=3, seed=0, out_json=None, max_pairs=None, verbose=True, **kwargs):
    """Repeat ``compute_vp_score`` with seeds seed, seed + 1, ...; print the summary line; optionally write JSON.

    ``source``: a pair-folder path (decoded once; each repeat re-splits and re-trains), a tuple (pairs, labels), or
    a callable ``make_pairs(repeat_seed) -> (pairs, labels)`` called per repeat (fresh pairs each time, e.g.
    ``lambda s: metrics.pair_dataset.generate_pairs(Gs, 10000, seed=s)``). Other kwargs go to compute_vp_score.
    Returns dict(summary=aggregate_repeats(...), repeats=[per-repeat results], line=..., source=...).
    """
    from dnnlib import util

    repeats = int(repeats)
    if repeats < 1:
        raise ValueError("repeats must be >= 1, got %d" % repeats)
    if out_json:
        util.check_output_path(out_json, "file", "out_json")
    fixed, source_name = None, None
    if callable(source):
        source_name = getattr(source, "__name__", "callable")
    elif isinstance(source, (tuple, list)):
        fixed, source_name = (source[0][:max_pairs], source[1][:max_pairs]), "in-memory"
    else:
        source_name = os.fspath(source)
        if verbose:
            print("loading pairs from %s ..." % source_name, flush=True)
        t0 = time.time()
        fixed = load_pair_folder(source_name, max_pairs=max_pairs)
        if verbose:
            print("loaded %d pairs of %dx%d (W x H) in %.1fs" % (len(fixed[0]), fixed[0].shape[2], fixed[0].shape[1],
                                                         time.time() - t0), flush=True)
    results = []
    for r in range(repeats):
        repeat_seed = int(seed) + r
        pairs, labels = fixed if fixed is not None else source(repeat_seed)
        if fixed is None and max_pairs is not None:
            pairs, labels = pairs[:max_pairs], labels[:max_pairs]
        if verbose:
            print("== repeat %d/%d (seed %d) ==" % (r + 1, repeats, repeat_seed), flush=True)
        res = compute_vp_score(pairs, labels, seed=repeat_seed, verbose=verbose, **kwargs)
        results.append(res)
        if verbose:
            print("repeat %d: vp_score %.2f  final %.2f  heldout %s  (best epoch %d, %.0fs)"
                  % (r + 1, res["vp_score"], res["vp_score_final"],
                     "n/a" if res["vp_score_heldout"] is None else "%.2f" % res["vp_score_heldout"],
                     res["best_epoch"], res["wall_seconds"]), flush=True)
    summary = aggregate_repeats(results)
    line = summary_line(summary, results[0]["num_dims"], results[0]["num_pairs"])
    out = dict(line=line, summary=summary, source=source_name, seed=int(seed), repeats=results)
    if out_json:
        write_json_atomic(out_json, out)
    print(line, flush=True)
    return out


def build_parser():
    p = cli.ArgumentParser(
        prog="python -m metrics.vp_metric",
        description="VP disentanglement metric on a pair folder (pair_%06d.jpg = x1 | x2, labels.npy = c1 - c2, "
                    "as written by run_pair_imgs.py). Trains the VarPred CNN to predict which latent dim varies; "
                    "vp_score = best test top-1 accuracy over epochs (the published number).",
        epilog="Reported: vp_score (published: best test accuracy over epochs, epoch chosen on the test split), "
               "vp_score_final (last epoch), vp_score_heldout (epoch chosen on the first third of the test split, "
               "scored on the other two thirds); mean +- sample std over the repeats. The published protocol is "
               "the default (--protocol reference: 200 epochs, 90% of the pairs for testing, input diff). "
               "--protocol fast (40 epochs, cosine learning-rate decay, scored after the last epoch; ~1/10 of the "
               "time) is for quick looks only. Example: "
               "python -m metrics.vp_metric results/pairs --repeats 3 --out results/pairs/vp.json")
    p.add_argument("pair_dir", help="folder with pair_%%06d.jpg images and labels.npy")
    p.add_argument("--repeats", type=int, default=3,
                   help="runs with seeds seed, seed+1, ... (new split, init and shuffles each; default 3)")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default: 200 reference, 40 fast)")
    p.add_argument("--protocol", choices=PROTOCOLS, default="reference",
                   help="reference = the published protocol (default); fast = 40 epochs, cosine learning-rate "
                        "decay, scored after the last epoch (quick looks, not comparable with published numbers)")
    p.add_argument("--input-mode", choices=INPUT_MODES, default="diff",
                   help="diff = x1 - x2 (published, default) or concat = 6 channels")
    p.add_argument("--seed", type=int, default=0, help="seed of the first repeat (split, init, shuffling; default 0)")
    p.add_argument("--out", default=None, help="write all results as JSON to this file (atomically; checked before "
                                               "the metric runs)")
    p.add_argument("--max-pairs", type=int, default=None, help="use only the first N pairs (default: all)")
    p.add_argument("--batch-size", type=int, default=32, help="training batch size (default 32)")
    p.add_argument("--lr", type=float, default=0.01, help="Adam learning rate (default 0.01)")
    p.add_argument("--test-ratio", type=float, default=0.9,
                   help="fraction of the pairs in the test split (default 0.9)")
    p.add_argument("--val-ratio", type=float, default=None,
                   help="fraction of the test split used as the validation part (picks the epoch for "
                        "vp_score_heldout; default 1/3 reference, 1/9 fast)")
    p.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=None,
                   help="learning rate per step: constant (reference default) or cosine decay to 0 (fast default)")
    p.add_argument("--patience", type=int, default=None,
                   help="stop when the validation accuracy has not improved for this many epochs (default: never)")
    p.add_argument("--eval-batch-size", type=int, default=256, help="evaluation batch size (default 256)")
    p.add_argument("--threads", type=int, default=None,
                   help="TF intra/inter-op threads (default: TF's choice; fix it for repeatable CPU runs)")
    p.add_argument("--deterministic", action="store_true",
                   help="set TF_DETERMINISTIC_OPS=1 / TF_CUDNN_DETERMINISTIC=1 (repeatable GPU runs, maybe slower)")
    p.add_argument("--quiet", action="store_true", help="print only the summary line")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.deterministic:
        os.environ["TF_DETERMINISTIC_OPS"] = "1"
        os.environ["TF_CUDNN_DETERMINISTIC"] = "1"
    from dnnlib import util

    try:
        if args.out:
            util.check_output_path(args.out, "file", "--out")
        run_vp_metric(args.pair_dir, repeats=args.repeats, seed=args.seed, out_json=args.out, max_pairs=args.max_pairs,
                      verbose=not args.quiet, epochs=args.epochs, protocol=args.protocol, input_mode=args.input_mode,
                      batch_size=args.batch_size, lr=args.lr, test_ratio=args.test_ratio, val_ratio=args.val_ratio,
                      patience=args.patience, lr_schedule=args.lr_schedule, eval_batch_size=args.eval_batch_size,
                      threads=args.threads)
    except (Exception, KeyboardInterrupt) as exc:     # exit status: dnnlib/cli.py (LabelFormatError and unreadable files: 1; usage: 2)
        return cli.report(exc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
