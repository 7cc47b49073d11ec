"""dnnlib: configuration, run directories and utilities shared by training and metrics."""

from . import util
from .util import EasyDict
from . import submission
from .submission import (RunContext, SubmitConfig, get_current_submit_config, locate_latest_run_dir,
                         make_run_dir, make_run_dir_path, submit_run)
