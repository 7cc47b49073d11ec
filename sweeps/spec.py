"""A sweep file (YAML or JSON): the trials of a study, each the run_training.py flags of one model, the metrics
run_metrics.py computes on its final snapshot, the interpreter that runs both and the resources it asks for.

  name: dsprites_vae                      # a label of the study
  python: .venv/py3.11/bin/python         # interpreter of every trial (path, relative to the repository, or a
                                          #   command on PATH; default: the one running run_sweep.py)
  resources: {cpus: 1, gpus: 0}           # per trial; gpus 1 puts one trial on each GPU
  retries: 2                              # reruns of a trial whose Ray worker or node was lost (not of failures)
  train: {preset: vp_vae_dsprites, dataset: dsprites, cpu_threads: 1}      # flags of every trial
  metrics:                                # run_metrics.py calls on the final snapshot, one per group
    - {metrics: [vp_fast], vp_repeats: 3}
    - {metrics: [factor_vae_score, mig, dci, sap]}
  correlation: {vp_metric: vp_fast, gt_metrics: [factor_vae_score, mig]}  # optional: the study's plots
  trials:
    - name: "beta_vae-b{beta:g}-s{seed}"  # str.format over the trial's flags
      train: {model_type: beta_vae, beta: 10}
      grid: {seed: [0, 1, 2]}             # one trial per combination (cartesian product)
      add_metrics: [{metrics: [vp], vp_repeats: 1}]    # after the sweep's metrics (``metrics:`` replaces them)

Flag names are run_training.py's / run_metrics.py's (either spelling; stored with underscores); a trial's
settings override the sweep's. The sweep sets --result-dir and --resume itself. ``~`` and ``$VAR`` in string
values are expanded when the file is read.

A trial's **key** is a hash of its resolved training flags (run_training.py --print-flags under the trial's
interpreter: defaults, preset and flags, so a changed preset changes it), its metric groups and its interpreter
(as written and its Python version). The dataset's location (``data_dir``), the run folder and resume flags are
not in the key: the same dataset name is taken to be the same data wherever it lies.
"""

import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys

from dnnlib import EasyDict, cli

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SWEEP_KEYS = ("name", "description", "python", "resources", "retries", "train", "metrics", "correlation", "trials")
TRIAL_KEYS = ("name", "python", "resources", "retries", "train", "grid", "metrics", "add_metrics")
RESOURCE_KEYS = ("cpus", "gpus")
# run_metrics.py options a metric group may set (besides ``metrics``); --network_pkl/--run_dir/--result-dir are the sweep's
METRIC_OPTIONS = ("seed", "batch_size", "vp_pairs", "vp_repeats", "vp_epochs", "gt_data", "gt_points", "data_dir",
                  "dataset", "fid_network", "fid_network_sha256", "fid_images", "sprite_samples", "sha256", "cpu_threads")
SWEEP_OWNED_FLAGS = ("result_dir", "resume", "dry_run", "print_flags")
NOT_IN_KEY = ("result_dir", "data_dir", "resume")
KEY_LENGTH = 12


class SweepFileError(cli.UsageError):
    """The sweep file is malformed (exit 2): names the file, the entry and what to write instead."""


def load_sweep_file(path):
    """Parse a .yaml / .yml / .json sweep file into a dict. Raises SweepFileError (missing file, syntax)."""
    if not os.path.isfile(path):
        raise SweepFileError("sweep file %s does not exist; give the path of a .yaml or .json file" % path)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith((".yaml", ".yml")):
        try:
            import yaml
        except ImportError:
            raise SweepFileError("sweep file %s is YAML, which needs PyYAML (pip install pyyaml); or write it as "
                                 ".json" % path)
        parse = yaml.safe_load
    else:
        parse = json.loads
    try:
        data = parse(text)
    except Exception as exc:     # yaml.YAMLError, json.JSONDecodeError: both mean "fix the syntax"
        raise SweepFileError("sweep file %s cannot be parsed (%s); fix its syntax" % (path, cli.one_line(exc)))
    if not isinstance(data, dict):
        raise SweepFileError("sweep file %s must hold a mapping with a 'trials' list" % path)
    return data


def _flag_name(name):
    return str(name).replace("-", "_")


def _expand(value):
    if isinstance(value, str):
        return os.path.expanduser(os.path.expandvars(value))
    return value


def _check_keys(where, mapping, allowed):
    if not isinstance(mapping, dict):
        raise SweepFileError("%s must be a mapping, got %r" % (where, mapping))
    unknown = sorted(set(mapping) - set(allowed))
    if unknown:
        raise SweepFileError("%s: unknown key(s) %s; valid: %s" % (where, ", ".join(unknown), ", ".join(allowed)))


def _flag(where, name, value):
    """(underscore name, expanded value) of one training flag; refuses the flags the sweep sets itself, lists,
    mappings and null."""
    name = _flag_name(name)
    if name in SWEEP_OWNED_FLAGS:
        raise SweepFileError("%s: %s is set by run_sweep.py (each trial trains in its own folder and resumes "
                             "there); remove it" % (where, name))
    if isinstance(value, (list, dict)):
        raise SweepFileError("%s: %s must be a single value, got %r (use 'grid' for several)" % (where, name, value))
    if value is None:
        raise SweepFileError("%s: %s is null; leave it out to use run_training.py's default" % (where, name))
    return name, _expand(value)


def _flags(where, mapping):
    """{flag: scalar} of a ``train`` mapping (see _flag)."""
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise SweepFileError("%s must be a mapping of flag: value, got %r" % (where, mapping))
    return dict(_flag(where, name, value) for name, value in mapping.items())


def _metric_groups(where, groups):
    """[{'metrics': [names], option: value}] with every name known to the metric registry."""
    from metrics import metric_main

    if groups is None:
        return []
    if not isinstance(groups, list):
        raise SweepFileError("%s must be a list of {metrics: [...], option: value} groups" % where)
    out = []
    for i, group in enumerate(groups):
        here = "%s[%d]" % (where, i)
        if not isinstance(group, dict):
            raise SweepFileError("%s must be a mapping {metrics: [...], option: value}, got %r" % (here, group))
        group = {_flag_name(k): v for k, v in group.items()}
        _check_keys(here, group, ("metrics",) + METRIC_OPTIONS)
        names = group.get("metrics")
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",") if n.strip()]
        if not names or not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise SweepFileError("%s: 'metrics' must be a list of metric names, got %r" % (here, names))
        try:
            metric_main.parse_metric_names(",".join(names))
        except ValueError as exc:
            raise SweepFileError("%s: %s" % (here, exc))
        clean = dict((k, _expand(v)) for k, v in group.items() if k != "metrics")
        clean["metrics"] = list(names)
        out.append(clean)
    seen = [n for g in out for n in g["metrics"]]
    twice = sorted(set(n for n in seen if seen.count(n) > 1))
    if twice:
        raise SweepFileError("%s: metric(s) %s appear in two groups (each writes metric-<name>.json once)"
                             % (where, ", ".join(twice)))
    return out


def _resources(where, value, base):
    res = dict(base)
    if value is not None:
        _check_keys(where, value, RESOURCE_KEYS)
        res.update(value)
    for k in RESOURCE_KEYS:
        if not isinstance(res[k], (int, float)) or isinstance(res[k], bool) or res[k] < 0:
            raise SweepFileError("%s: %s must be a number >= 0, got %r" % (where, k, res[k]))
    return res


def _retries(where, value):
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise SweepFileError("%s: retries must be an integer >= 0, got %r" % (where, value))
    return value


def resolve_python(python):
    """The interpreter path for a sweep's ``python`` entry (None: this interpreter). Raises SweepFileError."""
    if python is None:
        return sys.executable
    python = _expand(str(python))
    if os.sep in python:
        path = python if os.path.isabs(python) else os.path.join(REPO_ROOT, python)
        if not os.path.isfile(path):
            raise SweepFileError("python %s: no such interpreter (paths are relative to the repository %s)"
                                 % (python, REPO_ROOT))
        if not os.access(path, os.X_OK):
            raise SweepFileError("python %s: %s is not executable; give an interpreter" % (python, path))
        return path
    found = shutil.which(python)
    if found is None:
        raise SweepFileError("python %s: not found on PATH; give the interpreter's path" % python)
    return found


def expand_trials(sweep, path="sweep file", overrides=None):
    """The sweep's trials, grids expanded, settings merged, in file order: [EasyDict(name, python, python_path,
    resources, retries, train, metrics)]. ``overrides``: training flags applied to every trial last (e.g.
    data_dir from the command line). Raises SweepFileError naming the entry."""
    _check_keys(path, sweep, SWEEP_KEYS)
    base_train = _flags("%s: train" % path, sweep.get("train"))
    base_metrics = _metric_groups("%s: metrics" % path, sweep.get("metrics"))
    base_resources = _resources("%s: resources" % path, sweep.get("resources"), dict(cpus=1, gpus=0))
    base_retries = _retries(path, sweep.get("retries", 2))
    entries = sweep.get("trials")
    if not isinstance(entries, list) or not entries:
        raise SweepFileError("%s: 'trials' must be a non-empty list" % path)
    trials, names = [], {}
    for i, entry in enumerate(entries):
        where = "%s: trials[%d]" % (path, i)
        _check_keys(where, entry, TRIAL_KEYS)
        if "metrics" in entry and "add_metrics" in entry:
            raise SweepFileError("%s: give 'metrics' (replaces the sweep's) or 'add_metrics' (adds), not both" % where)
        train = dict(base_train)
        train.update(_flags(where + ": train", entry.get("train")))
        if "metrics" in entry:
            metrics = _metric_groups(where + ": metrics", entry["metrics"])
        else:
            _metric_groups(where + ": add_metrics", entry.get("add_metrics"))    # its own errors, named by its index
            metrics = _metric_groups(where + ": metrics + add_metrics",
                                     base_metrics + list(entry.get("add_metrics") or []))
        python = entry.get("python", sweep.get("python"))
        grid = entry.get("grid") or {}
        if not isinstance(grid, dict):
            raise SweepFileError("%s: grid must be a mapping of flag: [values], got %r" % (where, grid))
        axes = []
        for name, values in grid.items():
            if not isinstance(values, list) or not values:
                raise SweepFileError("%s: grid %s must be a non-empty list of values" % (where, name))
            axes.append([_flag(where + ": grid", name, v) for v in values])
        template = entry.get("name")
        if not isinstance(template, str) or not template:
            raise SweepFileError("%s: every trial needs a 'name' (str.format over its flags for a grid)" % where)
        for combo in itertools.product(*axes):
            flags = dict(train)
            flags.update(combo)
            flags.update(overrides or {})
            try:
                name = template.format(**flags)
            except (KeyError, IndexError, ValueError, AttributeError, TypeError) as exc:
                raise SweepFileError("%s: name %r cannot be formatted from the trial's flags (%s)" % (where, template, exc))
            if not name or any(c in name for c in "/\\") or name.startswith("."):
                raise SweepFileError("%s: trial name %r must be a plain folder name" % (where, name))
            if name in names:
                raise SweepFileError("%s: trial name %r is also made by %s; put the grid's flags in the name"
                                     % (where, name, names[name]))
            names[name] = where
            trials.append(EasyDict(name=name, python=python, python_path=resolve_python(python),
                                   resources=_resources(where + ": resources", entry.get("resources"), base_resources),
                                   retries=_retries(where, entry.get("retries", base_retries)),
                                   train=flags, metrics=metrics))
    return trials


def correlation_settings(sweep, path="sweep file"):
    """The sweep's ``correlation`` entry checked ({vp_metric: name, gt_metrics: [names]}), or None."""
    from metrics import metric_main

    correlation = sweep.get("correlation")
    if correlation is None:
        return None
    where = "%s: correlation" % path
    _check_keys(where, correlation, ("vp_metric", "gt_metrics"))
    vp, gt = correlation.get("vp_metric"), correlation.get("gt_metrics")
    if vp not in metric_main.METRICS or metric_main.METRICS[vp].kind != "vp":
        raise SweepFileError("%s: vp_metric must be vp or vp_fast, got %r" % (where, vp))
    if (not isinstance(gt, list) or not gt or
            not all(isinstance(n, str) and n in metric_main.METRICS and metric_main.METRICS[n].kind == "gt" for n in gt)):
        raise SweepFileError("%s: gt_metrics must be a list of ground-truth metrics (e.g. [mig, dci]), got %r"
                             % (where, gt))
    return dict(vp_metric=vp, gt_metrics=list(gt))


def training_argv(flags):
    """run_training.py arguments for a {flag: value} dict (booleans as true/false, which its parser reads)."""
    argv = []
    for name, value in flags.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        argv += ["--" + name, str(value)]
    return argv


def metric_argv(group):
    """run_metrics.py arguments of one metric group (without the pickle and the result folder)."""
    argv = ["--metrics", ",".join(group["metrics"])]
    for name, value in sorted(group.items()):
        if name != "metrics" and value is not None:
            argv += ["--" + name, str(value)]
    return argv


def resolve_flags(trial):
    """run_training.py --print-flags under the trial's interpreter -> (flags dict, python version).
    Raises cli.UsageError with run_training.py's own error line (an unknown flag, a bad value)."""
    cmd = [trial.python_path, os.path.join(REPO_ROOT, "run_training.py")] + training_argv(trial.train) + ["--print-flags"]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        lines = [l for l in proc.stderr.decode("utf-8", "replace").splitlines() if l.strip()]
        raise cli.UsageError("trial %s: run_training.py refused its flags: %s"
                             % (trial.name, lines[-1] if lines else "exit %d" % proc.returncode))
    out = json.loads(proc.stdout.decode("utf-8").strip().splitlines()[-1])
    return out["flags"], out["python"]


def trial_key(trial, flags, python_version):
    """The trial's key (KEY_LENGTH hex digits) from its resolved flags, metric groups and interpreter."""
    content = dict(train={k: v for k, v in flags.items() if k not in NOT_IN_KEY}, metrics=trial.metrics,
                   python=dict(given=trial.python, version=python_version))
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:KEY_LENGTH]


def resolve_keys(trials):
    """Fill trial.flags, trial.python_version and trial.key; a trial whose flags run_training.py refuses gets
    trial.error (its one line) instead. Returns ``trials``."""
    for trial in trials:
        try:
            trial.flags, trial.python_version = resolve_flags(trial)
            trial.key = trial_key(trial, trial.flags, trial.python_version)
            trial.error = None
        except cli.UsageError as exc:
            trial.flags, trial.python_version, trial.key, trial.error = None, None, None, str(exc)
    return trials
