"""Image grids: real/fake grids and latent traversal grids, saved as PNG."""

import numpy as np
import PIL.Image

from dnnlib import util
from training.loss import sample_continuous_np


def traversal_latents(rng, discrete_size, continuous_size, n_samples_per=10, latent_type="uniform", base=None):
    """Codes for a traversal grid: row j sweeps continuous dim j across the prior, the other dims
    fixed to one draw from the training prior (and one fixed category for the discrete part).

    Sweep values: linspace(-2, 2, n) for the uniform prior, linspace(-3, 3, n) for the normal ones.
    Returns [continuous_size * n_samples_per, discrete_size + continuous_size], row-major.
    """
    if base is None:
        base = sample_continuous_np(rng, 1, continuous_size, latent_type)[0]
    span = 2.0 if latent_type == "uniform" else 3.0
    values = np.linspace(-span, span, n_samples_per, dtype=np.float32)
    codes = np.tile(base[np.newaxis, np.newaxis, :], [continuous_size, n_samples_per, 1])
    for dim in range(continuous_size):
        codes[dim, :, dim] = values
    codes = codes.reshape(-1, continuous_size)
    if discrete_size:
        onehot = np.zeros([codes.shape[0], discrete_size], np.float32)
        onehot[:, rng.randint(discrete_size)] = 1
        codes = np.concatenate([onehot, codes], axis=1)
    return codes.astype(np.float32)


def traversal_grid(Gs, seed=0, n_samples_per=10, minibatch_size=64):
    """A latent traversal of a generator (a network or any object with ``Gs.run`` and its ``static_kwargs``,
    e.g. a synthetic generator): uint8 NHWC images [C * n, H, W, ch], row d sweeping continuous dim d."""
    from metrics.pair_dataset import generator_plan

    plan = generator_plan(Gs)
    codes = traversal_latents(np.random.RandomState(seed), plan.discrete_size, plan.continuous_size, n_samples_per,
                              plan.latent_type)
    labels = np.zeros([len(codes), plan.label_size], np.float32)
    images = Gs.run(codes, labels, randomize_noise=False, minibatch_size=minibatch_size)
    return to_uint8_nhwc(images, drange=(-1, 1), data_format=plan.data_format)


def to_uint8_nhwc(images, drange=(-1, 1), data_format="NCHW"):
    """float images in ``drange`` -> uint8 NHWC, rounded and clipped."""
    images = np.asarray(images, dtype=np.float32)
    if data_format == "NCHW":
        images = images.transpose(0, 2, 3, 1)
    scale = 255.0 / (drange[1] - drange[0])
    return np.clip(np.rint((images - drange[0]) * scale), 0, 255).astype(np.uint8)


def make_grid(images_nhwc, grid_w, grid_h=None, pad=0):
    """uint8 [N, H, W, C] -> one image [grid_h*H, grid_w*W, C], row-major; missing cells black."""
    n, h, w, c = images_nhwc.shape
    grid_h = grid_h or -(-n // grid_w)
    grid = np.zeros([grid_h * (h + pad) - pad, grid_w * (w + pad) - pad, c], np.uint8)
    for idx in range(min(n, grid_w * grid_h)):
        y, x = divmod(idx, grid_w)
        grid[y * (h + pad): y * (h + pad) + h, x * (w + pad): x * (w + pad) + w] = images_nhwc[idx]
    return grid


def save_grid(path, images_nhwc, grid_w, grid_h=None, pad=0):
    """Write a PNG atomically. Grayscale when the images have one channel."""
    grid = make_grid(images_nhwc, grid_w, grid_h, pad)
    image = PIL.Image.fromarray(grid[:, :, 0] if grid.shape[2] == 1 else grid, "L" if grid.shape[2] == 1 else "RGB")
    with util.atomic_write(path, "wb") as f:
        image.save(f, format="PNG")
    return path
