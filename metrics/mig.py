"""Mutual Information Gap (Chen et al., NeurIPS 2018), as defined by the reference implementation.

Encode ``num_train`` random observations (in batches of ``batch_size``), discretise each code dimension with
a ``num_bins``-bin histogram (``disentanglement_utils.discretize``), compute the mutual information matrix
I(code_i; factor_j) [D, F] with sklearn.metrics.mutual_info_score and the factor entropies H(factor_j), then

    MIG = mean over factors j of (largest I(code; factor_j) - second largest I(code; factor_j)) / H(factor_j).

Returns {'discrete_mig'}. Needs at least two code dimensions. A factor with one value (H = 0) makes the
score undefined: ValueError (the reference divides by zero).

Even a perfect code does not reach 1 when a factor has more classes than there are bins, or when the
equal-width bins split the classes unevenly (dSprites identity code: about 0.90).
"""

import numpy as np

from metrics import disentanglement_utils as du


def mig_from_codes(codes, factors, num_bins=20):
    """MIG of codes [D, N] (continuous) against factors [F, N] (discrete). Returns (score, per-factor gaps
    [F], mutual information [D, F], entropies [F])."""
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[0] < 2:
        raise ValueError('MIG needs at least two code dimensions (codes [D, N] with D >= 2), got shape %s'
                         % (codes.shape,))
    discretized = du.discretize(codes, num_bins)
    m = du.discrete_mutual_info(discretized, factors)
    h = du.discrete_entropy(factors)
    if (h <= 0).any():
        raise ValueError('MIG is undefined for a factor with a single value (zero entropy): factor(s) %s'
                         % np.nonzero(h <= 0)[0].tolist())
    top = np.sort(m, axis=0)[::-1]
    gaps = (top[0, :] - top[1, :]) / h
    return float(np.mean(gaps)), gaps, m, h


def compute_mig(ground_truth_data, representation_function, random_state, num_train=10000, batch_size=16,
                num_bins=20):
    """MIG with the reference defaults (10,000 points, batches of 16, 20 bins)."""
    du.check_ground_truth_data(ground_truth_data)
    random_state = du.as_random_state(random_state)
    num_train = du.check_positive_int('num_train', num_train)
    batch_size = du.check_positive_int('batch_size', batch_size)
    num_bins = du.check_positive_int('num_bins', num_bins)
    codes, factors = du.generate_batch_factor_code(ground_truth_data, representation_function, num_train,
                                                   random_state, batch_size)
    score, _, _, _ = mig_from_codes(codes, factors, num_bins)
    return {'discrete_mig': score}
