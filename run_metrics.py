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
  factor_vae_score, mig, dci, sap, beta_vae_score, cascade_factor_vae
           ground-truth metrics of a VAE pickle's encoder (posterior means) on --gt-data
           (default: procedural dSprites), at the reference defaults; of a synthetic generator
           (--network_pkl synthetic:NAME, training/synthetic.py), its own code for given factors
Results go to metric-<name>.txt (one line) and metric-<name>.json in --result-dir (default: the
pickle's folder), which is checked before any metric runs. Pickles execute code when loaded: use
only trusted files (--sha256 checks one).
"""

import argparse
import json
import os
import sys
import time

from dnnlib import EasyDict

METRICS = {
    "vp": EasyDict(kind="vp", protocol="reference"),
    "vp_fast": EasyDict(kind="vp", protocol="fast"),
    "fid50k": EasyDict(kind="fid", num_images=50000),
    "fid5k": EasyDict(kind="fid", num_images=5000),
    # Ground-truth metrics of a VAE's encoder (posterior means) on a dataset with known factors.
    "factor_vae_score": EasyDict(kind="gt", func="metrics.factor_vae_score.compute_factor_vae_score", key="eval_accuracy"),
    "mig": EasyDict(kind="gt", func="metrics.mig.compute_mig", key="discrete_mig"),
    "dci": EasyDict(kind="gt", func="metrics.dci.compute_dci", key="disentanglement"),
    "sap": EasyDict(kind="gt", func="metrics.sap.compute_sap", key="SAP_score"),
    "beta_vae_score": EasyDict(kind="gt", func="metrics.beta_vae_score.compute_beta_vae_score", key="eval_accuracy"),
    "cascade_factor_vae": EasyDict(kind="gt", func="metrics.cascade_factor_vae.compute_cascade_factor_vae", key="accuracy"),
}


def parse_metric_names(text):
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise ValueError("unknown metric(s) %s; choose from %s" % (", ".join(unknown), ", ".join(sorted(METRICS))))
    return names


def gt_sample_sizes(func_name, num_points):
    """Keyword overrides that shrink a ground-truth metric's samples: num_train (and num_variance_estimate)
    = num_points, num_eval / num_test = num_points // 2, for the parameters the metric has. {} for None
    (the reference defaults: 10,000 / 5,000)."""
    import inspect

    from dnnlib import util

    if num_points is None:
        return {}
    num_points = int(num_points)
    if num_points < 2:
        raise ValueError("--gt-points must be >= 2, got %d" % num_points)
    params = inspect.signature(util.get_obj_by_name(func_name)).parameters
    wanted = dict(num_train=num_points, num_variance_estimate=num_points, num_eval=num_points // 2,
                  num_test=num_points // 2)
    return {k: v for k, v in wanted.items() if k in params}


def metric_settings(name, args):
    """The settings a metric's value depends on (besides the pickle), stored in metric-<name>.json so that
    cached results are reused only for the same settings (run_correlation.py, experiments/). ``args``: the
    parsed flags or an EasyDict (attribute access, missing settings read as None)."""
    kind = METRICS[name].kind
    if kind == "vp":
        keys = ("seed", "vp_pairs", "vp_repeats", "vp_epochs")
    elif kind == "gt":
        keys = ("seed", "gt_data", "gt_points")
    else:
        keys = ("seed", "dataset", "fid_images", "fid_network_sha256")
    return {k: getattr(args, k, None) for k in keys}


def find_pickle(run_dir):
    """network-final.pkl, else the newest complete snapshot of a run directory."""
    from training import snapshots

    final = os.path.join(run_dir, "network-final.pkl")
    if os.path.exists(final):
        return final
    latest = snapshots.latest_snapshot(run_dir)
    if latest is None:
        raise ValueError("%s holds no network-final.pkl and no network-snapshot-*.pkl" % run_dir)
    return latest[1]


def compute_metric(name, nets, args):
    """One metric on a network tuple (EasyDict from snapshots.split_networks; Gs already adapted to
    this machine's layout). Returns a result dict."""
    spec = METRICS[name]
    Gs = nets.Gs
    if spec.kind == "gt":
        import numpy as np

        from dnnlib import util
        from training.ground_truth import make_ground_truth_data
        from training.networks_vae import representation_function

        if nets.kind == "synthetic":     # the generator's own code for given factors; observations = factors
            data, represent = Gs.ground_truth_data(), Gs.representation
        elif nets.get("E") is None:
            raise ValueError("%s scores an encoder: it needs a VAE pickle (E, Dec, ...) or a synthetic generator, "
                             "not a GAN" % name)
        else:
            data, represent = make_ground_truth_data(args.gt_data), representation_function(nets.E)
        scores = util.call_func_by_name(data, represent,
                                        np.random.RandomState(args.seed), func_name=spec.func,
                                        **gt_sample_sizes(spec.func, getattr(args, "gt_points", None)))
        value = float(scores[spec.key])
        return dict(value=value, line="%s %.4f (%s)" % (name, value, ", ".join("%s %.4f" % (k, v) for k, v in sorted(scores.items()) if isinstance(v, float))), details=scores)
    if spec.kind == "vp":
        from metrics import pair_dataset, vp_metric

        def make_pairs(seed):
            return pair_dataset.generate_pairs(Gs, args.vp_pairs, seed=seed, delta_type="onedim", batch_size=args.batch_size, progress=args.verbose)

        out = vp_metric.run_vp_metric(make_pairs, repeats=args.vp_repeats, seed=args.seed, protocol=spec.protocol,
                                      epochs=args.vp_epochs, verbose=args.verbose)
        return dict(value=out["summary"]["vp_score"]["mean"], line=out["line"], details=out)
    if spec.kind == "fid":
        from metrics import fid
        from training import dataset as dataset_lib

        if not args.data_dir or not args.dataset:
            raise ValueError("%s needs --data-dir and --dataset (the real images)" % name)
        if not args.fid_network:
            raise ValueError("%s needs --fid-network (a feature network pickle, e.g. Inception-v3 pool features) and --fid-network-sha256" % name)
        feature_net = fid.load_feature_network(args.fid_network, args.fid_network_sha256)
        resolution = Gs.output_shapes[0][2] if Gs.static_kwargs.get("data_format") == "NCHW" else Gs.output_shapes[0][1]
        dataset = dataset_lib.load_dataset(data_dir=args.data_dir, tfrecord_dir=args.dataset, resolution=resolution,
                                           shuffle_mb=64, prefetch_mb=16, data_format="NHWC")
        num = args.fid_images or spec.num_images
        res = fid.compute_fid(Gs, dataset, feature_net, args.fid_network_sha256, num_images=num, seed=args.seed)
        return dict(value=res["fid"], line="%s %.3f (%d images)" % (name, res["fid"], num), details=res)
    raise AssertionError(spec.kind)


def evaluate_pickle(pkl_path, names, args, out_dir=None):
    """Load ``pkl_path`` in a fresh graph, compute ``names``, write metric-<name>.txt/.json. Returns {name: result}."""
    from dnnlib import tflib, util
    from dnnlib.tflib.compat import tf
    from training import snapshots

    out_dir = out_dir or os.path.dirname(os.path.abspath(pkl_path))
    results = {}
    graph = tf.Graph()
    with graph.as_default(), tflib.create_session({"rnd.np_random_seed": args.seed}).as_default():
        tf.set_random_seed(args.seed)
        nets = snapshots.split_networks(snapshots.load_networks(pkl_path, sha256=args.sha256))
        nets.Gs = snapshots.adapt_network(nets.Gs, snapshots.default_data_format())
        for name in names:
            start = time.time()
            res = compute_metric(name, nets, args)
            res.update(metric=name, network_pkl=pkl_path if nets.kind == "synthetic" else os.path.abspath(pkl_path),
                       seconds=time.time() - start,
                       settings=metric_settings(name, args))
            with util.atomic_write(os.path.join(out_dir, "metric-%s.txt" % name), "w") as f:
                f.write("%s %s time %.0fs\n" % (os.path.basename(pkl_path), res["line"], res["seconds"]))
            with util.atomic_write(os.path.join(out_dir, "metric-%s.json" % name), "w") as f:
                json.dump(res, f, indent=2, default=_json_default)
            print("%s: %s (%.0fs)" % (name, res["line"], res["seconds"]), flush=True)
            results[name] = res
    return results


def encoder_representation(network_pkl, sha256=None):
    """A representation function (observations NCHW [0, 1] -> posterior means) from a VAE pickle,
    with its own graph and session kept open; for benchmarks/bench_metrics.py --representation."""
    from dnnlib import tflib
    from dnnlib.tflib.compat import tf
    from training import snapshots
    from training.networks_vae import representation_function

    graph = tf.Graph()
    with graph.as_default():
        session = tflib.create_session()
    with graph.as_default(), session.as_default():
        nets = snapshots.split_networks(snapshots.load_networks(network_pkl, sha256=sha256))
    if nets.get("E") is None:
        raise ValueError("%s has no encoder: a VAE pickle is needed" % network_pkl)
    represent = representation_function(nets.E)

    def run(observations):
        with graph.as_default(), session.as_default():
            return represent(observations)

    return run


def _json_default(obj):
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return repr(obj)


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    parser.add_argument("--gt-data", dest="gt_data", default="dsprites",
                        help="ground-truth data for the factor metrics: dsprites (procedural), the official dSprites .npz, or 3dshapes.h5")
    parser.add_argument("--gt-points", dest="gt_points", type=int,
                        help="ground-truth metrics on N train / N/2 test points instead of the reference's "
                             "10,000 / 5,000 (faster, noisier; for CPU-sized experiments)")
    parser.add_argument("--quiet", dest="verbose", action="store_false", help="less progress output")
    return parser


def check_outputs(names, out_dir, flag="--result-dir"):
    """Before any metric runs: ``out_dir`` can be made or written and no metric-<name>.txt/.json in it is a
    folder. Raises dnnlib.util.OutputPathError (a ValueError) naming the path."""
    from dnnlib import util

    util.check_output_path(out_dir, "dir", flag)
    for name in names:
        for ext in ("txt", "json"):
            util.check_output_path(os.path.join(out_dir, "metric-%s.%s" % (name, ext)), "file", "output file of " + flag)


def main(argv=None):
    args = build_parser().parse_args(argv)
    created = None
    try:
        names = parse_metric_names(args.metrics)
        if not names:
            raise ValueError("--metrics is empty")
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
        if args.result_dir and not os.path.exists(args.result_dir):
            os.makedirs(args.result_dir)
            created = args.result_dir
        evaluate_pickle(pkl, names, args, out_dir=args.result_dir)
    except (Exception, KeyboardInterrupt) as exc:     # exit status: dnnlib/cli.py (2 usage, 1 unusable pickle or data, disk full)
        from dnnlib import cli

        if created and not os.listdir(created):      # a failed first metric leaves no empty --result-dir
            os.rmdir(created)
        return cli.report(exc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
