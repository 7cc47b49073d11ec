"""Sprite IoU: does a dSprites generator draw sprites? Each sample's IoU with its nearest procedural render.

A sample (grey uint8) is binarised at 128. The references are all 737,280 images of the dSprites grid rendered by
training/dsprites.py, box-averaged to the sample's resolution as the dataset's lower resolutions are
(training/tfrecord_export.py) and binarised at half coverage, the same cut as 128 of 255. IoU = |A and B| /
|A or B| over foreground pixels; a sample's nearest render is the one of highest IoU (the first in the official
order on ties); an empty sample has IoU 0. The score is the fraction of samples at or above an IoU level (0.8:
"80 % of 1,000 samples at IoU >= 0.8" is the bar a GAN must clear to count as drawing sprites). The factor
classes of the nearest renders show which part of the grid the samples cover (e.g. only squares).

Cost: the grid's masks at a resolution are rendered once and cached (bit-packed, 94 MB at 32x32, in
``<cache>/sprite-iou/``, cache = ``$VPDIS_CACHE_DIR`` or ``~/.cache/vpdis/downloads``, keyed by the renderer
version); every call then compares its samples with all of them (exact float32 products of 0/1 masks, 4,096
renders at a time).
"""

import os

import numpy as np
from tqdm import tqdm

from dnnlib import util
from training import dsprites

IOU_LEVEL = 0.8
RENDER_CHUNK = 4096


def reference_masks(resolution, start, stop):
    """Renders ``start`` .. ``stop`` - 1 of the official order at ``resolution`` (a power of two <= 64), binarised:
    float32 [stop - start, resolution * resolution] of 0 / 1."""
    factor = dsprites.IMAGE_SIZE // resolution
    images = dsprites.render_index(np.arange(start, stop, dtype=np.int64)).astype(np.float32)
    n = images.shape[0]
    coverage = images.reshape(n, resolution, factor, resolution, factor).mean(axis=(2, 4))
    return (coverage >= 0.5).astype(np.float32).reshape(n, -1)


def cached_reference_masks(resolution, cache_dir=None, progress=False):
    """Bit-packed masks of the whole grid at ``resolution``: uint8 [NUM_IMAGES, resolution**2 / 8] (np.packbits of
    ``reference_masks`` rows), rendered on first use and kept in ``cache_dir`` (default: the download cache)."""
    cache_dir = cache_dir or os.path.join(util.get_default_cache_dir(), "sprite-iou")
    path = os.path.join(cache_dir, "dsprites-v%d-%dpx-%d.npy" % (dsprites.RENDERER_VERSION, resolution,
                                                                  dsprites.NUM_IMAGES))
    if os.path.exists(path):
        try:
            packed = np.load(path)
        except (ValueError, OSError, EOFError):      # a damaged file: rendered again below
            packed = None
        if (packed is not None and packed.dtype == np.uint8
                and packed.shape == (dsprites.NUM_IMAGES, -(-resolution * resolution // 8))):
            return packed
    os.makedirs(cache_dir, exist_ok=True)
    with util.atomic_write(path, "wb") as f:         # opened first: an unwritable cache fails before rendering
        packed = np.concatenate([
            np.packbits(reference_masks(resolution, start, min(start + RENDER_CHUNK, dsprites.NUM_IMAGES)).astype(bool),
                        axis=1)
            for start in tqdm(range(0, dsprites.NUM_IMAGES, RENDER_CHUNK), desc="rendering the grid", unit="chunk",
                              disable=not progress)])
        np.save(f, packed)
    return packed


def nearest_renders(masks, progress=False, cache_dir=None):
    """Bool [N, R, R] sample masks -> (iou float64 [N], index int64 [N] of the nearest render in the official order;
    -1 where no render overlaps the sample, IoU 0)."""
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim != 3 or masks.shape[1] != masks.shape[2]:
        raise ValueError("sample masks must be [N, R, R], got shape %s" % (masks.shape,))
    resolution = masks.shape[1]
    if resolution > dsprites.IMAGE_SIZE or resolution < 1 or dsprites.IMAGE_SIZE % resolution:
        raise ValueError("sprite IoU needs a resolution dividing %d (64, 32, 16, ...), got %d"
                         % (dsprites.IMAGE_SIZE, resolution))
    n = masks.shape[0]
    flat = masks.reshape(n, -1).astype(np.float32)
    area = flat.sum(axis=1)
    best_iou = np.zeros(n, np.float64)
    best_index = np.full(n, -1, np.int64)
    rows = np.arange(n)
    packed = cached_reference_masks(resolution, cache_dir, progress)
    pixels = resolution * resolution
    for start in tqdm(range(0, dsprites.NUM_IMAGES, RENDER_CHUNK), desc="renders", unit="chunk", disable=not progress):
        stop = min(start + RENDER_CHUNK, dsprites.NUM_IMAGES)
        ref = np.unpackbits(packed[start:stop], axis=1, count=pixels).astype(np.float32)
        inter = flat @ ref.T                               # integers < 2^24: exact in float32
        union = area[:, None] + ref.sum(axis=1)[None, :] - inter
        iou = inter.astype(np.float64) / np.maximum(union, 1.0)   # float64: a ratio exactly at a level is at it
        k = iou.argmax(axis=1)
        value = iou[rows, k]
        better = value > best_iou                          # strict: the earlier render keeps a tie
        best_iou[better] = value[better]
        best_index[better] = start + k[better]
    return best_iou, best_index


def compute_sprite_iou(images, iou_level=IOU_LEVEL, progress=False, cache_dir=None):
    """Sprite IoU of grey samples uint8 [N, H, W] (or [N, H, W, 1]). Returns a dict: ``fraction_at_level`` (samples
    with IoU >= ``iou_level``), mean / median / quantiles of the IoU, and the nearest renders' shape and scale
    histograms (over the samples that overlap some render, and over those at the level)."""
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[3] == 1:
        images = images[..., 0]
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError("sprite IoU scores grey uint8 images [N, H, W], got %s %s" % (images.dtype, images.shape))
    if images.shape[0] == 0:
        raise ValueError("sprite IoU needs at least one sample")
    masks = images >= 128
    iou, index = nearest_renders(masks, progress=progress, cache_dir=cache_dir)
    matched = index >= 0
    classes = np.zeros((len(index), len(dsprites.FACTOR_NAMES)), np.int64)
    classes[matched] = dsprites.index_to_classes(index[matched])
    good = iou >= iou_level

    def histogram(factor, selected):
        column = dsprites.FACTOR_NAMES.index(factor)
        return np.bincount(classes[selected & matched, column], minlength=dsprites.FACTOR_SIZES[column]).tolist()

    return dict(
        fraction_at_level=float(good.mean()), iou_level=float(iou_level), num_samples=int(iou.size),
        resolution=int(images.shape[1]), mean_iou=float(iou.mean()), median_iou=float(np.median(iou)),
        iou_quantiles={str(q): float(np.quantile(iou, q)) for q in (0.1, 0.25, 0.5, 0.75, 0.9)},
        empty_samples=int((~masks.reshape(len(masks), -1).any(axis=1)).sum()),
        unmatched_samples=int((~matched).sum()),
        nearest_shape_counts=histogram("shape", matched), nearest_scale_counts=histogram("scale", matched),
        shape_counts_at_level=histogram("shape", good), iou=iou.tolist(), nearest_index=index.tolist(),
    )
