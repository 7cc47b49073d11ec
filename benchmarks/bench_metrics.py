"""Wall time of the ground-truth disentanglement metrics at the reference defaults. One JSON object per line.

    python benchmarks/bench_metrics.py [--metrics beta_vae,factor_vae,mig,dci,sap,cascade]
                                       [--representation random|identity-ish|MODULE:FUNCTION]
                                       [--factory-arg KEY=VALUE ...] [--dataset dsprites] [--npz PATH]
                                       [--seed 0] [--quick] [--dci-jobs N]

Data: procedural dSprites (``training.ground_truth.DSpritesData()``; ``--npz`` reads the official file).

Representations (all map float32 NCHW [N, 1, 64, 64] in [0, 1] to codes [N, D]):
  random        a fixed (seeded) random linear projection of the 16x16 average-pooled image to 10 codes:
                dense, entangled, deterministic.
  identity-ish  six hand-made image statistics close to the factors: fill ratio of the bounding box (shape),
                sqrt(area) (scale), principal-axis angle and elongation from the second moments
                (orientation), centroid x and y (posX, posY).
  MODULE:FUNCTION
                ``FUNCTION(**factory_args)`` imported from MODULE must return the representation function,
                e.g. a loader of a trained encoder: ``--representation mypkg.encoders:load_encoder
                --factory-arg network_pkl=results/00000/network-final.pkl``. Values of ``--factory-arg`` are
                passed as strings.

``--quick`` runs every metric at small sizes (a smoke test, not the reference protocol). ``--dci-jobs N`` fits
DCI's per-factor classifiers in N processes (same scores).

On a busy machine numpy's BLAS threads can slow the representation function several-fold: set
OPENBLAS_NUM_THREADS=1 (or OMP_NUM_THREADS=1) for repeatable timings.

Per line: metric, seconds (wall), data_s (observations made by the dataset), representation_s (inside the
representation function), estimator_s (the rest: sklearn fits, MI, votes), scores, the sizes used, and the
platform (python, numpy, sklearn, CPU count).
"""

import argparse
import importlib
import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from metrics import beta_vae_score, cascade_factor_vae, dci, factor_vae_score, mig, sap  # noqa: E402

METRICS = {
    'beta_vae': (beta_vae_score.compute_beta_vae_score, dict(batch_size=64, num_train=10000, num_eval=5000),
                 dict(batch_size=16, num_train=200, num_eval=100)),
    'factor_vae': (factor_vae_score.compute_factor_vae_score,
                   dict(batch_size=64, num_train=10000, num_eval=5000, num_variance_estimate=10000),
                   dict(batch_size=32, num_train=200, num_eval=100, num_variance_estimate=1000)),
    'mig': (mig.compute_mig, dict(num_train=10000, batch_size=16), dict(num_train=1000, batch_size=16)),
    'dci': (dci.compute_dci, dict(num_train=10000, num_test=5000, batch_size=16),
            dict(num_train=500, num_test=250, batch_size=16)),
    'sap': (sap.compute_sap, dict(num_train=10000, num_test=5000, batch_size=16),
            dict(num_train=1000, num_test=500, batch_size=16)),
    'cascade': (cascade_factor_vae.compute_cascade_factor_vae,
                dict(num_votes=800, batch_size=100, num_variance_estimate=10000),
                dict(num_votes=100, batch_size=50, num_variance_estimate=1000)),
}


# ------------------------------------------------------------------------------------------------------------
# Representations without a trained model


def random_projection(num_codes=10, pool=4, seed=0, image_size=64):
    """Fixed random linear map of the ``pool`` x ``pool`` average-pooled image to ``num_codes`` codes."""
    side = image_size // pool
    weights = np.random.RandomState(seed).randn(side, side, num_codes) / side
    # pooling then projecting is one linear map of the pixels: fold the pooling into the weights
    full = np.repeat(np.repeat(weights, pool, axis=0), pool, axis=1) / float(pool * pool)
    full = full.reshape(image_size * image_size, num_codes).astype(np.float32)

    def representation(x):
        x = np.asarray(x, dtype=np.float32)
        n = x.shape[0]
        return x.mean(axis=1).reshape(n, -1).dot(full).astype(np.float64)
    representation.__name__ = 'random_projection'
    return representation


def image_statistics():
    """Six moment-based statistics of a single-sprite binary image (see the module docstring)."""
    grids = {}

    def representation(x):
        img = np.asarray(x, dtype=np.float64).mean(axis=1)            # [N, H, W]
        n, h, w = img.shape
        if (h, w) not in grids:
            grids[(h, w)] = np.mgrid[0:h, 0:w].astype(np.float64)
        ys, xs = grids[(h, w)]
        mass = img.sum(axis=(1, 2)) + 1e-9
        cx = (img * xs).sum(axis=(1, 2)) / mass
        cy = (img * ys).sum(axis=(1, 2)) / mass
        dx = xs[None] - cx[:, None, None]
        dy = ys[None] - cy[:, None, None]
        mu20 = (img * dx * dx).sum(axis=(1, 2)) / mass
        mu02 = (img * dy * dy).sum(axis=(1, 2)) / mass
        mu11 = (img * dx * dy).sum(axis=(1, 2)) / mass
        angle = 0.5 * np.arctan2(2.0 * mu11, mu20 - mu02)
        elongation = np.sqrt((mu20 - mu02) ** 2 + 4.0 * mu11 ** 2) / (mu20 + mu02 + 1e-9)
        on = img > 0.5
        rows, cols = on.any(axis=2), on.any(axis=1)
        height = rows.sum(axis=1)
        width = cols.sum(axis=1)
        fill = mass / np.maximum(height * width, 1)
        return np.stack([fill, np.sqrt(mass), angle, elongation, cx / w, cy / h], axis=1)
    representation.__name__ = 'image_statistics'
    return representation


def make_representation(spec, factory_args):
    if spec == 'random':
        return random_projection()
    if spec == 'identity-ish':
        return image_statistics()
    if ':' not in spec:
        raise SystemExit("--representation must be 'random', 'identity-ish' or MODULE:FUNCTION, got %r" % spec)
    module_name, func_name = spec.split(':', 1)
    factory = getattr(importlib.import_module(module_name), func_name)
    representation = factory(**factory_args)
    if not callable(representation):
        raise SystemExit('%s(**%r) returned %s, not a representation function' % (spec, factory_args,
                                                                                type(representation).__name__))
    return representation


# ------------------------------------------------------------------------------------------------------------
# Timing wrappers


class _Timer(object):
    def __init__(self):
        self.seconds = 0.0


def _timed_function(fn, timer):
    def wrapped(*args, **kwargs):
        start = time.time()
        try:
            return fn(*args, **kwargs)
        finally:
            timer.seconds += time.time() - start
    wrapped.__name__ = getattr(fn, '__name__', 'representation')
    return wrapped


class _TimedData(object):
    """Delegates to a ground-truth data object, timing sample_observations_from_factors."""

    def __init__(self, data, timer):
        self._data = data
        self._timer = timer
        self.num_factors = data.num_factors
        self.factor_sizes = data.factor_sizes
        self.factor_names = data.factor_names
        self.observation_shape = data.observation_shape

    def sample_factors(self, num, random_state):
        return self._data.sample_factors(num, random_state)

    def sample_observations_from_factors(self, factors, random_state):
        start = time.time()
        try:
            return self._data.sample_observations_from_factors(factors, random_state)
        finally:
            self._timer.seconds += time.time() - start


def _platform():
    import sklearn
    return dict(python=platform.python_version(), numpy=np.__version__, sklearn=sklearn.__version__,
                cpus=os.cpu_count())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--metrics', default=','.join(METRICS), help='comma-separated, from %s' % ', '.join(METRICS))
    parser.add_argument('--representation', default='random', help='random | identity-ish | MODULE:FUNCTION')
    parser.add_argument('--factory-arg', action='append', default=[], metavar='KEY=VALUE',
                        help='keyword argument (a string) for a MODULE:FUNCTION factory; repeatable')
    parser.add_argument('--dataset', default='dsprites', help="ground-truth dataset (default 'dsprites')")
    parser.add_argument('--npz', default=None, help='official dSprites npz (default: procedural rendering)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--quick', action='store_true', help='small sizes (smoke test, not the reference protocol)')
    parser.add_argument('--dci-jobs', type=int, default=1, help='DCI: factors fitted in parallel (-1 = all cores)')
    args = parser.parse_args(argv)

    names = [m.strip() for m in args.metrics.split(',') if m.strip()]
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        parser.error('unknown metric(s) %s; choose from %s' % (', '.join(unknown), ', '.join(METRICS)))
    factory_args = {}
    for item in args.factory_arg:
        if '=' not in item:
            parser.error('--factory-arg expects KEY=VALUE, got %r' % item)
        key, value = item.split('=', 1)
        factory_args[key] = value

    from training.ground_truth import make_ground_truth_data
    data = make_ground_truth_data(args.dataset, npz_path=args.npz)
    representation = make_representation(args.representation, factory_args)
    info = _platform()
    for name in names:
        fn, reference, quick = METRICS[name]
        sizes = dict(quick if args.quick else reference)
        if name == 'dci' and args.dci_jobs != 1:
            sizes['n_jobs'] = args.dci_jobs
        data_timer, repr_timer = _Timer(), _Timer()
        start = time.time()
        scores = fn(_TimedData(data, data_timer), _timed_function(representation, repr_timer),
                    np.random.RandomState(args.seed), **sizes)
        seconds = time.time() - start
        line = dict(metric=name, seconds=round(seconds, 3), data_s=round(data_timer.seconds, 3),
                    representation_s=round(repr_timer.seconds, 3),
                    estimator_s=round(seconds - data_timer.seconds - repr_timer.seconds, 3),
                    scores=scores, sizes=sizes, protocol='quick' if args.quick else 'reference',
                    representation=args.representation, dataset=args.dataset, seed=args.seed, **info)
        print(json.dumps(line, sort_keys=True), flush=True)


if __name__ == '__main__':
    main()
