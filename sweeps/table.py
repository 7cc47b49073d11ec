"""The results of a sweep: one result.json per trial (written by run_sweep.py as each trial ends), one table of
every trial (results.csv / results.md) and, if the sweep asks for it, the study's correlation plots through
metrics/correlation.py (the code behind run_correlation.py)."""

import csv
import json
import os

from dnnlib import util

FIXED_COLUMNS = ("trial", "key", "status", "attempts", "node_id", "train_s")


def trial_dir(out_dir, trial):
    """``<out>/trials/<name>.<key>``: a trial whose settings change gets a new folder, its old one stays."""
    return os.path.join(out_dir, "trials", "%s.%s" % (trial.name, trial.key or "unresolved"))


def read_result(out_dir, trial):
    """The trial's result.json as a dict, or None (never finished, or a file from other settings)."""
    if not trial.key:
        return None
    try:
        with open(os.path.join(trial_dir(out_dir, trial), "result.json")) as f:
            result = json.load(f)
    except (OSError, ValueError):
        return None
    return result if isinstance(result, dict) and result.get("key") == trial.key else None


def write_result(out_dir, trial, result):
    path = os.path.join(trial_dir(out_dir, trial), "result.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with util.atomic_write(path, "w") as f:
        json.dump(result, f, indent=2, sort_keys=True)


def _fmt(value, float_format=repr):
    if value is None:
        return ""
    if isinstance(value, float):
        return float_format(value)
    return str(value)


def columns(trials):
    """(flag columns, metric columns) over all trials, in first-seen order."""
    flags, metrics = [], []
    for trial in trials:
        flags += [k for k in trial.train if k not in flags]
        metrics += [n for g in trial.metrics for n in g["metrics"] if n not in metrics]
    return flags, metrics


def rows(trials, results, float_format=repr):
    """The header, then one list of strings per trial: FIXED_COLUMNS, its flags, its metric values, the error.
    Floats in ``float_format`` (default: every digit, so that the CSV reads back the same numbers)."""
    flags, metrics = columns(trials)
    out = []
    for trial in trials:
        res = results.get(trial.name) or dict(status="not run", metrics={})
        train_s = res.get("train_seconds_total", res.get("train_seconds"))
        out.append([trial.name, trial.key or "", res.get("status", ""), _fmt(res.get("attempts")),
                    (res.get("node_id") or "")[:12], "" if train_s is None else "%.0f" % train_s]
                   + [_fmt(trial.train.get(k), float_format) for k in flags]
                   + [_fmt(res.get("metrics", {}).get(n), float_format) for n in metrics]
                   + [(res.get("error") or trial.get("error") or "").replace("\n", " ")])
    return [list(FIXED_COLUMNS) + flags + metrics + ["error"]] + out


def write_tables(out_dir, trials, results):
    """results.csv (every digit) and results.md (4 significant digits) in ``out_dir``, each whole or not at all."""
    with util.atomic_write(os.path.join(out_dir, "results.csv"), "w", newline="") as f:
        csv.writer(f).writerows(rows(trials, results))
    table = rows(trials, results, float_format=lambda v: "%.4g" % v)
    lines = ["| " + " | ".join(table[0]) + " |", "|" + "---|" * len(table[0])]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in table[1:]]
    with util.atomic_write(os.path.join(out_dir, "results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def write_correlation(out_dir, trials, results, correlation):
    """correlation.csv / .md / .png of the finished trials (``correlation``: {vp_metric, gt_metrics}); False
    when fewer than two trials have every metric it names."""
    from metrics import correlation as correlation_lib

    names = [correlation["vp_metric"]] + list(correlation["gt_metrics"])
    table = {}
    for trial in trials:
        res = results.get(trial.name)
        if res and res.get("status") == "ok" and all(n in res["metrics"] for n in names):
            table[trial.name] = {n: res["metrics"][n] for n in names}
    if len(table) < 2:
        return False
    correlation_lib.write_outputs(out_dir, table, correlation["vp_metric"], list(correlation["gt_metrics"]))
    return True
