"""The one TensorFlow import of the project.

Every module does ``from dnnlib.tflib.compat import tf``: TensorFlow 1.15 and 2.x both expose the
TF1 graph-mode API as ``tensorflow.compat.v1``; v2 behaviour (eager execution, resource variables,
tf.function control flow) is switched off so the same graph code runs unchanged on both.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # hide TF's INFO chatter; warnings stay visible

import tensorflow.compat.v1 as tf  # noqa: E402

tf.logging.set_verbosity(tf.logging.ERROR)  # before disable_v2_behavior, which logs a deprecation warning
tf.disable_v2_behavior()

TF_VERSION = tf.VERSION if hasattr(tf, "VERSION") else tf.version.VERSION
TF_MAJOR = int(TF_VERSION.split(".")[0])

__all__ = ["tf", "TF_VERSION", "TF_MAJOR"]
