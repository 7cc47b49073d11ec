#!/usr/bin/env python
"""Throughput of dataset_tool.py: images/s for create_dsprites and create_from_images.

    python benchmarks/bench_dataset_tool.py [--dsprites_images 400000] [--folder_images 20000]
                                            [--workdir DIR] [--keep 0]

Prints one JSON object per line:
  * ``dsprites_render``: the procedural renderer alone (training/dsprites.py);
  * ``create_dsprites``: the whole command (render + 2x2 pyramid + encode + write all 6 levels +
    factors), with the time extrapolated to the full 737,280 images (goal: <= 300 s on 2 cores);
  * ``create_from_images``: 64x64 RGB PNG files (written beforehand, not timed) -> dataset.
The subset sizes are chosen so that each timed step takes roughly 10-60 s on a 2-core machine.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import dataset_tool  # noqa: E402
from training import dsprites  # noqa: E402


def _emit(**kwargs):
    kwargs.setdefault("cpus", os.cpu_count())
    kwargs.setdefault("python", "%d.%d" % sys.version_info[:2])
    print(json.dumps(kwargs, sort_keys=True))
    sys.stdout.flush()


def _dir_bytes(path):
    return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsprites_images", type=int, default=400000)
    parser.add_argument("--folder_images", type=int, default=20000)
    parser.add_argument("--workdir", default=None, help="where to write (default: a temporary folder)")
    parser.add_argument("--keep", type=int, default=0, help="keep the datasets written (default 0)")
    args = parser.parse_args()

    from dnnlib.tflib.compat import tf, TF_VERSION  # noqa: F401  (import TF before timing)

    work = tempfile.mkdtemp(prefix="bench_dataset_tool-", dir=args.workdir)
    try:
        # Renderer alone.
        n = min(args.dsprites_images, dsprites.NUM_IMAGES)
        idx = np.random.RandomState(0).choice(dsprites.NUM_IMAGES, n, replace=False)
        classes = dsprites.index_to_classes(idx)
        t0 = time.time()
        dsprites.render(classes)
        dt = time.time() - t0
        _emit(bench="dsprites_render", images=n, seconds=round(dt, 3), img_per_s=round(n / dt, 1),
              tf=TF_VERSION)

        # create_dsprites end to end.
        out = os.path.join(work, "dsprites")
        t0 = time.time()
        dataset_tool.create_dsprites(out, max_images=n, seed=123, labels="none", progress=False)
        dt = time.time() - t0
        rate = n / dt
        full = dsprites.NUM_IMAGES / rate
        _emit(bench="create_dsprites", images=n, seconds=round(dt, 3), img_per_s=round(rate, 1),
              bytes_written=_dir_bytes(out), extrapolated_full_737280_s=round(full, 1),
              goal_full_s=300, meets_goal=bool(full <= 300), tf=TF_VERSION)
        shutil.rmtree(out) if not args.keep else None

        # create_from_images on 64x64 RGB PNG files.
        from PIL import Image

        src = os.path.join(work, "images")
        os.makedirs(src)
        rng = np.random.RandomState(1)
        base = (rng.rand(64, 64, 3) * 255).astype(np.uint8)
        for k in range(args.folder_images):
            img = np.roll(base, k % 64, axis=0) ^ np.uint8(k % 251)
            Image.fromarray(img).save(os.path.join(src, "%06d.png" % k))
        out = os.path.join(work, "folder")
        t0 = time.time()
        dataset_tool.create_from_images(out, src, shuffle=True, progress=False)
        dt = time.time() - t0
        _emit(bench="create_from_images", images=args.folder_images, size="64x64x3 png", seconds=round(dt, 3),
              img_per_s=round(args.folder_images / dt, 1), tf=TF_VERSION)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("kept %s" % work, file=sys.stderr)


if __name__ == "__main__":
    main()
