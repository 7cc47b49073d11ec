"""Shared fixtures: every test that touches TensorFlow gets its own graph and session."""

import pytest


@pytest.fixture
def tf_session():
    """A fresh graph with a default session on two (virtual) CPU devices, /cpu:0 and /cpu:1."""
    from dnnlib.tflib.compat import tf

    graph = tf.Graph()
    config = tf.ConfigProto(device_count={"CPU": 2}, inter_op_parallelism_threads=2, intra_op_parallelism_threads=2)
    with graph.as_default(), tf.Session(graph=graph, config=config).as_default() as session:
        yield session
