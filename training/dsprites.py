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
publish the outlines, so the geometry below was fitted to figures measured from real dataset frames (see
``RENDERER_NOTE``). Models trained on it are not trained on the official images. To use the official data,
download ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`` from DeepMind's dsprites-dataset repository and
read it with ``load_npz`` (``dataset_tool.py create_dsprites --npz PATH``; ``DSpritesData(npz_path=PATH)``).

Geometry, in pixels of the 64x64 image; pixel (row i, column j) has its centre at x = j + 0.5, y = i + 0.5:

* centre: x = 16 + 32 * posX, y = 16 + 32 * posY (pos 0 falls between pixels 15 and 16, pos 1 between 47
  and 48, so one position step is 32/31 ~ 1.03 px). posX moves the sprite along the columns (right),
  posY along the rows (down).
* size: linear in scale (areas grow with scale squared); every outline below is for scale 1.
* square: side 20 (10, 12, ..., 20 px over the six scales), axis-aligned at orientation 0; ~400 px.
* ellipse: semi-axes 13.1 x 7 (about 26 x 14 px), long axis horizontal at orientation 0; ~288 px.
* heart: two discs of radius 5.25 whose centres are 9.5 apart, joined to a point by their outer tangents;
  20 px wide, 17 px high, point down at orientation 0; ~224 px. It is centred on its centroid.
* orientation: the sprite turns by the angle about its centre, counter-clockwise as displayed (row 0 at the
  top) for a positive angle. Class k is the angle 2*pi*k/39; class 39 is drawn exactly as class 0.
* rasterisation: binary, no antialiasing: a pixel is on iff its centre lies inside the (closed) outline.
  The sprite reaches at most 14.2 px from its centre (the corner of the square at 45 degrees), so it always
  stays at least one pixel away from the border of the frame.

Coinciding images: apart from orientation 39 == orientation 0 (same angle, same image, as in the official
data), the geometry is distinct for every combination, but squares repeat every 90 degrees and ellipses every
180 degrees, so angles that differ by nearly 90 (square) or 180 (ellipse) degrees give nearly the same
outline, and at small scales the rasters can coincide. The official data has the same symmetries.
Measured over the full grid: 713,108 distinct images out of 737,280. 18,432 repeats are orientation 39 ==
orientation 0; the other 5,740 are squares at ~90 degree steps, ellipses at ~180 degree steps (small scales
mostly) and 24 pairs of hearts at scale 0.5 / 0.6 with neighbouring orientations (a 10-px heart turned by
9.2 degrees can rasterise to the same pixels). Images of different shape, scale or position never coincide.

Everything here is vectorised numpy; the geometry is derived from the integer classes (not from the float
factor values) with the same operations on every platform, so one input always gives the same bytes.
"""

import math

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

RENDERER_NOTE = (
    "Procedural dSprites: an APPROXIMATION of DeepMind's rendering (the official outlines were never "
    "published). Exact factor grid and index order (737,280 images, 64x64, binary); sizes, positions and "
    "shapes fitted to measurements of real dSprites frames, but pixels differ from the official file. "
    "For the official images download %s (DeepMind's dsprites-dataset repository) and pass it with --npz "
    "(dataset_tool.py create_dsprites --npz PATH) or DSpritesData(npz_path=PATH)." % NPZ_FILENAME)

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
# Outlines at scale 1, in sprite coordinates (u to the right, v down, origin at the sprite's centre).

SQUARE_HALF_SIDE = 10.0
ELLIPSE_SEMI_AXES = (13.1, 7.0)

HEART_RADIUS = 5.25            # radius of the two lobes
HEART_LOBE_OFFSET = 4.75       # horizontal distance of each lobe centre from the axis (width 2*(4.75+5.25) = 20)
HEART_HEIGHT = 17.0            # from the top of the lobes to the point
HEART_CENTROID_V = 1.658       # centroid below the lobe centres (measured on a fine grid, fixed by definition)


def _heart_outline():
    """Lobe discs and the two triangles (point, outer and inner tangent points) in sprite coordinates."""
    lobe_v = -HEART_CENTROID_V
    point = (0.0, HEART_HEIGHT - HEART_RADIUS - HEART_CENTROID_V)
    discs = []
    triangles = []
    for side in (-1.0, 1.0):
        centre = (side * HEART_LOBE_OFFSET, lobe_v)
        discs.append(centre)
        du, dv = point[0] - centre[0], point[1] - centre[1]
        half_angle = math.acos(HEART_RADIUS / math.hypot(du, dv))
        base = math.atan2(dv, du)
        tangent_points = [(centre[0] + HEART_RADIUS * math.cos(base + s * half_angle),
                           centre[1] + HEART_RADIUS * math.sin(base + s * half_angle)) for s in (1.0, -1.0)]
        triangles.append([point] + tangent_points)
    return tuple(discs), tuple(triangles), point


HEART_DISCS, HEART_TRIANGLES, HEART_POINT = _heart_outline()

# Largest distance of any outline point from the sprite centre, at scale 1 (used to keep the sprite in frame).
MAX_RADIUS = {
    'square': SQUARE_HALF_SIDE * math.sqrt(2.0),
    'ellipse': max(ELLIPSE_SEMI_AXES),
    'heart': max(math.hypot(*HEART_DISCS[0]) + HEART_RADIUS, abs(HEART_POINT[1])),
}

_WINDOW = 32          # every sprite fits a 32x32 window placed at floor(centre) - 16
_CHUNK = 4096         # images rasterised at a time

# Per-class geometry from the integer classes, with Python's math (identical across numpy versions).
_SCALES = np.array([(5.0 + k) / 10.0 for k in range(6)])
_COS = np.array([math.cos(2.0 * math.pi * (k % 39) / 39.0) for k in range(40)])
_SIN = np.array([math.sin(2.0 * math.pi * (k % 39) / 39.0) for k in range(40)])
_POS = np.array([(16.0 * 31.0 + 32.0 * k) / 31.0 for k in range(32)])   # 16 + 32 * k / 31


# ----------------------------------------------------------------------------------------------------------
# Rasterisation. Every test is separable: f(x_j) + g(y_i) compared with a threshold, except the ellipse.


def _to_pixels(u, v, cx, cy, c, s, scale):
    """Sprite coordinates (scalars) -> pixel coordinates [N] for each image (rotation CCW as displayed)."""
    return cx + scale * (u * c + v * s), cy + scale * (-u * s + v * c)


def _disc(xs, ys, px, py, radius):
    """Pixels of [N, H, W] whose centre is within ``radius`` [N] of (px, py) [N]."""
    dx = (xs - px[:, None]) ** 2
    dy = (ys - py[:, None]) ** 2 - (radius ** 2)[:, None]
    return (dx.astype(np.float32)[:, None, :] + dy.astype(np.float32)[:, :, None]) <= 0


def _convex_polygon(xs, ys, vertices, mask=None):
    """Pixels inside the convex polygon with pixel-space vertices [(x [N], y [N]), ...] in CCW order
    (sprite frame, v down); ANDed into ``mask`` when given."""
    n = len(vertices)
    for k in range(n):
        ax, ay = vertices[k]
        bx, by = vertices[(k + 1) % n]
        # inside iff (b - a) x (p - a) >= 0 (the orientation test; rotation and scale keep its sign)
        fx = -(by - ay)[:, None] * (xs - ax[:, None])
        fy = (bx - ax)[:, None] * (ys - ay[:, None])
        inside = (fx.astype(np.float32)[:, None, :] + fy.astype(np.float32)[:, :, None]) >= 0
        mask = inside if mask is None else np.logical_and(mask, inside, out=mask)
    return mask


def _ccw(points):
    """Order a polygon so that the orientation test above is >= 0 inside."""
    area2 = 0.0
    for k in range(len(points)):
        (ax, ay), (bx, by) = points[k], points[(k + 1) % len(points)]
        area2 += ax * by - bx * ay
    return list(points) if area2 > 0 else list(points)[::-1]


_SQUARE_VERTICES = _ccw([(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)])
_HEART_TRIANGLES = [_ccw(t) for t in HEART_TRIANGLES]


def _rasterise(shape, scale, cos, sin, cx, cy, xs, ys):
    """Rasterise N sprites of one shape on the pixel-centre grids xs [N, W], ys [N, H] -> bool [N, H, W]."""
    if shape == 0:
        h = SQUARE_HALF_SIDE
        verts = [_to_pixels(h * u, h * v, cx, cy, cos, sin, scale) for u, v in _SQUARE_VERTICES]
        return _convex_polygon(xs, ys, verts)
    if shape == 1:
        a, b = ELLIPSE_SEMI_AXES
        # sprite coordinates u = ((x-cx) c - (y-cy) s) / scale, v = ((x-cx) s + (y-cy) c) / scale, normalised
        dx = xs - cx[:, None]
        dy = ys - cy[:, None]
        ua, ub = 1.0 / (a * scale), 1.0 / (b * scale)
        u = ((dx * (cos * ua)[:, None]).astype(np.float32)[:, None, :]
             - (dy * (sin * ua)[:, None]).astype(np.float32)[:, :, None])
        v = ((dx * (sin * ub)[:, None]).astype(np.float32)[:, None, :]
             + (dy * (cos * ub)[:, None]).astype(np.float32)[:, :, None])
        np.multiply(u, u, out=u)
        np.multiply(v, v, out=v)
        np.add(u, v, out=u)
        return u <= 1
    if shape == 2:
        radius = HEART_RADIUS * scale
        mask = None
        for (du, dv) in HEART_DISCS:
            px, py = _to_pixels(du, dv, cx, cy, cos, sin, scale)
            disc = _disc(xs, ys, px, py, radius)
            mask = disc if mask is None else np.logical_or(mask, disc, out=mask)
        for tri in _HEART_TRIANGLES:
            verts = [_to_pixels(u, v, cx, cy, cos, sin, scale) for u, v in tri]
            np.logical_or(mask, _convex_polygon(xs, ys, verts), out=mask)
        return mask
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
                                 cx[sel], cy[sel], xs[sel], ys[sel])
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
