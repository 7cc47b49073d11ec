"""Network snapshots: atomic writes, trusted loading with clear errors, and finding the newest one.

A snapshot is ``network-snapshot-<kimg:06d>.pkl`` holding a snapshot record -- a dict naming its networks (the
keys of its model family: {'G', 'D', ['I',] 'Gs'} for GANs, {'E', 'Dec', ['I' or 'TC']} for VAEs) and which of
them plays the generator ``Gs`` (the VAE's decoder: a role, not a second copy), with the model type, the run's
config and the format version (``snapshot_record``) -- plus a companion
``network-snapshot-<kimg:06d>.state`` with what resuming needs (image counter, optimiser
variables, numpy RNG state). The .state is written first and records the sha256 of the .pkl written
after it, so the .pkl's presence marks a complete snapshot and a state is only ever paired with the
very pickle it was saved with: snapshots that share a name (ticks shorter than 1 kimg) or a kill
between the two writes cannot mix networks of one moment with optimiser moments of another.

Readers (``load_snapshot``) also accept the bare tuples written before the record: (G, D, Gs), (G, D, I, Gs),
(G, D, I, I2, Gs), (E, Dec, Dec), (E, Dec, I, Dec), (E, Dec, TC, Dec).

Security: network pickles execute code when loaded. Load only files you produced or trust.
"""

import glob
import hashlib
import importlib.util
import json
import os
import pickle
import re

from dnnlib import cli, util

# network-snapshot-<kimg>.pkl (the original names), or -<kimg>.<rest of the image count>.pkl when a snapshot falls
# between whole kimg (ticks of 0.5 kimg would otherwise overwrite each other's snapshots).
SNAPSHOT_RE = re.compile(r"^network-snapshot-(\d{6,})(?:\.(\d{3}))?\.pkl$")
PICKLE_PROTOCOL = 4  # readable by Python 3.7 and later
SNAPSHOT_FORMAT = "vpdis-snapshot"
SNAPSHOT_FORMAT_VERSION = 2          # 1: the bare network tuples written until 2026-12-03


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


def snapshot_record(networks, spec, family, generator, config=None):
    """What a snapshot pickles: dict(format, format_version, family, spec (the model type), generator (the name of
    the network that plays Gs), config (the run's config, JSON-safe), networks {name: Network}) with
    ``networks``' None entries left out."""
    if networks.get(generator) is None:
        raise ValueError("a %s snapshot needs its generator %s among its networks (%s)" % (
            family, generator, ", ".join(k for k, v in networks.items() if v is not None)))
    config = json.loads(json.dumps(config, default=str)) if config is not None else None
    return dict(format=SNAPSHOT_FORMAT, format_version=SNAPSHOT_FORMAT_VERSION, family=family, spec=spec,
                generator=generator, config=config, networks={k: v for k, v in networks.items() if v is not None})


def save_snapshot(run_dir, kimg, record, state=None):
    """Write the state (if given, stamped with the pickle's sha256), then the snapshot record's pickle; each
    atomically, so the .pkl's presence marks a complete snapshot. Returns the pkl path."""
    pkl_path, state_path = snapshot_paths(run_dir, kimg)
    blob = pickle.dumps(record, protocol=PICKLE_PROTOCOL)
    if state is not None:
        state = dict(state, pkl_sha256=hashlib.sha256(blob).hexdigest())
        with util.atomic_write(state_path, "wb") as f:
            pickle.dump(state, f, protocol=PICKLE_PROTOCOL)
    with util.atomic_write(pkl_path, "wb") as f:
        f.write(blob)
    return pkl_path


def save_final(run_dir, record):
    path = os.path.join(run_dir, "network-final.pkl")
    with util.atomic_write(path, "wb") as f:
        pickle.dump(record, f, protocol=PICKLE_PROTOCOL)
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


def _build_name(net):
    return getattr(net, "_build_func_name", None)


def record_from_tuple(nets):
    """A snapshot record (format_version 1, spec and config unknown) from a network tuple written before records:
    VAE tuples start with a ``vae_encoder`` network and repeat the decoder last."""
    if _build_name(nets[0]) == "vae_encoder":
        names = ["E", "Dec"] + (["TC" if _build_name(nets[2]) == "tc_discriminator" else "I"] if len(nets) == 4 else [])
        family, generator, nets = "vae", "Dec", nets[:len(names)]
    else:
        family, generator = "gan", "Gs"
        names = {3: ["G", "D", "Gs"], 4: ["G", "D", "I", "Gs"], 5: ["G", "D", "I", "I2", "Gs"]}[len(nets)]
    return dict(format=SNAPSHOT_FORMAT, format_version=1, family=family, spec=None, generator=generator, config=None,
                networks=dict(zip(names, nets)))


def _check_record(data, where):
    """The snapshot record of an unpickled object (a record, or a tuple of networks); InputError otherwise."""
    from dnnlib.tflib import Network

    if isinstance(data, tuple) and len(data) in (3, 4, 5) and all(isinstance(n, Network) for n in data):
        return record_from_tuple(data)
    if isinstance(data, dict) and data.get("format") == SNAPSHOT_FORMAT:
        if data.get("format_version") != SNAPSHOT_FORMAT_VERSION:
            raise cli.InputError("%s is a vpdis snapshot of format version %r; this checkout reads versions 1-%d: "
                                 "update the checkout" % (where, data.get("format_version"), SNAPSHOT_FORMAT_VERSION))
        return data
    got = type(data).__name__
    if isinstance(data, tuple):
        got = "a tuple of %d: %s" % (len(data), ", ".join(type(n).__name__ for n in data))
    raise cli.InputError(
        "%s is not a vpdis network pickle: expected a snapshot record or a tuple (G, D, Gs), (G, D, I, Gs), "
        "(G, D, I, I2, Gs) or a VAE tuple (E, Dec, [I or TC,] Dec) of networks, got %s" % (where, got))


def load_snapshot(path_or_url, sha256=None):
    """Unpickle a snapshot (needs an open TF session) -> EasyDict(format_version, family, spec, config, networks
    {name: Network}). Only load pickles you trust.

    ``synthetic:<name>`` gives family 'synthetic' with networks {'Gs': a synthetic generator}
    (training/synthetic.py), nothing unpickled. Raises IOError / ValueError naming the file and the likely fix.
    """
    from training import synthetic

    if synthetic.is_synthetic(path_or_url):
        if sha256 is not None:
            raise ValueError("%s is a synthetic generator, not a file: it has no sha256 to check" % path_or_url)
        return util.EasyDict(format=SNAPSHOT_FORMAT, format_version=None, family="synthetic", spec=None,
                             generator="Gs", config=None, networks={"Gs": synthetic.SyntheticGenerator(path_or_url)})
    try:
        with util.open_url(path_or_url, sha256=sha256, verbose=False) as f:
            data = _unpickle(f)
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError) as exc:
        raise cli.InputError(
            "cannot read network pickle %s (%s: %s): the file is truncated, corrupt or not a vpdis "
            "snapshot" % (path_or_url, type(exc).__name__, exc)
        )
    return util.EasyDict(_check_record(data, path_or_url))


def split_networks(snapshot):
    """A snapshot (``load_snapshot``, a record, or a bare network tuple) -> EasyDict with ``kind`` (its family),
    each of its networks by name, and the roles G, D, I, TC, E, Dec, Gs (None where the family has none).

    GAN: G, D, I (recognizer or InfoGAN's Q, or None), Gs. VAE: E, Dec, I (VP recognizer or None), TC (or None),
    and Gs = G = Dec, D = None, so generator-oriented tools (pairs, grids, FID) use the decoder.
    Synthetic generators: Gs only.
    """
    if isinstance(snapshot, tuple):
        if snapshot[0] is None and snapshot[1] is None:
            snapshot = dict(family="synthetic", generator="Gs", networks={"Gs": snapshot[2]})
        else:
            snapshot = record_from_tuple(snapshot)
    roles = util.EasyDict(kind=snapshot["family"], G=None, D=None, I=None, TC=None, E=None, Dec=None)
    roles.update(snapshot["networks"])
    roles.Gs = snapshot["networks"][snapshot["generator"]]
    if roles.G is None and snapshot["family"] != "synthetic":
        roles.G = roles.Gs          # the VAE's decoder is also its G
    return roles


def weights_sha256(networks):
    """sha256 (hex) of every trainable variable of ``networks`` (a snapshot, or a tuple or list; None entries
    skipped), in network then variable-name order, as float32 bytes: the same weights give the same digest
    whatever pickle holds them (so a model retrained bit for bit can be told from another; a record and the tuple
    written before it digest alike). Needs the default session."""
    from dnnlib import tflib

    if isinstance(networks, dict):
        networks = list(networks["networks"].values())
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
