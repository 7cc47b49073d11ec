"""Shared helpers of the ground-truth disentanglement metrics (beta-VAE, FactorVAE, MIG, DCI, SAP and the
CascadeVAE FactorVAE variant).

Conventions (those of the reference implementations, disentanglement_lib 1.5, re-implemented here from the
definitions):

* A ground-truth data object (``training.ground_truth.GroundTruthData`` or anything with the same interface)
  gives ``num_factors``, ``factor_sizes``, ``sample_factors(num, random_state)`` and
  ``sample_observations_from_factors(factors, random_state)``.
* A representation function maps a batch of observations (float32 NCHW in [0, 1]) to codes [batch, D]: a
  2-D array of real numbers with one row per input image. Anything else is a ValueError that names the
  function's output shape; NaN or infinite codes are a ValueError too.
* ``generate_batch_factor_code`` returns codes **[D, N]** and factors **[F, N]** (one row per code dimension
  / factor, one column per sample), as the reference does; the metric functions that take arrays use the
  same layout.
* ``random_state`` is a ``numpy.random.RandomState`` (an int seed is accepted and wrapped).
"""

import numbers

import numpy as np

REQUIRED_DATA_ATTRIBUTES = ('num_factors', 'factor_sizes', 'sample_factors', 'sample_observations_from_factors')


# ----------------------------------------------------------------------------------------------------------
# Input validation


def as_random_state(random_state):
    """A numpy RandomState from a RandomState (returned as is) or an int seed."""
    if isinstance(random_state, np.random.RandomState):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return np.random.RandomState(int(random_state))
    raise TypeError('random_state must be a numpy.random.RandomState or an int seed, got %s'
                    % type(random_state).__name__)


def estimator_seed(random_state):
    """An int seed for an sklearn estimator, drawn from ``random_state`` (so one metric seed fixes
    everything)."""
    return int(random_state.randint(2 ** 31 - 1))


def check_ground_truth_data(ground_truth_data):
    """Check that ``ground_truth_data`` is a ground-truth data object with at least one factor; returns the
    factor sizes as a tuple of ints. TypeError when it lacks the interface, ValueError when it has no
    factors."""
    missing = [name for name in REQUIRED_DATA_ATTRIBUTES if not hasattr(ground_truth_data, name)]
    if missing:
        raise TypeError('%s is not a ground-truth data object (training.ground_truth.GroundTruthData): missing '
                        '%s. The disentanglement metrics need a dataset with known generative factors.'
                        % (type(ground_truth_data).__name__, ', '.join(missing)))
    for name in ('sample_factors', 'sample_observations_from_factors'):
        if not callable(getattr(ground_truth_data, name)):
            raise TypeError('%s.%s is not callable' % (type(ground_truth_data).__name__, name))
    try:
        sizes = tuple(int(s) for s in ground_truth_data.factor_sizes)
        num_factors = int(ground_truth_data.num_factors)
    except (TypeError, ValueError):
        raise TypeError('%s: factor_sizes must be a sequence of ints and num_factors an int'
                        % type(ground_truth_data).__name__)
    if num_factors < 1 or not sizes:
        raise ValueError('%s has no ground-truth factors (num_factors=%d): the disentanglement metrics need '
                         'a dataset with known generative factors' % (type(ground_truth_data).__name__,
                                                                      num_factors))
    if len(sizes) != num_factors:
        raise ValueError('%s: num_factors=%d but %d factor sizes' % (type(ground_truth_data).__name__,
                                                                    num_factors, len(sizes)))
    if min(sizes) < 1:
        raise ValueError('%s: factor sizes must be positive, got %s' % (type(ground_truth_data).__name__, sizes))
    return sizes


def _function_name(representation_function):
    return getattr(representation_function, '__name__', type(representation_function).__name__)


def check_codes(codes, num_inputs, representation_function, num_dims=None):
    """Validate the output of ``representation_function`` for ``num_inputs`` images; returns it as float64
    [num_inputs, D]. ``num_dims`` (when given) is the D of earlier batches, which must not change."""
    name = _function_name(representation_function)
    raw = codes
    try:
        codes = np.asarray(codes)
    except Exception as exc:   # ragged lists and the like
        raise ValueError('representation function %s returned something that is not an array (%s: %s)'
                         % (name, type(raw).__name__, exc))
    if codes.dtype.kind not in 'biuf':
        raise ValueError('representation function %s must return real numbers, got dtype %s with shape %s'
                         % (name, codes.dtype, codes.shape))
    if codes.ndim != 2:
        raise ValueError('representation function %s must return a 2-D array [batch, num_codes] with one row '
                         'per input image; got shape %s for %d images' % (name, codes.shape, num_inputs))
    if codes.shape[0] != num_inputs:
        raise ValueError('representation function %s returned %d rows (shape %s) for %d input images; it '
                         'must return one row per image' % (name, codes.shape[0], codes.shape, num_inputs))
    if codes.shape[1] < 1:
        raise ValueError('representation function %s returned no code dimensions (shape %s)'
                         % (name, codes.shape))
    if num_dims is not None and codes.shape[1] != num_dims:
        raise ValueError('representation function %s returned %d code dimensions (shape %s) after %d for an '
                         'earlier batch' % (name, codes.shape[1], codes.shape, num_dims))
    codes = codes.astype(np.float64)
    finite = np.isfinite(codes)
    if not finite.all():
        row, col = [int(v[0]) for v in np.nonzero(~finite)]
        raise ValueError('representation contains NaN or infinite values: %s returned %r at row %d, code %d '
                         '(%d non-finite entries of %d)' % (name, float(codes[row, col]), row, col,
                                                             int((~finite).sum()), codes.size))
    return codes


def represent(representation_function, observations, num_dims=None):
    """Apply ``representation_function`` to ``observations`` and validate the result: float64 [N, D]."""
    return check_codes(representation_function(observations), len(observations), representation_function,
                       num_dims)


def represent_in_batches(representation_function, observations, batch_size, num_dims=None):
    """``represent`` over consecutive batches of at most ``batch_size`` observations: float64 [N, D]."""
    parts = []
    for start in range(0, len(observations), batch_size):
        parts.append(represent(representation_function, observations[start:start + batch_size], num_dims))
        num_dims = parts[-1].shape[1]
    return np.concatenate(parts, axis=0)


def check_positive_int(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError('%s must be an int >= %d, got %r' % (name, minimum, value))
    return int(value)


# ----------------------------------------------------------------------------------------------------------
# Sampling


def generate_batch_factor_code(ground_truth_data, representation_function, num_points, random_state,
                               batch_size):
    """Sample ``num_points`` factor combinations in batches of ``batch_size`` (``sample_factors`` then
    ``sample_observations_from_factors`` per batch) and encode them.

    Returns (codes float64 [D, N], factors int64 [F, N]) -- transposed, one row per code dimension / factor.
    """
    check_ground_truth_data(ground_truth_data)
    num_points = check_positive_int('num_points', num_points)
    batch_size = check_positive_int('batch_size', batch_size)
    random_state = as_random_state(random_state)
    codes, factors = [], []
    num_dims = None
    done = 0
    while done < num_points:
        size = min(num_points - done, batch_size)
        batch_factors = np.asarray(ground_truth_data.sample_factors(size, random_state))
        observations = ground_truth_data.sample_observations_from_factors(batch_factors, random_state)
        batch_codes = represent(representation_function, observations, num_dims)
        num_dims = batch_codes.shape[1]
        codes.append(batch_codes)
        factors.append(batch_factors.astype(np.int64))
        done += size
    return np.concatenate(codes, axis=0).T, np.concatenate(factors, axis=0).T


# ----------------------------------------------------------------------------------------------------------
# Discretisation, mutual information, entropy


def train_test_codes(ground_truth_data, representation_function, random_state, num_train, num_test, batch_size):
    """The checks and draws shared by the train/test metrics (DCI, SAP): validates the inputs, then
    returns (random_state, (codes, factors) of num_train points, (codes, factors) of num_test points),
    drawn in that order from ``random_state``."""
    check_ground_truth_data(ground_truth_data)
    random_state = as_random_state(random_state)
    num_train = check_positive_int('num_train', num_train)
    num_test = check_positive_int('num_test', num_test)
    batch_size = check_positive_int('batch_size', batch_size)
    train = generate_batch_factor_code(ground_truth_data, representation_function, num_train, random_state, batch_size)
    test = generate_batch_factor_code(ground_truth_data, representation_function, num_test, random_state, batch_size)
    return random_state, train, test


def discretize(target, num_bins=20):
    """Histogram-discretise each row of ``target`` [D, N] separately: ``num_bins`` equal-width bins between
    the row's minimum and maximum (``np.histogram``), bin index by ``np.digitize`` against the left bin edges.
    Values are 1..num_bins (a constant row maps to a single value). Returns int64 [D, N]."""
    target = np.asarray(target, dtype=np.float64)
    if target.ndim != 2:
        raise ValueError('discretize expects a 2-D array [num_codes, num_points], got shape %s' % (target.shape,))
    num_bins = check_positive_int('num_bins', num_bins)
    out = np.zeros(target.shape, dtype=np.int64)
    for i in range(target.shape[0]):
        edges = np.histogram(target[i, :], num_bins)[1]
        out[i, :] = np.digitize(target[i, :], edges[:-1])
    return out


def _mutual_info_score(labels_a, labels_b):
    from sklearn.metrics import mutual_info_score
    return float(mutual_info_score(labels_a, labels_b))


def discrete_mutual_info(codes, factors):
    """Mutual information (nats, sklearn.metrics.mutual_info_score) between every discrete code row of
    ``codes`` [D, N] and every factor row of ``factors`` [F, N]: float64 [D, F]."""
    codes = np.asarray(codes)
    factors = np.asarray(factors)
    if codes.ndim != 2 or factors.ndim != 2 or codes.shape[1] != factors.shape[1]:
        raise ValueError('discrete_mutual_info expects codes [D, N] and factors [F, N], got %s and %s'
                         % (codes.shape, factors.shape))
    m = np.zeros((codes.shape[0], factors.shape[0]))
    for i in range(codes.shape[0]):
        for j in range(factors.shape[0]):
            m[i, j] = _mutual_info_score(factors[j, :], codes[i, :])
    return m


def discrete_entropy(factors):
    """Entropy (nats) of each discrete row of ``factors`` [F, N] (the mutual information of a row with
    itself): float64 [F]."""
    factors = np.asarray(factors)
    if factors.ndim != 2:
        raise ValueError('discrete_entropy expects a 2-D array [num_factors, num_points], got shape %s'
                         % (factors.shape,))
    return np.array([_mutual_info_score(factors[j, :], factors[j, :]) for j in range(factors.shape[0])])


def entropy(p, base, axis=0):
    """Shannon entropy of the (unnormalised, non-negative) distributions along ``axis`` of ``p`` in the given
    ``base`` (0 log 0 = 0); the distributions are normalised to sum 1 first, as scipy.stats.entropy does."""
    p = np.asarray(p, dtype=np.float64)
    p = p / np.sum(p, axis=axis, keepdims=True)
    with np.errstate(divide='ignore', invalid='ignore'):
        terms = np.where(p > 0, -p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return np.sum(terms, axis=axis) / np.log(base)
