#!/usr/bin/env python
"""Create, inspect and compare the multi-resolution TFRecord datasets used for training.

    python dataset_tool.py create_dsprites datasets/dsprites
    python dataset_tool.py create_celeba datasets/celeba128 ~/data/celeba
    python dataset_tool.py info datasets/dsprites
    python dataset_tool.py <command> --help

A dataset is a directory ``<dir>`` holding ``<name>-rNN.tfrecords`` (one file per resolution 2**NN,
down to 4x4), optional labels ``<name>-rxx.labels`` and, for the synthetic datasets, ground-truth
factors ``<name>-factors.npy`` / ``<name>-factors.json`` (``<name>`` = base name of ``<dir>``). The
format is described in training/tfrecord_export.py. Datasets are written into a temporary sibling
folder and moved into place only when complete: a failed or interrupted run leaves nothing behind.

Errors print one line on stderr and exit with status 1.
"""

import argparse
import concurrent.futures
import glob
import math
import os
import sys

import numpy as np

from dnnlib import cli
from training.factor_datasets import create_3dshapes, create_dsprites
from training.tfrecord_export import (DatasetError, DatasetNotFoundError, DatasetUsageError, TFRecordExporter,
                                      check_max_images, check_output_dir, warn)

PROG = "dataset_tool.py"
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm")
CELEBA_COUNT = 202599
CELEBA_SIZE = (178, 218)  # width, height


def _is_pow2(v):
    return v >= 1 and (v & (v - 1)) == 0


# ----------------------------------------------------------------------------------------------
# Image files


def _pil():
    try:
        import PIL.Image
    except ImportError:
        raise DatasetError("Pillow is not installed; run 'pip install pillow'")
    return PIL.Image


def _probe_image(path):
    """(width, height, mode) from the file header."""
    Image = _pil()
    try:
        with Image.open(path) as im:
            return im.size[0], im.size[1], im.mode
    except Exception as e:
        raise DatasetError("cannot read image file %s (%s); remove or replace it" % (path, cli.one_line(e) or type(e).__name__))


def _channels_of_mode(mode):
    return {"L": 1, "1": 1, "RGB": 3}.get(mode)


def _load_image(path):
    """uint8 [C, H, W] pixels of an RGB or grayscale image file."""
    Image = _pil()
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode == "1":
                im = im.convert("L")
            if im.mode not in ("L", "RGB"):
                raise DatasetError("unsupported image mode %s in %s: images must be RGB or grayscale" % (im.mode, path))
            arr = np.asarray(im, dtype=np.uint8)
    except DatasetError:
        raise
    except Exception as e:
        raise DatasetError("cannot read image file %s (%s); remove or replace it" % (path, cli.one_line(e) or type(e).__name__))
    if arr.ndim == 2:
        return arr[np.newaxis]
    return arr.transpose(2, 0, 1)


def _list_images(image_dir, extensions=IMAGE_EXTENSIONS):
    if not os.path.isdir(image_dir):
        raise DatasetNotFoundError("image folder %s does not exist" % image_dir)
    files = []
    for entry in sorted(os.listdir(image_dir)):
        if entry.startswith("."):
            continue
        path = os.path.join(image_dir, entry)
        if os.path.isfile(path) and os.path.splitext(entry)[1].lower() in extensions:
            files.append(path)
    return files


def _export_files(tfr, files, load_fn, workers=None):
    """Decode ``files`` in order with a thread pool (Pillow releases the GIL while decoding) and add
    them to the exporter in batches."""
    workers = workers or max(1, min(8, os.cpu_count() or 1))
    step = 256
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        pending = None
        for start in range(0, len(files), step):
            batch = files[start:start + step]
            future = [pool.submit(load_fn, f) for f in batch]
            if pending is not None:
                tfr.add_images(np.stack([f.result() for f in pending]))
            pending = future
        if pending is not None:
            tfr.add_images(np.stack([f.result() for f in pending]))


def _shuffled_order(n, seed=123):
    """The StyleGAN2 order: ``np.random.RandomState(seed).shuffle(np.arange(n))``."""
    order = np.arange(n)
    np.random.RandomState(seed).shuffle(order)
    return order


# ----------------------------------------------------------------------------------------------
# create_celeba


def create_celeba(tfrecord_dir, celeba_dir, cx=89, cy=121, resolution=128, max_images=None, overwrite=False,
                  progress=True):
    png_dir = os.path.join(celeba_dir, "img_align_celeba_png")
    jpg_dir = os.path.join(celeba_dir, "img_align_celeba")
    if os.path.isdir(png_dir):
        files = _list_images(png_dir, (".png",))
        src = png_dir
    elif os.path.isdir(jpg_dir):
        files = _list_images(jpg_dir, (".jpg", ".jpeg"))
        src = jpg_dir
    else:
        raise DatasetUsageError("neither img_align_celeba/ (JPEG) nor img_align_celeba_png/ (PNG) found in %s; download "
                           "the aligned and cropped CelebA images and pass their parent folder" % celeba_dir)
    if not files:
        raise DatasetUsageError("no CelebA images in %s" % src)
    if len(files) != CELEBA_COUNT:
        warn("found %d images in %s; the full aligned CelebA has %d" % (len(files), src, CELEBA_COUNT))
    if not (_is_pow2(resolution) and 4 <= resolution <= 128):
        raise DatasetUsageError("--resolution must be a power of two between 4 and 128, got %d" % resolution)
    w, h = CELEBA_SIZE
    if not (64 <= cy <= h - 64 and 64 <= cx <= w - 64):
        raise DatasetUsageError("the 128x128 crop around --cx %d --cy %d leaves the %dx%d image" % (cx, cy, w, h))
    for path in files:
        pw, ph, mode = _probe_image(path)
        if (pw, ph) != CELEBA_SIZE or mode != "RGB":
            raise DatasetError("%s is %dx%d %s; aligned CelebA images are %dx%d RGB" % (path, pw, ph, mode, w, h))

    order = _shuffled_order(len(files))
    n = check_max_images(max_images, len(files))
    chosen = [files[i] for i in order[:n]]

    def load(path):
        img = _load_image(path)
        if img.shape != (3, h, w):
            raise DatasetError("%s is %dx%d; aligned CelebA images are %dx%d RGB" % (path, img.shape[2], img.shape[1], w, h))
        return img[:, cy - 64:cy + 64, cx - 64:cx + 64]

    with TFRecordExporter(tfrecord_dir, n, overwrite=overwrite, progress=progress, resolution=resolution) as tfr:
        _export_files(tfr, chosen, load)


# ----------------------------------------------------------------------------------------------
# create_from_images


def create_from_images(tfrecord_dir, image_dir, shuffle=True, resolution=None, max_images=None, overwrite=False,
                       progress=True):
    files = _list_images(image_dir)
    if not files:
        raise DatasetUsageError("no image files (%s) in %s" % (" ".join(IMAGE_EXTENSIONS), image_dir))
    first = None
    for path in files:
        pw, ph, mode = _probe_image(path)
        channels = _channels_of_mode(mode)
        if channels is None:
            raise DatasetError("%s has image mode %s; images must be RGB or grayscale (convert it, e.g. with "
                               "PIL's Image.convert('RGB'))" % (path, mode))
        if first is None:
            first = (path, pw, ph, channels)
            if pw != ph:
                raise DatasetError("%s is %dx%d; images must be square" % (path, pw, ph))
            if resolution is None and not _is_pow2(pw):
                raise DatasetError("%s is %dx%d; the side must be a power of two (resize the images, or pass "
                                   "--resolution R with R a power of two dividing the side)" % (path, pw, ph))
            continue
        if (pw, ph) != (first[1], first[2]):
            raise DatasetError("%s is %dx%d but %s is %dx%d; all images must have the same size"
                               % (path, pw, ph, first[0], first[1], first[2]))
        if channels != first[3]:
            raise DatasetError("%s has %d channel(s) but %s has %d; all images must be RGB or all grayscale"
                               % (path, channels, first[0], first[3]))
    side = first[1]
    if resolution is not None:
        if not _is_pow2(resolution) or resolution < 4 or resolution > side or side % resolution != 0:
            raise DatasetUsageError("--resolution %d: must be a power of two >= 4 that divides the image side %d"
                               % (resolution, side))
    elif side < 4:
        raise DatasetError("%s is %dx%d; images must be at least 4x4" % (first[0], side, side))

    order = _shuffled_order(len(files)) if shuffle else np.arange(len(files))
    n = check_max_images(max_images, len(files))
    chosen = [files[i] for i in order[:n]]
    with TFRecordExporter(tfrecord_dir, n, overwrite=overwrite, progress=progress, resolution=resolution) as tfr:
        _export_files(tfr, chosen, _load_image)


# ----------------------------------------------------------------------------------------------
# display / info / compare


def _summary(tfrecord_dir):
    from training import dataset

    levels = dataset.list_tfrecord_files(tfrecord_dir)
    resolutions = sorted(levels)
    top = resolutions[-1]
    path, shape, first = levels[top]
    counts = {r: dataset.count_records(levels[r][0], levels[r][2]) for r in resolutions}
    labels = None
    label_files = sorted(glob.glob(os.path.join(glob.escape(tfrecord_dir), "*.labels")))
    if label_files:
        try:
            labels = np.load(label_files[0])
        except Exception as e:
            raise DatasetError("cannot read label file %s (%s)" % (label_files[0], cli.one_line(e)))
    factors = dataset.read_factors(tfrecord_dir)
    return dict(levels=levels, resolutions=resolutions, resolution=top, path=path, shape=shape, counts=counts,
                count=counts[top], labels=labels, label_file=label_files[0] if label_files else None, factors=factors,
                source=dataset.read_factors_source(tfrecord_dir))


def _print_summary(tfrecord_dir, s):
    print("dataset:      %s" % tfrecord_dir)
    print("resolution:   %d (files for %s)" % (s["resolution"], ", ".join(str(r) for r in s["resolutions"])))
    print("images:       %d" % s["count"])
    print("channels:     %d" % s["shape"][0])
    print("shape:        %s (C, H, W), uint8" % (s["shape"],))
    if s["labels"] is None:
        print("labels:       none")
    else:
        lab = s["labels"]
        print("labels:       %s %s (%s)" % (lab.dtype.name, list(lab.shape), os.path.basename(s["label_file"])))
    if s["factors"] is None:
        print("factors:      none")
    else:
        fac, names, sizes = s["factors"]
        print("factors:      %s, int64 %s" % (", ".join("%s(%d)" % (a, b) for a, b in zip(names, sizes)), list(fac.shape)))
        print("source:       %s" % (s.get("source") or "not recorded"))
    bad = {r: c for r, c in s["counts"].items() if c != s["count"]}
    if bad:
        warn("levels with a different image count: %s" % ", ".join("%d: %d" % kv for kv in sorted(bad.items())))
    if s["labels"] is not None and s["labels"].shape[0] != s["count"]:
        warn("%d label rows for %d images" % (s["labels"].shape[0], s["count"]))
    if s["factors"] is not None and s["factors"][0].shape[0] != s["count"]:
        warn("%d factor rows for %d images" % (s["factors"][0].shape[0], s["count"]))


def info(tfrecord_dir):
    _print_summary(tfrecord_dir, _summary(tfrecord_dir))


def display(tfrecord_dir, out=None, num=64, resolution=None):
    from training import dataset
    from dnnlib.util import OutputPathError, atomic_write, check_output_path

    if out is not None:  # before the dataset is read
        try:
            check_output_path(out, "file", "--out")
        except OutputPathError as e:
            raise DatasetUsageError(str(e))
        out_dir = os.path.dirname(os.path.abspath(out))
        if not os.path.isdir(out_dir):
            raise DatasetUsageError("folder %s for --out does not exist" % out_dir)
    s = _summary(tfrecord_dir)
    _print_summary(tfrecord_dir, s)
    if out is None:
        print("(pass --out grid.png to save a grid of the first images)")
        return
    res = s["resolution"] if resolution is None else resolution
    if res not in s["levels"]:
        raise DatasetUsageError("resolution %d is not in %s (available: %s)" % (res, tfrecord_dir,
                                                                          ", ".join(str(r) for r in s["resolutions"])))
    if num < 1:
        raise DatasetUsageError("--num must be at least 1")
    imgs = list(dataset.iterate_images(s["levels"][res][0], limit=num))
    cols = int(math.ceil(math.sqrt(len(imgs))))
    rows = int(math.ceil(len(imgs) / float(cols)))
    c = imgs[0].shape[0]
    grid = np.zeros((c, rows * res, cols * res), dtype=np.uint8)
    for k, img in enumerate(imgs):
        r, q = divmod(k, cols)
        grid[:, r * res:(r + 1) * res, q * res:(q + 1) * res] = img
    Image = _pil()
    pic = Image.fromarray(grid[0], "L") if c == 1 else Image.fromarray(grid.transpose(1, 2, 0), "RGB")
    with atomic_write(out, "wb") as f:
        pic.save(f, format="PNG")
    print("saved a grid of the first %d images (%dx%d) to %s" % (len(imgs), res, res, out))


def compare(dir_a, dir_b, ignore_labels=False):
    """Print a comparison; return True when the datasets hold the same images (and labels)."""
    from training import dataset

    sa, sb = _summary(dir_a), _summary(dir_b)
    same = True
    print("A: %s  %d images  shape %s" % (dir_a, sa["count"], sa["shape"]))
    print("B: %s  %d images  shape %s" % (dir_b, sb["count"], sb["shape"]))
    if sa["shape"] != sb["shape"]:
        print("different image shapes: %s vs %s" % (sa["shape"], sb["shape"]))
        return False
    if sa["count"] != sb["count"]:
        print("different image counts: %d vs %d" % (sa["count"], sb["count"]))
        same = False
    identical = differing = 0
    first_diff = None
    for k, (a, b) in enumerate(zip(dataset.iterate_images(sa["path"]), dataset.iterate_images(sb["path"]))):
        if np.array_equal(a, b):
            identical += 1
        else:
            differing += 1
            if first_diff is None:
                first_diff = k
    print("images: %d identical, %d differing%s" % (identical, differing,
                                                    "" if first_diff is None else " (first at index %d)" % first_diff))
    same = same and differing == 0
    if not ignore_labels:
        la, lb = sa["labels"], sb["labels"]
        if (la is None) != (lb is None):
            print("labels: only %s has labels" % ("A" if la is not None else "B"))
            same = False
        elif la is not None:
            if la.shape != lb.shape:
                print("labels: shapes differ: %s vs %s" % (list(la.shape), list(lb.shape)))
                same = False
            else:
                rows = int(np.sum(np.any(la != lb, axis=1))) if la.ndim == 2 else int(np.sum(la != lb))
                print("labels: %d rows identical, %d differing" % (la.shape[0] - rows, rows))
                same = same and rows == 0
        fa, fb = sa["factors"], sb["factors"]
        if (fa is None) != (fb is None):
            print("factors: only %s has factors" % ("A" if fa is not None else "B"))
            same = False
        elif fa is not None:
            ok = fa[1] == fb[1] and fa[2] == fb[2] and fa[0].shape == fb[0].shape and np.array_equal(fa[0], fb[0])
            print("factors: %s" % ("identical" if ok else "differ"))
            same = same and ok
    print("datasets are %s" % ("identical" if same else "different"))
    return same


# ----------------------------------------------------------------------------------------------
# Command line


class _Parser(cli.ArgumentParser):
    """argparse with one-line errors and exit status 2 (usage)."""

    def error(self, message):
        self.exit(cli.EXIT_USAGE, "%s: error: %s (see %s --help)\n" % (self.prog, cli.one_line(message), self.prog.split()[0]))


def _int01(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected 0 or 1, got %r" % text)
    if v not in (0, 1):
        raise argparse.ArgumentTypeError("expected 0 or 1, got %r" % text)
    return v


def build_parser():
    from training import dsprites

    parser = _Parser(prog=PROG, description=__doc__.split("\n\n")[0].strip(),
                     formatter_class=argparse.RawDescriptionHelpFormatter,
                     epilog="Run '%s <command> --help' for the options of a command." % PROG)
    sub = parser.add_subparsers(dest="command", metavar="<command>", title="commands", parser_class=_Parser)
    sub.required = True
    fmt = argparse.RawDescriptionHelpFormatter

    def add(name, help_text, description=None):
        p = sub.add_parser(name, help=help_text, description=description or help_text, formatter_class=fmt)
        return p

    def add_common(p):
        p.add_argument("--overwrite", action="store_true",
                       help="replace an existing non-empty tfrecord_dir (only once the new dataset is complete)")
        p.add_argument("--progress", type=_int01, default=1, metavar="0|1", help="print progress to stdout (default 1)")
        p.add_argument("--quiet", dest="progress", action="store_const", const=0, help="no progress bar (= --progress 0)")

    p = add("create_celeba", "Create a 128x128 (or smaller) dataset from aligned CelebA.",
            "Create a dataset from aligned and cropped CelebA (178x218 images), as StyleGAN2/VP-GAN:\n"
            "read celeba_dir/img_align_celeba_png/*.png (preferred) or celeba_dir/img_align_celeba/*.jpg, sorted\n"
            "by name; crop rows [cy-64, cy+64) x cols [cx-64, cx+64) -> 128x128; order shuffled with\n"
            "np.random.RandomState(123). --resolution 64 box-averages the crop 2x2 (in float, before rounding).")
    p.add_argument("tfrecord_dir", help="output dataset directory (created)")
    p.add_argument("celeba_dir", help="folder containing img_align_celeba/ or img_align_celeba_png/")
    p.add_argument("--cx", type=int, default=89, help="crop centre column (default 89)")
    p.add_argument("--cy", type=int, default=121, help="crop centre row (default 121)")
    p.add_argument("--resolution", type=int, default=128, help="output resolution, 128 or a smaller power of two "
                   "(default 128)")
    p.add_argument("--max_images", type=int, default=None, metavar="N", help="keep only the first N images of the shuffled order")
    add_common(p)

    p = add("create_from_images", "Create a dataset from a folder of square images.",
            "Create a dataset from a folder of image files (%s): all square, one size, RGB or grayscale,\n"
            "side a power of two (or divisible by --resolution). Sorted by name, then shuffled with\n"
            "np.random.RandomState(123) unless --shuffle 0." % " ".join(IMAGE_EXTENSIONS))
    p.add_argument("tfrecord_dir", help="output dataset directory (created)")
    p.add_argument("image_dir", help="folder of images (not searched recursively)")
    p.add_argument("--shuffle", type=_int01, default=1, metavar="0|1", help="shuffle the order (default 1)")
    p.add_argument("--resolution", type=int, default=None,
                   help="box-average the images down to this power-of-two resolution")
    p.add_argument("--max_images", type=int, default=None, metavar="N", help="keep only the first N images (after shuffling)")
    add_common(p)

    p = add("create_dsprites", "Create the dSprites dataset (procedural renderer, or the official npz).",
            "Create dSprites: 64x64 images stored as 1 channel with values 0/255, all 737,280 factor\n"
            "combinations (or a seeded random subset with --max_images), ground-truth factors kept.\n\n"
            "Without --npz the images come from the procedural renderer in training/dsprites.py:\n  "
            + "\n  ".join(_wrap(dsprites.RENDERER_NOTE, 96)) + "\n\n"
            "Factors: <name>-factors.npy holds int64 [N, 6] classes in the official latents_classes column\n"
            "order color(1), shape(3), scale(6), orientation(40), posX(32), posY(32), one row per image in\n"
            "tfrecord order; color is constant, the metrics use the last five columns.\n"
            "Labels: none (default); shape = one-hot of the shape class (3 columns); factors = the six factor\n"
            "classes as float32 (the original code's latents_classes labels).")
    p.add_argument("tfrecord_dir", help="output dataset directory (created)")
    p.add_argument("--npz", default=None, metavar="FILE", help="read the official %s instead of rendering"
                   % dsprites.NPZ_FILENAME)
    p.add_argument("--max_images", type=int, default=None, metavar="N", help="random subset of N images (seeded by --seed)")
    p.add_argument("--seed", type=int, default=123, help="seed of the subset and the shuffle (default 123)")
    p.add_argument("--labels", choices=["none", "shape", "factors"], default="none", help="labels to store "
                   "(default none)")
    p.add_argument("--shuffle", type=_int01, default=1, metavar="0|1",
                   help="shuffle the order (default 1); 0 keeps the official index order")
    add_common(p)

    p = add("create_3dshapes", "Create the 3DShapes dataset from the official 3dshapes.h5.",
            "Create 3DShapes (64x64 RGB) from 3dshapes.h5 ('images' (N, 64, 64, 3) uint8, 'labels' (N, 6) float64;\n"
            "needs h5py). Ground-truth factors are stored as int64 classes [N, 6]: floor_hue(10), wall_hue(10),\n"
            "object_hue(10), scale(8), shape(4), orientation(15), one row per image in tfrecord order.")
    p.add_argument("tfrecord_dir", help="output dataset directory (created)")
    p.add_argument("h5_file", help="path of 3dshapes.h5")
    p.add_argument("--max_images", type=int, default=None, metavar="N", help="random subset of N images (seeded by --seed)")
    p.add_argument("--seed", type=int, default=123, help="seed of the subset and the shuffle (default 123)")
    p.add_argument("--shuffle", type=_int01, default=1, metavar="0|1", help="shuffle the order (default 1)")
    add_common(p)

    p = add("display", "Print a summary of a dataset and save a PNG grid of its first images.")
    p.add_argument("tfrecord_dir", help="dataset directory")
    p.add_argument("--out", default=None, metavar="PNG", help="where to save the grid (no file without it)")
    p.add_argument("--num", type=int, default=64, help="number of images in the grid (default 64)")
    p.add_argument("--resolution", type=int, default=None, help="which level to show (default the largest)")

    p = add("info", "Print resolution, image count, channels, labels and factors of a dataset.")
    p.add_argument("tfrecord_dir", help="dataset directory")

    p = add("compare", "Compare the images (and labels, factors) of two datasets.",
            "Compare the images (largest resolution), labels and factors of two datasets record by record.\n"
            "Exit status 0 when they are identical, 3 when they differ (1 and 2 are errors, as for every tool).")
    p.add_argument("tfrecord_dir_a", help="first dataset directory")
    p.add_argument("tfrecord_dir_b", help="second dataset directory")
    p.add_argument("--ignore_labels", type=_int01, default=0, metavar="0|1", help="skip labels and factors (default 0)")
    return parser


def _wrap(text, width):
    lines, cur = [], ""
    for word in text.split():
        if cur and len(cur) + 1 + len(word) > width:
            lines.append(cur)
            cur = word
        else:
            cur = word if not cur else cur + " " + word
    if cur:
        lines.append(cur)
    return lines


def run_command(args):
    cmd = args.command
    if cmd.startswith("create_"):  # the output folder first: no images read or rendered for a bad one
        check_output_dir(args.tfrecord_dir, args.overwrite)
    if cmd == "create_celeba":
        create_celeba(args.tfrecord_dir, args.celeba_dir, cx=args.cx, cy=args.cy, resolution=args.resolution,
                      max_images=args.max_images, overwrite=args.overwrite, progress=bool(args.progress))
    elif cmd == "create_from_images":
        create_from_images(args.tfrecord_dir, args.image_dir, shuffle=bool(args.shuffle), resolution=args.resolution,
                           max_images=args.max_images, overwrite=args.overwrite, progress=bool(args.progress))
    elif cmd == "create_dsprites":
        create_dsprites(args.tfrecord_dir, npz=args.npz, max_images=args.max_images, seed=args.seed,
                        labels=args.labels, shuffle=bool(args.shuffle), overwrite=args.overwrite,
                        progress=bool(args.progress))
    elif cmd == "create_3dshapes":
        create_3dshapes(args.tfrecord_dir, args.h5_file, max_images=args.max_images, seed=args.seed,
                        shuffle=bool(args.shuffle), overwrite=args.overwrite, progress=bool(args.progress))
    elif cmd == "display":
        display(args.tfrecord_dir, out=args.out, num=args.num, resolution=args.resolution)
    elif cmd == "info":
        info(args.tfrecord_dir)
    elif cmd == "compare":
        if not compare(args.tfrecord_dir_a, args.tfrecord_dir_b, ignore_labels=bool(args.ignore_labels)):
            return cli.EXIT_RESULT
    return 0


def main(argv=None):
    """Exit status as in dnnlib/cli.py: 2 usage, 1 unreadable input or disk/permission trouble, 3 compare found
    differences; a failed create leaves no dataset (nor a half-written one) behind."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return run_command(args)
    except KeyboardInterrupt:
        sys.stdout.flush()
        print("%s %s: interrupted; no dataset was written" % (PROG, args.command), file=sys.stderr)
        return cli.EXIT_INTERRUPTED
    except Exception as e:
        return cli.report(e, prog="%s %s" % (PROG, args.command))


if __name__ == "__main__":
    sys.exit(main())
