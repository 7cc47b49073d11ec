"""Run a sweep's trials as Ray tasks: one task per trial with the CPUs / GPUs it asked for, retried (from its last
snapshot) when its worker or node is lost, never when it fails by itself; a live summary while they run.

Local by default: a Ray instance started inside this process, every server bound to 127.0.0.1 (Ray otherwise
advertises the machine's private address), usage statistics and the dashboard off. ``address``: join a running
cluster (``ray start --head``); every node must then have the repository and the interpreters at the same paths,
and a shared ``--out`` for a retried trial to resume on another node.
"""

import os
import sys
import time

LOCAL_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",            # no usage statistics are sent (there is no network here anyway)
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # Linux: node address 127.0.0.1, all servers bound to it
}
CLUSTER_ENV = {"RAY_USAGE_STATS_ENABLED": "0"}


def init_ray(address=None, local_workers=None, local_gpus=None, dashboard=False):
    """Start (or join, with ``address``) Ray. The environment is set before ray is imported: Ray reads it then."""
    os.environ.update(CLUSTER_ENV if address else LOCAL_ENV)
    import ray

    kwargs = dict(include_dashboard=bool(dashboard), logging_level="WARNING", log_to_driver=False,
                  configure_logging=True)
    if address:
        ray.init(address=address, **kwargs)
    else:
        # address "local": a new instance even when another Ray runs on this machine (None would join that one)
        ray.init(address="local", num_cpus=local_workers or os.cpu_count(), num_gpus=local_gpus,
                 _node_ip_address="127.0.0.1",
                 dashboard_host="127.0.0.1", **kwargs)
    return ray


def node_capacities(ray):
    """[{'cpus', 'gpus'}] of each live node of the Ray that ``ray`` is connected to."""
    return [dict(cpus=node["Resources"].get("CPU", 0.0), gpus=node["Resources"].get("GPU", 0.0))
            for node in ray.nodes() if node.get("Alive")]


def unplaceable(trials, nodes):
    """The trials that no node of ``nodes`` (``node_capacities``) can hold: Ray would queue them for ever, since
    one task runs on one node."""
    return [t for t in trials if not any(t.resources["cpus"] <= n["cpus"] and t.resources["gpus"] <= n["gpus"]
                                         for n in nodes)]


def _progress_actor(ray):
    @ray.remote(num_cpus=0)
    class Progress:
        """Which trials have started (a task only reports to it: the driver cannot tell queued from running)."""

        def __init__(self):
            self.started = {}

        def start(self, name, node_id):
            self.started[name] = (time.time(), node_id)

        def snapshot(self):
            return dict(self.started)

    return Progress.remote()


def _trial_task(trial, trial_dir, progress):
    """The body of a trial's Ray task (on the worker)."""
    import ray

    from dnnlib import EasyDict
    from sweeps import trial as trial_lib

    node_id = ray.get_runtime_context().get_node_id()
    progress.start.remote(trial["name"], node_id)
    result = trial_lib.run_trial(EasyDict(trial), trial_dir)
    result["node_id"] = node_id
    return result


def run_trials(ray, trials, trial_dirs, on_result, quiet=False, summary_every=60.0):
    """Submit every trial, call ``on_result(trial, result)`` as each ends (in the driver), until all have.
    A trial whose worker / node was lost more often than its ``retries`` ends as failed. Progress on stderr: a
    live tqdm bar on a terminal, else a summary line every ``summary_every`` seconds; one line per finished trial."""
    from tqdm import tqdm

    progress = _progress_actor(ray)
    task = ray.remote(_trial_task)
    pending = {}
    for trial in trials:
        ref = task.options(num_cpus=trial.resources["cpus"], num_gpus=trial.resources["gpus"],
                           max_retries=trial.retries, retry_exceptions=False,
                           name="trial:%s" % trial.name).remote(dict(trial), trial_dirs[trial.name], progress)
        pending[ref] = (trial, time.time())
    counts = dict(done=0, failed=0)
    bar = tqdm(total=len(trials), desc="trials", unit="trial", file=sys.stderr, dynamic_ncols=True,
               disable=quiet or not sys.stderr.isatty())
    start = last_summary = time.time()
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            for ref in ready:
                trial, submitted = pending.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayError as exc:      # the worker or node died more often than retried
                    result = dict(name=trial.name, key=trial.key, status="failed", metrics={}, attempts=trial.retries + 1,
                                  error="Ray task lost after %d attempt(s): %s" % (trial.retries + 1,
                                                                                str(exc).strip().splitlines()[0]))
                result["submitted"] = submitted
                counts["done"] += 1
                counts["failed"] += result["status"] != "ok"
                on_result(trial, result)
                bar.update(1)
                bar.write(_result_line(result), file=sys.stderr)
            started = ray.get(progress.snapshot.remote())
            running = sum(1 for t, _ in pending.values() if t.name in started)
            summary = "running %d, queued %d, failed %d" % (running, len(pending) - running, counts["failed"])
            bar.set_postfix_str(summary, refresh=False)
            if bar.disable and not quiet and time.time() - last_summary >= summary_every:
                last_summary = time.time()
                elapsed = last_summary - start
                eta = elapsed / counts["done"] * len(pending) if counts["done"] else None
                print("trials: %d/%d done, %s, %s elapsed%s" % (counts["done"], len(trials), summary, _hms(elapsed),
                                                              ", ETA %s" % _hms(eta) if eta is not None else ""),
                      file=sys.stderr, flush=True)
    finally:
        bar.close()


def _hms(seconds):
    seconds = int(round(seconds))
    return "%d:%02d:%02d" % (seconds // 3600, seconds // 60 % 60, seconds % 60)


def _result_line(result):
    if result["status"] == "ok":
        values = ", ".join("%s %.4g" % kv for kv in sorted(result["metrics"].items()))
        train = result.get("train_seconds")
        return "done   %s (%s): %s%s" % (result["name"], result.get("node_id", "")[:8], values or "no metrics",
                                         "" if train is None else "; trained %.0f s" % train)
    tail = ("\n    " + result["log_tail"].replace("\n", "\n    ")) if result.get("log_tail") else ""
    return "FAILED %s: %s%s" % (result["name"], result["error"], tail)
