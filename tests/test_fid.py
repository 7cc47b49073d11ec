"""Fréchet distance maths and the FID plumbing with a small stand-in feature network."""

import hashlib
import pickle

import numpy as np
import pytest
import scipy.linalg

from dnnlib import tflib
from dnnlib.tflib.compat import tf
from metrics import fid
from metrics.frechet_distance import feature_statistics, frechet_distance


def test_frechet_distance_matches_closed_form_for_diagonal_gaussians():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    var1, var2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(var1 + var2 - 2 * np.sqrt(var1 * var2))
    assert frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(expected, rel=1e-10)


def test_frechet_distance_matches_direct_scipy_on_random_covariances():
    rng = np.random.RandomState(0)
    a, b = rng.randn(5, 5), rng.randn(5, 5)
    s1, s2 = a @ a.T + np.eye(5), b @ b.T + np.eye(5)
    m1, m2 = rng.randn(5), rng.randn(5)
    direct = np.sum((m1 - m2) ** 2) + np.trace(s1 + s2 - 2 * np.real(scipy.linalg.sqrtm(s1 @ s2)))
    assert frechet_distance(m1, s1, m2, s2) == pytest.approx(direct, rel=1e-9)
    # Symmetric, and zero for identical statistics.
    assert frechet_distance(m2, s2, m1, s1) == pytest.approx(direct, rel=1e-6)
    assert abs(frechet_distance(m1, s1, m1, s1)) < 1e-8


def test_fid_of_a_set_against_itself_is_zero_and_of_shifted_set_is_the_shift():
    feats = np.random.RandomState(1).randn(500, 8)
    mu, sigma = feature_statistics(feats)
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-8
    mu2, sigma2 = feature_statistics(feats + 3.0)
    assert frechet_distance(mu, sigma, mu2, sigma2) == pytest.approx(8 * 9.0, rel=1e-6)


def test_bad_statistics_are_rejected():
    with pytest.raises(ValueError, match="NaN"):
        feature_statistics(np.array([[0.0, np.nan], [1.0, 2.0]]))
    with pytest.raises(ValueError, match="mismatched"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


def test_feature_network_needs_a_matching_sha256(tf_session, tmp_path):
    net = tflib.Network("Feat", func_name="tests.nets_for_tests.tiny_mlp", num_inputs=4)
    path = tmp_path / "feat.pkl"
    path.write_bytes(pickle.dumps(net))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(ValueError, match="sha256"):
        fid.load_feature_network(str(path), sha256=None)
    with pytest.raises(IOError):
        fid.load_feature_network(str(path), sha256="0" * 64)
    graph = tf.Graph()
    with graph.as_default(), tf.Session(graph=graph).as_default():
        loaded = fid.load_feature_network(str(path), sha256=digest)
        assert loaded.output_shapes == [[None, 3]]
