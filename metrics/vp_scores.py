"""Splits and scores of the VP metric (metrics/vp_metric.py): numpy only, all accuracies in percent.

The reference's split (the first int(N * test_ratio) of a seeded permutation are the test split), the cut of the
test split into a validation part and a scored rest (``vp_score_heldout``), the three scores of one run from
its per-epoch accuracies, and their mean +- sample std over repeats.
"""

import numpy as np

SCORE_KEYS = ("vp_score", "vp_score_final", "vp_score_heldout")
DEFAULT_VAL_RATIO = 1.0 / 3.0


def split_indices(n, test_ratio=0.9, seed=0):
    """The reference's split, seeded: perm = RandomState(seed).permutation(n); test = perm[:int(n * test_ratio)],
    train = the rest. Returns (train_idx, test_idx)."""
    n = int(n)
    if not 0.0 < test_ratio < 1.0:
        raise ValueError("test_ratio must be in (0, 1), got %r" % (test_ratio,))
    perm = np.random.RandomState(seed).permutation(n)
    num_test = int(n * test_ratio)
    return perm[num_test:].copy(), perm[:num_test].copy()


def split_heldout(test_idx, val_ratio=DEFAULT_VAL_RATIO):
    """Cut the (already shuffled) test indices for ``vp_score_heldout``: the first int(len * val_ratio) form the
    validation part that picks the epoch, the rest is scored. Returns (val_idx, scored_idx)."""
    test_idx = np.asarray(test_idx)
    if not 0.0 < val_ratio < 1.0:
        raise ValueError("val_ratio must be in (0, 1), got %r" % (val_ratio,))
    num_val = int(len(test_idx) * val_ratio)
    return test_idx[:num_val].copy(), test_idx[num_val:].copy()


def _first_argmax(values):
    """Index of the first maximum of ``values``, skipping None and NaN (None if there is none)."""
    best = None
    for i, v in enumerate(values):
        if v is not None and not np.isnan(v) and (best is None or v > values[best]):
            best = i
    return best


def summarize_history(history, val_history=None, heldout_history=None):
    """Scores from per-epoch accuracies (percent).

    history          accuracy on the whole test split after each epoch.
    val_history      accuracy on the validation part after each epoch (picks the held-out epoch).
    heldout_history  accuracy on the scored (rest) part after each epoch; if omitted, the held-out score is read
                     from ``history`` at the validation-chosen epoch.
    Returns dict(vp_score = max(history), vp_score_final = history[-1], best_epoch (1-based, first maximum, as the
    reference's 'improved' rule), vp_score_heldout, heldout_epoch (1-based) -- the last two None without
    val_history).
    """
    history = [float(h) for h in history]
    if not history:
        raise ValueError("empty accuracy history")
    best = _first_argmax(history)
    out = dict(vp_score=history[best], vp_score_final=history[-1], best_epoch=best + 1,
               vp_score_heldout=None, heldout_epoch=None)
    if val_history is not None:
        val_history = [float(v) for v in val_history]
        if len(val_history) != len(history):
            raise ValueError("val_history has %d epochs but history has %d" % (len(val_history), len(history)))
        chosen = _first_argmax(val_history)
        if chosen is not None:
            scored = history if heldout_history is None else [float(h) for h in heldout_history]
            if len(scored) != len(history):
                raise ValueError("heldout_history has %d epochs but history has %d" % (len(scored), len(history)))
            out["vp_score_heldout"] = scored[chosen]
            out["heldout_epoch"] = chosen + 1
    return out


def aggregate_repeats(results):
    """Mean and sample standard deviation (ddof=1; 0 for a single value) of each score over repeats.

    ``results``: dicts with the SCORE_KEYS (None values are skipped). Returns
    {key: {'mean', 'std', 'n', 'values'}} for each score plus 'repeats'.
    """
    results = list(results)
    out = {"repeats": len(results)}
    for key in SCORE_KEYS:
        values = [float(r[key]) for r in results if r.get(key) is not None]
        if values:
            std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
            out[key] = dict(mean=float(np.mean(values)), std=std, n=len(values), values=values)
        else:
            out[key] = dict(mean=None, std=None, n=0, values=[])
    return out


def _fmt(stat):
    """'mean +- std' of one aggregate_repeats entry (one decimal), 'n/a' without values."""
    return "n/a" if stat["mean"] is None else "%.1f +- %.1f" % (stat["mean"], stat["std"])


def summary_line(summary, num_dims, num_pairs):
    """The one-line result: 'vp_score M +- S (final .., heldout .., R repeats, C=.., N pairs)' (percent)."""
    return "vp_score %s (final %s, heldout %s, %d repeats, C=%d, %d pairs)" % (
        _fmt(summary["vp_score"]), _fmt(summary["vp_score_final"]), _fmt(summary["vp_score_heldout"]),
        summary["repeats"], num_dims, num_pairs)
