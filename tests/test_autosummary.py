"""dnnlib.tflib.autosummary: accumulated means/stds, resets, TensorBoard event files."""

import glob

import numpy as np
import pytest

from dnnlib.tflib import autosummary
from dnnlib.tflib.compat import tf


def test_means_std_reset_and_event_file(tf_session, tmp_path):
    value = tf.placeholder(tf.float32, [None])
    out = autosummary.autosummary("Loss/G", value)
    cond = tf.placeholder(tf.bool, [])
    other = autosummary.autosummary("Acc", tf.reduce_mean(value), condition=cond)
    writer = tf.summary.FileWriter(str(tmp_path))

    tf_session.run(out, {value: [1.0, 2.0, 3.0]})
    tf_session.run(out, {value: [4.0]})
    tf_session.run(other, {value: [10.0], cond: False})  # skipped
    stats = autosummary.save_summaries(writer, global_step=5)
    assert stats["Loss/G"] == pytest.approx(2.5)
    assert "Acc" not in stats  # nothing recorded under a false condition

    tf_session.run(other, {value: [10.0, 20.0], cond: True})
    stats = autosummary.save_summaries(writer, global_step=6)
    assert stats == {"Acc": pytest.approx(15.0)}  # Loss/G was reset after the first save
    writer.close()

    tags = {}
    for path in glob.glob(str(tmp_path / "events.*")):
        for event in tf.train.summary_iterator(path):
            for v in event.summary.value:
                tags[(v.tag, event.step)] = v.simple_value
    assert tags[("Loss/G", 5)] == pytest.approx(2.5)
    assert tags[("Loss/G/std", 5)] == pytest.approx(np.std([1.0, 2.0, 3.0, 4.0]), rel=1e-5)
    assert tags[("Acc", 6)] == pytest.approx(15.0)


def test_bad_name_and_late_registration(tf_session):
    with pytest.raises(ValueError, match="autosummary name"):
        autosummary.autosummary("bad name!", 1.0)
    autosummary.autosummary("ok", 1.0)
    autosummary.save_summaries()
    with pytest.raises(RuntimeError, match="after finalize"):
        autosummary.autosummary("late", 1.0)
