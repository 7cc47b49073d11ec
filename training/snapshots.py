"""Network snapshots: atomic writes, trusted loading with clear errors, and finding the newest one.

A snapshot is ``network-snapshot-<kimg:06d>.pkl`` holding a tuple of networks -- (G, D, I, Gs) for
models with a recognizer / Q network, (G, D, Gs) otherwise; for the VAEs (E, Dec, Dec),
(E, Dec, I, Dec) or (E, Dec, TC, Dec), the decoder in the generator's (last) slot -- plus a companion
``network-snapshot-<kimg:06d>.state`` with what resuming needs (image counter, optimiser
variables, numpy RNG state). The .state is written first and records the sha256 of the .pkl written
after it, so the .pkl's presence marks a complete snapshot and a state is only ever paired with the
very pickle it was saved with: snapshots that share a name (ticks shorter than 1 kimg) or a kill
between the two writes cannot mix networks of one moment with optimiser moments of another.

Security: network pickles execute code when loaded. Load only files you produced or trust.
"""

import glob
import hashlib
import importlib.util
import os
import pickle
import re

from dnnlib import cli, util

# network-snapshot-<kimg>.pkl (the original names), or -<kimg>.<rest of the image count>.pkl when a snapshot falls
# between whole kimg (ticks of 0.5 kimg would otherwise overwrite each other's snapshots).
SNAPSHOT_RE = re.compile(r"^network-snapshot-(\d{6,})(?:\.(\d{3}))?\.pkl$")
PICKLE_PROTOCOL = 4  # readable by Python 3.7 and later


class _CompatUnpickler(pickle.Unpickler):
    """Reads pickles written under numpy >= 2 (which names ``numpy._core.*``) with numpy 1.x too."""

    _numpy_has_private_core = None

    def find_class(self, module, name):
        if module == "numpy._core" or module.startswith("numpy._core."):
            cls = _CompatUnpickler
            if cls._numpy_has_private_core is None:
                cls._numpy_has_private_core = importlib.util.find_spec("numpy._core") is not None
            if not cls._numpy_has_private_core:
                module = "numpy.core" + module[len("numpy._core"):]
        return super(_CompatUnpickler, self).find_class(module, name)


def _unpickle(f):
    return _CompatUnpickler(f).load()


def kimg_label(nimg):
    """'000012' for 12,000 images, '000001.500' for 1,500: unique per image count, whole kimg as originally named."""
    kimg, rest = divmod(int(nimg), 1000)
    return "%06d" % kimg + (".%03d" % rest if rest else "")


def parse_snapshot_kimg(file_name):
    """kimg of a snapshot file name (int when whole, else float), or None when the name is no snapshot's."""
    match = SNAPSHOT_RE.match(os.path.basename(file_name))
    if not match:
        return None
    kimg = int(match.group(1))
    return kimg + int(match.group(2)) / 1000.0 if match.group(2) and int(match.group(2)) else kimg


def snapshot_paths(run_dir, kimg):
    """(.pkl, .state) paths of the snapshot at ``kimg`` (a float for snapshots between whole kimg)."""
    base = os.path.join(run_dir, "network-snapshot-" + kimg_label(int(round(kimg * 1000))))
    return base + ".pkl", base + ".state"


def save_snapshot(run_dir, kimg, networks, state=None):
    """Write the state (if given, stamped with the pickle's sha256), then the network pickle; each
    atomically, so the .pkl's presence marks a complete snapshot. Returns the pkl path."""
    pkl_path, state_path = snapshot_paths(run_dir, kimg)
    blob = pickle.dumps(tuple(networks), protocol=PICKLE_PROTOCOL)
    if state is not None:
        state = dict(state, pkl_sha256=hashlib.sha256(blob).hexdigest())
        with util.atomic_write(state_path, "wb") as f:
            pickle.dump(state, f, protocol=PICKLE_PROTOCOL)
    with util.atomic_write(pkl_path, "wb") as f:
        f.write(blob)
    return pkl_path


def save_final(run_dir, networks):
    path = os.path.join(run_dir, "network-final.pkl")
    with util.atomic_write(path, "wb") as f:
        pickle.dump(tuple(networks), f, protocol=PICKLE_PROTOCOL)
    return path


def list_snapshots(run_dir):
    """[(kimg, pkl path)] of complete snapshots, oldest first."""
    found = []
    for path in glob.glob(os.path.join(run_dir, "network-snapshot-*.pkl")):
        kimg = parse_snapshot_kimg(path)
        if kimg is not None:
            found.append((kimg, path))
    return sorted(found)


def latest_snapshot(run_dir):
    """(kimg, pkl path, state path or None) of the newest complete snapshot, or None.

    The state path is None when there is no state file or it belongs to another pickle (see the
    module docstring); the run then resumes from the networks with fresh optimiser state.
    """
    snaps = list_snapshots(run_dir)
    if not snaps:
        return None
    kimg, pkl_path = snaps[-1]
    state_path = snapshot_paths(run_dir, kimg)[1]
    if not os.path.exists(state_path):
        return kimg, pkl_path, None
    with open(pkl_path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if load_state(state_path).get("pkl_sha256") != digest:
        print("Warning: %s does not belong to %s (interrupted between the two writes); resuming with fresh "
              "optimiser state" % (state_path, pkl_path))
        return kimg, pkl_path, None
    return kimg, pkl_path, state_path


def load_networks(path_or_url, sha256=None):
    """Unpickle a network tuple (needs an open TF session). Only load pickles you trust.

    ``synthetic:<name>`` gives ``(None, None, generator)``: a synthetic generator (training/synthetic.py),
    nothing unpickled. Raises IOError / ValueError naming the file and the likely fix.
    """
    from training import synthetic

    if synthetic.is_synthetic(path_or_url):
        if sha256 is not None:
            raise ValueError("%s is a synthetic generator, not a file: it has no sha256 to check" % path_or_url)
        return (None, None, synthetic.SyntheticGenerator(path_or_url))
    try:
        with util.open_url(path_or_url, sha256=sha256, verbose=False) as f:
            data = _unpickle(f)
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError) as exc:
        raise cli.InputError(
            "cannot read network pickle %s (%s: %s): the file is truncated, corrupt or not a vpdis "
            "snapshot" % (path_or_url, type(exc).__name__, exc)
        )
    from dnnlib.tflib import Network

    if not isinstance(data, tuple) or len(data) not in (3, 4, 5) or not all(isinstance(n, Network) for n in data):
        got = type(data).__name__
        if isinstance(data, tuple):
            got = "a tuple of %d: %s" % (len(data), ", ".join(type(n).__name__ for n in data))
        raise cli.InputError(
            "%s is not a vpdis network pickle: expected a tuple (G, D, Gs), (G, D, I, Gs), (G, D, I, I2, Gs) "
            "or a VAE tuple (E, Dec, [I or TC,] Dec) of networks, got %s" % (path_or_url, got)
        )
    return data


def split_networks(nets):
    """A network tuple -> EasyDict with ``kind``.

    GAN tuples (G, D, Gs), (G, D, I, Gs), (G, D, I, I2, Gs) -> kind='gan', G, D, I (or None), Gs.
    VAE tuples (first network built by ``vae_encoder``): (E, Dec, Dec), (E, Dec, I, Dec) for VP-VAE,
    (E, Dec, TC, Dec) for FactorVAE -> kind='vae', E, Dec, I (VP recognizer or None), TC (or None),
    and Gs = G = Dec, D = None, so generator-oriented tools (pairs, grids, FID) use the decoder.
    Synthetic generators (None, None, Gs) -> kind='synthetic', Gs, everything else None.
    """
    if nets[0] is None and nets[1] is None:
        return util.EasyDict(kind="synthetic", G=None, D=None, I=None, Gs=nets[2], E=None, TC=None)
    if getattr(nets[0], "_build_func_name", None) == "vae_encoder":
        E, Dec = nets[0], nets[-1]
        I = TC = None
        if len(nets) == 4:
            if getattr(nets[2], "_build_func_name", None) == "tc_discriminator":
                TC = nets[2]
            else:
                I = nets[2]
        return util.EasyDict(kind="vae", E=E, Dec=Dec, I=I, TC=TC, Gs=Dec, G=Dec, D=None)
    if len(nets) == 3:
        G, D, Gs = nets
        I = None
    else:
        G, D, I, Gs = nets[0], nets[1], nets[2], nets[-1]
    return util.EasyDict(kind="gan", G=G, D=D, I=I, Gs=Gs, E=None, TC=None)


def weights_sha256(networks):
    """sha256 (hex) of every trainable variable of ``networks`` (a tuple or list; None entries skipped), in network
    then variable-name order, as float32 bytes: the same weights give the same digest whatever pickle holds them
    (so a model retrained bit for bit can be told from another). Needs the default session."""
    from dnnlib import tflib

    digest = hashlib.sha256()
    seen = set()
    for net in networks:
        if net is None or id(net) in seen:      # the VAE tuples hold the decoder twice
            continue
        seen.add(id(net))
        names = sorted(net.trainables)
        for name, value in zip(names, tflib.run([net.trainables[n] for n in names])):
            digest.update(("%s/%s:%s;" % (net.name, name, list(value.shape))).encode("utf-8"))
            digest.update(value.astype("<f4").tobytes())
    return digest.hexdigest()


def load_state(path):
    with open(path, "rb") as f:
        return _unpickle(f)


def adapt_network(net, data_format, impl="auto"):
    """The same weights rebuilt for another layout / op implementation (e.g. a GPU-trained NCHW
    network on a CPU, which needs NHWC). Returns ``net`` itself when nothing changes."""
    if net is None:
        return None
    kwargs = net.static_kwargs
    if kwargs.get("data_format", "NCHW") == data_format and kwargs.get("impl", "auto") == impl:
        return net
    return net.clone(net.name, data_format=data_format, impl=impl)


def default_data_format():
    """NCHW when a GPU is visible (the original's layout), else NHWC (TF's CPU convolutions reject NCHW)."""
    from dnnlib.tflib import custom_ops

    return "NCHW" if custom_ops.gpu_available() else "NHWC"
