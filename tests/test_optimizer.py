"""dnnlib.tflib.Optimizer: towers, lazy-regularisation correction, accumulation, loss scaling,
non-finite gradients."""

import numpy as np
import pytest

from dnnlib import tflib
from dnnlib.tflib.compat import tf
from dnnlib.tflib.optimizer import lazy_regularization_params

RNG = np.random.RandomState(1)
X = RNG.randn(8, 4).astype(np.float32)
Y = RNG.randn(8, 3).astype(np.float32)
W0 = RNG.randn(4, 3).astype(np.float32)


def _train(num_towers, steps=3, **opt_kwargs):
    """Least squares on (X, Y), the batch split over `num_towers` devices; returns final weights."""
    graph = tf.Graph()
    config = tf.ConfigProto(device_count={"CPU": 2})
    with graph.as_default(), tf.Session(graph=graph, config=config).as_default() as sess:
        with tf.device("/cpu:0"):
            w = tf.Variable(W0, name="w")
        opt_kwargs.setdefault("learning_rate", 0.05)
        opt = tflib.Optimizer(name="Train", **opt_kwargs)
        per = len(X) // num_towers
        for i in range(num_towers):
            with tf.device("/cpu:%d" % i):
                pred = tf.matmul(tf.constant(X[i * per:(i + 1) * per]), w)
                loss = tf.reduce_mean(tf.square(pred - Y[i * per:(i + 1) * per]))
                opt.register_gradients(loss, [w])
        train = opt.apply_updates()
        tflib.init_uninitialized_vars()
        for _ in range(steps):
            sess.run(train)
        return sess.run([w, opt.global_step, opt.nonfinite_count])


def test_two_towers_equal_one_device_on_the_whole_batch():
    w1, steps1, _ = _train(1, beta1=0.0, beta2=0.99)
    w2, steps2, _ = _train(2, beta1=0.0, beta2=0.99)
    assert steps1 == steps2 == 3
    assert not np.allclose(w1, W0)  # it did train
    np.testing.assert_allclose(w2, w1, rtol=1e-5, atol=1e-6)


def test_sgd_step_matches_hand_computed_gradient():
    lr = 0.05
    w, _, _ = _train(2, steps=1, tf_optimizer="tf.train.GradientDescentOptimizer", learning_rate=lr)
    grad = 2.0 / Y.size * X.T @ (X @ W0 - Y)
    np.testing.assert_allclose(w, W0 - lr * grad, rtol=1e-5, atol=1e-6)


def test_lazy_regularization_correction():
    lr, b1, b2 = lazy_regularization_params(0.002, 0.0, 0.99, 4)
    assert lr == pytest.approx(0.0016)
    assert b1 == 0.0 and b2 == pytest.approx(0.99 ** 0.8)
    lr, _, b2 = lazy_regularization_params(0.002, 0.0, 0.99, 16)
    assert lr == pytest.approx(0.002 * 16 / 17) and b2 == pytest.approx(0.99 ** (16 / 17))
    graph = tf.Graph()
    with graph.as_default(), tf.Session(graph=graph).as_default():
        opt = tflib.Optimizer(learning_rate=0.002, beta1=0.0, beta2=0.99, reg_interval=4)
        assert opt.learning_rate == pytest.approx(0.0016)
        assert opt.optimizer_kwargs["beta2"] == pytest.approx(0.99199, abs=1e-5)


def test_minibatch_multiplier_accumulates_before_applying():
    # Accumulating 2 calls on the whole batch with SGD == one step on the whole batch.
    w_acc, steps, _ = _train(1, steps=2, tf_optimizer="tf.train.GradientDescentOptimizer", minibatch_multiplier=2)
    w_one, _, _ = _train(1, steps=1, tf_optimizer="tf.train.GradientDescentOptimizer")
    assert steps == 1
    np.testing.assert_allclose(w_acc, w_one, rtol=1e-6)


def test_loss_scaling_does_not_change_the_update():
    plain, _, _ = _train(1, steps=2, tf_optimizer="tf.train.GradientDescentOptimizer")
    scaled, _, _ = _train(1, steps=2, tf_optimizer="tf.train.GradientDescentOptimizer", use_loss_scaling=True)
    np.testing.assert_allclose(scaled, plain, rtol=1e-5)


def test_nonfinite_gradients_skip_the_update_and_are_counted():
    graph = tf.Graph()
    with graph.as_default(), tf.Session(graph=graph).as_default() as sess:
        w = tf.Variable(np.ones(3, np.float32))
        bad = tf.placeholder(tf.float32, [])
        opt = tflib.Optimizer(learning_rate=0.1)
        opt.register_gradients(tf.reduce_sum(w * bad), [w])
        train = opt.apply_updates()
        tflib.init_uninitialized_vars()
        sess.run(train, {bad: np.nan})
        np.testing.assert_array_equal(sess.run(w), np.ones(3))
        assert sess.run(opt.nonfinite_count) == 1 and sess.run(opt.global_step) == 0
        sess.run(train, {bad: 1.0})
        assert sess.run(opt.global_step) == 1
        assert not np.allclose(sess.run(w), 1.0)


def test_misuse_is_reported():
    graph = tf.Graph()
    with graph.as_default(), tf.Session(graph=graph).as_default():
        opt = tflib.Optimizer()
        with pytest.raises(RuntimeError, match="before any register_gradients"):
            opt.apply_updates()
        with pytest.raises(ValueError, match="no trainable"):
            tflib.Optimizer(name="B").register_gradients(tf.constant(1.0), [])
