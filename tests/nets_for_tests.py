"""Tiny build functions for the Network / Optimizer tests (a real module so its source can be
embedded in pickles)."""

import copyreg

import numpy as np

from dnnlib import tflib
from dnnlib.tflib.compat import tf


class PicklesAsNetwork(object):
    """Pickles as a ``dnnlib.tflib.network.Network`` with the given state, byte for byte what a Network whose
    __getstate__ returned it would write: to write pickles in other formats (NVIDIA's, older ones of ours)."""

    def __init__(self, state):
        self.state = state

    @property
    def __class__(self):         # what pickle checks NEWOBJ's class against
        return tflib.Network

    def __reduce__(self):
        return (copyreg.__newobj__, (tflib.Network,), self.state)


def dense_layer(x, units, name):
    with tf.variable_scope(name):
        fan_in = x.shape[1].value
        w = tf.get_variable("weight", [fan_in, units], initializer=tf.initializers.random_normal(0, 1.0 / np.sqrt(fan_in)))
        b = tf.get_variable("bias", [units], initializer=tf.initializers.random_normal(0, 0.1))
        return tf.matmul(x, w) + b


def tiny_mlp(x, num_inputs=4, num_hidden=8, num_outputs=3, scale=1.0, **_kwargs):
    """[N, num_inputs] -> [N, num_outputs]; `scale` is a dynamic kwarg used by the run() tests."""
    x.set_shape([None, num_inputs])
    h = tf.nn.tanh(dense_layer(x, num_hidden, "Dense0"))
    with tf.variable_scope("Counter"):
        tf.get_variable("steps", [], initializer=tf.initializers.constant(7.0), trainable=False)
    return tf.identity(dense_layer(h, num_outputs, "Dense1") * scale, name="out")


def tiny_two_inputs(x, y, num_inputs=4, **_kwargs):
    """Two inputs, two outputs: (x @ w + y, sum of squares)."""
    x.set_shape([None, num_inputs])
    y.set_shape([None, 2])
    out = dense_layer(x, 2, "Dense") + y
    return out, tf.reduce_sum(tf.square(out), axis=1, keepdims=True)


def tiny_with_component(x, components=None, num_inputs=4, **kwargs):
    """A network that owns a sub-network ('head') built from tiny_mlp."""
    x.set_shape([None, num_inputs])
    if "head" not in components:
        components.head = tflib.Network("Head", func_name=tiny_mlp, num_inputs=num_inputs, num_outputs=2)
    h = dense_layer(x, num_inputs, "Pre")
    return components.head.get_output_for(h)
