"""dnnlib.tflib.Network: variables, outputs, clones, moving averages, towers and pickling."""

import pickle

import numpy as np
import pytest

from dnnlib import tflib
from dnnlib.tflib.compat import tf
from tests import nets_for_tests


def _inputs(n=6, d=4, seed=0):
    return np.random.RandomState(seed).randn(n, d).astype(np.float32)


def _reload(blob):
    """Unpickle in a brand-new graph and session, as a later process would."""
    graph = tf.Graph()
    sess = tf.Session(graph=graph)
    with graph.as_default(), sess.as_default():
        net = pickle.loads(blob)
        return net, graph, sess


def test_structure(tf_session):
    net = tflib.Network("Net", func_name="tests.nets_for_tests.tiny_mlp", num_hidden=5)
    assert net.input_names == ["x"]
    assert net.input_shapes == [[None, 4]]
    assert net.output_shapes == [[None, 3]]
    assert list(net.trainables) == ["Dense0/weight", "Dense0/bias", "Dense1/weight", "Dense1/bias"]
    assert "Counter/steps" in net.vars and "Counter/steps" not in net.trainables
    assert net.num_params() == 4 * 5 + 5 + 5 * 3 + 3


def test_get_output_for_matches_run_and_manual_maths(tf_session):
    net = tflib.Network("Net", func_name=nets_for_tests.tiny_mlp)
    x = _inputs()
    w0, b0, w1, b1 = (net.get_var(n) for n in ["Dense0/weight", "Dense0/bias", "Dense1/weight", "Dense1/bias"])
    expected = np.tanh(x @ w0 + b0) @ w1 + b1
    got_graph = tf_session.run(net.get_output_for(tf.constant(x)))
    got_run = net.run(x, minibatch_size=4)  # 6 items in batches of 4 and 2
    np.testing.assert_allclose(got_graph, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_run, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(net.run(x, scale=2.0), 2 * expected, rtol=1e-5, atol=1e-6)


def test_run_two_towers_on_virtual_cpus_equals_one(tf_session):
    net = tflib.Network("Net", func_name=nets_for_tests.tiny_mlp)
    x = _inputs(n=8)
    np.testing.assert_allclose(net.run(x, num_gpus=2), net.run(x, num_gpus=1), rtol=1e-6)


def test_too_many_towers_is_a_clear_error(tf_session):
    net = tflib.Network("Net", func_name=nets_for_tests.tiny_mlp)
    with pytest.raises(ValueError, match="towers"):
        net.run(_inputs(n=8), num_gpus=8)


def test_multiple_inputs_outputs_and_none_input(tf_session):
    net = tflib.Network("Two", func_name=nets_for_tests.tiny_two_inputs)
    x = _inputs(n=3)
    out, sq = net.run(x, None)
    base = net.run(x, np.zeros([3, 2], np.float32))[0]
    np.testing.assert_allclose(out, base)
    np.testing.assert_allclose(sq[:, 0], np.sum(out ** 2, axis=1), rtol=1e-5)


def test_pickle_round_trip_is_bit_exact_and_embeds_source(tf_session):
    net = tflib.Network("Net", func_name=nets_for_tests.tiny_mlp, num_hidden=6)
    x = _inputs()
    before = net.run(x)
    blob = pickle.dumps(net, protocol=4)
    assert b"def tiny_mlp" in blob  # the build module's source travels inside the pickle
    loaded, graph, sess = _reload(blob)
    with graph.as_default(), sess.as_default():
        after = loaded.run(x)
        assert loaded.static_kwargs.num_hidden == 6
        # The code came from the pickle, not from importing tests.nets_for_tests.
        assert loaded._build_func.__module__.startswith("_vpdis_net_module_")
        assert loaded.get_var("Counter/steps") == 7.0
    assert before.dtype == after.dtype and np.array_equal(before, after)


def test_pickle_with_components(tf_session):
    net = tflib.Network("Outer", func_name=nets_for_tests.tiny_with_component)
    assert "Head/Dense0/weight" in net.vars and "Pre/weight" in net.own_vars
    assert "Head/Dense0/weight" not in net.own_vars
    x = _inputs()
    before = net.run(x)
    loaded, graph, sess = _reload(pickle.dumps(net))
    with graph.as_default(), sess.as_default():
        assert np.array_equal(loaded.run(x), before)
        assert sorted(loaded.vars) == sorted(net.vars)


def test_unsupported_pickle_state_is_rejected(tf_session):
    net = object.__new__(tflib.Network)
    with pytest.raises(ValueError, match="unsupported network pickle"):
        net.__setstate__({"version": 999})


def test_clone_is_independent(tf_session):
    net = tflib.Network("Net", func_name=nets_for_tests.tiny_mlp)
    clone = net.clone("NetClone")
    x = _inputs()
    np.testing.assert_array_equal(clone.run(x), net.run(x))
    clone.set_var("Dense1/bias", np.zeros(3, np.float32))
    assert not np.array_equal(clone.run(x), net.run(x))
    net.copy_vars_from(clone)
    np.testing.assert_array_equal(clone.run(x), net.run(x))


def test_moving_average(tf_session):
    src = tflib.Network("Src", func_name=nets_for_tests.tiny_mlp)
    dst = src.clone("Dst")
    dst.set_var("Counter/steps", np.float32(1.0))
    for name in src.trainables:
        src.set_var(name, src.get_var(name) + 1.0)
    old = {n: dst.get_var(n) for n in dst.vars}
    new_src = {n: src.get_var(n) for n in src.vars}
    op = dst.setup_as_moving_average_of(src, beta=0.9, beta_nontrainable=0.0)
    tf_session.run(op)
    for name in dst.trainables:
        expected = new_src[name] + (old[name] - new_src[name]) * 0.9
        np.testing.assert_allclose(dst.get_var(name), expected, rtol=1e-6)
    # beta_nontrainable = 0: non-trainable variables are copied outright.
    assert dst.get_var("Counter/steps") == 7.0


def test_print_layers(tf_session, capsys):
    net = tflib.Network("Net", func_name=nets_for_tests.tiny_mlp)
    text = net.print_layers()
    assert "Dense0" in text and "Dense1" in text
    total_line = [line for line in text.splitlines() if line.startswith("Total")][0]
    assert total_line.split()[1] == str(net.num_params())
    assert "(None, 8)" in text  # Dense0's output shape
    assert capsys.readouterr().out.strip()


def test_bad_build_function_names(tf_session):
    with pytest.raises(ValueError):
        tflib.Network("Bad", func_name=lambda x: x)
    with pytest.raises(AttributeError, match="no build function"):
        tflib.Network("Bad", func_name="tests.nets_for_tests.does_not_exist")
