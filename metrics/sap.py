"""SAP score, Separated Attribute Predictability (Kumar et al., ICLR 2018), as defined by the reference
implementation.

Encode ``num_train`` and ``num_test`` random observations. Score matrix S [D codes, F factors]:

* discrete factors (the default, ``continuous_factors=False``): S[i, j] = test accuracy of an sklearn
  LinearSVC(C=0.01, class_weight='balanced') trained to predict factor j from code dimension i alone
  (seeded from ``random_state``; liblinear's dual solver, the library default when the reference was written,
  set explicitly so that every sklearn version solves the same problem);
* continuous factors: S[i, j] = squared correlation of code i and factor j on the training points
  (0 when the code's variance is <= 1e-12).

SAP = mean over factors of (largest - second largest entry of the factor's column of S).

Returns {'SAP_score'}. Needs at least two code dimensions. LinearSVC's ConvergenceWarning (the reference's
max_iter=1000 is kept) is silenced: the score is computed from the model as fitted.

Even a perfect code scores low when a factor has many classes: a linear classifier on one dimension with
C=0.01 cannot separate 32 ordered classes (dSprites identity code: about 0.24).
"""

import warnings

import numpy as np

from metrics import disentanglement_utils as du


def compute_score_matrix(mus, ys, mus_test, ys_test, continuous_factors=False, seed=0):
    """S [D, F] from codes mus [D, N], factors ys [F, N] (and the test split for discrete factors)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    num_codes, num_factors = mus.shape[0], ys.shape[0]
    score = np.zeros((num_codes, num_factors))
    for i in range(num_codes):
        for j in range(num_factors):
            mu_i, y_j = mus[i, :], ys[j, :]
            if continuous_factors:
                cov = np.cov(mu_i, y_j, ddof=1)
                var_mu, var_y = cov[0, 0], cov[1, 1]
                score[i, j] = cov[0, 1] ** 2 / (var_mu * var_y) if var_mu > 1e-12 else 0.0
                continue
            if np.unique(y_j).size < 2:
                score[i, j] = float(np.mean(ys_test[j, :] == y_j[0]))   # one class: predicting it is all there is
                continue
            clf = LinearSVC(C=0.01, class_weight='balanced', dual=True, random_state=seed)
            with warnings.catch_warnings():
                warnings.simplefilter('ignore', category=ConvergenceWarning)
                clf.fit(mu_i[:, None], y_j)
            score[i, j] = float(np.mean(clf.predict(mus_test[i, :][:, None]) == ys_test[j, :]))
    return score


def avg_diff_top_two(matrix):
    """Mean over columns of (largest - second largest entry)."""
    ordered = np.sort(matrix, axis=0)
    return float(np.mean(ordered[-1, :] - ordered[-2, :]))


def sap_from_codes(mus, ys, mus_test, ys_test, continuous_factors=False, seed=0):
    """(SAP score, score matrix [D, F])."""
    if mus.shape[0] < 2:
        raise ValueError('SAP needs at least two code dimensions, got codes of shape %s' % (mus.shape,))
    matrix = compute_score_matrix(mus, ys, mus_test, ys_test, continuous_factors, seed)
    return avg_diff_top_two(matrix), matrix


def compute_sap(ground_truth_data, representation_function, random_state, num_train=10000, num_test=5000,
                batch_size=16, continuous_factors=False):
    """SAP with the reference defaults (10,000 train / 5,000 test points, batches of 16, discrete
    factors)."""
    random_state, (mus, ys), (mus_test, ys_test) = du.train_test_codes(
        ground_truth_data, representation_function, random_state, num_train, num_test, batch_size)
    score, _ = sap_from_codes(mus, ys, mus_test, ys_test, continuous_factors, du.estimator_seed(random_state))
    return {'SAP_score': score}
