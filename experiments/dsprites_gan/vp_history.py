"""The recognizer's test accuracy per epoch behind each final VP score, from the VP metric JSONs under --work.

  python experiments/dsprites_gan/vp_history.py --work ~/vpdis-work/dsprites_gan \
      --out experiments/dsprites_gan/results/vp_history.csv

The records keep only the best epoch (the published VP) and the last; this keeps the whole curve, so that how
far the best of 200 noisy epochs sits above the rest can be read from a committed file. Reads
`<work>/scores/<model>/kimg<NNNNNN>/metric-vp.json` (written by run.py's final step), writes one CSV row per
(model, kimg, repeat, epoch): test accuracy in percent, and whether the epoch is the best one, plus a PNG of
the curves next to it (same name, .png). A row's (model, kimg) names the record's final point it belongs to.
"""

import argparse
import glob
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "experiments"))

from segmented_runs import save_figure, write_csv  # noqa: E402

COLUMNS = ["model", "kimg", "repeat", "epoch", "test_accuracy", "best"]
SCORE_PATH = re.compile(r"(?P<model>[^/\\]+)[/\\]kimg(?P<kimg>\d{6})[/\\]metric-vp\.json$")


def history_rows(work):
    """[row] for every metric-vp.json under work/scores, sorted by model and kimg; epochs count from 1."""
    rows = []
    for path in sorted(glob.glob(os.path.join(work, "scores", "*", "kimg*", "metric-vp.json"))):
        m = SCORE_PATH.search(path)
        if m is None:
            continue
        with open(path) as f:
            result = json.load(f)
        repeats = result.get("details", {}).get("repeats")
        if not repeats or any("accuracy_history" not in r or "best_epoch" not in r for r in repeats):
            raise ValueError("%s has no per-epoch accuracy_history (not a reference-protocol VP result)" % path)
        for r, rep in enumerate(repeats):
            rows += [dict(model=m.group("model"), kimg=int(m.group("kimg")), repeat=r, epoch=i + 1,
                          test_accuracy=round(acc, 4), best=int(i + 1 == rep["best_epoch"]))
                     for i, acc in enumerate(rep["accuracy_history"])]
    return rows


def plot(path, rows):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for key in sorted({(r["model"], r["kimg"], r["repeat"]) for r in rows}):
        curve = [r for r in rows if (r["model"], r["kimg"], r["repeat"]) == key]
        ax.plot([r["epoch"] for r in curve], [r["test_accuracy"] for r in curve], lw=0.8,
                label="%s, %d kimg (best %.1f)" % (key[0], key[1], max(r["test_accuracy"] for r in curve)))
    ax.set_xlabel("recognizer epoch")
    ax.set_ylabel("test accuracy, %")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", required=True, help="run.py's --work folder (holds scores/)")
    p.add_argument("--out", required=True, help="CSV to write; the plot goes next to it as .png")
    args = p.parse_args(argv)
    if not os.path.isdir(os.path.join(args.work, "scores")):
        print("error: %s has no scores/ folder: pass run.py's --work" % args.work, file=sys.stderr)
        return 2
    try:
        rows = history_rows(args.work)
    except (ValueError, OSError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    if not rows:
        print("error: no metric-vp.json under %s/scores: run run.py's final step first" % args.work, file=sys.stderr)
        return 1
    write_csv(args.out, COLUMNS, rows)
    plot(os.path.splitext(args.out)[0] + ".png", rows)
    print("%d epochs of %d VP run(s) -> %s" % (len(rows), len({(r["model"], r["kimg"]) for r in rows}), args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
