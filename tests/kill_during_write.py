"""Run run_training.py, SIGKILLing the process in the middle of writing one file (a real kill at a chosen moment).

  python tests/kill_during_write.py network-snapshot-000000.032.pkl -- --data-dir ... (run_training.py flags)

The first time ``dnnlib.util.atomic_write`` writes a file of that base name, the process writes half of the first
chunk to the staging file, flushes it and kills itself with SIGKILL: what is left on disk is what a kill (power
loss, OOM killer) at that moment leaves.
"""

import contextlib
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from dnnlib import util  # noqa: E402


def install(victim):
    real_atomic_write = util.atomic_write

    class _KillingFile(object):
        def __init__(self, f):
            self._f = f

        def write(self, data):
            self._f.write(data[:max(1, len(data) // 2)])
            self._f.flush()
            os.kill(os.getpid(), signal.SIGKILL)

        def __getattr__(self, name):
            return getattr(self._f, name)

    @contextlib.contextmanager
    def killing_atomic_write(path, mode="wb", **kwargs):
        with real_atomic_write(path, mode, **kwargs) as f:
            yield _KillingFile(f) if os.path.basename(os.fspath(path)) == victim else f

    util.atomic_write = killing_atomic_write


def main(argv):
    victim, sep, flags = argv[0], argv[1], argv[2:]
    assert sep == "--", "usage: kill_during_write.py FILE_NAME -- RUN_TRAINING_FLAGS"
    install(victim)
    import run_training

    return run_training.main(flags)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
