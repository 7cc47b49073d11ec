"""Small general-purpose helpers shared by the whole project.

Nothing in here depends on TensorFlow. URLs and downloads are in ``dnnlib/download.py`` (re-exported here).
"""

import contextlib
import importlib
import inspect
import io
import os
import re
import sys
import threading
import time
import uuid


# ----------------------------------------------------------------------------------------------
# EasyDict


class EasyDict(dict):
    """A dict whose keys can also be read and written as attributes: ``cfg.lr`` == ``cfg['lr']``."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name)

    def __setattr__(self, name, value):
        self[name] = value

    def __delattr__(self, name):
        del self[name]


# ----------------------------------------------------------------------------------------------
# Logger: tee stdout / stderr into a file


class _TeeStream(object):
    """Stand-in for sys.stdout / sys.stderr that forwards every write to the original stream and
    to the logger's file. Unknown attributes (encoding, isatty, fileno, ...) come from the original
    stream."""

    def __init__(self, logger, stream):
        self._logger = logger
        self._stream = stream

    def write(self, text):
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        if len(text) == 0:
            return 0
        self._logger._write_file(text)
        if self._stream is not None:
            try:
                self._stream.write(text)
            except UnicodeEncodeError:
                enc = getattr(self._stream, "encoding", None) or "ascii"
                self._stream.write(text.encode(enc, "replace").decode(enc, "replace"))
            if self._logger.should_flush:
                self._stream.flush()
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        self._logger._flush_file()
        if self._stream is not None:
            self._stream.flush()

    def __getattr__(self, name):
        stream = self.__dict__.get("_stream")
        if stream is None:
            raise AttributeError(name)
        return getattr(stream, name)


class Logger(object):
    """Copy everything written to sys.stdout and sys.stderr into ``file_name`` (if given) while
    still showing it on the console. Use as a context manager, or call ``close()`` to put the
    original streams back and close the file.

    Loggers may nest: the inner one wraps whatever the outer one installed and restores it on
    close.
    """

    def __init__(self, file_name=None, file_mode="w", should_flush=True):
        self.file_name = file_name
        self.should_flush = should_flush
        self._lock = threading.Lock()
        self.file = None
        if file_name is not None:
            self.file = io.open(file_name, file_mode, encoding="utf-8", errors="replace")
        self._orig_stdout = sys.stdout
        self._orig_stderr = sys.stderr
        self.stdout = _TeeStream(self, self._orig_stdout)
        self.stderr = _TeeStream(self, self._orig_stderr)
        sys.stdout = self.stdout
        sys.stderr = self.stderr
        self._closed = False

    # File-side helpers (also used by the tee streams).
    def _write_file(self, text):
        with self._lock:
            if self.file is not None:
                self.file.write(text)
                if self.should_flush:
                    self.file.flush()

    def _flush_file(self):
        with self._lock:
            if self.file is not None:
                self.file.flush()

    def write(self, text):
        """Write to the console (stdout) and the file, like ``print(..., end='')``."""
        return self.stdout.write(text)

    def write_file_only(self, text):
        """Write ``text`` to the log file but not to the console."""
        self._write_file(text)

    def flush(self):
        self.stdout.flush()
        self.stderr.flush()

    def close(self):
        """Restore sys.stdout / sys.stderr and close the file. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        try:
            self.flush()
        except Exception:  # a closed console stream must not keep us from restoring things
            pass
        if sys.stdout is self.stdout:
            sys.stdout = self._orig_stdout
        if sys.stderr is self.stderr:
            sys.stderr = self._orig_stderr
        with self._lock:
            if self.file is not None:
                self.file.close()
                self.file = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, tb):
        self.close()
        return False


# ----------------------------------------------------------------------------------------------
# Small helpers


def format_time(seconds):
    """Human-readable duration: '12s', '3m 04s', '2h 05m 09s', '1d 02h 03m'."""
    s = int(round(max(float(seconds), 0.0)))
    if s < 60:
        return "%ds" % s
    if s < 60 * 60:
        return "%dm %02ds" % (s // 60, s % 60)
    if s < 24 * 60 * 60:
        return "%dh %02dm %02ds" % (s // 3600, (s // 60) % 60, s % 60)
    return "%dd %02dh %02dm" % (s // 86400, (s // 3600) % 24, (s // 60) % 60)


def tuple_product(t):
    """Product of the entries of a tuple/list of ints (1 for an empty one)."""
    result = 1
    for v in t:
        result *= v
    return result


# ----------------------------------------------------------------------------------------------
# Resolving objects by dotted name


def _missing_module_is(err, module_name):
    """True if ImportError ``err`` says that ``module_name`` itself (or one of its parent
    packages) does not exist, as opposed to a failing import *inside* an existing module."""
    missing = getattr(err, "name", None)
    if not isinstance(err, ModuleNotFoundError) or missing is None:
        return False
    return module_name == missing or module_name.startswith(missing + ".")


def get_module_from_obj_name(obj_name):
    """Split ``obj_name`` ('pkg.mod.Class.attr') into (module, 'Class.attr'), importing the
    longest importable module prefix. The remainder is '' when the whole name is a module.

    A module that exists but fails while importing re-raises its own error; a name for which no
    prefix is importable raises ImportError naming the first missing module.
    """
    if not isinstance(obj_name, str) or not obj_name or obj_name.startswith(".") \
            or obj_name.endswith(".") or ".." in obj_name:
        raise ImportError("Invalid object name %r: expected a dotted name like 'package.module.func'"
                          % (obj_name,))
    parts = obj_name.split(".")
    first_error = None
    for i in range(len(parts), 0, -1):
        module_name = ".".join(parts[:i])
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            if not _missing_module_is(err, module_name):
                raise  # the module exists but something it imports is missing
            first_error = err  # ends up holding the error for the shortest prefix
            continue
        return module, ".".join(parts[i:])
    missing = getattr(first_error, "name", None) or parts[0]
    err = ImportError("Cannot resolve %r: no module named %r could be imported" % (obj_name, missing))
    err.name = missing
    raise err from first_error


def get_obj_from_module(module, obj_name, module_label=None):
    """Follow the dotted attribute path ``obj_name`` starting at ``module`` ('' -> the module).
    ``module_label`` is the name used for ``module`` in error messages (default: its __name__)."""
    obj = module
    if obj_name == "":
        return obj
    label = module_label or module.__name__
    done = [label]
    for part in obj_name.split("."):
        if not hasattr(obj, part):
            raise AttributeError("Cannot resolve %r: %r has no attribute %r"
                                 % (label + "." + obj_name, ".".join(done), part))
        obj = getattr(obj, part)
        done.append(part)
    return obj


def get_obj_by_name(name):
    """Return the object called ``name``, e.g. 'os.path.join' or 'training.networks_vp.G_main'."""
    module, obj_name = get_module_from_obj_name(name)
    label = name[:len(name) - len(obj_name)].rstrip(".") if obj_name else name
    return get_obj_from_module(module, obj_name, module_label=label)


def call_func_by_name(*args, func_name=None, **kwargs):
    """``call_func_by_name(*args, func_name='mod.func', **kwargs)`` == ``mod.func(*args, **kwargs)``."""
    if func_name is None:
        raise TypeError("call_func_by_name() needs a func_name= keyword argument")
    func = get_obj_by_name(func_name)
    if not callable(func):
        raise TypeError("%r resolves to a %s, which is not callable" % (func_name, type(func).__name__))
    return func(*args, **kwargs)


def _main_module_name():
    main = sys.modules.get("__main__")
    main_file = getattr(main, "__file__", None)
    if not main_file:
        return "__main__"
    return os.path.splitext(os.path.basename(main_file))[0]


def is_top_level_function(obj):
    """True for a plain function defined at module level (not a lambda, method or closure)."""
    if not inspect.isfunction(obj):
        return False
    if obj.__name__ == "<lambda>" or getattr(obj, "__qualname__", obj.__name__) != obj.__name__:
        return False
    module = sys.modules.get(obj.__module__)
    return module is not None and getattr(module, obj.__name__, None) is obj


def get_top_level_function_name(obj):
    """Dotted name under which ``get_obj_by_name`` finds the top-level function ``obj``.
    Functions of the script being run ('__main__') are named after the script file."""
    if not is_top_level_function(obj):
        raise ValueError("%r is not a top-level function" % (obj,))
    module = obj.__module__
    if module == "__main__":
        module = _main_module_name()
    return module + "." + obj.__name__


# ----------------------------------------------------------------------------------------------
# Atomic file writes


def _fsync_dir(dir_path):
    if not hasattr(os, "O_DIRECTORY"):
        return  # e.g. Windows: directories cannot be opened for fsync
    try:
        fd = os.open(dir_path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ----------------------------------------------------------------------------------------------
# Staging names that record their owner, so that a later run can reclaim what a killed one left.

_STAGING_RE = re.compile(r"\.tmp-(\d+)-(\d+)-[0-9a-f]+$")
_LEGACY_STAGING_RE = re.compile(r"\.tmp-[0-9a-z_]+$")
LEGACY_STAGING_MIN_AGE = 600.0      # seconds: an old-style staging name (no owner) this old counts as stale


def process_start_ticks(pid):
    """The process's start time in clock ticks since boot (Linux /proc), or 0 where it cannot be read."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            stat = f.read().decode("ascii", "replace")
        return int(stat[stat.rindex(")") + 2:].split()[19])   # field 22, after the parenthesised command
    except (OSError, ValueError, IndexError):
        return 0


def staging_name(path):
    """``path + '.tmp-<pid>-<start>-<random>'``: a temporary sibling name recording the process that owns it
    (pid and its start time, so a reused pid is not mistaken for the owner)."""
    pid = os.getpid()
    return "%s.tmp-%d-%d-%s" % (os.fspath(path), pid, process_start_ticks(pid), uuid.uuid4().hex[:8])


def staging_is_stale(name, now=None):
    """True if the staging file or folder ``name`` belongs to no live process (see ``staging_name``). Old-style
    names without an owner count as stale once LEGACY_STAGING_MIN_AGE seconds old."""
    match = _STAGING_RE.search(name)
    if match is None:
        if not _LEGACY_STAGING_RE.search(name):
            return False
        try:
            age = (now or time.time()) - os.lstat(name).st_mtime
        except OSError:
            return False
        return age > LEGACY_STAGING_MIN_AGE
    pid, start = int(match.group(1)), int(match.group(2))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OSError):
        return False                                  # alive, another user's
    return bool(start) and process_start_ticks(pid) not in (0, start)


def reclaim_stale_staging(path=None, directory=None, log=None):
    """Remove stale staging left by killed processes: the ``<path>.tmp-*`` siblings of ``path``, or every
    ``*.tmp-*`` entry of ``directory``. Returns the removed paths; ``log(message)`` is told of each."""
    import glob
    import shutil

    pattern = os.path.join(glob.escape(directory), "*.tmp-*") if directory else glob.escape(os.fspath(path)) + ".tmp-*"
    removed = []
    for name in sorted(glob.glob(pattern)):
        if not staging_is_stale(name):
            continue
        try:
            if os.path.isdir(name) and not os.path.islink(name):
                shutil.rmtree(name)
            else:
                os.remove(name)
        except OSError:
            continue
        removed.append(name)
        if log:
            log("removed stale staging %s (its process is gone)" % name)
    return removed


def git_commit(path):
    """The commit checked out at ``path`` (40 hex digits), or None outside a git checkout; for result provenance."""
    import subprocess

    try:
        return subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=path,
                                       stderr=subprocess.DEVNULL).decode().strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def cpu_model():
    """The CPU's model name (Linux: /proc/cpuinfo), else platform.processor(), else None. Results record it
    because float32 kernels, and so long training runs, differ between CPU models."""
    import platform

    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def machine_info():
    """{platform, processor, cpu_model, cpus, python} of this machine, recorded beside experiment results."""
    import platform

    return dict(platform=platform.platform(), processor=platform.processor() or platform.machine(),
                cpu_model=cpu_model(), cpus=os.cpu_count(), python=platform.python_version())


@contextlib.contextmanager
def removed_if_left_empty(path):
    """For a block that may create the folder ``path``: if ``path`` did not exist before and the block fails
    (also on Ctrl-C) leaving it empty, the folder is removed, so a failed command leaves no empty output."""
    existed = os.path.lexists(path)
    try:
        yield
    except BaseException:
        if not existed and os.path.isdir(path) and not os.listdir(path):
            os.rmdir(path)
        raise


@contextlib.contextmanager
def atomic_write(path, mode="wb", **open_kwargs):
    """Context manager yielding a file that becomes ``path`` only if the block succeeds.

    Data goes to ``staging_name(path)`` in the same directory, is flushed and fsynced, then
    ``os.replace``d over ``path``. If the block raises, the temp file is removed and an existing
    ``path`` is left untouched. Text modes default to UTF-8.
    """
    if not any(c in mode for c in "wx") or any(c in mode for c in "ra"):
        raise ValueError("atomic_write() needs a write mode such as 'wb' or 'w', got %r" % (mode,))
    mode = mode.replace("x", "w")
    if "b" not in mode:
        open_kwargs.setdefault("encoding", "utf-8")
    path = os.fspath(path)
    tmp_path = staging_name(path)
    fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        f = io.open(fd, mode, **open_kwargs)
    except BaseException:
        os.close(fd)
        os.remove(tmp_path)
        raise
    try:
        try:
            yield f
            f.flush()
            os.fsync(f.fileno())
        finally:
            f.close()
        os.replace(tmp_path, path)
    except BaseException:
        try:
            os.remove(tmp_path)
        except OSError:
            pass
        raise
    _fsync_dir(os.path.dirname(os.path.abspath(path)))


class OutputPathError(ValueError):
    """An output path that cannot be written: a usage error, fixed by naming another path."""


def check_output_path(path, kind="file", flag=None):
    """Check, before any work, that ``path`` can be written as a ``kind`` ('file' or 'dir').

    Refuses an existing folder where a file goes (or an existing file where a folder goes) and a path
    whose nearest existing ancestor is not a writable folder (missing folders in between are fine:
    they can be created, and a probe file created and removed at once says that the folder takes files).
    Leaves nothing behind. ``flag`` (e.g. '--out') names the option in the message.
    Returns the absolute path; raises OutputPathError (a ValueError) with a one-line message.
    """
    if kind not in ("file", "dir"):
        raise ValueError("kind must be 'file' or 'dir', got %r" % (kind,))
    path = os.fspath(path)
    flag = flag or "output path"
    name = "%s %s" % (flag, path)
    if not path:
        raise OutputPathError("%s: the path is empty; give a %s path"
                              % (flag, "file" if kind == "file" else "folder"))
    full = os.path.abspath(path)
    if kind == "file" and os.path.isdir(full):
        raise OutputPathError("%s is an existing folder, but a file goes there; give another path or "
                              "remove the folder" % name)
    if kind == "dir" and os.path.lexists(full) and not os.path.isdir(full):
        raise OutputPathError("%s is an existing file, but a folder goes there; give another path or "
                              "remove the file" % name)
    ancestor = full if kind == "dir" else os.path.dirname(full)
    while not os.path.lexists(ancestor) and os.path.dirname(ancestor) != ancestor:
        ancestor = os.path.dirname(ancestor)
    if not os.path.isdir(ancestor):
        raise OutputPathError("%s cannot be created: %s is a file, not a folder; give another path"
                              % (name, ancestor))
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputPathError("%s cannot be written: folder %s is not writable; give a path in a folder "
                              "you can write to" % (name, ancestor))
    probe = staging_name(os.path.join(ancestor, ".vpdis-write-probe"))
    try:   # access() says yes to root everywhere, and /proc, sysfs or a full quota refuse files anyway
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.remove(probe)
    except OSError as exc:
        raise OutputPathError("%s cannot be written: folder %s does not take new files (%s); give a path in a "
                              "folder you can write to" % (name, ancestor, exc.strerror or exc))
    return full


# The download helpers live in dnnlib/download.py; these names stay here, where the project and StyleGAN2-era
# code (dnnlib.util.open_url) look for them.
from dnnlib.download import (  # noqa: E402,F401
    DownloadError,
    ChecksumError,
    is_url,
    get_default_cache_dir,
    url_cache_file_name,
    sha256_of_file,
    open_url)
