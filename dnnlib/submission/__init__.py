"""Run directories, submitting run functions and run progress tracking."""

from . import run_context, submit
from .run_context import RunContext
from .submit import (SubmitConfig, get_current_submit_config, locate_latest_run_dir, make_run_dir,
                     make_run_dir_path, parse_run_id, submit_run)
