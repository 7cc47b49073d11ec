"""Compute metrics of a trained network pickle (or a run directory's newest one).

  python run_metrics.py --network_pkl results/00000-.../network-final.pkl --metrics vp_fast
  python run_metrics.py --run_dir results/00000-... --metrics vp --vp-repeats 3
  python run_metrics.py --network_pkl P --metrics fid50k --data-dir datasets --dataset celeba_tfr \\
      --fid-network inception_v3_features.pkl --fid-network-sha256 <hex>

Metrics:
  vp       the VP metric, published protocol (10,000 onedim pairs per repeat, 90% test / 10% train,
           200 epochs, best test accuracy in %), 3 repeats with fresh pairs each
  vp_fast  the same pairs, fast protocol (40 epochs, cosine LR decay; ~1/10 of the time): quick looks only
  fid50k   FID against the dataset (needs a feature network pickle and its sha256)
  fid5k    FID with 5,000 images
  sprite_iou
           does a dSprites generator draw sprites: the fraction of --sprite-samples samples whose IoU
           with their nearest procedural render is >= 0.8 (and the IoU quantiles)
  factor_vae_score, mig, dci, sap, beta_vae_score, cascade_factor_vae
           ground-truth metrics of a VAE pickle's encoder (posterior means) on --gt-data
           (default: procedural dSprites), at the reference defaults; of a synthetic generator
           (--network_pkl synthetic:NAME, training/synthetic.py), its own code for given factors
Results go to metric-<name>.txt (one line) and metric-<name>.json in --result-dir (default: the
pickle's folder), which is checked before any metric runs. Pickles execute code when loaded: use
only trusted files (--sha256 checks one).
"""

import argparse
import os
import sys

from dnnlib import cli, util

from metrics.metric_main import (METRICS, check_outputs, compute_metric, encoder_representation,  # noqa: F401
                                 evaluate_pickle, find_pickle, gt_sample_sizes, json_default, metric_settings,
                                 parse_metric_names)
# the registry lives in metrics/metric_main.py; the names above stay importable from here for existing scripts


def build_parser():
    parser = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--network_pkl", help="network pickle (trusted files only)")
    src.add_argument("--run_dir", help="run directory: uses network-final.pkl or the newest snapshot")
    parser.add_argument("--metrics", default="vp_fast", help="comma-separated: %s (default vp_fast)" % ", ".join(sorted(METRICS)))
    parser.add_argument("--result-dir", dest="result_dir", help="where metric-<name>.txt/.json go (default: the pickle's folder)")
    parser.add_argument("--sha256", help="expected sha256 of the network pickle")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--batch_size", type=int, default=100, help="generator minibatch (default 100)")
    parser.add_argument("--vp-pairs", dest="vp_pairs", type=int, default=10000, help="pairs per VP repeat (default 10000)")
    parser.add_argument("--vp-repeats", dest="vp_repeats", type=int, default=3, help="VP repeats with fresh pairs (default 3)")
    parser.add_argument("--vp-epochs", dest="vp_epochs", type=int, help="override the protocol's epochs")
    parser.add_argument("--data-dir", dest="data_dir", help="parent of the tfrecord directory (FID)")
    parser.add_argument("--dataset", help="tfrecord directory name (FID)")
    parser.add_argument("--fid-network", dest="fid_network", help="feature network pickle path or URL (FID)")
    parser.add_argument("--fid-network-sha256", dest="fid_network_sha256", help="its sha256 (required)")
    parser.add_argument("--fid-images", dest="fid_images", type=int, help="override the number of images for FID")
    parser.add_argument("--sprite-samples", dest="sprite_samples", type=int, default=1000,
                        help="samples scored by sprite_iou (default 1000)")
    parser.add_argument("--gt-data", dest="gt_data", default="dsprites",
                        help="ground-truth data for the factor metrics: dsprites (procedural), the official dSprites .npz, or 3dshapes.h5")
    parser.add_argument("--gt-points", dest="gt_points", type=int,
                        help="ground-truth metrics on N train / N/2 test points instead of the reference's "
                             "10,000 / 5,000 (faster, noisier; for CPU-sized experiments)")
    parser.add_argument("--cpu-threads", dest="cpu_threads", type=int,
                        help="TensorFlow intra/inter-op threads of every session (default: TF's, all cores); fix it "
                             "for numbers that repeat exactly: the VP classifier's sums depend on it")
    parser.add_argument("--quiet", dest="verbose", action="store_false", help="less progress output")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        names = parse_metric_names(args.metrics)
        if not names:
            raise ValueError("--metrics is empty")
        if args.sprite_samples < 1:
            raise cli.UsageError("--sprite-samples must be at least 1, got %d" % args.sprite_samples)
        if args.cpu_threads is not None and args.cpu_threads < 1:
            raise cli.UsageError("--cpu-threads must be at least 1, got %d (leave it out for TF's choice)"
                                 % args.cpu_threads)
        pkl = args.network_pkl or find_pickle(args.run_dir)
        from training.synthetic import is_synthetic

        synthetic = is_synthetic(pkl)
        if args.network_pkl and not synthetic and not os.path.exists(pkl) and "://" not in pkl:
            raise ValueError("network pickle %s does not exist" % pkl)
        if args.result_dir:
            check_outputs(names, args.result_dir)
        elif synthetic:
            raise ValueError("--network_pkl %s is a synthetic generator (no folder of its own): give --result-dir" % pkl)
        elif "://" not in pkl:
            check_outputs(names, os.path.dirname(os.path.abspath(pkl)), "--result-dir (default: the pickle's folder)")
        if not args.result_dir:
            evaluate_pickle(pkl, names, args)
        else:
            with util.removed_if_left_empty(args.result_dir):     # a failed first metric leaves no empty folder
                os.makedirs(args.result_dir, exist_ok=True)
                evaluate_pickle(pkl, names, args, out_dir=args.result_dir)
    except (Exception, KeyboardInterrupt) as exc:     # exit status: dnnlib/cli.py (2 usage, 1 unusable pickle or data, disk full)
        return cli.report(exc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
