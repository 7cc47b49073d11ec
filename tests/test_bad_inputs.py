"""A catalogue of bad inputs against the six command-line tools, one table (CASES), one test.

Every case runs one tool on one bad input and checks the exit-code convention of dnnlib/cli.py -- 2 usage (the
command line is wrong: a flag value, a path that does not exist or is the wrong kind, an output that exists),
1 runtime (an input's contents are unusable, the disk fills up while writing), 130 interrupted:

  * the exit code;
  * the last non-empty line of stderr names the problem (a case-specific substring, compared in lower case with
    '_' read as '-', so '--max-pairs' matches 'max_pairs');
  * no "Traceback" on stderr;
  * nothing created, removed or changed: the case's workspace (its inputs, pre-existing outputs and the parents
    of its output paths) and the shared fixtures are listed recursively and hashed before and after the run.

Judgement calls: an output location that cannot be written (a read-only mount, a path under /proc) is found by the
tools' checks before any work and fixed on the command line -> 2; /proc given where an input *folder* goes is a folder of the wrong kind -> 2, a /proc *file* given as
an input file has unusable contents -> 1; a folder without the files the tool reads (no images, no *.tfrecords,
no labels.npy, no pickle) is the wrong kind of folder -> 2.

How a case runs: "main" = in this process through the tool's main(argv) (SystemExit counts as its code, an
uncaught exception fails the case with its traceback), for failures that come before any network is built or
unpickled, any training or pair generation; TensorFlow may be imported and a session opened. In-process runs
refuse to start training (dnnlib.submit_run) or a VarPred classifier. "subprocess" = ``sys.executable`` with cwd
= the repository; "interrupt" = a subprocess sent SIGINT once the file it waits for (``ready``) exists; the rest of
the interrupted cases raise KeyboardInterrupt in-process in the middle of the work. Disk full = a 2 MB tmpfs
filled to the last byte; read-only = a tmpfs mounted ro (both skipped where ``mount`` is not allowed).

Coverage (tool x category -> cases; test_coverage_table_is_current regenerates it from CASES):

| tool                            | path | exists | data | labels | flag | pickle | disk_full | interrupted | all |
|---------------------------------|------|--------|------|--------|------|--------|-----------|-------------|-----|
| dataset_tool create_dsprites    |    7 |      2 |    4 |      0 |    6 |      0 |         1 |           1 |  21 |
| dataset_tool create_from_images |    4 |      1 |    9 |      0 |    3 |      0 |         1 |           1 |  19 |
| dataset_tool create_3dshapes    |    3 |      0 |    6 |      1 |    2 |      0 |         1 |           1 |  14 |
| dataset_tool create_celeba      |    3 |      1 |    3 |      0 |    3 |      0 |         1 |           1 |  12 |
| dataset_tool info               |    4 |      0 |    5 |      4 |    0 |      0 |         0 |           0 |  13 |
| dataset_tool display            |    5 |      1 |    2 |      0 |    3 |      0 |         1 |           0 |  12 |
| dataset_tool compare            |    3 |      0 |    1 |      2 |    1 |      0 |         0 |           0 |   7 |
| run_training                    |    8 |      0 |    3 |      1 |   12 |      5 |         1 |           1 |  31 |
| run_pair_imgs                   |    7 |      1 |    0 |      0 |    9 |      7 |         1 |           1 |  26 |
| run_metrics                     |    8 |      1 |    0 |      0 |    8 |      5 |         1 |           1 |  24 |
| metrics.vp_metric               |    7 |      1 |    5 |      9 |    9 |      0 |         1 |           1 |  33 |
| run_correlation                 |    7 |      1 |    0 |      3 |    6 |      2 |         1 |           1 |  21 |
| all                             |   66 |      9 |   38 |     20 |   62 |     19 |        10 |           9 | 233 |
"""

import collections
import errno
import glob
import hashlib
import importlib
import io
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

import numpy as np
import PIL.Image
import pytest

from tests.background_runs import REPO, env

USAGE, RUNTIME, INTERRUPTED = 2, 1, 130
CATEGORIES = ("path", "exists", "data", "labels", "flag", "pickle", "disk_full", "interrupted")
PROGRAMS = {  # tool (first word of Case.cli) -> (module with main(argv), command line after sys.executable)
    "dataset_tool": ("dataset_tool", ["dataset_tool.py"]),
    "run_training": ("run_training", ["run_training.py"]),
    "run_pair_imgs": ("run_pair_imgs", ["run_pair_imgs.py"]),
    "run_metrics": ("run_metrics", ["run_metrics.py"]),
    "metrics.vp_metric": ("metrics.vp_metric", ["-m", "metrics.vp_metric"]),
    "run_correlation": ("run_correlation", ["run_correlation.py"]),
}
SUBPROCESS_TIMEOUT = 300
GAN_MODULES = "[Conv-up-1, C_global-2, Conv-up-1, C_global-2, Noise-1]"  # 16x16, 4 continuous dims
PAIR_DIMS = 4


# ----------------------------------------------------------------------------------------------
# Shared inputs, built once


class Fixtures(object):
    """A 64-image dSprites dataset (64x64 .. 4x4, shape labels, factors), an untrained VAE snapshot
    (E, Dec, Dec), and a valid 12-pair folder (16x32 JPEGs, 4 dims, each varied)."""

    def __init__(self, root):
        import dataset_tool
        from dnnlib import tflib
        from dnnlib.tflib.compat import tf

        self.root = root
        self.data_dir = os.path.join(root, "data")
        self.dataset = os.path.join(self.data_dir, "dsprites")
        dataset_tool.create_dsprites(self.dataset, max_images=64, labels="shape", progress=False)
        self.vae_pkl = os.path.join(root, "vae", "network-final.pkl")
        os.makedirs(os.path.dirname(self.vae_pkl))
        with tf.Graph().as_default(), tf.Session().as_default():
            E = tflib.Network("E", func_name="training.networks_vae.vae_encoder", latent_size=4)
            Dec = tflib.Network("Dec", func_name="training.networks_vae.vae_decoder", latent_size=4)
            with open(self.vae_pkl, "wb") as f:
                pickle.dump((E, Dec, Dec), f, protocol=4)
        self.pairs = os.path.join(root, "pairs")
        write_pair_folder(self.pairs, 12)


def write_pair_folder(folder, num, size=16):
    """``num`` random pair JPEGs (size x 2*size) and onedim labels cycling through the PAIR_DIMS dims."""
    os.makedirs(folder)
    rng = np.random.RandomState(0)
    for i in range(num):
        PIL.Image.fromarray(rng.randint(0, 256, (size, 2 * size, 3)).astype(np.uint8)).save(
            os.path.join(folder, "pair_%06d.jpg" % i))
    np.save(os.path.join(folder, "labels.npy"), 1.5 * np.eye(PAIR_DIMS)[np.arange(num) % PAIR_DIMS])


def listing(root):
    """{relative path: sha256 of a file, 'dir', or 'link -> target'} of everything under ``root``."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                out[rel] = "link -> " + os.readlink(path)
            elif os.path.isdir(path):
                out[rel] = "dir"
            else:
                with open(path, "rb") as f:
                    out[rel] = hashlib.sha256(f.read()).hexdigest()[:16]
    return out


def listing_changes(before, after):
    return (["new: " + p for p in sorted(set(after) - set(before))]
            + ["gone: " + p for p in sorted(set(before) - set(after))]
            + ["changed: " + p for p in sorted(p for p in set(before) & set(after) if before[p] != after[p])])


# ----------------------------------------------------------------------------------------------
# A case's workspace


class Workspace(object):
    """Where a case builds its inputs (``setup(ws)``): helpers that create files under ``root``."""

    def __init__(self, root, fx, monkeypatch):
        self.root, self.fx, self.monkeypatch = root, fx, monkeypatch
        self.mounts = []

    def p(self, *parts):
        return os.path.join(self.root, *parts)

    def file(self, name, data=b"x"):
        path = self.p(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        return path

    def folder(self, name):
        os.makedirs(self.p(name), exist_ok=True)
        return self.p(name)

    def pickle(self, name, obj):
        return self.file(name, pickle.dumps(obj, protocol=2))

    def npy(self, name, array, **kwargs):
        buf = io.BytesIO()
        np.save(buf, array, **kwargs)
        return self.file(name, buf.getvalue())

    def copy(self, src, name):
        os.makedirs(os.path.dirname(self.p(name)), exist_ok=True)
        (shutil.copytree if os.path.isdir(src) else shutil.copy2)(src, self.p(name))
        return self.p(name)

    def put(self, folder, changes):
        """Change files in ``folder`` (made if missing): {name: bytes (written as is), an array (an image file
        for image names, else .npy content), a float (truncate to that fraction), None (remove), or a callable
        (called with the path)}. Returns the folder."""
        folder = self.folder(folder)
        for name, content in (changes or {}).items():
            path = os.path.join(folder, name)
            if content is None:
                os.remove(path)
            elif isinstance(content, float):
                self.truncate(path, content)
            elif callable(content):
                content(path)
            elif isinstance(content, np.ndarray) and os.path.splitext(name)[1] in (".png", ".jpg", ".tif"):
                PIL.Image.fromarray(content).save(path)
            elif isinstance(content, np.ndarray):
                self.npy(os.path.relpath(path, self.root), content, allow_pickle=content.dtype == object)
            else:
                self.file(os.path.relpath(path, self.root), content)
        return folder

    def truncate(self, path, keep=0.5):
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(data[:int(len(data) * keep)])
        return path

    def dataset(self, parent="", changes=None):
        """A copy of the fixture dataset at <parent>/dsprites (file names follow the folder name), then ``put``."""
        return self.put(self.copy(self.fx.dataset, os.path.join(parent, "dsprites")), changes)

    def pairs(self, name="pairs"):
        return self.copy(self.fx.pairs, name)

    def truncated_snapshot(self, name):
        return self.truncate(self.copy(self.fx.vae_pkl, name))

    def _mount(self, name, options):
        path = self.folder(name)
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", path], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True)
        if proc.returncode != 0:
            pytest.skip("cannot mount a tmpfs (mount -t tmpfs -o %s): %s" % (options, proc.stdout.strip()))
        self.mounts.append(path)
        return path

    def readonly(self, name="ro"):
        return self._mount(name, "size=1m,ro")

    def full_disk(self, name="full"):
        """A 2 MB tmpfs with a filler file that takes its last byte."""
        path = self._mount(name, "size=2m")
        with open(os.path.join(path, "filler"), "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
        return path

    def interrupt_on_call(self, owner, attr, call=2):
        """Make ``owner.attr`` raise KeyboardInterrupt on its ``call``-th call (Ctrl-C in the middle of the work)."""
        real, calls = getattr(owner, attr), []

        def wrapper(*args, **kwargs):
            calls.append(1)
            if len(calls) == call:
                raise KeyboardInterrupt()
            return real(*args, **kwargs)

        self.monkeypatch.setattr(owner, attr, wrapper)

    def unmount_all(self):
        for path in reversed(self.mounts):
            subprocess.run(["umount", "-l", path])
        self.mounts = []


# ----------------------------------------------------------------------------------------------
# Inputs that several cases use


GARBAGE = b"\x00\x13 not what you think it is \xff" * 8
FOREIGN_CLASS_PICKLE = b"cno_such_module\nThing\n(tR."  # protocol 0: unpickling imports a module that is not there
NOT_EXAMPLES = [b"not an Example"] * 4


def image(side, height=None, channels=3, value=7):
    shape = (height or side, side) + ((channels,) if channels > 1 else ())
    return np.full(shape, value, np.uint8)


def encoded(arr, fmt="PNG", keep=1.0):
    """Image file bytes, optionally cut to the fraction ``keep``."""
    buf = io.BytesIO()
    PIL.Image.fromarray(arr).save(buf, fmt)
    return buf.getvalue()[:int(len(buf.getvalue()) * keep)]


def noise(h, w):
    return np.random.RandomState(3).randint(0, 256, (h, w, 3)).astype(np.uint8)


def copy_of(*src):
    """A ``put`` callable copying the file ``src`` there."""
    return lambda path: shutil.copy2(os.path.join(*src), path)


def tfrecords(payloads):
    """A ``put`` callable writing a TFRecord file (valid framing) that holds ``payloads``."""
    def write(path):
        from dnnlib.tflib.compat import tf

        with tf.io.TFRecordWriter(path) as writer:
            for payload in payloads:
                writer.write(payload)
    return write


def src_images(ws, changes=None):
    """src/ with two good 16x16 RGB PNGs, then ``changes``."""
    return ws.put("src", dict({"img000.png": image(16), "img001.png": image(16)}, **(changes or {})))


def celeba(ws, changes=None, sub="img_align_celeba_png"):
    """celeba/<sub>/ with two 178x218 RGB PNGs, then ``changes``; returns celeba/."""
    ws.put(os.path.join("celeba", sub), dict({"000001.png": image(178, 218), "000002.png": image(178, 218)},
                                             **(changes or {})))
    return ws.p("celeba")


def shapes_h5(ws, name="3dshapes.h5", n=6, images_shape=None, label_value=None, keys=("images", "labels")):
    """A small file in the layout of 3dshapes.h5, optionally with one thing wrong."""
    import h5py
    from training import ground_truth as gt

    rng = np.random.RandomState(1)
    labels = np.stack([np.asarray(v)[rng.randint(0, len(v), n)] for v in gt.SHAPES3D_FACTOR_VALUES], axis=1)
    if label_value is not None:
        labels[:] = label_value
    path = ws.p(name)
    with h5py.File(path, "w") as f:
        if "images" in keys:
            f.create_dataset("images", data=np.zeros(images_shape or (n, 64, 64, 3), np.uint8))
        if "labels" in keys:
            f.create_dataset("labels", data=labels)
    return path


def dsprites_npz(ws, name="small.npz", keys=("imgs", "latents_classes")):
    from training import dsprites

    arrays = dict(imgs=np.zeros((8, 64, 64), np.uint8), latents_classes=dsprites.index_to_classes(np.arange(8) * 997))
    buf = io.BytesIO()
    np.savez(buf, **{k: arrays[k] for k in keys})
    return ws.file(name, buf.getvalue())


def pair_folder(ws, changes=None, labels=None, name="pairs"):
    """A copy of the fixture pair folder (12 pairs, 4 dims), with ``labels`` as labels.npy, then ``changes``."""
    ws.pairs(name)
    if labels is not None:
        ws.npy(os.path.join(name, "labels.npy"), labels)
    return ws.put(name, changes)


def onehot(dims, scale=1.5):
    """Pair labels varying dims[i] in row i."""
    return scale * np.eye(PAIR_DIMS)[np.asarray(dims)]


def run_dir(ws, pkl_bytes, earlier=(), name="run"):
    """run/network-final.pkl with ``pkl_bytes`` and earlier result files ``earlier``; returns run/."""
    return ws.put(name, dict({"network-final.pkl": pkl_bytes}, **{f: "earlier %s\n" % f for f in earlier}))


def snapshot_run_dir(ws, name="run"):
    ws.truncated_snapshot(os.path.join(name, "network-final.pkl"))
    return ws.p(name)


def training_argv(ws, *extra, **paths):
    """A tiny VP-GAN run at 16x16 on the fixture dataset (or ``data_dir``/``dataset``) into ``result_dir``, by
    default results/, which holds an earlier run (00000-earlier/) that must stay as it is."""
    result_dir = paths.get("result_dir") or ws.put("results", {"00000-earlier/log.txt": "an earlier run\n"})
    return (["--data-dir", paths.get("data_dir", ws.fx.data_dir), "--dataset", paths.get("dataset", "dsprites"),
             "--result-dir", result_dir, "--model_type", "vp_gan",
             "--module_list", GAN_MODULES, "--resolution", "16", "--fmap_base", "16", "--minibatch-size", "4",
             "--minibatch-gpu", "4", "--total-kimg", "0.004", "--kimg-per-tick", "0.004", "--snapshot-ticks", "1",
             "--cpu-threads", "1"] + list(extra))


def bad_dataset(ws, changes, name="bad"):
    """training_argv on data/<name>/ holding only ``changes``."""
    ws.put(os.path.join("data", name), changes)
    return training_argv(ws, data_dir=ws.p("data"), dataset=name)


def pairs_argv(ws, pkl="synthetic:perfect@32", *extra, **kw):
    return ["--network_pkl", pkl, "--n_imgs", kw.get("n_imgs", "8"), "--batch_size", kw.get("batch_size", "4"),
            "--result-dir", kw.get("result_dir", ws.p("pairs"))] + list(extra)


def metrics_argv(ws, *extra, **kw):
    """The mig metric of a synthetic generator on 100 points (no network, no TF graph) into ``result_dir``."""
    return ["--network_pkl", kw.get("pkl", "synthetic:perfect"), "--metrics", kw.get("metrics", "mig"),
            "--gt-points", "100", "--result-dir", kw.get("result_dir", ws.p("scores")), "--quiet"] + list(extra)


def vp_argv(pair_dir, *extra):
    return [pair_dir, "--repeats", "1", "--epochs", "1", "--protocol", "fast", "--test-ratio", "0.5",
            "--threads", "1", "--quiet"] + list(extra)


def fake_runs(ws, n=3, **replace):
    """n run dirs with an (empty) network-final.pkl and cached metric-vp/-mig.json at run_correlation's default
    settings, so that nothing is computed; ``replace`` = {'<run index>_<metric>': the text of that json, or a
    function of its record returning another record}."""
    import json

    runs = []
    for i in range(n):
        pkl = ws.file("runs/%05d-vae/network-final.pkl" % i, b"")
        settings = dict(vp=dict(seed=0, vp_pairs=10000, vp_repeats=3, vp_epochs=None),
                        mig=dict(seed=0, gt_data="dsprites", gt_points=None))
        for metric, value in (("vp", 40.0 + 10 * i), ("mig", 0.1 * i + 0.05)):
            record = dict(metric=metric, value=value, network_pkl=pkl, settings=settings[metric])
            text = replace.get("%d_%s" % (i, metric), json.dumps(record))
            ws.file("runs/%05d-vae/metric-%s.json" % (i, metric), json.dumps(text(record)) if callable(text) else text)
        runs.append(os.path.dirname(pkl))
    return runs


def corr_argv(ws, runs, *extra, **kw):
    return runs + ["--out", kw.get("out", ws.p("corr")), "--gt-metrics", "mig"] + list(extra)


def earlier_correlation(ws, folder="corr"):
    return ws.put(folder, {n: "earlier %s\n" % n for n in ("correlation.csv", "correlation.md", "correlation.png")})


def interrupted(ws, module, attr, call, argv):
    """``argv``, with ``module.attr`` raising KeyboardInterrupt on its ``call``-th call."""
    owner = importlib.import_module(module)
    for part in attr.split(".")[:-1]:
        owner = getattr(owner, part)
    ws.interrupt_on_call(owner, attr.split(".")[-1], call)
    return argv


# ----------------------------------------------------------------------------------------------
# The catalogue


Case = collections.namedtuple("Case", "cli category name code needle setup how ready")


def case(cli, category, name, code, needle, setup, how="main", ready="*.tmp-*/*"):
    assert cli.split()[0] in PROGRAMS and category in CATEGORIES and code in (USAGE, RUNTIME, INTERRUPTED)
    return Case(cli, category, name, code, needle, setup, how, ready)


def case_id(c):
    return "%s-%s" % (c.cli.split(".")[-1].replace(" ", "-"), c.name)


DS, DI, D3, DC = ("dataset_tool create_dsprites", "dataset_tool create_from_images", "dataset_tool create_3dshapes",
                  "dataset_tool create_celeba")
INFO, DISPLAY, COMPARE = "dataset_tool info", "dataset_tool display", "dataset_tool compare"
TRAIN, PAIRS, METRICS, VP, CORR = "run_training", "run_pair_imgs", "run_metrics", "metrics.vp_metric", "run_correlation"
R06, R05, R04, LABELS, FACTORS_NPY, FACTORS_JSON = (
    "dsprites-r06.tfrecords", "dsprites-r05.tfrecords", "dsprites-r04.tfrecords", "dsprites-rxx.labels",
    "dsprites-factors.npy", "dsprites-factors.json")

CASES = [
    # --- dataset_tool create_dsprites ------------------------------------------------------------------------
    case(DS, "flag", "max_images-negative", USAGE, "--max-images", lambda ws: [ws.p("ds"), "--max_images", "-5"]),
    case(DS, "flag", "max_images-zero", USAGE, "--max-images", lambda ws: [ws.p("ds"), "--max_images", "0"]),
    case(DS, "flag", "max_images-too-many", USAGE, "--max-images", lambda ws: [ws.p("ds"), "--max_images", "99999999"]),
    case(DS, "flag", "max_images-not-a-number", USAGE, "--max-images", lambda ws: [ws.p("ds"), "--max_images", "ten"]),
    case(DS, "flag", "labels-unknown", USAGE, "--labels",
         lambda ws: [ws.p("ds"), "--max_images", "8", "--labels", "colour"]),
    case(DS, "flag", "shuffle-not-0-or-1", USAGE, "--shuffle",
         lambda ws: [ws.p("ds"), "--max_images", "8", "--shuffle", "2"]),
    case(DS, "path", "npz-missing", USAGE, "missing.npz", lambda ws: [ws.p("ds"), "--npz", ws.p("missing.npz")]),
    case(DS, "path", "npz-is-a-folder", USAGE, "npz-dir", lambda ws: [ws.p("ds"), "--npz", ws.folder("npz_dir")]),
    case(DS, "path", "out-is-a-file", USAGE, "a-file", lambda ws: [ws.file("a_file"), "--max_images", "8"]),
    case(DS, "path", "out-under-a-file", USAGE, "a-file",
         lambda ws: [os.path.join(ws.file("a_file"), "ds"), "--max_images", "8"]),
    case(DS, "path", "out-empty-string", USAGE, "output", lambda ws: ["", "--max_images", "8"]),
    case(DS, "path", "out-read-only", USAGE, "ro",
         lambda ws: [os.path.join(ws.readonly(), "ds"), "--max_images", "8"]),
    case(DS, "path", "out-under-proc", USAGE, "/proc", lambda ws: ["/proc/vpdis-bad-inputs-ds", "--max_images", "8"]),
    case(DS, "data", "npz-garbage", RUNTIME, "garbage.npz",
         lambda ws: [ws.p("ds"), "--npz", ws.file("garbage.npz", GARBAGE)]),
    case(DS, "data", "npz-truncated", RUNTIME, "small.npz",
         lambda ws: [ws.p("ds"), "--npz", ws.truncate(dsprites_npz(ws))]),
    case(DS, "data", "npz-lacks-latents", RUNTIME, "latents-classes",
         lambda ws: [ws.p("ds"), "--npz", dsprites_npz(ws, keys=("imgs",))]),
    case(DS, "data", "npz-is-a-proc-file", RUNTIME, "/proc/self/status",
         lambda ws: [ws.p("ds"), "--npz", "/proc/self/status"]),
    case(DS, "exists", "out-not-empty", USAGE, "--overwrite",
         lambda ws: [ws.put("ds", {"earlier.txt": "keep"}), "--max_images", "8"]),
    case(DS, "exists", "overwrite-with-bad-npz-keeps-earlier", RUNTIME, "garbage.npz",
         lambda ws: [ws.dataset(), "--overwrite", "--npz", ws.file("garbage.npz", GARBAGE)]),
    case(DS, "disk_full", "out-on-full-disk", RUNTIME, "no space left",
         lambda ws: [os.path.join(ws.full_disk(), "ds"), "--max_images", "64", "--progress", "0"]),
    case(DS, "interrupted", "sigint-mid-export", INTERRUPTED, "interrupted",
         lambda ws: [ws.p("ds"), "--max_images", "200000", "--progress", "0"], how="interrupt"),

    # --- dataset_tool create_from_images ---------------------------------------------------------------------
    case(DI, "path", "image_dir-missing", USAGE, "no-such-src", lambda ws: [ws.p("ds"), ws.p("no_such_src")]),
    case(DI, "path", "image_dir-is-a-file", USAGE, "a-file", lambda ws: [ws.p("ds"), ws.file("a_file")]),
    case(DI, "path", "image_dir-empty", USAGE, "empty-src", lambda ws: [ws.p("ds"), ws.folder("empty_src")]),
    case(DI, "path", "image_dir-proc", USAGE, "/proc", lambda ws: [ws.p("ds"), "/proc"]),
    case(DI, "data", "corrupt-png", RUNTIME, "img002.png",
         lambda ws: [ws.p("ds"), src_images(ws, {"img002.png": GARBAGE})]),
    case(DI, "data", "truncated-png", RUNTIME, "img002.png",
         lambda ws: [ws.p("ds"), src_images(ws, {"img002.png": encoded(noise(16, 16), keep=0.5)}), "--shuffle", "0"]),
    case(DI, "data", "wrong-format-16-bit-tiff", RUNTIME, "img002.tif",
         lambda ws: [ws.p("ds"), src_images(ws, {"img002.tif": np.zeros((16, 16), np.uint16)})]),
    case(DI, "data", "mixed-sizes", RUNTIME, "img002.png",
         lambda ws: [ws.p("ds"), src_images(ws, {"img002.png": image(8)})]),
    case(DI, "data", "non-square", RUNTIME, "img000.png",
         lambda ws: [ws.p("ds"), ws.put("src", {"img000.png": image(16, 8)})]),
    case(DI, "data", "rgba", RUNTIME, "img002.png",
         lambda ws: [ws.p("ds"), src_images(ws, {"img002.png": image(16, channels=4)})]),
    case(DI, "data", "grayscale-among-rgb", RUNTIME, "img002.png",
         lambda ws: [ws.p("ds"), src_images(ws, {"img002.png": image(16, channels=1)})]),
    case(DI, "data", "side-not-a-power-of-two", RUNTIME, "img000.png",
         lambda ws: [ws.p("ds"), ws.put("src", {"img000.png": image(12)})]),
    case(DI, "data", "overwrite-with-corrupt-image-keeps-earlier", RUNTIME, "img002.png",
         lambda ws: [ws.dataset(), src_images(ws, {"img002.png": GARBAGE}), "--overwrite"]),
    case(DI, "flag", "resolution-not-a-power-of-two", USAGE, "--resolution",
         lambda ws: [ws.p("ds"), src_images(ws), "--resolution", "3"]),
    case(DI, "flag", "resolution-above-image-side", USAGE, "--resolution",
         lambda ws: [ws.p("ds"), src_images(ws), "--resolution", "64"]),
    case(DI, "flag", "progress-not-0-or-1", USAGE, "--progress",
         lambda ws: [ws.p("ds"), src_images(ws), "--progress", "5"]),
    case(DI, "exists", "out-not-empty", USAGE, "--overwrite", lambda ws: [ws.dataset(), src_images(ws)]),
    case(DI, "disk_full", "out-on-full-disk", RUNTIME, "no space left",
         lambda ws: [os.path.join(ws.full_disk(), "ds"), src_images(ws), "--progress", "0"]),
    case(DI, "interrupted", "ctrl-c-mid-export", INTERRUPTED, "interrupted",
         lambda ws: interrupted(ws, "dataset_tool", "_load_image", 2, [ws.p("ds"), src_images(ws), "--progress", "0"])),

    # --- dataset_tool create_3dshapes ------------------------------------------------------------------------
    case(D3, "path", "h5-missing", USAGE, "missing.h5", lambda ws: [ws.p("ds"), ws.p("missing.h5")]),
    case(D3, "path", "h5-is-a-folder", USAGE, "h5-dir", lambda ws: [ws.p("ds"), ws.folder("h5_dir")]),
    case(D3, "path", "out-is-a-file", USAGE, "a-file", lambda ws: [ws.file("a_file"), shapes_h5(ws)]),
    case(D3, "data", "h5-garbage", RUNTIME, "garbage.h5", lambda ws: [ws.p("ds"), ws.file("garbage.h5", GARBAGE)]),
    case(D3, "data", "h5-truncated", RUNTIME, "3dshapes.h5", lambda ws: [ws.p("ds"), ws.truncate(shapes_h5(ws))]),
    case(D3, "data", "h5-is-a-proc-file", RUNTIME, "/proc/cpuinfo", lambda ws: [ws.p("ds"), "/proc/cpuinfo"]),
    case(D3, "data", "h5-lacks-labels", RUNTIME, "labels", lambda ws: [ws.p("ds"), shapes_h5(ws, keys=("images",))]),
    case(D3, "data", "images-not-square", RUNTIME, "images",
         lambda ws: [ws.p("ds"), shapes_h5(ws, images_shape=(6, 64, 32, 3))]),
    case(D3, "data", "images-grayscale", RUNTIME, "images",
         lambda ws: [ws.p("ds"), shapes_h5(ws, images_shape=(6, 64, 64, 1))]),
    case(D3, "labels", "label-values-off-grid", RUNTIME, "floor-hue",
         lambda ws: [ws.p("ds"), shapes_h5(ws, label_value=0.37)]),
    case(D3, "flag", "max_images-negative", USAGE, "--max-images",
         lambda ws: [ws.p("ds"), shapes_h5(ws), "--max_images", "-1"]),
    case(D3, "flag", "seed-not-a-number", USAGE, "--seed", lambda ws: [ws.p("ds"), shapes_h5(ws), "--seed", "abc"]),
    case(D3, "disk_full", "out-on-full-disk", RUNTIME, "no space left",
         lambda ws: [os.path.join(ws.full_disk(), "ds"), shapes_h5(ws), "--progress", "0"]),
    case(D3, "interrupted", "ctrl-c-mid-export", INTERRUPTED, "interrupted",
         lambda ws: interrupted(ws, "training.tfrecord_export", "TFRecordExporter.add_factors", 1,
                                [ws.p("ds"), shapes_h5(ws), "--progress", "0"])),

    # --- dataset_tool create_celeba --------------------------------------------------------------------------
    case(DC, "path", "celeba_dir-missing", USAGE, "no-such-celeba", lambda ws: [ws.p("ds"), ws.p("no_such_celeba")]),
    case(DC, "path", "celeba_dir-without-image-folder", USAGE, "img-align-celeba",
         lambda ws: [ws.p("ds"), ws.folder("celeba")]),
    case(DC, "path", "image-folder-empty", USAGE, "img-align-celeba-png",
         lambda ws: [ws.p("ds"), os.path.dirname(ws.folder("celeba/img_align_celeba_png"))]),
    case(DC, "data", "image-wrong-size", RUNTIME, "000002.png",
         lambda ws: [ws.p("ds"), celeba(ws, {"000002.png": image(100)})]),
    case(DC, "data", "image-grayscale", RUNTIME, "000002.png",
         lambda ws: [ws.p("ds"), celeba(ws, {"000002.png": image(178, 218, channels=1)})]),
    case(DC, "data", "image-corrupt", RUNTIME, "000002.png",
         lambda ws: [ws.p("ds"), celeba(ws, {"000002.png": GARBAGE})]),
    case(DC, "flag", "cx-crop-leaves-image", USAGE, "--cx", lambda ws: [ws.p("ds"), celeba(ws), "--cx", "10"]),
    case(DC, "flag", "resolution-too-large", USAGE, "--resolution",
         lambda ws: [ws.p("ds"), celeba(ws), "--resolution", "256"]),
    case(DC, "flag", "resolution-not-a-power-of-two", USAGE, "--resolution",
         lambda ws: [ws.p("ds"), celeba(ws), "--resolution", "48"]),
    case(DC, "exists", "out-not-empty", USAGE, "--overwrite", lambda ws: [ws.dataset(), celeba(ws)]),
    case(DC, "disk_full", "out-on-full-disk", RUNTIME, "no space left",
         lambda ws: [os.path.join(ws.full_disk(), "ds"), celeba(ws), "--progress", "0"]),
    case(DC, "interrupted", "ctrl-c-mid-export", INTERRUPTED, "interrupted",
         lambda ws: interrupted(ws, "dataset_tool", "_load_image", 2, [ws.p("ds"), celeba(ws), "--progress", "0"])),

    # --- dataset_tool info -----------------------------------------------------------------------------------
    case(INFO, "path", "dir-missing", USAGE, "no-such-ds", lambda ws: [ws.p("no_such_ds")]),
    case(INFO, "path", "dir-is-a-file", USAGE, "a-file", lambda ws: [ws.file("a_file")]),
    case(INFO, "path", "dir-empty", USAGE, "empty-ds", lambda ws: [ws.folder("empty_ds")]),
    case(INFO, "path", "dir-proc", USAGE, "/proc", lambda ws: ["/proc"]),
    case(INFO, "data", "tfrecords-truncated", RUNTIME, R06,
         lambda ws: [ws.dataset(changes={R06: 0.7})], how="subprocess"),
    case(INFO, "data", "tfrecords-garbage", RUNTIME, R05, lambda ws: [ws.dataset(changes={R05: GARBAGE * 100})]),
    case(INFO, "data", "tfrecords-empty-file", RUNTIME, R04, lambda ws: [ws.dataset(changes={R04: b""})]),
    case(INFO, "data", "records-not-examples", RUNTIME, R06,
         lambda ws: [ws.dataset(changes={R06: tfrecords(NOT_EXAMPLES)})]),
    case(INFO, "data", "stray-level-file", RUNTIME, "stray-r09.tfrecords",
         lambda ws: [ws.dataset(changes={"stray-r09.tfrecords": copy_of(ws.fx.dataset, "dsprites-r03.tfrecords")})]),
    case(INFO, "labels", "labels-garbage", RUNTIME, LABELS, lambda ws: [ws.dataset(changes={LABELS: GARBAGE})]),
    case(INFO, "labels", "factors-json-garbage", RUNTIME, "factors",
         lambda ws: [ws.dataset(changes={FACTORS_JSON: "{names: oops"})]),
    case(INFO, "labels", "factors-json-missing", RUNTIME, FACTORS_JSON,
         lambda ws: [ws.dataset(changes={FACTORS_JSON: None})]),
    case(INFO, "labels", "factors-one-dimensional", RUNTIME, "factor",
         lambda ws: [ws.dataset(changes={FACTORS_NPY: np.arange(64)})]),

    # --- dataset_tool display --------------------------------------------------------------------------------
    case(DISPLAY, "path", "dir-missing", USAGE, "no-such-ds",
         lambda ws: [ws.p("no_such_ds"), "--out", ws.p("grid.png")]),
    case(DISPLAY, "path", "out-is-a-folder", USAGE, "--out", lambda ws: [ws.dataset(), "--out", ws.folder("grid_dir")]),
    case(DISPLAY, "path", "out-folder-missing", USAGE, "nowhere",
         lambda ws: [ws.dataset(), "--out", ws.p("nowhere", "g.png")]),
    case(DISPLAY, "path", "out-read-only", USAGE, "ro",
         lambda ws: [ws.dataset(), "--out", os.path.join(ws.readonly(), "g.png")]),
    case(DISPLAY, "path", "out-under-proc", USAGE, "/proc",
         lambda ws: [ws.dataset(), "--out", "/proc/vpdis-bad-inputs.png"]),
    case(DISPLAY, "flag", "num-zero", USAGE, "--num", lambda ws: [ws.dataset(), "--out", ws.p("g.png"), "--num", "0"]),
    case(DISPLAY, "flag", "num-not-a-number", USAGE, "--num",
         lambda ws: [ws.dataset(), "--out", ws.p("g.png"), "--num", "x"]),
    case(DISPLAY, "flag", "resolution-not-in-dataset", USAGE, "resolution 5",
         lambda ws: [ws.dataset(), "--out", ws.p("g.png"), "--resolution", "5"]),
    case(DISPLAY, "data", "tfrecords-garbage", RUNTIME, R06,
         lambda ws: [ws.dataset(changes={R06: GARBAGE * 100}), "--out", ws.p("g.png")]),
    case(DISPLAY, "data", "tfrecords-truncated-keeps-earlier-grid", RUNTIME, R06,
         lambda ws: [ws.dataset(changes={R06: 0.01}), "--out", ws.file("grid.png", "earlier grid")]),
    case(DISPLAY, "exists", "out-folder-is-a-file", USAGE, "a-file",
         lambda ws: [ws.dataset(), "--out", os.path.join(ws.file("a_file"), "g.png")]),
    case(DISPLAY, "disk_full", "out-on-full-disk", RUNTIME, "no space left",
         lambda ws: [ws.dataset(), "--out", os.path.join(ws.full_disk(), "g.png")]),

    # --- dataset_tool compare --------------------------------------------------------------------------------
    case(COMPARE, "path", "a-missing", USAGE, "no-such-a", lambda ws: [ws.p("no_such_a"), ws.dataset()]),
    case(COMPARE, "path", "b-is-a-file", USAGE, "b-file", lambda ws: [ws.dataset(), ws.file("b_file")]),
    case(COMPARE, "path", "b-proc", USAGE, "/proc", lambda ws: [ws.dataset(), "/proc"]),
    case(COMPARE, "flag", "ignore_labels-not-0-or-1", USAGE, "--ignore-labels",
         lambda ws: [ws.dataset("a"), ws.dataset("b"), "--ignore_labels", "2"]),
    case(COMPARE, "data", "b-tfrecords-garbage", RUNTIME, R06,
         lambda ws: [ws.dataset("a"), ws.dataset("b", {R06: GARBAGE * 100})], how="subprocess"),
    case(COMPARE, "labels", "b-labels-garbage", RUNTIME, LABELS,
         lambda ws: [ws.dataset("a"), ws.dataset("b", {LABELS: GARBAGE})]),
    case(COMPARE, "labels", "a-factors-npy-garbage", RUNTIME, "factors",
         lambda ws: [ws.dataset("a", {FACTORS_NPY: GARBAGE}), ws.dataset("b")]),

    # --- run_training ----------------------------------------------------------------------------------------
    case(TRAIN, "path", "data-dir-missing", USAGE, "no-such-data",
         lambda ws: training_argv(ws, data_dir=ws.p("no_such_data"))),
    case(TRAIN, "path", "dataset-is-a-file", USAGE, "a-file",
         lambda ws: training_argv(ws, data_dir=os.path.dirname(ws.file("a_file")), dataset="a_file")),
    case(TRAIN, "path", "dataset-empty-folder", USAGE, "empty-ds",
         lambda ws: training_argv(ws, data_dir=os.path.dirname(ws.folder("empty_ds")), dataset="empty_ds")),
    case(TRAIN, "path", "data-dir-proc", USAGE, "/proc",
         lambda ws: training_argv(ws, data_dir="/proc", dataset="self")),
    case(TRAIN, "path", "result-dir-is-a-file", USAGE, "a-file",
         lambda ws: training_argv(ws, result_dir=ws.file("a_file"))),
    case(TRAIN, "path", "result-dir-under-a-file", USAGE, "a-file",
         lambda ws: training_argv(ws, result_dir=os.path.join(ws.file("a_file"), "results"))),
    case(TRAIN, "path", "result-dir-read-only", USAGE, "ro",
         lambda ws: training_argv(ws, result_dir=os.path.join(ws.readonly(), "results"))),
    case(TRAIN, "path", "result-dir-under-proc", USAGE, "/proc",
         lambda ws: training_argv(ws, result_dir="/proc/vpdis-bad-inputs-results")),
    case(TRAIN, "data", "tfrecords-garbage", RUNTIME, "bad-r04.tfrecords",
         lambda ws: bad_dataset(ws, {"bad-r04.tfrecords": GARBAGE * 100})),
    case(TRAIN, "data", "records-not-examples", RUNTIME, "bad-r04.tfrecords",
         lambda ws: bad_dataset(ws, {"bad-r04.tfrecords": tfrecords(NOT_EXAMPLES)})),
    case(TRAIN, "data", "two-channel-images", RUNTIME, "bad-r04.tfrecords",
         lambda ws: bad_dataset(ws, {"bad-r04.tfrecords": tfrecords(
        [importlib.import_module("training.tfrecord_export").encode_example(np.zeros((2, 16, 16), np.uint8))] * 4)})),
    case(TRAIN, "labels", "label-rows-do-not-match-images", RUNTIME, LABELS,
         lambda ws: training_argv(ws, data_dir=os.path.dirname(ws.dataset("data", {LABELS: np.zeros((10, 3), "f4")}))),
         how="subprocess"),
    case(TRAIN, "flag", "module_list-double-comma", USAGE, "--module-list",
         lambda ws: training_argv(ws, "--module_list", "[Conv-up-1,, C_global-2]")),
    case(TRAIN, "flag", "module_list-no-brackets", USAGE, "--module-list",
         lambda ws: training_argv(ws, "--module_list", "Conv-up-1, C_global-2")),
    case(TRAIN, "flag", "module_list-unknown-module", USAGE, "foo",
         lambda ws: training_argv(ws, "--module_list", "[Conv-up-1, Foo-2]")),
    case(TRAIN, "flag", "module_list-wrong-resolution", USAGE, "8x8",
         lambda ws: training_argv(ws, "--module_list", "[Conv-up-1, C_global-2]")),
    case(TRAIN, "flag", "total-kimg-negative", USAGE, "--total-kimg",
         lambda ws: training_argv(ws, "--total-kimg", "-1")),
    case(TRAIN, "flag", "total-kimg-nan", USAGE, "--total-kimg", lambda ws: training_argv(ws, "--total-kimg", "nan")),
    case(TRAIN, "flag", "num-gpus-3", USAGE, "--num-gpus", lambda ws: training_argv(ws, "--num-gpus", "3")),
    case(TRAIN, "flag", "minibatch-gpu-zero", USAGE, "--minibatch-gpu",
         lambda ws: training_argv(ws, "--minibatch-gpu", "0")),
    case(TRAIN, "flag", "model_type-unknown", USAGE, "--model-type",
         lambda ws: training_argv(ws, "--model_type", "wgan")),
    case(TRAIN, "flag", "mirror-augment-not-a-bool", USAGE, "--mirror-augment",
         lambda ws: training_argv(ws, "--mirror-augment", "maybe")),
    case(TRAIN, "flag", "resolution-not-in-dataset", USAGE, "--resolution",
         lambda ws: training_argv(ws, "--resolution", "128")),
    case(TRAIN, "flag", "metrics-fid", USAGE, "--metrics", lambda ws: training_argv(ws, "--metrics", "fid50k")),
    case(TRAIN, "pickle", "resume_pkl-missing", USAGE, "missing.pkl",
         lambda ws: training_argv(ws, "--resume_pkl", ws.p("missing.pkl"))),
    case(TRAIN, "pickle", "resume_pkl-dict", RUNTIME, "dict.pkl",
         lambda ws: training_argv(ws, "--resume_pkl", ws.pickle("dict.pkl", {"G": 1}))),
    case(TRAIN, "pickle", "resume_pkl-list-of-2-ints", RUNTIME, "list.pkl",
         lambda ws: training_argv(ws, "--resume_pkl", ws.pickle("list.pkl", [1, 2]))),
    case(TRAIN, "pickle", "resume_pkl-foreign-class", RUNTIME, "foreign.pkl",
         lambda ws: training_argv(ws, "--resume_pkl", ws.file("foreign.pkl", FOREIGN_CLASS_PICKLE))),
    case(TRAIN, "pickle", "resume_pkl-truncated-snapshot", RUNTIME, "truncated.pkl",
         lambda ws: training_argv(ws, "--resume_pkl", ws.truncated_snapshot("truncated.pkl")), how="subprocess"),
    case(TRAIN, "disk_full", "result-dir-on-full-disk", RUNTIME, "no space left",
         lambda ws: training_argv(ws, result_dir=ws.full_disk()), how="subprocess"),
    case(TRAIN, "interrupted", "sigint-after-run-dir-appears", INTERRUPTED, "interrupted",
         lambda ws: training_argv(ws, "--total-kimg", "1000"), how="interrupt", ready="results/00001-*/fakes_init.png"),

    # --- run_pair_imgs ---------------------------------------------------------------------------------------
    case(PAIRS, "path", "network_pkl-missing", USAGE, "missing.pkl", lambda ws: pairs_argv(ws, ws.p("missing.pkl"))),
    case(PAIRS, "path", "network_pkl-is-a-folder", USAGE, "pkl-dir", lambda ws: pairs_argv(ws, ws.folder("pkl_dir"))),
    case(PAIRS, "path", "result-dir-is-a-file", USAGE, "a-file",
         lambda ws: pairs_argv(ws, result_dir=ws.file("a_file"))),
    case(PAIRS, "path", "result-dir-under-a-file", USAGE, "a-file",
         lambda ws: pairs_argv(ws, result_dir=os.path.join(ws.file("a_file"), "pairs"))),
    case(PAIRS, "path", "result-dir-empty-string", USAGE, "--result-dir", lambda ws: pairs_argv(ws, result_dir="")),
    case(PAIRS, "path", "result-dir-read-only", USAGE, "ro",
         lambda ws: pairs_argv(ws, result_dir=os.path.join(ws.readonly(), "pairs"))),
    case(PAIRS, "path", "result-dir-under-proc", USAGE, "/proc",
         lambda ws: pairs_argv(ws, result_dir="/proc/vpdis-bad-inputs-pairs")),
    case(PAIRS, "flag", "n_imgs-zero", USAGE, "--n-imgs", lambda ws: pairs_argv(ws, n_imgs="0")),
    case(PAIRS, "flag", "n_imgs-not-a-number", USAGE, "--n-imgs", lambda ws: pairs_argv(ws, n_imgs="abc")),
    case(PAIRS, "flag", "batch_size-negative", USAGE, "--batch-size", lambda ws: pairs_argv(ws, batch_size="-1")),
    case(PAIRS, "flag", "latent_type-unknown", USAGE, "--latent-type",
         lambda ws: pairs_argv(ws, "synthetic:perfect@32", "--latent_type", "sideways")),
    case(PAIRS, "flag", "prior-unknown", USAGE, "--prior",
         lambda ws: pairs_argv(ws, "synthetic:perfect@32", "--prior", "cauchy")),
    case(PAIRS, "flag", "network_pkl-flag-missing", USAGE, "--network-pkl", lambda ws: pairs_argv(ws)[2:]),
    case(PAIRS, "flag", "synthetic-name-unknown", USAGE, "nonsense", lambda ws: pairs_argv(ws, "synthetic:nonsense")),
    case(PAIRS, "flag", "n_continuous-mismatch", USAGE, "--n-continuous",
         lambda ws: pairs_argv(ws, "synthetic:perfect@32", "--n_continuous", "30")),
    case(PAIRS, "flag", "sha256-malformed", USAGE, "sha256",
         lambda ws: pairs_argv(ws, ws.copy(ws.fx.vae_pkl, "net.pkl"), "--sha256", "xyz")),
    case(PAIRS, "pickle", "dict", RUNTIME, "dict.pkl", lambda ws: pairs_argv(ws, ws.pickle("dict.pkl", {"G": 1}))),
    case(PAIRS, "pickle", "list-of-2-ints", RUNTIME, "list.pkl",
         lambda ws: pairs_argv(ws, ws.pickle("list.pkl", [1, 2]))),
    case(PAIRS, "pickle", "garbage-bytes", RUNTIME, "garbage.pkl",
         lambda ws: pairs_argv(ws, ws.file("garbage.pkl", GARBAGE))),
    case(PAIRS, "pickle", "empty-file", RUNTIME, "empty.pkl", lambda ws: pairs_argv(ws, ws.file("empty.pkl", b""))),
    case(PAIRS, "pickle", "foreign-class", RUNTIME, "foreign.pkl",
         lambda ws: pairs_argv(ws, ws.file("foreign.pkl", FOREIGN_CLASS_PICKLE))),
    case(PAIRS, "pickle", "truncated-snapshot", RUNTIME, "truncated.pkl",
         lambda ws: pairs_argv(ws, ws.truncated_snapshot("truncated.pkl")), how="subprocess"),
    case(PAIRS, "pickle", "overwrite-with-garbage-pickle-keeps-earlier", RUNTIME, "garbage.pkl",
         lambda ws: pairs_argv(ws, ws.file("garbage.pkl", GARBAGE), "--overwrite", result_dir=ws.pairs())),
    case(PAIRS, "exists", "result-dir-not-empty", USAGE, "--overwrite",
         lambda ws: pairs_argv(ws, result_dir=ws.pairs())),
    case(PAIRS, "disk_full", "result-dir-on-full-disk", RUNTIME, "no space left",
         lambda ws: pairs_argv(ws, result_dir=os.path.join(ws.full_disk(), "pairs"))),
    case(PAIRS, "interrupted", "sigint-mid-write", INTERRUPTED, "interrupted",
         lambda ws: pairs_argv(ws, "synthetic:perfect", n_imgs="200000", batch_size="200"), how="interrupt"),

    # --- run_metrics -----------------------------------------------------------------------------------------
    case(METRICS, "path", "network_pkl-missing", USAGE, "missing.pkl",
         lambda ws: metrics_argv(ws, pkl=ws.p("missing.pkl"))),
    case(METRICS, "path", "network_pkl-is-a-folder", USAGE, "pkl-dir",
         lambda ws: metrics_argv(ws, pkl=ws.folder("pkl_dir"))),
    case(METRICS, "path", "run_dir-missing", USAGE, "no-such-run",
         lambda ws: ["--run_dir", ws.p("no_such_run"), "--metrics", "mig"]),
    case(METRICS, "path", "run_dir-empty", USAGE, "empty-run",
         lambda ws: ["--run_dir", ws.folder("empty_run"), "--metrics", "mig"]),
    case(METRICS, "path", "run_dir-is-a-file", USAGE, "a-file",
         lambda ws: ["--run_dir", ws.file("a_file"), "--metrics", "mig"]),
    case(METRICS, "path", "result-dir-is-a-file", USAGE, "a-file",
         lambda ws: metrics_argv(ws, result_dir=ws.file("a_file"))),
    case(METRICS, "path", "result-dir-read-only", USAGE, "ro",
         lambda ws: metrics_argv(ws, result_dir=os.path.join(ws.readonly(), "scores"))),
    case(METRICS, "path", "result-dir-under-proc", USAGE, "/proc",
         lambda ws: metrics_argv(ws, result_dir="/proc/vpdis-bad-inputs-scores")),
    case(METRICS, "flag", "metrics-unknown", USAGE, "bogus", lambda ws: metrics_argv(ws, metrics="bogus")),
    case(METRICS, "flag", "metrics-empty", USAGE, "--metrics", lambda ws: metrics_argv(ws, metrics="")),
    case(METRICS, "flag", "metrics-only-commas", USAGE, "--metrics", lambda ws: metrics_argv(ws, metrics=",,")),
    case(METRICS, "flag", "gt-points-1", USAGE, "--gt-points", lambda ws: metrics_argv(ws, "--gt-points", "1")),
    case(METRICS, "flag", "vp-repeats-zero", USAGE, "repeats",
         lambda ws: metrics_argv(ws, "--vp-repeats", "0", "--vp-pairs", "40", metrics="vp_fast")),
    case(METRICS, "flag", "network_pkl-and-run_dir", USAGE, "--run-dir",
         lambda ws: metrics_argv(ws, "--run_dir", ws.root)),
    case(METRICS, "flag", "seed-not-a-number", USAGE, "--seed", lambda ws: metrics_argv(ws, "--seed", "x")),
    case(METRICS, "flag", "synthetic-without-result-dir", USAGE, "--result-dir", lambda ws: metrics_argv(ws)[:6]),
    case(METRICS, "pickle", "dict", RUNTIME, "dict.pkl",
         lambda ws: metrics_argv(ws, pkl=ws.pickle("dict.pkl", {"G": 1}))),
    case(METRICS, "pickle", "list-of-2-ints", RUNTIME, "list.pkl",
         lambda ws: metrics_argv(ws, pkl=ws.pickle("list.pkl", [1, 2]))),
    case(METRICS, "pickle", "foreign-class", RUNTIME, "foreign.pkl",
         lambda ws: metrics_argv(ws, pkl=ws.file("foreign.pkl", FOREIGN_CLASS_PICKLE))),
    case(METRICS, "pickle", "run_dir-truncated-snapshot", RUNTIME, "network-final.pkl",
         lambda ws: ["--run_dir", snapshot_run_dir(ws), "--metrics", "mig", "--gt-points", "100"], how="subprocess"),
    case(METRICS, "pickle", "garbage-pickle-keeps-earlier-results", RUNTIME, "network-final.pkl",
         lambda ws: ["--run_dir", run_dir(ws, GARBAGE, earlier=("metric-mig.json", "metric-mig.txt")), "--metrics",
                     "mig"]),
    case(METRICS, "exists", "metric-json-is-a-folder", USAGE, "metric-mig.json",
         lambda ws: metrics_argv(ws, result_dir=os.path.dirname(ws.folder("scores/metric-mig.json")))),
    case(METRICS, "disk_full", "result-dir-on-full-disk", RUNTIME, "no space left",
         lambda ws: metrics_argv(ws, result_dir=ws.full_disk())),
    case(METRICS, "interrupted", "ctrl-c-mid-metric", INTERRUPTED, "interrupted",
         lambda ws: interrupted(ws, "metrics.metric_main", "compute_metric", 1, metrics_argv(ws))),

    # --- python -m metrics.vp_metric -------------------------------------------------------------------------
    case(VP, "path", "pair_dir-missing", USAGE, "no-such-pairs", lambda ws: vp_argv(ws.p("no_such_pairs"))),
    case(VP, "path", "pair_dir-is-a-file", USAGE, "a-file", lambda ws: vp_argv(ws.file("a_file"))),
    case(VP, "path", "pair_dir-empty", USAGE, "empty-pairs", lambda ws: vp_argv(ws.folder("empty_pairs"))),
    case(VP, "path", "pair_dir-proc", USAGE, "/proc", lambda ws: vp_argv("/proc")),
    case(VP, "path", "out-under-a-file", USAGE, "a-file",
         lambda ws: vp_argv(ws.pairs(), "--out", os.path.join(ws.file("a_file"), "vp.json"))),
    case(VP, "path", "out-read-only", USAGE, "ro",
         lambda ws: vp_argv(ws.pairs(), "--out", os.path.join(ws.readonly(), "vp.json"))),
    case(VP, "path", "out-under-proc", USAGE, "/proc",
         lambda ws: vp_argv(ws.pairs(), "--out", "/proc/vpdis-bad-inputs.json")),
    case(VP, "labels", "labels-all-zero", RUNTIME, "labels.npy",
         lambda ws: vp_argv(pair_folder(ws, labels=np.zeros((12, PAIR_DIMS)))),
         how="subprocess"),
    case(VP, "labels", "labels-two-hot-entries", RUNTIME, "labels.npy",
         lambda ws: vp_argv(pair_folder(ws, labels=onehot(np.arange(12) % 4) + onehot([1] * 12)))),
    case(VP, "labels", "labels-garbage-bytes", RUNTIME, "labels.npy",
         lambda ws: vp_argv(pair_folder(ws, {"labels.npy": GARBAGE}))),
    case(VP, "labels", "labels-wrong-row-count", RUNTIME, "labels.npy",
         lambda ws: vp_argv(pair_folder(ws, labels=onehot(np.arange(11) % 4)))),
    case(VP, "labels", "latent-dim-never-varies", RUNTIME, "labels.npy",
         lambda ws: vp_argv(pair_folder(ws, labels=onehot(np.arange(12) % 3)))),
    case(VP, "labels", "labels-one-column", RUNTIME, "labels.npy",
         lambda ws: vp_argv(pair_folder(ws, labels=np.ones((12, 1))))),
    case(VP, "labels", "labels-nan", RUNTIME, "labels.npy",
         lambda ws: vp_argv(pair_folder(ws, labels=np.where(np.arange(12)[:, None] == 5, np.nan,
                                                       onehot(np.arange(12) % 4))))),
    case(VP, "labels", "labels-object-array", RUNTIME, "labels.npy",
         lambda ws: vp_argv(pair_folder(ws, {"labels.npy": np.array([{"d": 1}] * 12)}))),
    case(VP, "labels", "all-zero-labels-keep-earlier-out", RUNTIME, "labels.npy",
         lambda ws: vp_argv(pair_folder(ws, labels=np.zeros((12, PAIR_DIMS))), "--out", ws.file("vp.json", "{}"))),
    case(VP, "data", "jpeg-corrupt", RUNTIME, "pair-000003.jpg",
         lambda ws: vp_argv(pair_folder(ws, {"pair_000003.jpg": GARBAGE}))),
    case(VP, "data", "jpeg-truncated", RUNTIME, "pair-000005.jpg",
         lambda ws: vp_argv(pair_folder(ws, {"pair_000005.jpg": encoded(noise(16, 32), "JPEG", keep=0.4)}))),
    case(VP, "data", "mixed-sizes", RUNTIME, "pair-000002.jpg",
         lambda ws: vp_argv(pair_folder(ws, {"pair_000002.jpg": noise(16, 48)}))),
    case(VP, "data", "odd-width", RUNTIME, "pair-000000.jpg",
         lambda ws: vp_argv(pair_folder(ws, {"pair_%06d.jpg" % i: noise(16, 31) for i in range(12)}))),
    case(VP, "data", "numbering-gap", RUNTIME, "pair-000002.jpg",
         lambda ws: vp_argv(pair_folder(ws, {"pair_000002.jpg": None, "pair_000012.jpg": noise(16, 32)}))),
    case(VP, "flag", "repeats-zero", USAGE, "repeats", lambda ws: vp_argv(ws.pairs(), "--repeats", "0")),
    case(VP, "flag", "epochs-zero", USAGE, "epochs", lambda ws: vp_argv(ws.pairs(), "--epochs", "0")),
    case(VP, "flag", "test-ratio-above-1", USAGE, "ratio", lambda ws: vp_argv(ws.pairs(), "--test-ratio", "1.5")),
    case(VP, "flag", "val-ratio-zero", USAGE, "ratio", lambda ws: vp_argv(ws.pairs(), "--val-ratio", "0")),
    case(VP, "flag", "max-pairs-zero", USAGE, "max-pairs", lambda ws: vp_argv(ws.pairs(), "--max-pairs", "0")),
    case(VP, "flag", "max-pairs-negative", USAGE, "max-pairs", lambda ws: vp_argv(ws.pairs(), "--max-pairs", "-3")),
    case(VP, "flag", "protocol-unknown", USAGE, "--protocol", lambda ws: vp_argv(ws.pairs(), "--protocol", "quick")),
    case(VP, "flag", "lr-not-a-number", USAGE, "--lr", lambda ws: vp_argv(ws.pairs(), "--lr", "abc")),
    case(VP, "flag", "batch-size-zero", USAGE, "batch", lambda ws: vp_argv(ws.pairs(), "--batch-size", "0")),
    case(VP, "exists", "out-is-a-folder", USAGE, "--out", lambda ws: vp_argv(ws.pairs(), "--out", ws.folder("vp_dir"))),
    case(VP, "disk_full", "out-on-full-disk", RUNTIME, "no space left",
         lambda ws: vp_argv(ws.pairs(), "--out", os.path.join(ws.full_disk(), "vp.json")), how="subprocess"),
    case(VP, "interrupted", "ctrl-c-mid-training", INTERRUPTED, "interrupted",
         lambda ws: interrupted(ws, "metrics.vp_metric", "compute_vp_score", 1,
                                vp_argv(ws.pairs(), "--out", ws.p("vp.json")))),

    # --- run_correlation -------------------------------------------------------------------------------------
    case(CORR, "path", "run-dir-missing", USAGE, "no-such-run",
         lambda ws: corr_argv(ws, fake_runs(ws, 2) + [ws.p("no_such_run")])),
    case(CORR, "path", "run-dir-empty", USAGE, "empty-run",
         lambda ws: corr_argv(ws, fake_runs(ws, 2) + [ws.folder("empty_run")])),
    case(CORR, "path", "run-dir-is-a-file", USAGE, "a-file",
         lambda ws: corr_argv(ws, fake_runs(ws, 2) + [ws.file("a_file")])),
    case(CORR, "path", "out-is-a-file", USAGE, "a-file",
         lambda ws: corr_argv(ws, fake_runs(ws), out=ws.file("a_file"))),
    case(CORR, "path", "out-under-a-file", USAGE, "a-file",
         lambda ws: corr_argv(ws, fake_runs(ws), out=os.path.join(ws.file("a_file"), "corr"))),
    case(CORR, "path", "out-read-only", USAGE, "ro",
         lambda ws: corr_argv(ws, fake_runs(ws), out=os.path.join(ws.readonly(), "corr"))),
    case(CORR, "path", "out-under-proc", USAGE, "/proc",
         lambda ws: corr_argv(ws, fake_runs(ws), out="/proc/vpdis-bad-inputs-corr")),
    case(CORR, "flag", "vp-metric-unknown", USAGE, "--vp-metric",
         lambda ws: corr_argv(ws, fake_runs(ws), "--vp-metric", "vp_slow")),
    case(CORR, "flag", "gt-metrics-unknown", USAGE, "bogus",
         lambda ws: corr_argv(ws, fake_runs(ws), "--gt-metrics", "bogus")),
    case(CORR, "flag", "gt-metrics-not-ground-truth", USAGE, "--gt-metrics",
         lambda ws: corr_argv(ws, fake_runs(ws), "--gt-metrics", "vp")),
    case(CORR, "flag", "gt-metrics-empty", USAGE, "--gt-metrics",
         lambda ws: corr_argv(ws, fake_runs(ws), "--gt-metrics", "")),
    case(CORR, "flag", "vp-pairs-zero", USAGE, "--vp-pairs",
         lambda ws: corr_argv(ws, fake_runs(ws), "--vp-pairs", "0")),
    case(CORR, "flag", "out-flag-missing", USAGE, "--out", lambda ws: fake_runs(ws) + ["--gt-metrics", "mig"]),
    case(CORR, "labels", "cached-metric-json-garbage", RUNTIME, "metric-vp.json",
         lambda ws: corr_argv(ws, fake_runs(ws, **{"1_vp": "{not json"}))),
    case(CORR, "labels", "cached-metric-json-without-value", RUNTIME, "metric-mig.json",
         lambda ws: corr_argv(ws, fake_runs(ws, **{"2_mig": lambda r: {k: v for k, v in r.items() if k != "value"}}))),
    case(CORR, "labels", "garbage-json-keeps-earlier-outputs", RUNTIME, "metric-vp.json",
         lambda ws: corr_argv(ws, fake_runs(ws, **{"0_vp": "{not json"}), out=earlier_correlation(ws))),
    case(CORR, "pickle", "pickle-is-a-dict", RUNTIME, "network-final.pkl",
         lambda ws: corr_argv(ws, [run_dir(ws, pickle.dumps({"G": 1}))])),
    case(CORR, "pickle", "truncated-snapshot", RUNTIME, "network-final.pkl",
         lambda ws: corr_argv(ws, [snapshot_run_dir(ws)], "--gt-points", "100"), how="subprocess"),
    case(CORR, "exists", "out-file-is-a-folder", USAGE, "correlation.png",
         lambda ws: corr_argv(ws, fake_runs(ws), out=os.path.dirname(ws.folder("corr/correlation.png")))),
    case(CORR, "disk_full", "out-on-full-disk", RUNTIME, "no space left",
         lambda ws: corr_argv(ws, fake_runs(ws), out=os.path.join(ws.full_disk(), "corr"))),
    case(CORR, "interrupted", "ctrl-c-mid-collect", INTERRUPTED, "interrupted",
         lambda ws: interrupted(ws, "metrics.metric_main", "evaluate_pickle", 1, corr_argv(ws, [run_dir(ws, b"")]))),
]


# ----------------------------------------------------------------------------------------------
# Running a case


Result = collections.namedtuple("Result", "code stdout stderr")


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a background shell may start us with SIGINT ignored


def _forbid(what):
    def refuse(*args, **kwargs):
        raise AssertionError("%s started although the input is bad" % what)
    return refuse


def run_in_process(module_name, argv, capfd, monkeypatch):
    import dnnlib
    from metrics import vp_metric

    monkeypatch.chdir(REPO)
    monkeypatch.setattr(dnnlib, "submit_run", _forbid("training"))
    monkeypatch.setattr(vp_metric, "VarPred", _forbid("VP classifier training"))
    module = importlib.import_module(module_name)
    capfd.readouterr()
    try:
        code = module.main(argv)
    except SystemExit as exc:
        code = exc.code
        if code is not None and not isinstance(code, int):
            print(code, file=sys.stderr)
            code = 1
    except BaseException as exc:  # a bug or an unhandled Ctrl-C: shown as Python would show it
        traceback.print_exc()
        code = "uncaught %s" % type(exc).__name__
    sys.stderr.flush()
    out, err = capfd.readouterr()
    return Result(0 if code is None else code, out, err)


def run_subprocess(command, timeout=SUBPROCESS_TIMEOUT):
    proc = subprocess.run([sys.executable] + command, cwd=REPO, env=env(), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, errors="replace", timeout=timeout,
                          preexec_fn=_default_sigint)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def run_interrupted(command, ready, timeout=SUBPROCESS_TIMEOUT):
    """Start the command, send SIGINT as soon as a file matching ``ready`` exists, and wait for it to end."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable] + command, cwd=REPO, env=env(), stdout=out, stderr=err,
                                universal_newlines=True, preexec_fn=_default_sigint)
        try:
            deadline = time.time() + timeout
            while proc.poll() is None and time.time() < deadline and not any(
                    os.path.isfile(p) for p in glob.glob(ready)):
                time.sleep(0.05)
            for _ in range(6):    # again if TensorFlow's C++ code swallowed the first one (not while it exits)
                if proc.poll() is not None:
                    break
                os.kill(proc.pid, signal.SIGINT)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    pass
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        out.seek(0)
        err.seek(0)
        return Result(proc.returncode, out.read(), err.read())


def normalized(text):
    return text.lower().replace("_", "-")


# ----------------------------------------------------------------------------------------------
# Tests


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    return Fixtures(str(tmp_path_factory.mktemp("bad_inputs_fixtures")))


@pytest.fixture
def ws(tmp_path, fx, monkeypatch):
    workspace = Workspace(str(tmp_path / "ws"), fx, monkeypatch)
    os.makedirs(workspace.root)
    try:
        yield workspace
    finally:
        monkeypatch.undo()
        workspace.unmount_all()


@pytest.mark.parametrize("bad", [c if c.how == "main" else pytest.param(c, marks=pytest.mark.slow) for c in CASES],
                         ids=case_id)
def test_bad_input(bad, ws, fx, capfd, monkeypatch):
    argv = [str(a) for a in bad.setup(ws)]
    tool = bad.cli.split()[0]
    argv = bad.cli.split()[1:] + argv
    module_name, command = PROGRAMS[tool]
    before, fx_before = listing(ws.root), listing(fx.root)
    if bad.how == "main":
        result = run_in_process(module_name, argv, capfd, monkeypatch)
    elif bad.how == "subprocess":
        result = run_subprocess(command + argv)
    else:
        result = run_interrupted(command + argv, os.path.join(ws.root, bad.ready))
    changes = listing_changes(before, listing(ws.root))
    changes += ["fixture " + c for c in listing_changes(fx_before, listing(fx.root))]
    changes += ["created " + a for a in argv if a.startswith("/proc/vpdis") and os.path.lexists(a)]

    lines = [line for line in result.stderr.splitlines() if line.strip()]
    last = lines[-1].strip() if lines else ""
    problems = []
    if result.code != bad.code:
        problems.append("exit code %s, expected %s" % (result.code, bad.code))
    if normalized(bad.needle) not in normalized(last):
        problems.append("the last stderr line does not name %r" % bad.needle)
    if "Traceback" in result.stderr:
        problems.append("a traceback on stderr")
    if changes:
        problems.append("files changed: %s" % ", ".join(changes[:8]))
    assert not problems, "%s\n  command: %s %s\n  stderr tail:\n    %s" % (
        "; ".join(problems), " ".join(command), " ".join(repr(a) if " " in a or not a else a for a in argv),
        "\n    ".join(lines[-6:]) or "(empty)")


def coverage_table(cases):
    """The docstring's table: tool (dataset_tool per command) x category -> number of cases."""
    rows = []
    for c in cases:
        if c.cli not in rows:
            rows.append(c.cli)
    counts = collections.Counter((c.cli, c.category) for c in cases)
    head = ["tool"] + list(CATEGORIES) + ["all"]
    width = max(len(r) for r in rows + ["tool"])
    body = [[r] + [counts[r, k] for k in CATEGORIES] + [sum(counts[r, k] for k in CATEGORIES)] for r in rows]
    body.append(["all"] + [sum(counts[r, k] for r in rows) for k in CATEGORIES] + [len(cases)])

    def line(cells):
        numbers = ["%*s" % (len(h), v) for h, v in zip(head[1:], cells[1:])]
        return "| %s |" % " | ".join([cells[0].ljust(width)] + numbers)

    return [line(head), "|%s|" % "|".join("-" * (len(h if i else "x" * width) + 2) for i, h in enumerate(head))] + \
        [line(r) for r in body]


def test_coverage_table_is_current():
    documented = [line for line in __doc__.splitlines() if line.startswith("|")]
    expected = coverage_table(CASES)
    assert documented == expected, "the docstring's coverage table is stale; replace it with:\n" + "\n".join(expected)


def test_case_ids_are_unique_and_every_tool_is_covered():
    ids = [case_id(c) for c in CASES]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert len(CASES) >= 80
    assert {c.cli.split()[0] for c in CASES} == set(PROGRAMS)
