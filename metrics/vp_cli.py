"""The command line of the VP metric: ``python -m metrics.vp_metric PAIR_DIR`` (metrics/vp_metric.py delegates here).

Exit status as dnnlib/cli.py: 0 done, 1 unusable pair folder contents (LabelFormatError, unreadable JPEGs), 2 usage
(flags, a missing folder, an --out that cannot be written; checked before any pair is read), 130 Ctrl-C.
"""

import os
import sys

if not __package__:   # run as a script (python metrics/vp_cli.py): the repository root is not on the path
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dnnlib import cli  # noqa: E402
from metrics import vp_metric  # noqa: E402


def build_parser():
    """The argparse parser of ``python -m metrics.vp_metric``."""
    p = cli.ArgumentParser(
        prog="python -m metrics.vp_metric",
        description="VP disentanglement metric on a pair folder (pair_%06d.jpg = x1 | x2, labels.npy = c1 - c2, "
                    "as written by run_pair_imgs.py). Trains the VarPred CNN to predict which latent dim varies; "
                    "vp_score = best test top-1 accuracy over epochs (the published number).",
        epilog="Reported: vp_score (published: best test accuracy over epochs, epoch chosen on the test split), "
               "vp_score_final (last epoch), vp_score_heldout (epoch chosen on the first third of the test split, "
               "scored on the other two thirds); mean +- sample std over the repeats. The published protocol is "
               "the default (--protocol reference: 200 epochs, 90% of the pairs for testing, input diff). "
               "--protocol fast (40 epochs, cosine learning-rate decay, scored after the last epoch; ~1/10 of the "
               "time) is for quick looks only. Example: "
               "python -m metrics.vp_metric results/pairs --repeats 3 --out results/pairs/vp.json")
    p.add_argument("pair_dir", help="folder with pair_%%06d.jpg images and labels.npy")
    p.add_argument("--repeats", type=int, default=3,
                   help="runs with seeds seed, seed+1, ... (new split, init and shuffles each; default 3)")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default: 200 reference, 40 fast)")
    p.add_argument("--protocol", choices=vp_metric.PROTOCOLS, default="reference",
                   help="reference = the published protocol (default); fast = 40 epochs, cosine learning-rate "
                        "decay, scored after the last epoch (quick looks, not comparable with published numbers)")
    p.add_argument("--input-mode", choices=vp_metric.INPUT_MODES, default="diff",
                   help="diff = x1 - x2 (published, default) or concat = 6 channels")
    p.add_argument("--seed", type=int, default=0, help="seed of the first repeat (split, init, shuffling; default 0)")
    p.add_argument("--out", default=None, help="write all results as JSON to this file (atomically; checked before "
                                               "the metric runs)")
    p.add_argument("--max-pairs", type=int, default=None, help="use only the first N pairs (default: all)")
    p.add_argument("--batch-size", type=int, default=32, help="training batch size (default 32)")
    p.add_argument("--lr", type=float, default=0.01, help="Adam learning rate (default 0.01)")
    p.add_argument("--test-ratio", type=float, default=0.9,
                   help="fraction of the pairs in the test split (default 0.9)")
    p.add_argument("--val-ratio", type=float, default=None,
                   help="fraction of the test split used as the validation part (picks the epoch for "
                        "vp_score_heldout; default 1/3 reference, 1/9 fast)")
    p.add_argument("--lr-schedule", choices=vp_metric.LR_SCHEDULES, default=None,
                   help="learning rate per step: constant (reference default) or cosine decay to 0 (fast default)")
    p.add_argument("--patience", type=int, default=None,
                   help="stop when the validation accuracy has not improved for this many epochs (default: never)")
    p.add_argument("--eval-batch-size", type=int, default=256, help="evaluation batch size (default 256)")
    p.add_argument("--threads", type=int, default=None,
                   help="TF intra/inter-op threads (default: TF's choice; fix it for repeatable CPU runs)")
    p.add_argument("--deterministic", action="store_true",
                   help="set TF_DETERMINISTIC_OPS=1 / TF_CUDNN_DETERMINISTIC=1 (repeatable GPU runs, maybe slower)")
    p.add_argument("--quiet", action="store_true", help="print only the summary line")
    return p


def main(argv=None):
    """Run the CLI on ``argv`` (default sys.argv[1:]); returns the exit status (dnnlib/cli.py's convention)."""
    args = build_parser().parse_args(argv)
    if args.deterministic:
        os.environ["TF_DETERMINISTIC_OPS"] = "1"
        os.environ["TF_CUDNN_DETERMINISTIC"] = "1"
    from dnnlib import util

    try:
        if args.out:
            util.check_output_path(args.out, "file", "--out")
        vp_metric.run_vp_metric(
            args.pair_dir, repeats=args.repeats, seed=args.seed, out_json=args.out, max_pairs=args.max_pairs,
            verbose=not args.quiet, epochs=args.epochs, protocol=args.protocol, input_mode=args.input_mode,
            batch_size=args.batch_size, lr=args.lr, test_ratio=args.test_ratio, val_ratio=args.val_ratio,
            patience=args.patience, lr_schedule=args.lr_schedule, eval_batch_size=args.eval_batch_size,
            threads=args.threads)
    except (Exception, KeyboardInterrupt) as exc:  # dnnlib/cli.py: unreadable pairs or labels 1, usage 2
        return cli.report(exc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
