"""Progress bookkeeping for a running training / evaluation loop."""

import os
import time

from . import submit


class RunContext(object):
    """Tracks progress of a run. Typical use inside a run function::

        with RunContext(submit_config) as ctx:
            while not done:
                ...
                ctx.update(loc='training', cur_epoch=cur_kimg, max_epoch=total_kimg)
                if ctx.should_stop():
                    break

    ``submit_config`` defaults to the config of the run submit_run() is executing (a fresh
    SubmitConfig outside of one). ``should_stop()`` becomes True after ``request_stop()`` or once
    a file named ``_abort.txt`` appears in the run dir.
    """

    ABORT_FILE_NAME = "_abort.txt"

    def __init__(self, submit_config=None):
        if submit_config is None:
            submit_config = submit.get_current_submit_config()
        if submit_config is None:
            submit_config = submit.SubmitConfig()
        self.submit_config = submit_config
        self.start_time = time.time()
        self.last_update_time = self.start_time
        self.last_update_interval = 0.0
        self.loc = None
        self.cur_epoch = None
        self.max_epoch = None
        self.num_updates = 0
        self.end_time = None
        self._stop_requested = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, tb):
        self.close()
        return False

    def update(self, loc=None, cur_epoch=None, max_epoch=None):
        """Record progress: where the run is (free text) and how far along (cur of max)."""
        now = time.time()
        self.last_update_interval = now - self.last_update_time
        self.last_update_time = now
        self.num_updates += 1
        if loc is not None:
            self.loc = loc
        if cur_epoch is not None:
            self.cur_epoch = cur_epoch
        if max_epoch is not None:
            self.max_epoch = max_epoch

    def get_progress(self):
        """cur_epoch / max_epoch in [0, 1], or None if unknown."""
        if self.cur_epoch is None or not self.max_epoch:
            return None
        return min(max(float(self.cur_epoch) / float(self.max_epoch), 0.0), 1.0)

    def request_stop(self):
        self._stop_requested = True

    def should_stop(self):
        """True if a stop was requested (request_stop() or an '_abort.txt' file in the run dir)."""
        if self._stop_requested:
            return True
        run_dir = self.get_run_dir()
        if run_dir and os.path.exists(os.path.join(run_dir, self.ABORT_FILE_NAME)):
            self._stop_requested = True
        return self._stop_requested

    def get_run_dir(self):
        return self.submit_config.get("run_dir")

    def get_time_since_start(self):
        """Seconds since this context was created (frozen once closed)."""
        end = self.end_time if self.end_time is not None else time.time()
        return end - self.start_time

    def get_time_since_last_update(self):
        return time.time() - self.last_update_time

    def get_last_update_interval(self):
        return self.last_update_interval

    def close(self):
        """Mark the context finished. Safe to call more than once."""
        if self.end_time is None:
            self.end_time = time.time()

    @property
    def closed(self):
        return self.end_time is not None
