"""DCI: disentanglement, completeness, informativeness (Eastwood & Williams, ICLR 2018), as defined by the
reference implementation.

Encode ``num_train`` and ``num_test`` random observations. For each factor j fit one sklearn
GradientBoostingClassifier (library defaults; seeded from ``random_state``) on the codes; column j of the
importance matrix R [D codes, F factors] is |feature_importances_| (each column sums to 1, or is all zero when
no tree could split, e.g. for constant codes). Then, with a small constant 1e-11 added before normalising so
that all-zero rows and columns have a defined (uniform, maximal) entropy:

    disentanglement = sum_i rho_i * (1 - H_F(R[i, :]))     rho_i = R[i, :].sum() / R.sum()
    completeness    = sum_j w_j  * (1 - H_D(R[:, j]))      w_j   = R[:, j].sum() / R.sum()

H_K = entropy in base K of the normalised row / column. When R is all zero the weights are uniform (so a
constant code scores 0, the reference's edge case). Since every non-zero column sums to 1, the completeness
weights are 1/F and completeness is the mean over factors, except for factors whose classifier found no split
(weight 0). Informativeness = mean over factors of the train / test accuracy of the classifiers.

Returns {'disentanglement', 'completeness', 'informativeness_train', 'informativeness_test'}.

Cost: GradientBoostingClassifier fits one tree per class and stage (100 stages), so the reference sizes on
dSprites (10,000 points, 3 + 6 + 40 + 32 + 32 classes) take minutes (about 6.5 min on 2 busy cores with
sklearn 1.9); ``n_jobs`` fits the factors in parallel. See benchmarks/bench_metrics.py.
"""

import numpy as np

from metrics import disentanglement_utils as du

ENTROPY_EPS = 1e-11


def disentanglement_per_code(importance_matrix):
    """1 - entropy (base F) of each code's normalised importance row: [D]."""
    im = np.asarray(importance_matrix, dtype=np.float64)
    return 1.0 - du.entropy(im.T + ENTROPY_EPS, base=im.shape[1], axis=0)


def disentanglement(importance_matrix):
    """Importance-weighted mean of ``disentanglement_per_code``; uniform weights when R is all zero."""
    im = np.asarray(importance_matrix, dtype=np.float64)
    per_code = disentanglement_per_code(im)
    if im.sum() == 0.0:
        im = np.ones_like(im)
    code_importance = im.sum(axis=1) / im.sum()
    return float(np.sum(per_code * code_importance))


def completeness_per_factor(importance_matrix):
    """1 - entropy (base D) of each factor's normalised importance column: [F]."""
    im = np.asarray(importance_matrix, dtype=np.float64)
    return 1.0 - du.entropy(im + ENTROPY_EPS, base=im.shape[0], axis=0)


def completeness(importance_matrix):
    """Importance-weighted mean of ``completeness_per_factor``; uniform weights when R is all zero."""
    im = np.asarray(importance_matrix, dtype=np.float64)
    per_factor = completeness_per_factor(im)
    if im.sum() == 0.0:
        im = np.ones_like(im)
    factor_importance = im.sum(axis=0) / im.sum()
    return float(np.sum(per_factor * factor_importance))


def _fit_one_factor(x_train, y_train_j, x_test, y_test_j, seed):
    """(|feature_importances_| [D], train accuracy, test accuracy) of one factor's classifier."""
    from sklearn.ensemble import GradientBoostingClassifier

    if np.unique(y_train_j).size < 2:
        # a factor with one value in the sample: the classifier cannot be fitted; nothing to explain
        return np.zeros(x_train.shape[0]), 1.0, float(np.mean(y_test_j == y_train_j[0]))
    model = GradientBoostingClassifier(random_state=seed)
    model.fit(x_train.T, y_train_j)
    return (np.abs(model.feature_importances_), float(np.mean(model.predict(x_train.T) == y_train_j)),
            float(np.mean(model.predict(x_test.T) == y_test_j)))


def compute_importance_gbt(x_train, y_train, x_test, y_test, seed, n_jobs=1):
    """One GradientBoostingClassifier per factor (factor j seeded with ``seed + j``). x: codes [D, N]; y:
    factors [F, N]. Returns (importance [D, F], mean train accuracy, mean test accuracy). ``n_jobs`` > 1 fits
    the factors in parallel processes (joblib); the results do not depend on it."""
    num_factors = y_train.shape[0]
    args = [(x_train, y_train[j, :], x_test, y_test[j, :], seed + j) for j in range(num_factors)]
    if n_jobs == 1:
        results = [_fit_one_factor(*a) for a in args]
    else:
        from joblib import Parallel, delayed
        results = Parallel(n_jobs=n_jobs)(delayed(_fit_one_factor)(*a) for a in args)
    importance = np.stack([r[0] for r in results], axis=1)
    return importance, float(np.mean([r[1] for r in results])), float(np.mean([r[2] for r in results]))


def dci_from_codes(x_train, y_train, x_test, y_test, seed=0, n_jobs=1):
    """DCI scores from codes [D, N] and factors [F, N]; also returns the importance matrix under
    'importance_matrix' (a [D, F] array)."""
    if x_train.shape[0] < 2 or y_train.shape[0] < 2:
        raise ValueError('DCI needs at least two code dimensions and two factors (entropies in base D and F), '
                         'got %d codes and %d factors' % (x_train.shape[0], y_train.shape[0]))
    importance, train_acc, test_acc = compute_importance_gbt(x_train, y_train, x_test, y_test, seed, n_jobs)
    return {'disentanglement': disentanglement(importance), 'completeness': completeness(importance),
            'informativeness_train': train_acc, 'informativeness_test': test_acc,
            'importance_matrix': importance}


def compute_dci(ground_truth_data, representation_function, random_state, num_train=10000, num_test=5000,
                batch_size=16, n_jobs=1):
    """DCI with the reference defaults (10,000 train / 5,000 test points, batches of 16). ``n_jobs``: factors
    fitted in parallel (joblib processes; -1 = all cores); the scores do not depend on it."""
    random_state, (x_train, y_train), (x_test, y_test) = du.train_test_codes(
        ground_truth_data, representation_function, random_state, num_train, num_test, batch_size)
    scores = dci_from_codes(x_train, y_train, x_test, y_test, seed=du.estimator_seed(random_state),
                            n_jobs=n_jobs)
    del scores['importance_matrix']
    return scores
