"""Run directories and submitting a run function into one.

``submit_run(cfg, 'training.training_loop.training_loop', **kwargs)`` creates
``<cfg.run_dir_root>/NNNNN-<cfg.run_desc>``, records the configuration there, tees all console
output into ``log.txt`` and calls the function. ``_finished.txt`` marks a run that returned.
"""

import datetime
import inspect
import json
import math
import os
import platform
import pprint
import re
import socket
import threading
import time
import traceback

from .. import util

_RUN_DIR_RE = re.compile(r"^(\d+)(?:-(.*))?$")

_current_lock = threading.Lock()
_current_submit_config = None  # the SubmitConfig of the run in progress (see make_run_dir_path)


class SubmitConfig(util.EasyDict):
    """Everything that describes where and how a run executes.

    Fields set by the caller:
        run_dir_root    directory holding all run directories ('results')
        run_desc        short description, becomes part of the run dir name ('')
        num_gpus        number of GPUs the run uses (1)
        print_info      print the config at the start of the run (False)
        user_name, task_name   free-form labels (None)

    Fields filled in by submit_run():
        run_func_name, run_func_kwargs, run_dir, run_id, run_name, host_name, platform,
        start_time (a time.time() value)
    """

    def __init__(self, *args, **kwargs):
        super(SubmitConfig, self).__init__()
        self.run_dir_root = "results"
        self.run_desc = ""
        self.run_func_name = None
        self.run_func_kwargs = None
        self.run_dir = None
        self.run_id = None
        self.run_name = None
        self.num_gpus = 1
        self.print_info = False
        self.user_name = None
        self.task_name = None
        self.host_name = None
        self.platform = None
        self.start_time = None
        self.update(*args, **kwargs)


# ----------------------------------------------------------------------------------------------
# Run directories


def sanitize_run_desc(run_desc):
    """Keep letters, digits, '-', '_' and '.'; every other character becomes '_'."""
    if run_desc is None:
        return ""
    return re.sub(r"[^A-Za-z0-9._-]", "_", str(run_desc))[:200]


def parse_run_id(name):
    """The numeric id of a run dir name ('00012-foo' -> 12), or None for unrelated names."""
    m = _RUN_DIR_RE.match(os.path.basename(os.path.normpath(name)))
    return int(m.group(1)) if m else None


def _next_run_id(run_dir_root):
    ids = [parse_run_id(name) for name in os.listdir(run_dir_root)]
    ids = [i for i in ids if i is not None]
    return max(ids) + 1 if ids else 0


def make_run_dir(run_dir_root, run_desc, max_attempts=1000):
    """Create and return ``<run_dir_root>/NNNNN-<run_desc>`` (just ``NNNNN`` for an empty desc).

    NNNNN is one more than the largest numeric prefix already present in ``run_dir_root`` (0 if
    there is none); names without a numeric prefix are ignored. The directory is created with
    ``os.makedirs(exist_ok=False)``, so two processes never share a run dir: the loser of a race
    recounts and tries the next id.
    """
    desc = sanitize_run_desc(run_desc)
    os.makedirs(run_dir_root, exist_ok=True)
    last_err = None
    for _ in range(max_attempts):
        run_id = _next_run_id(run_dir_root)
        name = "%05d-%s" % (run_id, desc) if desc else "%05d" % run_id
        path = os.path.join(run_dir_root, name)
        try:
            os.makedirs(path, exist_ok=False)
        except FileExistsError as err:  # someone else took this id in the meantime
            last_err = err
            continue
        return path
    raise RuntimeError("Could not create a run directory in %r after %d attempts: %s"
                       % (run_dir_root, max_attempts, last_err))


def locate_latest_run_dir(run_dir_root, desc_substring=None, must_contain=None):
    """Path of the run dir with the highest id in ``run_dir_root`` whose description contains
    ``desc_substring`` (any run if None) and, if ``must_contain`` is given, that contains a file
    matching that glob pattern (e.g. 'network-snapshot-*.pkl'). Returns None if there is none."""
    import fnmatch

    if not os.path.isdir(run_dir_root):
        return None
    candidates = []
    for name in os.listdir(run_dir_root):
        m = _RUN_DIR_RE.match(name)
        path = os.path.join(run_dir_root, name)
        if m is None or not os.path.isdir(path):
            continue
        if desc_substring is not None and desc_substring not in (m.group(2) or ""):
            continue
        if must_contain is not None and not fnmatch.filter(os.listdir(path), must_contain):
            continue
        candidates.append((int(m.group(1)), name, path))
    if not candidates:
        return None
    return max(candidates)[2]


def get_current_submit_config():
    """The SubmitConfig of the run that submit_run() is executing, or None."""
    return _current_submit_config


def make_run_dir_path(*paths):
    """Join ``paths`` onto the current run dir (the working directory outside of a run)."""
    cfg = _current_submit_config
    root = cfg.run_dir if cfg is not None and cfg.run_dir else "."
    return os.path.join(root, *paths)


# ----------------------------------------------------------------------------------------------
# Writing the config


def _to_jsonable(obj):
    """Recursively turn ``obj`` into JSON-compatible data; anything else becomes its repr()."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj) if math.isfinite(obj) else repr(obj)
    if isinstance(obj, dict):
        return dict((k if isinstance(k, str) else repr(k), _to_jsonable(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return [_to_jsonable(v) for v in obj]
    if type(obj).__module__ == "numpy" and getattr(obj, "ndim", None) == 0 and hasattr(obj, "item"):
        return _to_jsonable(obj.item())  # numpy scalars
    return repr(obj)


def _write_config_files(cfg):
    data = _to_jsonable(dict(cfg))
    with util.atomic_write(os.path.join(cfg.run_dir, "submit_config.json"), "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
    with util.atomic_write(os.path.join(cfg.run_dir, "submit_config.txt"), "w") as f:
        f.write(format_config(cfg))


def format_config(cfg):
    """Readable multi-line text for a (nested) config dict: one 'key = value' line per key."""
    lines = []
    width = max([len(str(k)) for k in cfg] + [1])
    for key in sorted(cfg, key=str):
        text = pprint.pformat(cfg[key], indent=2, width=100)
        text = text.replace("\n", "\n" + " " * (width + 3))
        lines.append("%-*s = %s" % (width, key, text))
    return "\n".join(lines) + "\n"


def _accepts_submit_config(func):
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    p = params.get("submit_config")
    return p is not None and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)


# ----------------------------------------------------------------------------------------------
# Submitting


def submit_run(submit_config, run_func_name, **run_func_kwargs):
    """Run ``run_func_name(**run_func_kwargs)`` inside a fresh run directory and return its result.

    ``submit_config`` (a SubmitConfig; a plain dict is converted, losing the fill-in) is updated
    in place with run_func_name, run_func_kwargs, run_dir, run_id, run_name, host_name, platform
    and start_time, and saved as ``submit_config.json`` / ``submit_config.txt``. Console output is
    teed into ``log.txt``. The function gets ``submit_config=`` only if it has a parameter of
    that name (``**kwargs`` alone does not count). On success ``_finished.txt`` is written; if the
    function raises, its traceback is appended to ``log.txt`` and the exception propagates.
    ``run_func_name`` may also be a top-level function object. A ``submit_config.run_dir`` that is
    already set names an existing run directory to continue in (resume) instead of a new one.
    """
    global _current_submit_config

    if not isinstance(submit_config, SubmitConfig):
        submit_config = SubmitConfig(submit_config)
    if callable(run_func_name):
        run_func_name = util.get_top_level_function_name(run_func_name)
    func = util.get_obj_by_name(run_func_name)  # fail before creating a run dir
    if not callable(func):
        raise TypeError("%r is not callable" % (run_func_name,))
    if "submit_config" in run_func_kwargs:
        raise TypeError("submit_config must not be passed among the run function's kwargs")

    cfg = submit_config
    cfg.run_func_name = run_func_name
    cfg.run_func_kwargs = dict(run_func_kwargs)
    if cfg.get("run_dir"):
        # Continue in an existing run directory (resuming an interrupted run).
        if not os.path.isdir(cfg.run_dir):
            raise IOError("run directory %s does not exist" % cfg.run_dir)
    else:
        cfg.run_dir = make_run_dir(cfg.run_dir_root, cfg.run_desc)
    cfg.run_name = os.path.basename(cfg.run_dir)
    cfg.run_id = parse_run_id(cfg.run_name)
    cfg.host_name = socket.gethostname()
    cfg.platform = platform.platform()
    cfg.start_time = time.time()
    _write_config_files(cfg)

    call_kwargs = dict(run_func_kwargs)
    if _accepts_submit_config(func):
        call_kwargs["submit_config"] = cfg

    with _current_lock:
        prev_cfg = _current_submit_config
        _current_submit_config = cfg
    logger = util.Logger(os.path.join(cfg.run_dir, "log.txt"), file_mode="a", should_flush=True)
    try:
        if cfg.print_info:
            print("dnnlib: run %s, calling %s" % (cfg.run_name, run_func_name))
            print(format_config(cfg), end="")
        try:
            result = func(**call_kwargs)
        except BaseException:
            logger.write_file_only("dnnlib: run %s failed after %s:\n%s" % (
                cfg.run_name, util.format_time(time.time() - cfg.start_time), traceback.format_exc()))
            raise
        elapsed = time.time() - cfg.start_time
        with util.atomic_write(os.path.join(cfg.run_dir, "_finished.txt"), "w") as f:
            f.write("finished %s after %s (%.3f s)\n" % (
                datetime.datetime.now().isoformat(" ", "seconds"), util.format_time(elapsed), elapsed))
        if cfg.print_info:
            print("dnnlib: finished %s in %s" % (cfg.run_name, util.format_time(elapsed)))
        return result
    finally:
        logger.close()
        with _current_lock:
            _current_submit_config = prev_cfg
