"""The CascadeVAE variant of the FactorVAE score, the one the VP-VAE experiments report (``acc.txt``).

Differences from ``metrics.factor_vae_score`` (the disentanglement_lib definition):

* ``num_votes`` = 800 votes of ``batch_size`` = 100 samples each, one set of votes: the majority-vote
  classifier is built from these votes and its accuracy is measured on the same votes (no train/eval split).
* Dimensions are masked by the model's KL divergence, not by the global standard deviation: latent
  dimensions whose KL (per dimension, averaged over data) is below ``kl_threshold`` = 0.1 are inactive.
  Pass ``kl_per_dim`` [D] (the mask is kl >= kl_threshold) or a boolean ``active_mask`` [D] directly;
  with neither every dimension is active.
* Normalised variance of a dimension = its variance within the vote's batch divided by its global variance
  (the CascadeVAE code divides the codes by their global standard deviation, which is the same up to the
  ddof factor; a common factor never changes the argmin). The global variance comes from
  ``global_variances`` [D] when given (e.g. computed on the whole dataset), else from
  ``num_variance_estimate`` random observations (ddof=1). An active dimension with zero global variance
  never wins a vote.

Per vote: draw a factor index k uniformly, sample 100 factor combinations with factor k fixed (column k set to
the first row's value), encode, vote for argmin over active dimensions of the normalised variance.

Returns {'accuracy', 'num_active_dims'}; no active dimension -> accuracy 0 and num_active_dims 0.
``progress``: a tqdm bar over the votes on stderr (no effect on the numbers).
"""

import sys

import numpy as np
from tqdm import tqdm

from metrics import disentanglement_utils as du
from metrics import factor_vae_score as fv


def active_mask_from_kl(kl_per_dim, kl_threshold=0.1):
    """Boolean [D]: True where the dimension's KL is at least ``kl_threshold`` (dims with KL < 0.1 masked)."""
    kl = np.asarray(kl_per_dim, dtype=np.float64)
    if kl.ndim != 1:
        raise ValueError('kl_per_dim must be 1-D [num_codes], got shape %s' % (kl.shape,))
    if not np.isfinite(kl).all():
        raise ValueError('kl_per_dim contains NaN or infinite values')
    return kl >= kl_threshold


def compute_cascade_factor_vae(ground_truth_data, representation_function, random_state, num_votes=800,
                               batch_size=100, kl_per_dim=None, active_mask=None, kl_threshold=0.1,
                               global_variances=None, num_variance_estimate=10000, progress=False):
    """CascadeVAE-style FactorVAE accuracy (800 votes x 100 samples, dims with KL < 0.1 masked)."""
    du.check_ground_truth_data(ground_truth_data)
    random_state = du.as_random_state(random_state)
    num_votes = du.check_positive_int('num_votes', num_votes)
    batch_size = du.check_positive_int('batch_size', batch_size, minimum=2)
    if kl_per_dim is not None and active_mask is not None:
        raise ValueError('pass kl_per_dim or active_mask, not both')

    if global_variances is None:
        num_variance_estimate = du.check_positive_int('num_variance_estimate', num_variance_estimate, minimum=2)
        global_variances = fv.compute_global_variances(ground_truth_data, representation_function,
                                                       num_variance_estimate, random_state)
    else:
        global_variances = np.asarray(global_variances, dtype=np.float64)
        if global_variances.ndim != 1 or not np.isfinite(global_variances).all() or (global_variances < 0).any():
            raise ValueError('global_variances must be a 1-D array of finite non-negative numbers, got shape %s'
                             % (global_variances.shape,))
    num_dims = global_variances.shape[0]

    if kl_per_dim is not None:
        mask = active_mask_from_kl(kl_per_dim, kl_threshold)
    elif active_mask is not None:
        mask = np.asarray(active_mask)
        if mask.dtype != np.bool_ or mask.ndim != 1:
            raise ValueError('active_mask must be a 1-D boolean array, got dtype %s shape %s'
                             % (mask.dtype, mask.shape))
    else:
        mask = np.ones(num_dims, dtype=bool)
    if mask.shape[0] != num_dims:
        raise ValueError('the mask has %d entries but the representation has %d code dimensions'
                         % (mask.shape[0], num_dims))
    if not mask.any():
        return {'accuracy': 0.0, 'num_active_dims': 0}

    active = np.nonzero(mask)[0]
    votes = np.zeros((ground_truth_data.num_factors, active.size), dtype=np.int64)
    for _ in tqdm(range(num_votes), desc="votes", unit="vote", file=sys.stderr, disable=not progress, mininterval=1.0,
                  leave=False):
        k, factors = fv.sample_fixed_factor_batch(ground_truth_data, batch_size, random_state)
        obs = ground_truth_data.sample_observations_from_factors(factors, random_state)
        codes = du.represent(representation_function, obs, num_dims)
        local = np.var(codes[:, active], axis=0)
        with np.errstate(divide='ignore', invalid='ignore'):
            normalised = local / global_variances[active]
        normalised[~np.isfinite(normalised)] = np.inf   # zero global variance: never the argmin
        votes[k, np.argmin(normalised)] += 1
    accuracy, _ = fv.majority_vote_accuracy(votes)
    return {'accuracy': accuracy, 'num_active_dims': int(active.size)}
