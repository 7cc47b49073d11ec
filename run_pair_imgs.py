"""Write an image-pair dataset for the VP metric from a trained generator (or a VAE's decoder).

  python run_pair_imgs.py --network_pkl results/00000-.../network-final.pkl --n_imgs 10000 \\
      --batch_size 100 --delta_type onedim --result-dir results/pairs

Output in --result-dir: pair_000000.jpg ... (x1 | x2 side by side), labels.npy (float64 [N, C],
c1 - c2), pairs.json (pickle sha256, seed, counts, prior) and preview.png. The folder is readable
unchanged by the public VP-metric tool and by `python -m metrics.vp_metric <folder>`.

Flags keep the original run_pair_generator_vc.py names; --n_continuous / --n_discrete are checked
against the pickle (the code size is read from it). VAE pickles: codes from U(-2, 2) as the
original's generate_image_pairs.py, decoder output sigmoid(logits), grey replicated to RGB.
Security: the pickle is unpickled, which runs code: use only network pickles you trust.
"""

import argparse
import os
import sys

from dnnlib import cli, util


def build_parser():
    parser = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--network_pkl", required=True, help="network snapshot: GAN (pairs from Gs) or VAE (pairs from the decoder); pickles execute code: trusted files only")
    parser.add_argument("--n_imgs", type=int, required=True, help="number of pairs (all of them are written)")
    parser.add_argument("--result-dir", dest="result_dir", required=True, help="output folder (must be empty or absent)")
    parser.add_argument("--batch_size", type=int, default=10, help="pairs per generator call (default 10)")
    parser.add_argument("--delta_type", choices=["onedim", "fulldim"],
                        help="the pair step: vary one dim (default; what the VP metric reads) or all")
    parser.add_argument("--latent_type", dest="deprecated_latent_type", choices=["onedim", "fulldim"],
                        help="deprecated spelling of --delta_type (the original script's; --latent_type is the code "
                             "prior in run_training.py)")
    parser.add_argument("--n_continuous", type=int, help="expected number of continuous dims (checked against the pickle)")
    parser.add_argument("--n_discrete", type=int, help="expected number of discrete dims (checked against the pickle)")
    parser.add_argument("--model_type", help="accepted for compatibility with the original; read from the pickle")
    parser.add_argument("--prior", choices=["uniform", "normal", "trunc_normal"], help="code prior (default: the one the model was trained with)")
    parser.add_argument("--seed", type=int, default=0, help="random seed: same seed, same folder (default 0)")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty --result-dir")
    parser.add_argument("--sha256", help="expected sha256 of --network_pkl (checked before unpickling)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar (for logs)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.deprecated_latent_type:
        if args.delta_type:
            print("error: give --delta_type only (--latent_type is its deprecated spelling)", file=sys.stderr)
            return 2
        print("note: run_pair_imgs.py --latent_type is deprecated; it is --delta_type (the pair step), as in "
              "run_training.py", file=sys.stderr)
    args.delta_type = args.delta_type or args.deprecated_latent_type or "onedim"
    if args.n_imgs < 1 or args.batch_size < 1:
        print("error: --n_imgs and --batch_size must be positive", file=sys.stderr)
        return 2
    from dnnlib import cli, util

    try:
        util.check_output_path(args.result_dir, "dir", "--result-dir")
        if os.path.exists(args.result_dir) and os.listdir(args.result_dir) and not args.overwrite:
            raise cli.UsageError("%s exists and is not empty: choose another --result-dir or pass --overwrite"
                                 % args.result_dir)
        from dnnlib import tflib
        from dnnlib.tflib.compat import tf

        graph = tf.Graph()
        with graph.as_default(), tflib.create_session().as_default():
            tf.set_random_seed(args.seed)
            return _write_pairs(args)
    except (Exception, KeyboardInterrupt) as exc:     # exit status: dnnlib/cli.py (2 usage, 1 unusable pickle, disk full, ...)
        return cli.report(exc)


def _write_pairs(args):
    from dnnlib import cli
    from metrics import pair_dataset
    from training import snapshots, synthetic

    if "://" not in args.network_pkl and not synthetic.is_synthetic(args.network_pkl) \
            and not os.path.isfile(args.network_pkl):
        raise cli.UsageError("--network_pkl %s %s" % (args.network_pkl, "is a folder, not a pickle"
                             if os.path.isdir(args.network_pkl) else "does not exist"))
    try:
        nets = snapshots.split_networks(snapshots.load_snapshot(args.network_pkl, sha256=args.sha256))
    except (IOError, OSError) as exc:    # a download or checksum failure
        raise cli.InputError("cannot read --network_pkl %s: %s" % (args.network_pkl, cli.describe(exc)))
    Gs = snapshots.adapt_network(nets.Gs, snapshots.default_data_format())
    plan = pair_dataset.generator_plan(Gs)
    for flag, expected, actual in (("--n_continuous", args.n_continuous, plan.continuous_size), ("--n_discrete", args.n_discrete, plan.discrete_size)):
        if expected is not None and expected != actual:
            raise cli.UsageError("%s %d but the generator in %s has %d" % (flag, expected, args.network_pkl, actual))
    local = os.path.exists(args.network_pkl)
    provenance = dict(network_pkl=os.path.abspath(args.network_pkl) if local else args.network_pkl,
                      network_sha256=util.sha256_of_file(args.network_pkl) if local else args.sha256)
    print("Writing %d %s pairs (C=%d) to %s" % (args.n_imgs, args.delta_type, plan.continuous_size, args.result_dir))
    pair_dataset.write_pair_folder(
        args.result_dir, Gs, args.n_imgs, seed=args.seed, delta_type=args.delta_type, batch_size=args.batch_size,
        overwrite=args.overwrite, provenance=provenance, latent_type=args.prior, progress=not args.quiet,
    )
    print("Done: %s" % args.result_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
