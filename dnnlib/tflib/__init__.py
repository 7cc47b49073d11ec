"""TensorFlow 1.x graph-mode library: sessions, networks, optimizers, summaries, custom ops.

Import TensorFlow through ``from dnnlib.tflib.compat import tf`` everywhere.
"""

from . import autosummary, network, optimizer, tfutil
from .compat import tf, TF_MAJOR, TF_VERSION
from .network import Network
from .optimizer import Optimizer
from .tfutil import *  # noqa: F401,F403  (run, init_tf, set_vars, ... as in StyleGAN2)
