"""One error and exit-code convention for every command-line tool of the project.

Exit status:
  0    success
  1    runtime: an input's *contents* or the machine failed -- a corrupt, truncated or foreign file, labels
       that are not what the tool reads, the disk filling up or a write refused while the work runs
       (``InputError``, most ``OSError``)
  2    usage: the *command line* is wrong -- a flag value, a path that does not exist or is the wrong kind,
       an output that already exists or a place that cannot be written, found by the checks every tool makes
       before it starts (``UsageError``, ``dnnlib.util.OutputPathError``, any other ``ValueError``, argparse,
       ``FileNotFoundError`` / ``NotADirectoryError`` / ``IsADirectoryError`` / ``FileExistsError``)
  3    a result, not an error: ``dataset_tool.py compare`` found differences; ``run_training.py`` diverged
  130  interrupted (Ctrl-C)
Every error is one line on stderr, ``error: <what is wrong>; <what to do>``, without a traceback. Anything
else (a bug) keeps its traceback.

Flags: every tool's parser is ``ArgumentParser`` below, which takes each long flag in both spellings
(``--model_type`` / ``--model-type``); help shows the original's spelling where there is one.
"""

import argparse
import errno
import sys

EXIT_RUNTIME = 1
EXIT_USAGE = 2
EXIT_RESULT = 3
EXIT_INTERRUPTED = 130


class UsageError(ValueError):
    """The command line is wrong: exit 2."""


class InputError(ValueError):
    """An input file or folder exists but its contents cannot be used: exit 1."""


_WRONG_PATH = (FileNotFoundError, NotADirectoryError, IsADirectoryError, FileExistsError)
_OS_ADVICE = {
    errno.ENOSPC: "no space left on device; free some space or write elsewhere",
    errno.EDQUOT: "disk quota exceeded; free some space or write elsewhere",
    errno.EACCES: "permission denied; choose a location you can write to",
    errno.EPERM: "operation not permitted; choose a location you can write to",
    errno.EROFS: "read-only file system; choose a writable location",
}


# TensorFlow's file writers raise tf.errors.OpError subclasses, not OSError, for the same failures.
_TF_OS_MESSAGES = (("No space left on device", errno.ENOSPC), ("Disk quota exceeded", errno.EDQUOT),
                   ("Permission denied", errno.EACCES), ("Read-only file system", errno.EROFS))


def as_os_error(exc, filename=None):
    """``exc`` as an OSError when it is one or is TensorFlow's report of one (disk full, permission denied),
    with ``filename`` (e.g. the destination instead of a staging name) when given; else None."""
    if isinstance(exc, OSError):
        if filename is None or exc.errno is None:
            return exc
        return OSError(exc.errno, exc.strerror or str(exc), filename)
    if type(exc).__module__.startswith("tensorflow"):
        for text, code in _TF_OS_MESSAGES:
            if text in str(exc):
                return OSError(code, text, filename)
    return None


def exit_code(exc):
    """The exit status for ``exc`` under the convention above, or None for an unexpected exception (a bug)."""
    exc = as_os_error(exc) or exc
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, (UsageError,) + _WRONG_PATH):   # before InputError: a dataset that is not there is usage
        return EXIT_USAGE
    if isinstance(exc, InputError):
        return EXIT_RUNTIME
    if isinstance(exc, ValueError):
        return EXIT_USAGE
    if isinstance(exc, OSError):
        return EXIT_RUNTIME
    return None


def one_line(text):
    """``text`` (or an exception's message) with all whitespace runs, newlines included, as single spaces."""
    return " ".join(str(text).split())


def describe(exc):
    """``exc`` as one line; an OSError says which file and what to do instead of a bare errno."""
    exc = as_os_error(exc) or exc
    if isinstance(exc, OSError) and exc.errno in _OS_ADVICE:
        where = exc.filename or ""
        return "%s%s" % (("%s: " % where) if where else "", _OS_ADVICE[exc.errno])
    if isinstance(exc, OSError) and exc.strerror:
        return "%s%s" % (("%s: " % exc.filename) if exc.filename else "", exc.strerror)
    return one_line(exc) or type(exc).__name__


def numpy_load_problem(exc):
    """What ``np.load(..., allow_pickle=False)``'s error means, without numpy's advice to unpickle the file."""
    text = one_line(exc)
    if "pickle" in text:
        return "not a NumPy array file (it holds pickled objects or other bytes; not unpickled, which could run code)"
    return text or type(exc).__name__


def report(exc, prog=None, file=None):
    """Print ``exc`` as the one-line error of the convention and return its exit status. Re-raises an
    unexpected exception (so a bug keeps its traceback)."""
    code = exit_code(exc)
    if code is None:
        raise exc
    sys.stdout.flush()
    prefix = "%s: " % prog if prog else ""
    text = "interrupted" if code == EXIT_INTERRUPTED else describe(exc)
    print("%serror: %s" % (prefix, text), file=file or sys.stderr, flush=True)
    return code


class ArgumentParser(argparse.ArgumentParser):
    """argparse that takes every long flag in both spellings: ``--model_type`` also as ``--model-type`` and
    ``--num-gpus`` also as ``--num_gpus``. Help shows the spelling the tool defines (the original's where there is
    one). Subcommands (``add_subparsers``) get the same parser class, so the same rule."""

    def _known_flags(self):
        flags, stack = set(), [self]
        while stack:
            parser = stack.pop()
            for action in parser._actions:
                flags.update(s for s in action.option_strings if s.startswith("--"))
                if isinstance(action, argparse._SubParsersAction):
                    stack.extend(action.choices.values())
        return flags

    def normalize_flags(self, args):
        """``args`` with each unknown --flag replaced by its other spelling where that one is known."""
        known = self._known_flags()
        out = []
        for token in args:
            name, sep, value = token.partition("=")
            if token.startswith("--") and len(name) > 2 and name not in known:
                swapped = "--" + (name[2:].replace("_", "-") if "_" in name[2:] else name[2:].replace("-", "_"))
                if swapped in known:
                    token = swapped + sep + value
            out.append(token)
        return out

    def parse_known_args(self, args=None, namespace=None):
        args = sys.argv[1:] if args is None else list(args)
        return super(ArgumentParser, self).parse_known_args(self.normalize_flags(args), namespace)
