"""Shared fixtures: every test that touches TensorFlow gets its own graph and session. Tests that wait for
training subprocesses (the fixtures in SLOW_FIXTURES) are marked ``slow``: ``make test-fast`` leaves them out."""

import pytest

SLOW_FIXTURES = {"runs", "trained", "kill_data", "plugins"}    # plugins: the custom ops' nvcc build (~70 s)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def tf_session():
    """A fresh graph with a default session on two (virtual) CPU devices, /cpu:0 and /cpu:1."""
    from dnnlib.tflib.compat import tf

    graph = tf.Graph()
    config = tf.ConfigProto(device_count={"CPU": 2}, inter_op_parallelism_threads=2, intra_op_parallelism_threads=2)
    with graph.as_default(), tf.Session(graph=graph, config=config).as_default() as session:
        yield session
