"""Scalar statistics gathered inside the graph and written to TensorBoard.

``autosummary(name, value)`` may be called anywhere while building the graph (also on several
towers); it accumulates count, sum and sum of squares of every element of ``value`` each time the
returned tensor is evaluated. ``save_summaries(writer, step)`` writes the mean (and std) since the
previous save, resets the accumulators and returns the means as a dict for the text log.

The state lives on the graph object, so separate graphs (e.g. in tests) never share summaries.
"""

from collections import OrderedDict

import numpy as np

from dnnlib.tflib import tfutil
from dnnlib.tflib.compat import tf

_SCOPE = "Autosummary"


class _State:
    def __init__(self):
        self.accumulators = OrderedDict()  # name -> float64 Variable [count, sum, sum of squares]
        self.finalized = False
        self.reset = None  # op zeroing every accumulator
        self.values = OrderedDict()


def _state():
    graph = tf.get_default_graph()
    if not hasattr(graph, "_vpdis_autosummary"):
        graph._vpdis_autosummary = _State()
    return graph._vpdis_autosummary


def _valid_name(name):
    if not name or any(c not in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./" for c in name):
        raise ValueError("autosummary name %r: use letters, digits, '_', '-', '.', '/'" % (name,))
    return name


def autosummary(name, value, passthru=None, condition=True):
    """Record ``value`` (tensor or number) under ``name``; returns ``passthru`` (or ``value``).

    The update happens when the returned tensor is evaluated. ``condition`` (bool tensor) skips it.
    """
    state = _state()
    if state.finalized:
        raise RuntimeError("autosummary(%r) after finalize: create all summaries before saving" % name)
    name = _valid_name(name)
    if not tfutil.is_tf_expression(value):
        value = tf.constant(value, dtype=tf.float32)
    with tf.name_scope("summary_" + name.replace("/", "_")):
        flat = tf.cast(tf.reshape(value, [-1]), tf.float64)
        size = tf.cast(tf.size(flat), tf.float64)
        moments = tf.stack([size, tf.reduce_sum(flat), tf.reduce_sum(tf.square(flat))])
        moments = tf.where(tf.cast(condition, tf.bool), moments, tf.zeros_like(moments))
        if name not in state.accumulators:
            with tfutil.absolute_variable_scope(_SCOPE + "/" + name.replace("/", "_"), reuse=False), tf.control_dependencies(None), tf.device("/cpu:0"):
                state.accumulators[name] = tf.Variable(tf.zeros([3], tf.float64), trainable=False, name="moments")
            tfutil.run(state.accumulators[name].initializer)
        with tf.device(state.accumulators[name].device):
            update = state.accumulators[name].assign_add(moments)
        out = passthru if passthru is not None else value
        with tf.control_dependencies([update]):
            return tf.identity(out)


def finalize_autosummaries():
    """Freeze the set of summaries and create the reset op (once, after the graph is built)."""
    state = _state()
    if state.finalized:
        return
    state.finalized = True
    with tfutil.absolute_name_scope(_SCOPE), tf.device("/cpu:0"), tf.control_dependencies(None):
        state.reset = tf.group(*[v.assign(tf.zeros([3], tf.float64)) for v in state.accumulators.values()])


def save_summaries(file_writer=None, global_step=None):
    """Write the mean/std of every summary since the last call; returns {name: mean}.

    Names without any recorded value since the last call are left out.
    """
    state = _state()
    finalize_autosummaries()
    if not state.accumulators:
        return {}
    # Read, then reset, in two calls: an in-place reset could otherwise alias the value read.
    values = OrderedDict(zip(state.accumulators, tfutil.run(list(state.accumulators.values()))))
    tfutil.run(state.reset)
    result = OrderedDict()
    summary = tf.Summary()
    for name, (count, total, total_sq) in values.items():
        if count <= 0:
            continue
        mean = total / count
        std = np.sqrt(max(total_sq / count - mean * mean, 0.0))
        result[name] = float(mean)
        summary.value.add(tag=name, simple_value=float(mean))
        if count > 1:
            summary.value.add(tag=name + "/std", simple_value=float(std))
    state.values = result
    if file_writer is not None:
        file_writer.add_summary(summary, global_step)
        file_writer.flush()
    return result
