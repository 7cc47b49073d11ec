"""The procedural dSprites renderer against the 320 official frames of DeepMind's dsprites.gif.

    python experiments/dsprites_renderer/compare.py      # -> results/v2_frames.csv, results/v2_summary.json
    # an earlier renderer, e.g. version 1 (before the fit):
    git show 190d81c:training/dsprites.py > /tmp/dsprites_v1.py
    python experiments/dsprites_renderer/compare.py --renderer /tmp/dsprites_v1.py --name v1

Foreground = grayscale >= 128 in the gif; IoU of the foreground pixels, frame by frame, at the frame's factor
classes (tests/fixtures/dsprites_official/frames_factors.csv).
"""

import csv
import json
import os
import sys

import numpy as np
from PIL import Image, ImageSequence

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)

from dnnlib.util import atomic_write  # noqa: E402
from training import dsprites  # noqa: E402

FIXTURE = os.path.join(ROOT, "tests", "fixtures", "dsprites_official")


def official_frames():
    with Image.open(os.path.join(FIXTURE, "dsprites.gif")) as gif:
        frames = np.stack([np.asarray(f.convert("L")) >= 128 for f in ImageSequence.Iterator(gif)])
    with open(os.path.join(FIXTURE, "frames_factors.csv")) as f:
        rows = list(csv.DictReader(f))
    classes = np.array([[0] + [int(r[k]) for k in ("shape", "scale", "orientation", "posX", "posY")] for r in rows],
                       dtype=np.int64)
    return frames, classes


def frame_iou(frames, renders):
    """Foreground IoU per frame of two bool/0-1 arrays [N, H, W] -> float [N]."""
    a, b = frames.reshape(len(frames), -1).astype(bool), renders.reshape(len(renders), -1).astype(bool)
    return (a & b).sum(axis=1) / (a | b).sum(axis=1)


def main(argv=None):
    import argparse
    import importlib.util

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--renderer", help="a dsprites.py to compare instead of training/dsprites.py")
    parser.add_argument("--name", help="results/<name>_*.{csv,json} (default: v<RENDERER_VERSION>)")
    args = parser.parse_args(argv)
    module = dsprites
    if args.renderer:
        spec = importlib.util.spec_from_file_location("dsprites_under_test", args.renderer)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    version = getattr(module, "RENDERER_VERSION", 1)
    name = args.name or "v%d" % version
    frames, classes = official_frames()
    ours = module.render(classes).astype(bool)
    iou = frame_iou(frames, ours)
    out_dir = os.path.join(HERE, "results")
    os.makedirs(out_dir, exist_ok=True)
    with atomic_write(os.path.join(out_dir, "%s_frames.csv" % name), "w") as f:
        f.write("frame,shape,scale,orientation,posX,posY,official_px,ours_px,iou\n")
        for k, c in enumerate(classes):
            f.write("%d,%s,%d,%d,%d,%d,%d,%d,%.4f\n" % (k, dsprites.SHAPE_NAMES[c[1]], c[2], c[3], c[4], c[5],
                                                         frames[k].sum(), ours[k].sum(), iou[k]))
    summary = dict(renderer_version=version, frames=int(len(frames)),
                   mean_iou=round(float(iou.mean()), 4), lowest_iou=round(float(iou.min()), 4),
                   lowest_frame=int(iou.argmin()), per_shape={})
    for s, shape in enumerate(dsprites.SHAPE_NAMES):
        sel = classes[:, 1] == s
        summary["per_shape"][shape] = dict(frames=int(sel.sum()), mean_iou=round(float(iou[sel].mean()), 4),
                                          lowest_iou=round(float(iou[sel].min()), 4))
    with atomic_write(os.path.join(out_dir, "%s_summary.json" % name), "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)
        f.write("\n")
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
