"""Ground-truth disentanglement metrics (metrics/{disentanglement_utils, beta_vae_score, factor_vae_score, mig,
dci, sap, cascade_factor_vae}.py) on toy data.

Toy data: the observation of a factor combination is the vector of its classes scaled to [0, 1] (a 1x1 image
with one channel per factor), so the identity representation is a perfect code. Sample sizes are small (the
reference defaults stay the defaults of the functions); every band below is justified next to its test.
"""

import math

import numpy as np
import pytest

from metrics import beta_vae_score, cascade_factor_vae, dci, disentanglement_utils as du, factor_vae_score, mig, sap
from training.ground_truth import GroundTruthData


class ToyData(GroundTruthData):
    """Factors with the given sizes; observation = classes / (size - 1), float32 [N, 1, 1, F]."""

    def __init__(self, sizes):
        self.factor_sizes = tuple(sizes)
        self.factor_names = tuple('f%d' % k for k in range(len(sizes)))
        self.observation_shape = (1, 1, len(sizes))

    def sample_observations_from_factors(self, factors, random_state):
        factors = self._check_factors(factors)
        scale = np.maximum(np.asarray(self.factor_sizes, dtype=np.float32) - 1.0, 1.0)
        return (factors.astype(np.float32) / scale)[:, None, None, :]


def identity(x):
    return x.reshape(len(x), -1)


def permuted(perm):
    """The identity with its dimensions permuted and rescaled (an equally perfect code)."""
    def rep(x):
        return 2.0 * identity(x)[:, perm] - 0.5
    return rep


def constant(num_dims):
    def rep(x):
        return np.zeros((len(x), num_dims))
    return rep


def noise(num_dims, seed=123):
    """Codes independent of the input (a fresh draw per call, from a fixed stream)."""
    rng = np.random.RandomState(seed)

    def rep(x):
        return rng.randn(len(x), num_dims)
    return rep


def columns(cols, matrix=None):
    """Codes = chosen identity columns (duplicates allowed), optionally mixed by ``matrix``."""
    def rep(x):
        z = identity(x)[:, cols]
        return z if matrix is None else z.dot(matrix)
    return rep


HADAMARD = np.array([[1.0, 1.0], [1.0, -1.0]])   # codes x + y and x - y: each factor spread equally over both


# ------------------------------------------------------------------------------------------------------------
# Shared helpers: sampling, discretisation, MI / entropy by hand


def test_generate_batch_factor_code_layout_and_batches():
    data = ToyData([4, 5, 3])
    seen = []

    def rep(x):
        seen.append(len(x))
        return identity(x)

    codes, factors = du.generate_batch_factor_code(data, rep, 37, np.random.RandomState(0), 16)
    assert seen == [16, 16, 5]
    assert codes.shape == (3, 37) and factors.shape == (3, 37)          # [D, N] and [F, N]
    assert factors.dtype == np.int64
    np.testing.assert_allclose(codes * np.array([[3.0], [4.0], [2.0]]), factors, atol=1e-6)


def test_discretize_by_hand():
    # 2 bins over [0, 1]: left edges [0, 0.5] -> 0 -> 1, 0.25 -> 1, 0.5 -> 2, 1 -> 2
    np.testing.assert_array_equal(du.discretize(np.array([[0.0, 0.25, 0.5, 1.0]]), 2), [[1, 1, 2, 2]])
    # 20 bins: each of 10 equally spaced values gets its own bin, ordered; rows are binned separately
    rows = np.stack([np.linspace(0, 9, 10), np.linspace(-100, 100, 10)])
    out = du.discretize(rows, 20)
    assert out.min() >= 1 and out.max() <= 20
    for row in out:
        assert len(np.unique(row)) == 10 and np.all(np.diff(row) > 0)
    np.testing.assert_array_equal(out[0], out[1])
    # a constant row maps to a single value
    assert len(np.unique(du.discretize(np.full((1, 7), 3.0), 20))) == 1


def test_discrete_entropy_and_mutual_info_by_hand():
    f = np.array([[0, 0, 1, 1], [0, 1, 0, 1], [0, 0, 1, 2]])
    # H(uniform binary) = ln 2; H([1/2, 1/4, 1/4]) = 1.5 ln 2
    np.testing.assert_allclose(du.discrete_entropy(f), [math.log(2), math.log(2), 1.5 * math.log(2)], rtol=1e-12)
    codes = np.array([[0, 0, 1, 1], [0, 0, 0, 1]])
    m = du.discrete_mutual_info(codes, f[:2])
    # code 0 = factor 0 (MI = ln 2), independent of factor 1 (MI = 0); code 1 = AND(f0, f1): MI with either
    # factor = .5 ln(.5 / .375) + .25 ln(.25 / .375) + .25 ln(.25 / .125) = .75 ln(4/3)
    np.testing.assert_allclose(m, [[math.log(2), 0.0], [0.75 * math.log(4.0 / 3.0)] * 2], atol=1e-12)


def test_mig_by_hand():
    f = np.array([[0, 0, 1, 1], [0, 1, 0, 1]])
    codes = np.array([[0.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 0.0, 1.0]])
    score, gaps, m, h = mig.mig_from_codes(codes, f)
    expected_gap = 1.0 - 0.75 * math.log(4.0 / 3.0) / math.log(2.0)   # (ln 2 - .75 ln 4/3) / ln 2 per factor
    np.testing.assert_allclose(gaps, [expected_gap, expected_gap], rtol=1e-12)
    assert score == pytest.approx(expected_gap, rel=1e-12)
    with pytest.raises(ValueError, match='at least two code dimensions'):
        mig.mig_from_codes(codes[:1], f)
    with pytest.raises(ValueError, match='single value'):
        mig.mig_from_codes(codes, np.array([[0, 0, 0, 0], [0, 1, 0, 1]]))


def test_entropy_matches_scipy():
    from scipy.stats import entropy as scipy_entropy
    p = np.random.RandomState(0).rand(4, 3)
    for base in (2, 3, 4):
        np.testing.assert_allclose(du.entropy(p, base, axis=0), scipy_entropy(p, base=base), rtol=1e-12)
    np.testing.assert_allclose(du.entropy(np.array([[1.0], [0.0]]), 2), [0.0])


def test_dci_terms_by_hand():
    r = np.array([[1.0, 0.0], [0.5, 0.5]])
    # rows: [1, 0] -> entropy 0 -> 1; [.5, .5] -> entropy 1 -> 0; code weights 1/2, 1/2
    np.testing.assert_allclose(dci.disentanglement_per_code(r), [1.0, 0.0], atol=1e-8)
    assert dci.disentanglement(r) == pytest.approx(0.5, abs=1e-8)
    # columns: [1, .5] -> p = [2/3, 1/3], H2 = log2(3) - 2/3; [0, .5] -> entropy 0; factor weights 3/4, 1/4
    h = math.log(3, 2) - 2.0 / 3.0
    np.testing.assert_allclose(dci.completeness_per_factor(r), [1.0 - h, 1.0], atol=1e-8)
    assert dci.completeness(r) == pytest.approx(0.75 * (1.0 - h) + 0.25, abs=1e-8)
    # all-zero importance (a constant code): 0, not NaN; an all-zero row gets weight 0
    zero = np.zeros((3, 2))
    assert dci.disentanglement(zero) == pytest.approx(0.0, abs=1e-12)
    assert dci.completeness(zero) == pytest.approx(0.0, abs=1e-12)
    assert dci.disentanglement(np.array([[1.0, 0.0], [0.0, 0.0]])) == pytest.approx(1.0, abs=1e-8)


def test_sap_terms_by_hand():
    s = np.array([[0.9, 0.2], [0.5, 0.6], [0.1, 0.55]])
    assert sap.avg_diff_top_two(s) == pytest.approx(((0.9 - 0.5) + (0.6 - 0.55)) / 2)


def test_majority_vote_by_hand():
    votes = np.array([[5, 0, 1], [2, 0, 7]])            # [factors, active dims]
    acc, clf = factor_vae_score.majority_vote_accuracy(votes)
    np.testing.assert_array_equal(clf, [0, 0, 1])       # empty dim -> factor 0, never matters
    assert acc == pytest.approx(12.0 / 15.0)
    acc2, _ = factor_vae_score.majority_vote_accuracy(np.array([[1, 1, 0], [0, 1, 3]]), clf)
    assert acc2 == pytest.approx(5.0 / 6.0)    # dims 0, 1 -> factor 0 (1 + 1 right), dim 2 -> factor 1 (3 right)


# ------------------------------------------------------------------------------------------------------------
# beta-VAE score


def _bvae(rep, seed=0, sizes=(4, 5, 3)):
    return beta_vae_score.compute_beta_vae_score(ToyData(sizes), rep, np.random.RandomState(seed), batch_size=16,
                                                 num_train=300, num_eval=200)


def test_beta_vae_identity_and_permuted_high():
    for rep in (identity, permuted([2, 0, 1])):
        s = _bvae(rep)
        assert 0.9 <= s['train_accuracy'] <= 1.0 and 0.9 <= s['eval_accuracy'] <= 1.0, s


def test_beta_vae_uninformative_low():
    # constant or input-independent codes carry no information about the fixed factor: the classifier is at
    # best the majority class of the 200 eval labels, 1/3 in expectation (std sqrt(2/9 / 200) = 0.033), so
    # an accuracy above 0.5 would be a 5-sigma event.
    for rep in (constant(3), noise(3)):
        assert _bvae(rep)['eval_accuracy'] < 0.5


# ------------------------------------------------------------------------------------------------------------
# FactorVAE score


def _fvae(rep, seed=0, sizes=(4, 5, 3)):
    return factor_vae_score.compute_factor_vae_score(ToyData(sizes), rep, np.random.RandomState(seed),
                                                     batch_size=32, num_train=300, num_eval=200,
                                                     num_variance_estimate=1000)


def test_factor_vae_identity_and_permuted_high():
    for rep in (identity, permuted([1, 2, 0])):
        s = _fvae(rep)
        assert 0.9 <= s['train_accuracy'] <= 1.0 and 0.9 <= s['eval_accuracy'] <= 1.0, s
        assert s['num_active_dims'] == 3


def test_factor_vae_constant_has_no_active_dims():
    assert _fvae(constant(3)) == {'train_accuracy': 0.0, 'eval_accuracy': 0.0, 'num_active_dims': 0}


def test_factor_vae_prunes_small_dims():
    # a fourth code with std 0.01 < 0.05 is pruned; the score is unchanged
    def rep(x):
        z = identity(x)
        return np.concatenate([z, 0.01 * np.sign(z[:, :1] - 0.5)], axis=1)
    s = _fvae(rep)
    assert s['num_active_dims'] == 3 and s['eval_accuracy'] >= 0.9


def test_factor_vae_noise_low():
    # votes of input-independent codes are independent of the fixed factor: each eval vote is right with
    # probability 1/3 (std of the mean over 200 votes 0.033): 0.55 is more than 6 sigma above chance.
    assert _fvae(noise(3))['eval_accuracy'] < 0.55


# ------------------------------------------------------------------------------------------------------------
# MIG


def _mig(rep, seed=0, sizes=(4, 5, 3), num=1000):
    return mig.compute_mig(ToyData(sizes), rep, np.random.RandomState(seed), num_train=num)['discrete_mig']


def test_mig_identity_and_permuted_high():
    # every factor has <= 20 classes, so each class gets its own bin: I(code_k; factor_k) = H(factor_k) and
    # the other codes' MI is the small positive bias of the plug-in estimate (~(K1 - 1)(K2 - 1) / 2N)
    for rep in (identity, permuted([2, 0, 1])):
        assert 0.9 <= _mig(rep) <= 1.0


def test_mig_constant_and_noise_low():
    assert _mig(constant(3)) == 0.0
    # independent codes: MI is only the estimator's bias, (20 - 1)(K - 1) / (2 * 1000) <= 0.04 nats, against
    # H(factor) >= ln 3
    assert _mig(noise(3)) < 0.05


def test_mig_symmetric_mix_low():
    # codes x + y and x - y on a 10 x 10 grid: each factor has the same MI with both codes in the population
    # (y -> 9 - y maps one onto the other), so the gap is estimation noise only
    assert _mig(columns([0, 1], HADAMARD), sizes=(10, 10)) < 0.1


def test_mig_duplicated_factor():
    # codes (f0, f0): factor 0 has two equal top MIs (gap exactly 0), factor 1 is not encoded (gap 0)
    assert _mig(columns([0, 0]), sizes=(10, 10)) == pytest.approx(0.0, abs=1e-12)
    # codes (f0, f0, f2) for three factors: gaps [0, ~0, ~1] -> MIG ~ 1/3
    codes, factors = du.generate_batch_factor_code(ToyData([6, 6, 6]), columns([0, 0, 2]), 1000,
                                                   np.random.RandomState(0), 16)
    score, gaps, _, _ = mig.mig_from_codes(codes, factors)
    assert gaps[0] == pytest.approx(0.0, abs=1e-12) and gaps[1] < 0.05 and gaps[2] > 0.9
    assert 0.25 < score < 0.4


# ------------------------------------------------------------------------------------------------------------
# DCI


def _dci(rep, seed=0, sizes=(4, 5, 3), num=400):
    return dci.compute_dci(ToyData(sizes), rep, np.random.RandomState(seed), num_train=num, num_test=num // 2)


def test_dci_identity_and_permuted_high():
    for rep in (identity, permuted([1, 2, 0])):
        s = _dci(rep)
        for key in ('disentanglement', 'completeness', 'informativeness_train', 'informativeness_test'):
            assert 0.9 <= s[key] <= 1.0 + 1e-9, (key, s)


def test_dci_parallel_factors_same_scores():
    data, rep = ToyData([4, 5, 3]), _noisy_identity
    a = dci.compute_dci(data, rep, 3, num_train=100, num_test=50)
    b = dci.compute_dci(data, rep, 3, num_train=100, num_test=50, n_jobs=2)
    assert a == b


def test_dci_constant_scores_zero():
    s = _dci(constant(3))
    assert s['disentanglement'] == pytest.approx(0.0, abs=1e-9)
    assert s['completeness'] == pytest.approx(0.0, abs=1e-9)
    assert not any(math.isnan(v) for v in s.values())
    # informativeness of a constant code = accuracy of predicting one class, ~1/K per factor
    assert s['informativeness_test'] < 0.5


def test_dci_symmetric_mix_low():
    # codes x + y and x - y: both codes are needed for each factor and by symmetry get equal importance, so
    # every row and column of R is near uniform (entropy ~1): D and C near 0; the code is still informative
    s = _dci(columns([0, 1], HADAMARD), sizes=(10, 10))
    assert s['disentanglement'] < 0.15 and s['completeness'] < 0.15
    assert s['informativeness_test'] > 0.9


def test_dense_random_mix_low():
    # codes = 5 factors times a dense Gaussian 5 x 5 matrix: every factor is spread over all codes, so the MI
    # gap and the importance concentration are small (over 8 matrices: MIG 0.04-0.21, D and C 0.06-0.22 at
    # these sizes; identity >= 0.99)
    rep = columns(list(range(5)), np.random.RandomState(0).randn(5, 5))
    assert _mig(rep, sizes=(6,) * 5) < 0.4
    s = _dci(rep, sizes=(6,) * 5)
    assert s['disentanglement'] < 0.4 and s['completeness'] < 0.4


def test_dci_duplicated_factor_low():
    # codes (f0, f0) on two factors: factor 0's importance splits between the identical codes, factor 1 (not
    # encoded) spreads over both: all rows and columns near uniform
    s = _dci(columns([0, 0]), sizes=(10, 10))
    assert s['disentanglement'] < 0.15 and s['completeness'] < 0.15
    assert s['informativeness_test'] < 0.75     # factor 0 perfect, factor 1 at chance (~0.1)


# ------------------------------------------------------------------------------------------------------------
# SAP


def _sap(rep, seed=0, sizes=(4, 5, 3), continuous=False, num=600):
    return sap.compute_sap(ToyData(sizes), rep, np.random.RandomState(seed), num_train=num, num_test=num // 2,
                           continuous_factors=continuous)['SAP_score']


def test_sap_continuous_identity_and_permuted_high():
    # squared correlation: 1 for the matching code, ~0 (O(1/N)) for the others
    for rep in (identity, permuted([2, 0, 1])):
        assert 0.9 <= _sap(rep, continuous=True) <= 1.0


def test_sap_discrete_identity_on_binary_factors():
    # discrete SAP = best minus second-best accuracy. The second best comes from a code independent of the
    # factor, whose balanced classifier is right about 1/K of the time, so even a perfect code cannot exceed
    # 1 - 1/K; and a linear classifier on one dimension separates at most the extreme classes, so K = 2 is the
    # only case where the best code reaches ~1. Binary factors: expect ~1 - 1/2 (+- 3 sigma = 0.09 at 300
    # test points).
    for rep in (identity, permuted([2, 0, 1])):
        assert 0.4 <= _sap(rep, sizes=(2, 2, 2)) <= 0.6


def test_sap_uninformative_low():
    assert _sap(constant(3)) == 0.0
    assert _sap(constant(3), continuous=True) == 0.0
    # independent codes: accuracies differ by sampling noise only (std of a difference ~0.04 at 300 points)
    assert _sap(noise(3)) < 0.15
    assert _sap(noise(3), continuous=True) < 0.05


# ------------------------------------------------------------------------------------------------------------
# CascadeVAE FactorVAE variant


def _casc(rep, seed=0, sizes=(4, 5, 3), **kwargs):
    return cascade_factor_vae.compute_cascade_factor_vae(ToyData(sizes), rep, np.random.RandomState(seed),
                                                         num_votes=200, batch_size=50, num_variance_estimate=1000,
                                                         **kwargs)


def test_cascade_identity_and_permuted_high():
    for rep in (identity, permuted([1, 2, 0])):
        s = _casc(rep)
        assert 0.9 <= s['accuracy'] <= 1.0 and s['num_active_dims'] == 3


def test_cascade_kl_mask():
    # all KLs below 0.1 -> nothing active -> 0
    assert _casc(identity, kl_per_dim=[0.0, 0.05, 0.09]) == {'accuracy': 0.0, 'num_active_dims': 0}
    assert _casc(identity, active_mask=np.zeros(3, bool)) == {'accuracy': 0.0, 'num_active_dims': 0}
    # masking the code of factor 1: its votes go to the other two dims and are wrong under the majority vote
    # (each dim keeps its own factor), so accuracy ~ 2/3 (std 0.033 at 200 votes)
    s = _casc(identity, kl_per_dim=[1.0, 0.05, 2.0])
    assert s['num_active_dims'] == 2 and 0.5 < s['accuracy'] < 0.8
    assert _casc(identity, active_mask=np.array([True, False, True])) == s
    # a given global variance is used as is
    assert _casc(identity, global_variances=np.ones(3))['accuracy'] >= 0.9
    with pytest.raises(ValueError, match='entries'):
        _casc(identity, kl_per_dim=[1.0, 1.0])
    with pytest.raises(ValueError, match='not both'):
        _casc(identity, kl_per_dim=[1.0] * 3, active_mask=np.ones(3, bool))


def test_cascade_noise_low():
    # input-independent codes: the majority vote over 200 votes on 3 dims fits noise, at most ~1/3 + the
    # excess of the per-dim maxima (a few sigma of 0.033 per dim); 0.6 is far above that
    assert _casc(noise(3))['accuracy'] < 0.6


# ------------------------------------------------------------------------------------------------------------
# Determinism and bad inputs


METRICS = {
    'beta_vae': lambda data, rep, seed: beta_vae_score.compute_beta_vae_score(
        data, rep, seed, batch_size=8, num_train=60, num_eval=40),
    'factor_vae': lambda data, rep, seed: factor_vae_score.compute_factor_vae_score(
        data, rep, seed, batch_size=8, num_train=60, num_eval=40, num_variance_estimate=200),
    'mig': lambda data, rep, seed: mig.compute_mig(data, rep, seed, num_train=200),
    'dci': lambda data, rep, seed: dci.compute_dci(data, rep, seed, num_train=100, num_test=50),
    'sap': lambda data, rep, seed: sap.compute_sap(data, rep, seed, num_train=100, num_test=50),
    'cascade': lambda data, rep, seed: cascade_factor_vae.compute_cascade_factor_vae(
        data, rep, seed, num_votes=40, batch_size=10, num_variance_estimate=200),
}


def _noisy_identity(x):
    # deterministic given the input, but not a perfect code, so that the estimators have something to fit
    z = identity(x)
    return np.concatenate([z + 0.3 * np.sin(17.0 * z[:, ::-1]), np.cos(5.0 * z[:, :1])], axis=1)


@pytest.mark.parametrize('name', sorted(METRICS))
def test_same_seed_same_scores(name):
    data = ToyData([4, 5, 3])
    a = METRICS[name](data, _noisy_identity, np.random.RandomState(7))
    b = METRICS[name](data, _noisy_identity, np.random.RandomState(7))
    c = METRICS[name](data, _noisy_identity, 7)            # an int seed is the same as RandomState(seed)
    assert a == b == c
    assert all(isinstance(v, (float, int)) for v in a.values())


@pytest.mark.parametrize('name', sorted(METRICS))
def test_bad_representation_output(name):
    data = ToyData([4, 5, 3])
    run = METRICS[name]
    with pytest.raises(ValueError, match=r'rows .*one row per image'):
        run(data, lambda x: identity(x)[:-1], 0)
    with pytest.raises(ValueError, match=r'2-D array.*shape \(\d+,\)'):
        run(data, lambda x: identity(x)[:, 0], 0)
    with pytest.raises(ValueError, match='representation contains NaN'):
        run(data, lambda x: np.where(identity(x) > 0.5, np.nan, identity(x)), 0)
    with pytest.raises(ValueError, match='real numbers'):
        run(data, lambda x: identity(x).astype(str), 0)


class _NoFactors(GroundTruthData):
    observation_shape = (1, 1, 1)

    def sample_observations_from_factors(self, factors, random_state):
        return np.zeros((len(factors), 1, 1, 1), np.float32)


@pytest.mark.parametrize('name', sorted(METRICS))
def test_bad_dataset(name):
    run = METRICS[name]
    with pytest.raises(TypeError, match='not a ground-truth data object'):
        run(object(), identity, 0)
    with pytest.raises(TypeError, match='not a ground-truth data object'):
        run(np.zeros((10, 3)), identity, 0)
    with pytest.raises(ValueError, match='no ground-truth factors'):
        run(_NoFactors(), identity, 0)


def test_bad_arguments():
    data = ToyData([4, 5, 3])
    with pytest.raises(TypeError, match='random_state'):
        mig.compute_mig(data, identity, 'seed', num_train=10)
    with pytest.raises(ValueError, match='num_train'):
        mig.compute_mig(data, identity, 0, num_train=0)
    with pytest.raises(ValueError, match='at least two code dimensions'):
        mig.compute_mig(data, lambda x: identity(x)[:, :1], 0, num_train=50)
    with pytest.raises(ValueError, match='code dimensions .* after'):
        calls = []

        def changing(x):
            calls.append(1)
            return identity(x) if len(calls) == 1 else identity(x)[:, :2]
        du.generate_batch_factor_code(data, changing, 20, np.random.RandomState(0), 10)


def test_vote_bars_on_stderr_only_with_progress_and_same_scores(capsys):
    """``progress=True`` draws the vote loops' tqdm bars on stderr; the scores are those of a quiet run."""
    quiet = _casc(identity)
    assert "votes" not in capsys.readouterr().err
    assert _casc(identity, progress=True) == quiet
    assert "votes" in capsys.readouterr().err
