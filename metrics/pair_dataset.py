"""Image-pair datasets for the VP metric: generation from a generator and the on-disk format.

Format (readable unchanged by the public VP-metric tool): ``pair_%06d.jpg`` = x1 | x2 side by
side (left from c1, right from c2), RGB, PIL's default JPEG quality; ``labels.npy`` = float64
[N, C], row i = c1 - c2 of pair i. We add ``pairs.json`` (provenance) and ``preview.png``.

Sampling (the original's): c1 and c2 are independent draws from the training prior over the C
continuous dims; 'onedim' then copies c1 into c2 everywhere except one uniformly chosen dim, so
that dim differs by c1_d - c2_d; 'fulldim' keeps c2 fully independent. A discrete code, if the
generator has one, is drawn once per pair and shared by both images. The generator runs with
fixed noise, so the pair differs only through the code.
"""

import io
import json
import os
import shutil
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import PIL.Image
from tqdm import tqdm

from dnnlib import cli
from dnnlib.util import EasyDict, reclaim_stale_staging, staging_name
from training import grids
from training.loss import sample_continuous_np
from training.networks_vp import plan_generator

DELTA_TYPES = ("onedim", "fulldim")


def generator_plan(Gs):
    """How to drive a generator: EasyDict with discrete_size and continuous_size of its code, the prior it was
    trained with (``latent_type``), its output layout (``data_format``) and label width (``label_size``), read
    from its static kwargs (run_training.py records all three; a network built without one reads as uniform,
    NCHW, 0).

    Module-list generators: also their per-module plan (``plan_generator``). Networks without a module list (the
    VAE decoder): discrete_size 0, continuous_size = static kwarg ``latent_size``.
    """
    kw = Gs.static_kwargs
    if kw.get("module_list") is None:
        if "latent_size" not in kw:
            raise ValueError("network %r has neither a module_list nor a latent_size: not a vpdis generator" % Gs.name)
        plan = EasyDict(discrete_size=0, continuous_size=int(kw.latent_size), latent_size=int(kw.latent_size))
    else:
        plan = plan_generator(kw.module_list, kw.get("resolution"), kw.get("label_size", 0), kw.get("fmap_base", 512),
                              kw.get("fmap_decay", 0.15), kw.get("fmap_min", 16), kw.get("fmap_max", 512))
    plan.update(latent_type=kw.get("latent_type", "uniform"), data_format=kw.get("data_format", "NCHW"),
                label_size=int(kw.get("label_size", 0)))
    return plan


def sample_pair_codes(rng, num, discrete_size, continuous_size, delta_type="onedim", latent_type="uniform"):
    """-> (codes1, codes2) [num, D + C] float32 and labels [num, C] float64 = c1 - c2 (continuous part)."""
    if delta_type not in DELTA_TYPES:
        raise ValueError("delta type must be one of %s, got %r" % (", ".join(DELTA_TYPES), delta_type))
    c1 = sample_continuous_np(rng, num, continuous_size, latent_type)
    c2 = sample_continuous_np(rng, num, continuous_size, latent_type)
    if delta_type == "onedim":
        dims = rng.randint(continuous_size, size=num)
        keep = c2[np.arange(num), dims]
        c2 = c1.copy()
        c2[np.arange(num), dims] = keep
    labels = c1.astype(np.float64) - c2.astype(np.float64)
    if discrete_size:
        onehot = np.eye(discrete_size, dtype=np.float32)[rng.randint(discrete_size, size=num)]
        c1 = np.concatenate([onehot, c1], axis=1)
        c2 = np.concatenate([onehot, c2], axis=1)
    return c1, c2, labels


def images_to_uint8_rgb(images, data_format):
    """Generator output in [-1, 1] -> uint8 NHWC RGB (grey replicated), via x * 127.5 + 127.5."""
    out = grids.to_uint8_nhwc(images, drange=(-1, 1), data_format=data_format)
    return np.repeat(out, 3, axis=3) if out.shape[3] == 1 else out


def generate_pairs(Gs, num_pairs, seed=0, delta_type="onedim", batch_size=100, latent_type=None, progress=True, callback=None):
    """Generate ``num_pairs`` pairs in memory. Returns (pairs uint8 [N, H, 2W, 3], labels float64 [N, C]).

    ``callback(start_index, pairs_batch, labels_batch)``, if given, receives each batch as it is made
    (and then nothing is kept in memory: returns (None, labels)).
    """
    plan = generator_plan(Gs)
    # All codes are drawn up front, so the pairs depend on the seed but not on the batch size.
    codes1, codes2, all_labels = sample_pair_codes(np.random.RandomState(seed), num_pairs, plan.discrete_size,
                                                   plan.continuous_size, delta_type, latent_type or plan.latent_type)
    kept = []
    with tqdm(total=num_pairs, unit="pair", desc="pairs", disable=not progress, mininterval=1.0,
              dynamic_ncols=True) as bar:
        for start in range(0, num_pairs, batch_size):
            num = min(batch_size, num_pairs - start)
            c1, c2, labels = codes1[start:start + num], codes2[start:start + num], all_labels[start:start + num]
            dummy_labels = np.zeros([num, plan.label_size], np.float32)
            both = Gs.run(np.concatenate([c1, c2]), np.concatenate([dummy_labels, dummy_labels]), randomize_noise=False, minibatch_size=batch_size)
            both = images_to_uint8_rgb(both, plan.data_format)
            pairs = np.concatenate([both[:num], both[num:]], axis=2)  # side by side along the width
            if callback is not None:
                callback(start, pairs, labels)
            else:
                kept.append(pairs)
            bar.update(num)
    return (np.concatenate(kept) if kept else None), all_labels


def _join_writers(pool):
    """Wait for the pool's threads to end, through KeyboardInterrupts (a writer told to stop ends within one
    image). Returns whether one arrived, so that a Ctrl-C during a successful run's last join is not lost."""
    interrupted = False
    while True:
        try:
            pool.shutdown(wait=True)
            return interrupted
        except KeyboardInterrupt:
            interrupted = True


def write_pair_folder(out_dir, Gs, num_pairs, seed=0, delta_type="onedim", batch_size=100, overwrite=False,
                      provenance=None, latent_type=None, progress=True):
    """Write a pair folder atomically (temporary sibling, renamed at the end). Returns out_dir."""
    out_dir = os.path.normpath(out_dir)
    if os.path.exists(out_dir) and (not os.path.isdir(out_dir) or os.listdir(out_dir)) and not overwrite:
        raise FileExistsError("%s exists and is not empty: choose another --result-dir or pass --overwrite" % out_dir)
    parent = os.path.dirname(os.path.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    # a staging folder that names its process; the ones killed runs left are removed first
    reclaim_stale_staging(os.path.abspath(out_dir), log=lambda msg: print(msg, file=sys.stderr))
    tmp_dir = staging_name(os.path.abspath(out_dir))
    os.mkdir(tmp_dir)
    try:
        preview, pending = [], []

        stopping = threading.Event()

        def write_jpegs(start, pairs):
            for j, pair in enumerate(pairs):
                if stopping.is_set():    # the run failed or was interrupted: no more files into a dying folder
                    return
                encoded = io.BytesIO()  # the same bytes as .save(path), without PIL's per-file format lookup
                PIL.Image.fromarray(pair, "RGB").save(encoded, format="JPEG")
                with open(os.path.join(tmp_dir, "pair_%06d.jpg" % (start + j)), "wb") as f:
                    f.write(encoded.getvalue())

        # JPEG encoding (PIL releases the GIL) overlaps with the generator's next batch; at most two batches
        # wait. The writers are joined before the folder is renamed or removed, also when a second Ctrl-C
        # arrives while they stop (it interrupted the join, and a writer then wrote into the removed folder).
        writer = ThreadPoolExecutor(max_workers=2)
        try:
            def save_batch(start, pairs, labels):
                while len(pending) >= 2:
                    pending.pop(0).result()  # re-raises a failed write here
                pending.append(writer.submit(write_jpegs, start, pairs))
                if len(preview) < 16:
                    preview.extend(pairs[: 16 - len(preview)])

            _, labels = generate_pairs(Gs, num_pairs, seed, delta_type, batch_size, latent_type, progress,
                                       callback=save_batch)
            for job in pending:
                job.result()
        except BaseException:
            stopping.set()
            _join_writers(writer)      # the exception on its way out is the one reported
            raise
        if _join_writers(writer):
            raise KeyboardInterrupt
        np.save(os.path.join(tmp_dir, "labels.npy"), labels)
        grids.save_grid(os.path.join(tmp_dir, "preview.png"), np.stack(preview), grid_w=2, pad=2)
        plan = generator_plan(Gs)
        info = dict(
            num_pairs=int(num_pairs), seed=int(seed), delta_type=delta_type,
            latent_type=latent_type or plan.latent_type,
            num_continuous=plan.continuous_size, num_discrete=plan.discrete_size,
            image_size=[int(preview[0].shape[0]), int(preview[0].shape[1])], noise="fixed (randomize_noise=False)",
            label_definition="labels.npy row i = c1 - c2 (continuous dims) of pair_%06d.jpg; left image from c1",
        )
        info.update(provenance or {})
        with open(os.path.join(tmp_dir, "pairs.json"), "w") as f:
            json.dump(info, f, indent=2)
        if os.path.exists(out_dir):
            shutil.rmtree(out_dir)
        os.replace(tmp_dir, out_dir)
    except BaseException as exc:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        os_error = cli.as_os_error(exc, filename=out_dir) if isinstance(exc, Exception) else None
        if os_error is not None:     # disk full: name the folder asked for, not the staging folder
            raise os_error from exc
        raise
    return out_dir
