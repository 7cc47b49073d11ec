"""Wall time of the sprite IoU metric (metrics/sprite_iou.py): rendering and caching the grid's masks once, then
one call on samples. One JSON object per line.

    python benchmarks/bench_sprite_iou.py [--samples 1000] [--resolution 32] [--seed 0]

Samples: renders of random grid images with 1 % of their pixels flipped (so the nearest render is not found by an
exact match; the comparison costs the same for any sample). The cache is a fresh temporary folder, so the first
figure always includes the rendering. Fields: render_s (build the cache), call_s (one call with the cache),
samples, resolution, fraction_at_level and mean_iou of the samples, and the platform.
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from dnnlib import util  # noqa: E402
from metrics import sprite_iou  # noqa: E402
from training import dsprites  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    rng = np.random.RandomState(args.seed)
    index = rng.randint(dsprites.NUM_IMAGES, size=args.samples)
    masks = np.concatenate([sprite_iou.reference_masks(args.resolution, i, i + 1) for i in index]).astype(bool)
    masks ^= rng.uniform(size=masks.shape) < 0.01
    images = masks.reshape(-1, args.resolution, args.resolution).astype(np.uint8) * 255
    with tempfile.TemporaryDirectory() as cache:
        start = time.time()
        sprite_iou.cached_reference_masks(args.resolution, cache_dir=cache)
        render_s = time.time() - start
        start = time.time()
        res = sprite_iou.compute_sprite_iou(images, cache_dir=cache)
        call_s = time.time() - start
    print(json.dumps(dict(benchmark="sprite_iou", samples=args.samples, resolution=args.resolution,
                          render_s=round(render_s, 1), call_s=round(call_s, 1),
                          fraction_at_level=round(res["fraction_at_level"], 4), mean_iou=round(res["mean_iou"], 4),
                          python=platform.python_version(), tf="not used", numpy=np.__version__, cpus=os.cpu_count(),
                          machine=util.cpu_model(), loadavg_1min=round(os.getloadavg()[0], 2))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
