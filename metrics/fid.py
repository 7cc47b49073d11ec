"""FID between a generator and a dataset, with a pluggable feature network.

The feature network is a pickled ``dnnlib.tflib.Network`` taking uint8-range images
[N, 3, H, W] (float, 0..255, NCHW; grey images are replicated to 3 channels) and returning
[N, F] features -- e.g. Inception-v3's 2048-d pool features for the published FID. It is loaded
with ``open_url`` and **must** come with a sha256 (pickles execute code); the Inception weights
cannot be fetched on every machine, so the file and its digest are flags of run_metrics.py.
Real-image statistics are cached per (dataset, resolution, image count, feature network digest).
Generated images use codes from the generator's training prior (the original used N(0, 1)).
"""

import hashlib
import os
import pickle

import numpy as np

from dnnlib import util
from metrics.frechet_distance import feature_statistics, frechet_distance
from metrics.samples import sample_images


def load_feature_network(url_or_path, sha256):
    """Unpickle a feature Network after checking its sha256 (required)."""
    if not sha256:
        raise ValueError(
            "the FID feature network %s needs its sha256 (--fid-network-sha256): network pickles execute "
            "code when loaded" % url_or_path
        )
    with util.open_url(url_or_path, sha256=sha256, verbose=False) as f:
        net = pickle.load(f)
    if not hasattr(net, "run") or not hasattr(net, "input_shapes"):
        raise ValueError("%s is not a feature network pickle (a dnnlib.tflib.Network)" % url_or_path)
    return net


def _to_feature_input(images_uint8_nhwc):
    x = images_uint8_nhwc.astype(np.float32).transpose(0, 3, 1, 2)
    return np.repeat(x, 3, axis=1) if x.shape[1] == 1 else x


def real_features(dataset, feature_net, num_images, minibatch_size=64):
    """Features of ``num_images`` reals drawn from a TFRecordDataset (its shuffled stream; any layout)."""
    feats, done = [], 0
    while done < num_images:
        n = min(minibatch_size, num_images - done)
        images, _ = dataset.get_minibatch_np(n)
        if dataset.data_format == "NCHW":
            images = images.transpose(0, 2, 3, 1)
        feats.append(feature_net.run(_to_feature_input(images)))
        done += n
    return np.concatenate(feats)[:num_images]


def fake_features(Gs, feature_net, num_images, seed=0, minibatch_size=64):
    """Features of ``num_images`` generated images (metrics/samples.py: codes from the training prior, random noise)."""
    return np.concatenate([feature_net.run(_to_feature_input(images))
                           for images in sample_images(Gs, num_images, seed, minibatch_size)])


def _cache_path(cache_dir, dataset, num_images, feature_sha256):
    key = "%s|%d|%d|%s" % (os.path.abspath(dataset.tfrecord_dir), dataset.resolution, num_images, feature_sha256)
    return os.path.join(cache_dir, "fid-reals-%s.npz" % hashlib.md5(key.encode("utf-8")).hexdigest())


def compute_fid(Gs, dataset, feature_net, feature_sha256, num_images=50000, seed=0, cache_dir=None, minibatch_size=64):
    """FID between ``num_images`` generated and real images. Returns dict(fid, num_images, cached_reals)."""
    cache_dir = cache_dir or os.path.join(util.get_default_cache_dir(), "fid-stats")
    os.makedirs(cache_dir, exist_ok=True)
    path = _cache_path(cache_dir, dataset, num_images, feature_sha256)
    cached = os.path.exists(path)
    if cached:
        with np.load(path) as data:
            mu_real, sigma_real = data["mu"], data["sigma"]
    else:
        mu_real, sigma_real = feature_statistics(real_features(dataset, feature_net, num_images, minibatch_size))
        with util.atomic_write(path, "wb") as f:
            np.savez(f, mu=mu_real, sigma=sigma_real)
    mu_fake, sigma_fake = feature_statistics(fake_features(Gs, feature_net, num_images, seed, minibatch_size))
    return dict(fid=frechet_distance(mu_real, sigma_real, mu_fake, sigma_fake), num_images=num_images, cached_reals=cached)
