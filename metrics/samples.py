"""Images from a generator (or a VAE's decoder) at codes drawn from its training prior.

For the metrics that score samples rather than pairs (FID, sprite IoU). Codes: the continuous prior the model
was trained with (``latent_type`` static kwarg: U(-2, 2), N(0, 1) or truncated N(0, 1)) and, where the generator
has discrete dims, a uniformly drawn one-hot category first; noise inputs random (``randomize_noise=True``).
"""

import numpy as np

from metrics.pair_dataset import generator_plan
from training import grids
from training.loss import sample_continuous_np


def sample_images(Gs, num_images, seed=0, minibatch_size=64):
    """Yield uint8 NHWC batches (channels as generated: 1 for grey, 3 for RGB) of ``num_images`` samples in all.

    One RandomState(seed) draws every batch's codes in turn, so the images depend on the seed and the
    minibatch size."""
    plan = generator_plan(Gs)
    rng = np.random.RandomState(seed)
    for start in range(0, num_images, minibatch_size):
        n = min(minibatch_size, num_images - start)
        codes = sample_continuous_np(rng, n, plan.continuous_size, plan.latent_type)
        if plan.discrete_size:
            onehot = np.eye(plan.discrete_size, dtype=np.float32)[rng.randint(plan.discrete_size, size=n)]
            codes = np.concatenate([onehot, codes], axis=1)
        images = Gs.run(codes, np.zeros([n, plan.label_size], np.float32), randomize_noise=True)
        yield grids.to_uint8_nhwc(images, drange=(-1, 1), data_format=plan.data_format)
