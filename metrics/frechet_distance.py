"""Fréchet distance between Gaussians fitted to two feature sets (the maths of FID)."""

import numpy as np
import scipy.linalg


def feature_statistics(features):
    """[N, F] features -> (mean [F], covariance [F, F]) in float64 (np.cov, ddof=1)."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError("need a [N >= 2, F] feature array, got shape %s" % (features.shape,))
    if not np.all(np.isfinite(features)):
        raise ValueError("features contain NaN or Inf")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """|mu1 - mu2|^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2)).

    The matrix square root may pick up a tiny imaginary part from round-off; it is dropped (the
    real part is the answer). Returns a float >= 0 up to round-off.
    """
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1, sigma2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.size, mu1.size):
        raise ValueError("mismatched statistics: means %s / %s, covariances %s / %s" % (mu1.shape, mu2.shape, sigma1.shape, sigma2.shape))
    covmean, _ = scipy.linalg.sqrtm(sigma1.dot(sigma2), disp=False)
    covmean = np.real(covmean)
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))
