"""Does the VP score agree with ground-truth disentanglement metrics? (the paper's Sec. 5 claim)

  python run_correlation.py results/00000-vp_vae-... results/00001-beta_vae-... ... --out results/correlation

For each run directory (its network-final.pkl, else newest snapshot; VAE pickles for the
ground-truth metrics) computes the VP metric and the ground-truth metrics with run_metrics.py,
reusing metric-<name>.json files already in the run directory (so a rerun only computes what is
missing), then writes to --out:
  correlation.csv   one row per run: run, VP score, each ground-truth metric
  correlation.md    that table plus Pearson and Spearman coefficients of VP vs each metric
  correlation.png   scatter plots, VP score (x) vs each metric (y)
Pickles execute code when loaded: use only trusted run directories.
"""

import argparse
import os
import sys

from dnnlib import EasyDict, cli, util
from metrics import metric_main
from metrics.correlation import OUTPUT_FILES, collect, correlations, scatter_png, write_outputs  # noqa: F401
# the analysis lives in metrics/correlation.py; the names above stay importable from here for existing scripts


def main(argv=None):
    parser = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dirs", nargs="+", help="run directories (VAE runs for the ground-truth metrics)")
    parser.add_argument("--out", required=True, help="output folder for correlation.csv/.md/.png")
    parser.add_argument("--vp-metric", dest="vp_metric", default="vp", choices=["vp", "vp_fast"], help="default vp")
    parser.add_argument("--gt-metrics", dest="gt_metrics", default="factor_vae_score,mig,dci",
                        help="comma-separated (default factor_vae_score,mig,dci)")
    parser.add_argument("--gt-data", dest="gt_data", default="dsprites", help="ground-truth data (default procedural dsprites)")
    parser.add_argument("--vp-pairs", dest="vp_pairs", type=int, default=10000)
    parser.add_argument("--vp-repeats", dest="vp_repeats", type=int, default=3)
    parser.add_argument("--vp-epochs", dest="vp_epochs", type=int)
    parser.add_argument("--gt-points", dest="gt_points", type=int,
                        help="ground-truth metrics on N train / N/2 test points (default: the reference's 10,000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        gt_metrics = metric_main.parse_metric_names(args.gt_metrics)
        if not gt_metrics:
            raise ValueError("--gt-metrics is empty; name at least one, e.g. --gt-metrics mig")
        for flag, value, least in (("--vp-pairs", args.vp_pairs, 1), ("--vp-repeats", args.vp_repeats, 1),
                                   ("--vp-epochs", args.vp_epochs, 1), ("--gt-points", args.gt_points, 2)):
            if value is not None and value < least:
                raise ValueError("%s must be at least %d, got %d" % (flag, least, value))
        bad = [n for n in gt_metrics if metric_main.METRICS[n].kind != "gt"]
        if bad:
            raise ValueError("--gt-metrics takes ground-truth metrics only, got %s" % ", ".join(bad))
        util.check_output_path(args.out, "dir", "--out")  # before any metric is computed
        for name in OUTPUT_FILES:
            util.check_output_path(os.path.join(args.out, name), "file", "output file of --out")
        margs = EasyDict(seed=args.seed, sha256=None, batch_size=100, vp_pairs=args.vp_pairs, vp_repeats=args.vp_repeats,
                         vp_epochs=args.vp_epochs, gt_data=args.gt_data, gt_points=args.gt_points, verbose=False)
        table = collect(args.run_dirs, args.vp_metric, gt_metrics, margs)
        with util.removed_if_left_empty(args.out):
            write_outputs(args.out, table, args.vp_metric, gt_metrics)
    except (Exception, KeyboardInterrupt) as exc:     # exit status: dnnlib/cli.py (2 usage, 1 unusable pickle or data, disk full)
        return cli.report(exc)
    with open(os.path.join(args.out, "correlation.md")) as f:
        print(f.read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
