"""What each row of a traversal grid does to the sprite, measured from the pixels.

A traversal grid (written by the training loop) has one row per latent dimension and one column per value of
that dimension swept across the prior, each cell one generated image. On dSprites (white sprite on black) a
row is read by the sprite's intensity-weighted centroid and area in each cell:

  dx, dy          centroid of the last cell minus that of the first (px; y grows downwards)
  area_ratio      largest over smallest area along the row (1: the size does not change)
  reading         "scale" (area_ratio >= SCALE_RATIO, centroid moves < MOVE_PX), "position" (moves >= MOVE_PX,
                  area_ratio < SCALE_RATIO), "scale+position" (both), "still" (neither: a collapsed dimension,
                  or one that turns or reshapes the sprite in place, which centroid and area do not see)

  python experiments/dsprites_vae/traversal_motion.py results/traversals/*.png     # prints the CSV
"""

import argparse
import csv
import os
import sys

SCALE_RATIO = 2.0    # a sprite whose area doubles along the row is being scaled (the grid's scale range is x6)
MOVE_PX = 4.0        # centroid drift below this is blur and shape change, not translation (cells are 64 px)
COLUMNS = ["model", "row", "x_first", "y_first", "dx", "dy", "area_min", "area_max", "area_ratio", "reading"]


def row_motion(grid, cell):
    """[dict] per grid row: centroid (px) of its first cell, dx, dy, area_min / area_max (sum of intensity in
    [0, 1], px) and their ratio, reading. ``grid``: [H, W] array in [0, 1] of whole cells of ``cell`` px."""
    import numpy as np

    grid = np.asarray(grid, np.float64)
    if grid.ndim != 2 or grid.shape[0] % cell or grid.shape[1] % cell:
        raise ValueError("a traversal grid of %s is not whole %d px cells" % (grid.shape, cell))
    yy, xx = np.mgrid[:cell, :cell]
    rows = []
    for r in range(grid.shape[0] // cell):
        cells = [grid[r * cell:(r + 1) * cell, c * cell:(c + 1) * cell] for c in range(grid.shape[1] // cell)]
        area = np.array([t.sum() for t in cells])
        if area.min() <= 0:
            raise ValueError("row %d has an empty cell: not a dSprites traversal grid" % r)
        x = np.array([(t * xx).sum() for t in cells]) / area
        y = np.array([(t * yy).sum() for t in cells]) / area
        dx, dy, ratio = float(x[-1] - x[0]), float(y[-1] - y[0]), float(area.max() / area.min())
        moves, scales = max(abs(dx), abs(dy)) >= MOVE_PX, ratio >= SCALE_RATIO
        reading = {(True, True): "scale+position", (True, False): "position", (False, True): "scale",
                   (False, False): "still"}[(moves, scales)]
        rows.append(dict(row=r, x_first=float(x[0]), y_first=float(y[0]), dx=dx, dy=dy, area_min=float(area.min()),
                         area_max=float(area.max()), area_ratio=ratio, reading=reading))
    return rows


def grid_rows(paths, cell=64):
    """row_motion of each PNG in ``paths``, with ``model`` = the file name without .png, in path order."""
    import numpy as np
    from PIL import Image

    out = []
    for path in paths:
        with Image.open(path) as im:
            grid = np.asarray(im.convert("L"), np.float64) / 255.0
        for row in row_motion(grid, cell):
            out.append(dict(model=os.path.basename(path)[:-len(".png")], **row))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("grids", nargs="+", help="traversal grid PNGs")
    p.add_argument("--cell", type=int, default=64, help="cell size in px (the images' resolution; default 64)")
    args = p.parse_args(argv)
    try:
        rows = grid_rows(args.grids, args.cell)
    except (OSError, ValueError) as e:
        print("traversal_motion.py: %s" % e, file=sys.stderr)
        return 1
    writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("%.3g" % v if isinstance(v, float) else v) for k, v in row.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
