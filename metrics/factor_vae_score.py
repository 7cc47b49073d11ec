"""FactorVAE disentanglement score (Kim & Mnih, ICML 2018), as defined by the reference implementation.

1. Global variance: encode ``num_variance_estimate`` random observations; per code dimension
   ``np.var(ddof=1)``. Dimensions whose global standard deviation is below ``prune_threshold`` (0.05) are
   pruned (collapsed to the prior); the rest are the active dimensions.
2. One vote: draw a factor index k uniformly, sample ``batch_size`` factor combinations, overwrite column k
   with the value of the first row (so factor k is fixed), encode, and vote for the active dimension with the
   smallest local variance (``np.var(ddof=1)`` over the batch) divided by its global variance.
3. ``num_train`` votes build the majority-vote classifier: each active dimension predicts the factor that
   voted for it most often (ties -> the lowest factor index; a dimension with no vote -> factor 0, which never
   matters since it gets no vote). Train accuracy = share of the train votes the classifier gets right;
   eval accuracy = the same on ``num_eval`` fresh votes.

Returns {'train_accuracy', 'eval_accuracy', 'num_active_dims'}. With no active dimension both accuracies
are 0 and num_active_dims 0 (the reference's edge case). ``num_active_dims`` is the number of active
dimensions (the reference reports the length of its mask, i.e. all dimensions). ``progress``: a tqdm bar per
vote set on stderr (it draws no random numbers, so the score is the same with or without it).
"""

import sys

import numpy as np
from tqdm import tqdm

from metrics import disentanglement_utils as du


def compute_global_variances(ground_truth_data, representation_function, num_points, random_state,
                             batch_size=64):
    """Per-dimension variance (ddof=1) of the codes of ``num_points`` random observations: float64 [D].
    The factors are drawn in one call; the observations are made and encoded ``batch_size`` at a time."""
    factors = np.asarray(ground_truth_data.sample_factors(num_points, random_state))
    codes = []
    num_dims = None
    for start in range(0, num_points, batch_size):
        obs = ground_truth_data.sample_observations_from_factors(factors[start:start + batch_size], random_state)
        codes.append(du.represent(representation_function, obs, num_dims))
        num_dims = codes[-1].shape[1]
    codes = np.concatenate(codes, axis=0)
    return np.var(codes, axis=0, ddof=1)


def prune_dims(variances, threshold=0.05):
    """Active-dimension mask: global standard deviation >= ``threshold``."""
    return np.sqrt(variances) >= threshold


def sample_fixed_factor_batch(ground_truth_data, batch_size, random_state):
    """(k, factors [batch_size, F]) with factor k (uniform) fixed to the value of the first row."""
    k = random_state.randint(ground_truth_data.num_factors)
    factors = np.array(ground_truth_data.sample_factors(batch_size, random_state))
    factors[:, k] = factors[0, k]
    return k, factors


def generate_votes(ground_truth_data, representation_function, batch_size, num_votes, random_state,
                   global_variances, active_dims, ddof=1, progress=False, desc="votes"):
    """Vote counts int64 [F, num_active]: entry (k, j) counts the votes of fixed factor k for active
    dimension j (index into the active dimensions). ``progress``: a tqdm bar ``desc`` on stderr."""
    active = np.nonzero(active_dims)[0]
    votes = np.zeros((ground_truth_data.num_factors, active.size), dtype=np.int64)
    num_dims = len(global_variances)
    with tqdm(total=num_votes, desc=desc, unit="vote", file=sys.stderr, disable=not progress, mininterval=1.0,
              dynamic_ncols=True) as bar:
        for _ in range(num_votes):
            k, factors = sample_fixed_factor_batch(ground_truth_data, batch_size, random_state)
            obs = ground_truth_data.sample_observations_from_factors(factors, random_state)
            codes = du.represent(representation_function, obs, num_dims)
            local = np.var(codes, axis=0, ddof=ddof)
            votes[k, np.argmin(local[active] / global_variances[active])] += 1
            bar.update(1)
    return votes


def majority_vote_accuracy(votes, classifier=None):
    """(accuracy, classifier): ``classifier`` [num_active] = argmax over factors of each dimension's votes
    (computed from ``votes`` when not given); accuracy = votes matching the classifier / all votes."""
    if classifier is None:
        classifier = np.argmax(votes, axis=0)
    total = votes.sum()
    correct = votes[classifier, np.arange(votes.shape[1])].sum()
    return (float(correct) / float(total) if total else 0.0), classifier


def compute_factor_vae_score(ground_truth_data, representation_function, random_state, batch_size=64,
                             num_train=10000, num_eval=5000, num_variance_estimate=10000, prune_threshold=0.05,
                             progress=False):
    """FactorVAE score with the reference defaults (batch 64, 10,000 train / 5,000 eval votes, 10,000 points
    for the global variance, dimensions with global std < 0.05 pruned). ``progress``: bars over the votes."""
    du.check_ground_truth_data(ground_truth_data)
    random_state = du.as_random_state(random_state)
    batch_size = du.check_positive_int('batch_size', batch_size, minimum=2)
    num_train = du.check_positive_int('num_train', num_train)
    num_eval = du.check_positive_int('num_eval', num_eval)
    num_variance_estimate = du.check_positive_int('num_variance_estimate', num_variance_estimate, minimum=2)

    global_variances = compute_global_variances(ground_truth_data, representation_function,
                                                num_variance_estimate, random_state)
    active_dims = prune_dims(global_variances, prune_threshold)
    if not active_dims.any():
        return {'train_accuracy': 0.0, 'eval_accuracy': 0.0, 'num_active_dims': 0}
    train_votes = generate_votes(ground_truth_data, representation_function, batch_size, num_train,
                                 random_state, global_variances, active_dims, progress=progress,
                                 desc="factor_vae train votes")
    train_accuracy, classifier = majority_vote_accuracy(train_votes)
    eval_votes = generate_votes(ground_truth_data, representation_function, batch_size, num_eval,
                                random_state, global_variances, active_dims, progress=progress,
                                desc="factor_vae eval votes")
    eval_accuracy, _ = majority_vote_accuracy(eval_votes, classifier)
    return {'train_accuracy': train_accuracy, 'eval_accuracy': eval_accuracy,
            'num_active_dims': int(active_dims.sum())}
