"""The metric registry: every metric by name, computed on a network pickle by one function each.

Used by run_metrics.py (the command line), by run_training.py --metrics at each snapshot, by run_correlation.py
and by the experiments. A metric is ``compute(name, nets, opts) -> dict(value, line, details)``: ``nets`` is the
EasyDict of training.snapshots.split_networks (Gs adapted to this machine), ``opts`` the parsed run_metrics.py
flags (or an EasyDict with the same names). ``settings`` lists the options a metric's value depends on besides the
pickle: they are stored in metric-<name>.json, and a cached result is reused only for the same settings.

  vp, vp_fast            the VP metric on onedim pairs from Gs, published / fast protocol (metrics/vp_metric.py)
  fid50k, fid5k          FID against the dataset (metrics/fid.py; needs a feature network and its sha256)
  sprite_iou             fraction of dSprites samples at IoU >= 0.8 with their nearest procedural render
                         (metrics/sprite_iou.py)
  factor_vae_score, mig, dci, sap, beta_vae_score, cascade_factor_vae
                         ground-truth metrics of an encoder's posterior means on data with known factors (or of a
                         synthetic generator's own code), one module each under metrics/
"""

import json
import os
import time

from dnnlib import EasyDict

_VP = ("seed", "vp_pairs", "vp_repeats", "vp_epochs")
_GT = ("seed", "gt_data", "gt_points")
_FID = ("seed", "dataset", "fid_images", "fid_network_sha256")
_SPRITE = ("seed", "sprite_samples", "batch_size")     # the samples depend on the minibatch split


def _gt(func, key):
    return EasyDict(kind="gt", compute="metrics.metric_main.ground_truth_metric", func=func, key=key, settings=_GT)


METRICS = {
    "vp": EasyDict(kind="vp", compute="metrics.metric_main.vp_score", protocol="reference", settings=_VP),
    "vp_fast": EasyDict(kind="vp", compute="metrics.metric_main.vp_score", protocol="fast", settings=_VP),
    "fid50k": EasyDict(kind="fid", compute="metrics.metric_main.fid_score", num_images=50000, settings=_FID),
    "fid5k": EasyDict(kind="fid", compute="metrics.metric_main.fid_score", num_images=5000, settings=_FID),
    "sprite_iou": EasyDict(kind="samples", compute="metrics.metric_main.sprite_iou_score", settings=_SPRITE),
    "factor_vae_score": _gt("metrics.factor_vae_score.compute_factor_vae_score", "eval_accuracy"),
    "mig": _gt("metrics.mig.compute_mig", "discrete_mig"),
    "dci": _gt("metrics.dci.compute_dci", "disentanglement"),
    "sap": _gt("metrics.sap.compute_sap", "SAP_score"),
    "beta_vae_score": _gt("metrics.beta_vae_score.compute_beta_vae_score", "eval_accuracy"),
    "cascade_factor_vae": _gt("metrics.cascade_factor_vae.compute_cascade_factor_vae", "accuracy"),
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


def metric_settings(name, opts):
    """{option: value} of the options metric ``name`` depends on (missing options read as None)."""
    return {k: getattr(opts, k, None) for k in METRICS[name].settings}


def ground_truth_metric(name, nets, opts):
    """A ground-truth metric of the encoder of a VAE pickle (or of a synthetic generator's own code); progress bars
    (where the metric has them) follow ``opts.verbose``."""
    import inspect

    import numpy as np

    from dnnlib import util
    from training.ground_truth import make_ground_truth_data
    from training.networks_vae import representation_function

    spec = METRICS[name]
    if nets.kind == "synthetic":     # the generator's own code for given factors; observations = factors
        data, represent = nets.Gs.ground_truth_data(), nets.Gs.representation
    elif nets.get("E") is None:
        raise ValueError("%s scores an encoder: it needs a VAE pickle (E, Dec, ...) or a synthetic generator, "
                         "not a GAN" % name)
    else:
        data, represent = make_ground_truth_data(opts.gt_data), representation_function(nets.E)
    kwargs = gt_sample_sizes(spec.func, getattr(opts, "gt_points", None))
    if "progress" in inspect.signature(util.get_obj_by_name(spec.func)).parameters:   # tqdm bars on stderr
        kwargs["progress"] = bool(getattr(opts, "verbose", False))
    scores = util.call_func_by_name(data, represent, np.random.RandomState(opts.seed), func_name=spec.func, **kwargs)
    value = float(scores[spec.key])
    details = ", ".join("%s %.4f" % (k, v) for k, v in sorted(scores.items()) if isinstance(v, float))
    return dict(value=value, line="%s %.4f (%s)" % (name, value, details), details=scores)


def vp_score(name, nets, opts):
    """The VP metric on fresh onedim pairs from Gs, ``opts.vp_repeats`` repeats."""
    from metrics import pair_dataset, vp_metric

    def make_pairs(seed):
        return pair_dataset.generate_pairs(nets.Gs, opts.vp_pairs, seed=seed, delta_type="onedim",
                                           batch_size=opts.batch_size, progress=opts.verbose)

    out = vp_metric.run_vp_metric(make_pairs, repeats=opts.vp_repeats, seed=opts.seed, protocol=METRICS[name].protocol,
                                  epochs=opts.vp_epochs, threads=getattr(opts, "cpu_threads", None), verbose=opts.verbose)
    return dict(value=out["summary"]["vp_score"]["mean"], line=out["line"], details=out)


def fid_score(name, nets, opts):
    """FID of Gs against the dataset ``opts.data_dir/opts.dataset`` with a pinned feature network."""
    from metrics import fid
    from training import dataset as dataset_lib

    if not opts.data_dir or not opts.dataset:
        raise ValueError("%s needs --data-dir and --dataset (the real images)" % name)
    if not opts.fid_network:
        raise ValueError("%s needs --fid-network (a feature network pickle, e.g. Inception-v3 pool features) and "
                         "--fid-network-sha256" % name)
    Gs = nets.Gs
    feature_net = fid.load_feature_network(opts.fid_network, opts.fid_network_sha256)
    # StyleGAN's layout, NCHW, where a network (e.g. an NVIDIA pickle) does not record one, as generator_plan reads it
    resolution = Gs.output_shapes[0][2 if Gs.static_kwargs.get("data_format", "NCHW") == "NCHW" else 1]
    dataset = dataset_lib.load_dataset(data_dir=opts.data_dir, tfrecord_dir=opts.dataset, resolution=resolution,
                                       shuffle_mb=64, prefetch_mb=16, data_format="NHWC")
    num = opts.fid_images or METRICS[name].num_images
    res = fid.compute_fid(Gs, dataset, feature_net, opts.fid_network_sha256, num_images=num, seed=opts.seed)
    return dict(value=res["fid"], line="%s %.3f (%d images)" % (name, res["fid"], num), details=res)


def sprite_iou_score(name, nets, opts):
    """Sprite IoU of ``opts.sprite_samples`` samples of Gs (codes from the training prior, random noise)."""
    import numpy as np

    from metrics import samples, sprite_iou

    images = np.concatenate(list(samples.sample_images(nets.Gs, opts.sprite_samples, seed=opts.seed,
                                                       minibatch_size=opts.batch_size)))
    if images.shape[3] != 1:
        raise ValueError("%s scores grey dSprites generators; this one draws %d channels" % (name, images.shape[3]))
    res = sprite_iou.compute_sprite_iou(images, progress=opts.verbose)
    line = "%s %.4f (%d samples at %dx%d, IoU >= %.2f; mean IoU %.4f, median %.4f)" % (
        name, res["fraction_at_level"], res["num_samples"], res["resolution"], res["resolution"], res["iou_level"],
        res["mean_iou"], res["median_iou"])
    return dict(value=res["fraction_at_level"], line=line, details=res)


def compute_metric(name, nets, opts):
    """Metric ``name`` on ``nets`` through its registry entry. Returns dict(value, line, details)."""
    from dnnlib import util

    return util.call_func_by_name(name, nets, opts, func_name=METRICS[name].compute)


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


def check_outputs(names, out_dir, flag="--result-dir"):
    """Before any metric runs: ``out_dir`` can be made or written and no metric-<name>.txt/.json in it is a
    folder. Raises dnnlib.util.OutputPathError (a ValueError) naming the path."""
    from dnnlib import util

    util.check_output_path(out_dir, "dir", flag)
    for name in names:
        for ext in ("txt", "json"):
            util.check_output_path(os.path.join(out_dir, "metric-%s.%s" % (name, ext)), "file", "output file of " + flag)


def evaluate_pickle(pkl_path, names, opts, out_dir=None):
    """Load ``pkl_path`` in a fresh graph, compute ``names``, write metric-<name>.txt/.json. Returns {name: result}."""
    from dnnlib import tflib, util
    from dnnlib.tflib.compat import tf
    from training import snapshots

    out_dir = out_dir or os.path.dirname(os.path.abspath(pkl_path))
    results = {}
    graph = tf.Graph()
    threads = getattr(opts, "cpu_threads", None)
    config = {"rnd.np_random_seed": opts.seed, "intra_op_parallelism_threads": threads,
              "inter_op_parallelism_threads": threads}
    with graph.as_default(), tflib.create_session(config).as_default():
        tf.set_random_seed(opts.seed)
        loaded = snapshots.load_snapshot(pkl_path, sha256=opts.sha256)
        digest = None if loaded.family == "synthetic" else snapshots.weights_sha256(loaded)
        nets = snapshots.split_networks(loaded)
        nets.Gs = snapshots.adapt_network(nets.Gs, snapshots.default_data_format())
        for name in names:
            start = time.time()
            res = compute_metric(name, nets, opts)
            res.update(metric=name, network_pkl=pkl_path if nets.kind == "synthetic" else os.path.abspath(pkl_path),
                       weights_sha256=digest, seconds=time.time() - start, cpu_threads=threads,
                       settings=metric_settings(name, opts))
            with util.atomic_write(os.path.join(out_dir, "metric-%s.txt" % name), "w") as f:
                f.write("%s %s time %.0fs\n" % (os.path.basename(pkl_path), res["line"], res["seconds"]))
            with util.atomic_write(os.path.join(out_dir, "metric-%s.json" % name), "w") as f:
                json.dump(res, f, indent=2, default=json_default)
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
        nets = snapshots.split_networks(snapshots.load_snapshot(network_pkl, sha256=sha256))
    if nets.get("E") is None:
        raise ValueError("%s has no encoder: a VAE pickle is needed" % network_pkl)
    represent = representation_function(nets.E)

    def run(observations):
        with graph.as_default(), session.as_default():
            return represent(observations)

    return run


def json_default(obj):
    """json.dump's fallback for numpy values in metric details."""
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return repr(obj)
