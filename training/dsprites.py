"""dSprites: factor grid, index formula and a procedural renderer.

dSprites (Matthey et al., DeepMind 2017) holds 737,280 binary 64x64 images, one for every combination of
six factors (storage order, most significant first):

    color        1 value   (white)
    shape        3 values  (1 square, 2 ellipse, 3 heart)
    scale        6 values  linspace(0.5, 1.0, 6)
    orientation 40 values  linspace(0, 2*pi, 40)   (both ends included: classes 0 and 39 are the same angle)
    posX        32 values  linspace(0, 1, 32)
    posY        32 values  linspace(0, 1, 32)

The image with factor classes ``c`` sits at row ``c . INDEX_BASES`` of the official arrays (posY fastest).

The renderer
------------
``render`` draws the sprites procedurally. It is an APPROXIMATION of the official rendering: DeepMind did not
publish the outlines, so the geometry below was fitted to the 320 frames of DeepMind's ``dsprites.gif`` (real
dataset images, with their factor classes; copied into ``tests/fixtures/dsprites_official``). Measured against
those frames (IoU of the foreground pixels): squares mean 0.9997 / lowest 0.989, ellipses 0.995 / 0.973,
hearts 0.989 / 0.957; ``tests/test_dsprites.py`` holds every frame to >= 0.9. The gif shows every scale at
orientation 0 and every orientation only at scale 1, so turned sprites at smaller scales are extrapolated.
Models trained on it are not trained on the official images. To use the official data, download
``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`` from DeepMind's dsprites-dataset repository and read it
with ``load_npz`` (``dataset_tool.py create_dsprites --npz PATH``; ``DSpritesData(npz_path=PATH)``).
``RENDERER_VERSION`` names this geometry; version 1 (before the fit: hearts turned about their centroid,
full-size turned squares, IoU with the official hearts ~0.69) made the datasets and figures committed before
it, which are labelled as such.

Geometry, in pixels of the 64x64 image; pixel (row i, column j) has its centre at x = j + 0.5, y = i + 0.5:

* anchor: x = 16 + 32 * posX, y = 16 + 32 * posY (pos 0 falls between pixels 15 and 16, pos 1 between 47
  and 48, so one position step is 32/31 ~ 1.03 px). posX moves the sprite along the columns (right), posY
  along the rows (down). The sprite is placed, scaled and turned about its anchor.
* size: linear in scale (areas grow with scale squared); every outline below is for scale 1.
* square: side 20 centred on the anchor (10, 12, ..., 20 px over the six scales), axis-aligned at
  orientation 0, where it is exact (400 px). Turned, the official squares are smaller (364-372 px at
  scale 1 whatever the angle, 2-5 degrees included): a pixel is on only if its centre lies at least
  ``SQUARE_ROTATED_INSET`` = 0.4 px inside every edge, which reproduces them (8 wrong pixels over the 64
  square frames) and leaves pixel-aligned edges untouched. Mean area over positions and angles: ~370 px.
* ellipse: semi-axes 12.7 * scale + 0.1 and 7.1 * scale + 0.1 px centred on the anchor (the official small
  ellipses are relatively larger: ~74 px at scale 0.5, ~290 px at scale 1), long axis horizontal at
  orientation 0.
* heart: the 24-vertex polygon ``HEART_OUTLINE`` (symmetric; two lobes with a deep notch, point down at
  orientation 0), about 19.4 px wide and 18 px high, 225 px of area. Its anchor is not its centroid: the
  centroid lies 1.99 * scale px from the anchor, away from the point (above it at orientation 0), and turns
  with the heart, as in the official frames (measured there: 0.88 ... 1.93 px over the six scales).
* orientation: the sprite turns by the angle about its anchor, counter-clockwise as displayed (row 0 at the
  top) for a positive angle. Class k is the angle 2*pi*k/39; class 39 is drawn exactly as class 0.
* rasterisation: binary, no antialiasing: a pixel is on iff its centre lies inside the (closed) outline
  (inset for turned squares, as above). The sprite reaches at most 14.2 px from its anchor (the corner of
  the square at 45 degrees), so it always stays at least one pixel away from the border of the frame.

Coinciding images: apart from orientation 39 == orientation 0 (same angle, same image, as in the official
data), the geometry is distinct for every combination, but squares repeat every 90 degrees and ellipses every
180 degrees, so angles that differ by nearly 90 (square) or 180 (ellipse) degrees give nearly the same
outline, and at small scales the rasters can coincide. The official data has the same symmetries.
Measured over the full grid (renderer version 2): 713,980 distinct images out of 737,280. 18,432 repeats are
orientation 39 == orientation 0; the other 4,868 are squares at ~90 degree steps (4,564) and ellipses at
~180 degree steps (304). No two hearts coincide, and images of different shape,
scale or position never do.

Everything here is vectorised numpy; the geometry is derived from the integer classes (not from the float
factor values) with the same operations on every platform, so one input always gives the same bytes.
"""

import math
import zipfile

import numpy as np

FACTOR_NAMES = ('color', 'shape', 'scale', 'orientation', 'posX', 'posY')
FACTOR_SIZES = (1, 3, 6, 40, 32, 32)
FACTOR_VALUES = [
    np.array([1.0]),
    np.array([1.0, 2.0, 3.0]),
    np.linspace(0.5, 1.0, 6),
    np.linspace(0.0, 2.0 * np.pi, 40),
    np.linspace(0.0, 1.0, 32),
    np.linspace(0.0, 1.0, 32),
]
NUM_IMAGES = 737280
INDEX_BASES = (737280, 245760, 40960, 1024, 32, 1)
METRIC_FACTOR_NAMES = FACTOR_NAMES[1:]
METRIC_FACTOR_SIZES = (3, 6, 40, 32, 32)  # color dropped, as disentanglement_lib does
SHAPE_NAMES = ('square', 'ellipse', 'heart')
IMAGE_SIZE = 64
NPZ_FILENAME = 'dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz'

RENDERER_VERSION = 2
RENDERER_NOTE = (
    "Procedural dSprites (renderer version %d): an APPROXIMATION of DeepMind's rendering (the official "
    "outlines were never published). Exact factor grid and index order (737,280 images, 64x64, binary); "
    "outlines fitted to the 320 frames of DeepMind's dsprites.gif (lowest IoU 0.957, mean 0.994), but pixels "
    "still differ from the official file. "
    "For the official images download %s (DeepMind's dsprites-dataset repository) and pass it with --npz "
    "(dataset_tool.py create_dsprites --npz PATH) or DSpritesData(npz_path=PATH)."
    % (RENDERER_VERSION, NPZ_FILENAME))

# ----------------------------------------------------------------------------------------------------------
# Factor grid and index formula.


def _as_classes(classes):
    classes = np.asarray(classes)
    if classes.ndim == 1:
        classes = classes[None, :]
    if classes.ndim != 2 or classes.shape[1] != len(FACTOR_SIZES):
        raise ValueError('expected factor classes of shape [N, %d] (%s), got %s'
                         % (len(FACTOR_SIZES), ', '.join(FACTOR_NAMES), classes.shape))
    if classes.dtype.kind not in 'iu':
        rounded = np.rint(classes)
        if not np.array_equal(rounded, classes):
            raise ValueError('factor classes must be integers')
        classes = rounded
    classes = classes.astype(np.int64)
    sizes = np.asarray(FACTOR_SIZES, dtype=np.int64)
    bad = (classes < 0) | (classes >= sizes[None, :])
    if bad.any():
        row, col = [int(v[0]) for v in np.nonzero(bad)]
        raise ValueError('factor %s class %d out of range [0, %d) (row %d)'
                         % (FACTOR_NAMES[col], classes[row, col], FACTOR_SIZES[col], row))
    return classes


def classes_to_index(classes):
    """Factor classes int [N, 6] -> row index int64 [N] of the official arrays (posY fastest)."""
    classes = _as_classes(classes)
    return classes.dot(np.asarray(INDEX_BASES, dtype=np.int64)).astype(np.int64)


def index_to_classes(index):
    """Row index int [N] (or a scalar) -> factor classes int64 [N, 6]. Inverse of ``classes_to_index``."""
    index = np.atleast_1d(np.asarray(index)).astype(np.int64)
    if index.ndim != 1:
        raise ValueError('expected a 1-D array of indices, got shape %s' % (index.shape,))
    if index.size and (index.min() < 0 or index.max() >= NUM_IMAGES):
        raise ValueError('dSprites index out of range [0, %d)' % NUM_IMAGES)
    out = np.empty((index.shape[0], len(FACTOR_SIZES)), dtype=np.int64)
    rest = index.copy()
    for k, base in enumerate(INDEX_BASES):
        out[:, k] = rest // base
        rest -= out[:, k] * base
    return out


def classes_to_values(classes):
    """Factor classes int [N, 6] -> factor values float64 [N, 6], like the official ``latents_values``."""
    classes = _as_classes(classes)
    out = np.empty(classes.shape, dtype=np.float64)
    for k, values in enumerate(FACTOR_VALUES):
        out[:, k] = values[classes[:, k]]
    return out


# ----------------------------------------------------------------------------------------------------------
# Outlines at scale 1, in sprite coordinates (u to the right, v down, origin at the sprite's anchor, the point
# placed at 16 + 32 * pos and about which the sprite turns). Fitted to the official frames (module docstring).

SQUARE_HALF_SIDE = 10.0
SQUARE_ROTATED_INSET = 0.40        # px: a turned square loses a 0.4-px rim (axis-aligned squares keep theirs)
ELLIPSE_SEMI_AXES = (12.7, 7.1)    # at scale 1, before the offset below
ELLIPSE_AXIS_OFFSET = 0.1          # px added to both semi-axes at every scale: (12.7 s + 0.1, 7.1 s + 0.1)

# Right half of the heart, from the notch down its right lobe to the point (u >= 0); the left half mirrors it.
# The anchor (0, 0) lies ~2 px below the centroid, towards the point: the official heart turns about it.
HEART_RIGHT_HALF = (
    (0.00, -5.51), (0.94, -7.27), (1.89, -8.35), (3.82, -9.33), (5.58, -9.29), (7.61, -8.35), (8.46, -7.43),
    (9.16, -6.30), (9.69, -4.43), (9.42, -2.51), (8.88, -1.24), (8.12, 0.15), (0.00, 8.65))
HEART_OUTLINE = HEART_RIGHT_HALF + tuple((-u, v) for u, v in HEART_RIGHT_HALF[-2:0:-1])


def _polygon_area_centroid(points):
    """Shoelace area and centroid (u, v) of a simple polygon."""
    area2 = cu = cv = 0.0
    for k in range(len(points)):
        (au, av), (bu, bv) = points[k], points[(k + 1) % len(points)]
        cross = au * bv - bu * av
        area2 += cross
        cu += (au + bu) * cross
        cv += (av + bv) * cross
    return abs(area2) / 2.0, (cu / (3.0 * area2), cv / (3.0 * area2))


HEART_AREA, HEART_CENTROID = _polygon_area_centroid(HEART_OUTLINE)    # 225.0 px, (0, -1.991) at scale 1

# Largest distance of any outline point from the anchor, at scale 1 (used to keep the sprite in frame).
MAX_RADIUS = {
    'square': SQUARE_HALF_SIDE * math.sqrt(2.0),
    'ellipse': ELLIPSE_SEMI_AXES[0] + ELLIPSE_AXIS_OFFSET / 0.5,     # the offset weighs most at scale 0.5
    'heart': max(math.hypot(u, v) for u, v in HEART_OUTLINE),
}

_WINDOW = 32          # every sprite fits a 32x32 window placed at floor(centre) - 16
_CHUNK = 4096         # images rasterised at a time

# Per-class geometry from the integer classes, with Python's math (identical across numpy versions).
_SCALES = np.array([(5.0 + k) / 10.0 for k in range(6)])
_COS = np.array([math.cos(2.0 * math.pi * (k % 39) / 39.0) for k in range(40)])
_SIN = np.array([math.sin(2.0 * math.pi * (k % 39) / 39.0) for k in range(40)])
_POS = np.array([(16.0 * 31.0 + 32.0 * k) / 31.0 for k in range(32)])   # 16 + 32 * k / 31


# ----------------------------------------------------------------------------------------------------------
# Rasterisation: a pixel is on iff its centre lies inside the outline. Only +, -, *, / and comparisons
# touch the pixel grid (no transcendental functions), so the bytes are the same on every platform.


def _to_pixels(u, v, cx, cy, c, s, scale):
    """Sprite coordinates (scalars) -> pixel coordinates [N] for each image (rotation CCW as displayed)."""
    return cx + scale * (u * c + v * s), cy + scale * (-u * s + v * c)


def _square(xs, ys, cx, cy, c, s, scale, inset):
    """Pixels whose centre lies at least ``inset`` [N] px inside every edge of the turned square."""
    h = SQUARE_HALF_SIDE
    corners = [(-h, -h), (h, -h), (h, h), (-h, h)]         # counter-clockwise in the (u right, v down) frame
    verts = [_to_pixels(u, v, cx, cy, c, s, scale) for u, v in corners]
    edge = 2.0 * h * scale                                  # edge length in pixels
    mask = None
    for k in range(4):
        (ax, ay), (bx, by) = verts[k], verts[(k + 1) % 4]
        # signed distance inside = ((b - a) x (p - a)) / |b - a|; compared as cross >= inset * |b - a|
        fx = -(by - ay)[:, None] * (xs - ax[:, None])
        fy = (bx - ax)[:, None] * (ys - ay[:, None]) - (inset * edge)[:, None]
        inside = (fx.astype(np.float32)[:, None, :] + fy.astype(np.float32)[:, :, None]) >= 0
        mask = inside if mask is None else np.logical_and(mask, inside, out=mask)
    return mask


def _ellipse(xs, ys, cx, cy, c, s, scale):
    a = ELLIPSE_SEMI_AXES[0] * scale + ELLIPSE_AXIS_OFFSET
    b = ELLIPSE_SEMI_AXES[1] * scale + ELLIPSE_AXIS_OFFSET
    # sprite coordinates u = (x-cx) c - (y-cy) s, v = (x-cx) s + (y-cy) c, normalised by the semi-axes
    dx = xs - cx[:, None]
    dy = ys - cy[:, None]
    u = ((dx * (c / a)[:, None]).astype(np.float32)[:, None, :]
         - (dy * (s / a)[:, None]).astype(np.float32)[:, :, None])
    v = ((dx * (s / b)[:, None]).astype(np.float32)[:, None, :]
         + (dy * (c / b)[:, None]).astype(np.float32)[:, :, None])
    np.multiply(u, u, out=u)
    np.multiply(v, v, out=v)
    np.add(u, v, out=u)
    return u <= 1


def _polygon(xs, ys, verts):
    """Even-odd fill of a closed polygon with pixel-space vertices [(x [N], y [N]), ...] -> bool [N, H, W].
    Per edge, the rows it crosses (half-open in y, so a vertex on a pixel row counts once) and the x of the
    crossing are computed per row; a pixel is inside iff an odd number of crossings lie to its right."""
    n, height = ys.shape
    mask = np.zeros((n, height, xs.shape[1]), dtype=bool)
    for k in range(len(verts)):
        (ax, ay), (bx, by) = verts[k], verts[(k + 1) % len(verts)]
        dy = by - ay
        flat = dy == 0                                     # horizontal edges cross no row
        slope = (bx - ax) / np.where(flat, 1.0, dy)
        crosses = (ay[:, None] > ys) != (by[:, None] > ys)                     # [N, H]
        x_cross = ax[:, None] + (ys - ay[:, None]) * slope[:, None]            # [N, H]
        mask ^= crosses[:, :, None] & (xs[:, None, :] < x_cross[:, :, None])
    return mask


def _rasterise(shape, scale, cos, sin, cx, cy, xs, ys, turned):
    """Rasterise N sprites of one shape on the pixel-centre grids xs [N, W], ys [N, H] -> bool [N, H, W].
    ``turned`` [N] bool: orientation is not 0 (only turned squares lose their rim)."""
    if shape == 0:
        return _square(xs, ys, cx, cy, cos, sin, scale, np.where(turned, SQUARE_ROTATED_INSET, 0.0))
    if shape == 1:
        return _ellipse(xs, ys, cx, cy, cos, sin, scale)
    if shape == 2:
        return _polygon(xs, ys, [_to_pixels(u, v, cx, cy, cos, sin, scale) for u, v in HEART_OUTLINE])
    raise ValueError('unknown shape class %r' % (shape,))


def _render_chunk(classes, out, canvas=None):
    """Render classes [N, 6] into out uint8 [N, 64, 64], or, with ``canvas=(size, pad)``, return a
    bool [N, size, size] canvas whose pixel (i, j) is image pixel (i - pad, j - pad) (for tests)."""
    shape_c, scale_c, orient_c = classes[:, 1], classes[:, 2], classes[:, 3]
    cx = _POS[classes[:, 4]]
    cy = _POS[classes[:, 5]]
    n = classes.shape[0]
    if canvas is None:
        x0 = np.floor(cx).astype(np.int64) - _WINDOW // 2
        y0 = np.floor(cy).astype(np.int64) - _WINDOW // 2
        grid = np.arange(_WINDOW, dtype=np.float64) + 0.5
        xs = x0[:, None] + grid[None, :]
        ys = y0[:, None] + grid[None, :]
        result = np.zeros((n, _WINDOW, _WINDOW), dtype=bool)
    else:
        size, pad = canvas
        grid = np.arange(size, dtype=np.float64) + 0.5 - pad
        xs = np.repeat(grid[None, :], n, axis=0)
        ys = xs
        result = np.zeros((n, size, size), dtype=bool)
    for shape in range(3):
        sel = np.nonzero(shape_c == shape)[0]
        if sel.size == 0:
            continue
        result[sel] = _rasterise(shape, _SCALES[scale_c[sel]], _COS[orient_c[sel]], _SIN[orient_c[sel]],
                                 cx[sel], cy[sel], xs[sel], ys[sel], orient_c[sel] % 39 != 0)
    if canvas is not None:
        return result
    # Paste each window at (y0, x0): a strided view out_w[n, y, x] is the 32x32 window of image n at (y, x).
    out[...] = 0
    span = IMAGE_SIZE - _WINDOW + 1
    st = out.strides
    windows = np.lib.stride_tricks.as_strided(
        out, shape=(n, span, span, _WINDOW, _WINDOW), strides=(st[0], st[1], st[2], st[1], st[2]))
    windows[np.arange(n), y0, x0] = result.view(np.uint8)
    return out


def render(classes, out=None, chunk_size=_CHUNK):
    """Render dSprites images procedurally (an approximation: see ``RENDERER_NOTE``).

    classes: int [N, 6] factor classes (color, shape, scale, orientation, posX, posY), any combination.
    out: optional uint8 C-contiguous array [N, 64, 64] to fill in place.
    Returns uint8 [N, 64, 64] with values in {0, 1}.
    """
    classes = _as_classes(classes)
    n = classes.shape[0]
    if out is None:
        out = np.empty((n, IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    elif (out.shape != (n, IMAGE_SIZE, IMAGE_SIZE) or out.dtype != np.uint8
          or not out.flags['C_CONTIGUOUS'] or not out.flags['WRITEABLE']):
        raise ValueError('out must be a writeable C-contiguous uint8 array of shape %s'
                         % ((n, IMAGE_SIZE, IMAGE_SIZE),))
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        _render_chunk(classes[start:stop], out[start:stop])
    return out


def render_index(index, out=None):
    """Render the images at the given row indices of the official order."""
    return render(index_to_classes(index), out=out)


def all_classes():
    """All 737,280 factor-class rows int64 [N, 6] in the official order."""
    return index_to_classes(np.arange(NUM_IMAGES, dtype=np.int64))


# ----------------------------------------------------------------------------------------------------------
# The official file.


def load_npz(path):
    """Read the official ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz``.

    Returns (imgs uint8 [N, 64, 64] in {0, 1}, classes int64 [N, 6]). Only the keys ``imgs`` and
    ``latents_classes`` are needed (``latents_values`` and ``metadata`` are not read).
    """
    required = ('imgs', 'latents_classes')
    if not zipfile.is_zipfile(path):   # before np.load: numpy < 1.19 prints a stray traceback for a broken archive
        raise ValueError('%s is not a .npz (zip) archive; it is truncated or another kind of file' % path)
    with np.load(path, allow_pickle=False) as data:
        missing = [key for key in required if key not in data.files]
        if missing:
            raise KeyError('%s is not the official dSprites npz: missing key(s) %s (has %s; expected %s)'
                           % (path, ', '.join(missing), ', '.join(sorted(data.files)) or 'nothing',
                              ', '.join(required + ('latents_values',))))
        imgs = np.asarray(data['imgs'])
        classes = np.asarray(data['latents_classes'])
    if imgs.ndim != 3 or imgs.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError('%s: imgs has shape %s, expected [N, 64, 64]' % (path, imgs.shape))
    if classes.shape != (imgs.shape[0], len(FACTOR_SIZES)):
        raise ValueError('%s: latents_classes has shape %s, expected %s'
                         % (path, classes.shape, (imgs.shape[0], len(FACTOR_SIZES))))
    return imgs.astype(np.uint8, copy=False), _as_classes(classes)
