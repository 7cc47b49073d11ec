"""The VP (variation predictability) disentanglement metric, re-implemented in TF1 graph mode.

What it measures. A pair folder holds N image pairs (x1 | x2 side by side) whose latent codes differ in
one dimension d (``labels.npy`` row = c1 - c2, so d = argmax |row|). A small CNN, ``VarPred``, is trained on
a few pairs to predict d from the pair; its test top-1 accuracy (percent) is the VP score. A disentangled
generator makes each dimension change the image in its own recognisable way, so d is easy to predict.
A folder is refused (``check_onedim_labels``) unless every row has exactly one non-zero entry ('onedim' pairs)
and every one of the C dims varies in some pair; otherwise the score and its chance level would be wrong.

Published protocol (``protocol='reference'``, the defaults):
  * split: random permutation of the N pairs; the FIRST int(N * 0.9) go to the test set, the rest to the
    train set (10,000 pairs -> 1,000 train / 9,000 test). Seeded here (the reference is not).
  * input: RGB scaled to [-1, 1], pair split along the width, 'diff' = x1 - x2 (3 channels) or
    'concat' (6 channels).
  * VarPred (metrics/vp_network.py): 4 convs (7x7/2, 3x3, max-pool, 3x3, 3x3; 64-64-128-256) with BN and ReLU,
    global average pool, linear 256 -> C; no conv bias; BN and initialisation follow PyTorch's defaults.
  * training: cross-entropy, Adam(lr 0.01, betas (0.9, 0.999), eps 1e-8, PyTorch's update rule), batch
    32 with the last partial batch kept, reshuffled every epoch, 200 epochs, no schedule, no augmentation.
  * after every epoch the whole test split is evaluated (BN in eval mode = running statistics).

Three scores from one run (all percent, 0-100):
  * ``vp_score``          best test accuracy over all epochs -- THE PUBLISHED NUMBER. The epoch is chosen on
                          the test split itself, which biases it upward.
  * ``vp_score_final``    test accuracy after the last epoch.
  * ``vp_score_heldout``  the test split is cut once more (``split_heldout``): its first third
                          (``val_ratio=1/3``) is a validation part that picks the epoch (first maximum),
                          the remaining two thirds are scored at that epoch. Unbiased by selection.
The whole procedure is usually repeated (3 times in the paper's README, with fresh pairs) and averaged:
``run_vp_metric`` runs seeds seed, seed + 1, ... and reports mean and sample std (ddof=1).

``protocol='fast'`` (quick looks only, NOT the published protocol): the same split, network, optimiser and
batch size, but ``FAST_EPOCHS = 40`` epochs with the learning rate decayed to 0 on a cosine (per step), so the
last epoch is the one to report and no epoch has to be picked on the test split. Each epoch evaluates only the
validation part (``FAST_VAL_RATIO = 1/9`` of the test split, 1,000 of 9,000 pairs, for the progress line); the
whole test split is evaluated once, after the last epoch. All three scores come from that last epoch:
``vp_score`` = ``vp_score_final`` = whole test split, ``vp_score_heldout`` = the test split minus the
validation part. On the CPU this takes about 1/10 of the reference protocol's time (``benchmarks/
bench_vp_metric.py``); ``patience`` adds early stopping on the validation part to either protocol.

Pairs in memory. ``compute_vp_score(pairs, labels)`` takes uint8 [N, H, 2W, C] + float [N, C_dims] directly,
e.g. ``metrics.pair_dataset.generate_pairs(Gs, 10000, seed=s)``; ``run_vp_metric`` also accepts such a tuple or
a callable ``make_pairs(seed) -> (pairs, labels)`` called once per repeat (fresh pairs per repeat, as the
README's repeat-everything procedure). In-memory pairs skip the JPEG (quality 75) round trip of the on-disk
format, so their scores can differ slightly from scores on a written folder.

Determinism. Weights are initialised from numpy (seeded, identical on TF 1.15 and TF 2.x), the split and the
epoch shuffles come from numpy RandomStates, the graph has no random ops and the graph-level seed is set. On
the CPU the same seed gives the same numbers run after run with the same thread counts (``threads``); a
different thread count or TF version can change the float summation order and hence, after many epochs, the
numbers. On a GPU cuDNN may choose non-deterministic kernels: set TF_DETERMINISTIC_OPS=1 (TF >= 2.1) or
TF_CUDNN_DETERMINISTIC=1 (TF 1.15) before TensorFlow starts (the CLI's ``--deterministic``) for repeatable runs.

Progress: ``verbose`` prints per-epoch lines on stdout and one tqdm bar per repeat on stderr (epochs; postfix: best
test accuracy so far, 'fast': best validation accuracy). Parts: metrics/pair_folder.py, vp_network.py,
vp_scores.py and vp_cli.py; the names callers use are re-exported here.

CLI:  python -m metrics.vp_metric PAIR_DIR [--repeats 3] [--epochs 200] [--protocol reference|fast]
                                  [--input-mode diff|concat] [--seed 0] [--out results.json] [--max-pairs N]
"""

import json
import os
import sys
import time

import numpy as np
from tqdm import tqdm

if not __package__:   # run as a script (python metrics/vp_metric.py): the repository root is not on the path
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Re-exported names: callers and tests use them as vp_metric.<name>; the protocol below looks load_pair_folder and
# VarPred up here, so patching them on this module reaches it.
from metrics.metric_main import json_default  # noqa: E402
from metrics.pair_folder import (  # noqa: E402,F401
    LabelFormatError, PairFolderError, _decode_rgb, check_onedim_labels, check_pair_arrays, load_pair_folder,
    pairs_from_images, targets_from_labels)
from metrics.vp_network import (  # noqa: E402,F401
    BN_EPS, BN_MOMENTUM, INPUT_MODES, LR_SCHEDULES, TrainingGraph, VarPred, _adam_pytorch, _torch_default_uniform,
    learning_rate, session_config)
from metrics.vp_scores import (  # noqa: E402,F401
    DEFAULT_VAL_RATIO, SCORE_KEYS, _first_argmax, _fmt, aggregate_repeats, split_heldout, split_indices,
    summarize_history, summary_line)

PROTOCOLS = ("reference", "fast")
FAST_EPOCHS = 40
FAST_VAL_RATIO = 1.0 / 9.0


def compute_vp_score(pairs, labels, seed=0, epochs=None, batch_size=32, lr=0.01, test_ratio=0.9, input_mode="diff",
                     protocol="reference", eval_batch_size=256, val_ratio=None, patience=None, lr_schedule=None,
                     threads=None, device=None, verbose=True, log=None):
    """Train VarPred on one seeded split of in-memory pairs; return the scores and the per-epoch history.

    pairs uint8 [N, H, 2W, C] (x1 | x2), labels [N, C_dims] (c1 - c2). ``protocol`` sets the defaults of
    ``epochs`` (200 | 40), ``lr_schedule`` ('constant' | 'cosine'), ``val_ratio`` (1/3 | 1/9) and what each epoch
    evaluates (the whole test split | only its validation part; see the module docstring). ``patience`` (epochs)
    stops early when the validation accuracy stops improving. ``threads`` fixes TF's thread pools.
    Returns a JSON-ready dict: vp_score, vp_score_final, vp_score_heldout, best_epoch, heldout_epoch,
    confusion ([C, C] counts of the last whole-test-split evaluation, rows = the varied dim) and
    per_dim_accuracy ([C] percent correct per varied dim, same evaluation),
    accuracy_history (whole test split; 'fast': only the last epoch), val_accuracy_history,
    heldout_accuracy_history, train_loss_history, test_loss_history, epoch_train_seconds, epoch_eval_seconds (wall)
    and epoch_*_cpu_seconds (process CPU time), test_eval_[cpu_]seconds (one whole-test-split evaluation),
    num_train, num_test, num_val, num_heldout, num_dims, chance, epochs_run, stopped_early, wall_seconds,
    num_params, settings.
    """
    from dnnlib.tflib.compat import TF_VERSION

    if protocol not in PROTOCOLS:
        raise ValueError("protocol must be one of %s, got %r" % (", ".join(PROTOCOLS), protocol))
    if input_mode not in INPUT_MODES:
        raise ValueError("input_mode must be one of %s, got %r" % (", ".join(INPUT_MODES), input_mode))
    fast = protocol == "fast"
    epochs = int(epochs if epochs is not None else (FAST_EPOCHS if fast else 200))
    lr_schedule = lr_schedule or ("cosine" if fast else "constant")
    val_ratio = float(val_ratio if val_ratio is not None else (FAST_VAL_RATIO if fast else DEFAULT_VAL_RATIO))
    if lr_schedule not in LR_SCHEDULES:
        raise ValueError("lr_schedule must be one of %s, got %r" % (", ".join(LR_SCHEDULES), lr_schedule))
    batch_size, eval_batch_size = int(batch_size), int(eval_batch_size)
    if epochs < 1 or batch_size < 1 or eval_batch_size < 1:
        raise ValueError("epochs, batch_size and eval_batch_size must be positive")
    log = log or (lambda msg: print(msg, flush=True))
    start_time = time.time()

    pairs, labels = check_pair_arrays(pairs, labels)
    num_dims = labels.shape[1]
    targets = targets_from_labels(labels)
    train_idx, test_idx = split_indices(len(pairs), test_ratio, seed)
    if len(train_idx) == 0 or len(test_idx) == 0:
        raise ValueError("%d pairs with test_ratio %r leave %d train / %d test pairs: need both non-empty"
                         % (len(pairs), test_ratio, len(train_idx), len(test_idx)))
    val_idx, rest_idx = split_heldout(test_idx, val_ratio)
    num_val = len(val_idx) if len(rest_idx) else 0
    # 'fast' evaluates only the validation part per epoch (the whole split after the last one)
    epoch_eval_idx = val_idx if fast and num_val else test_idx
    shuffle_rng = np.random.RandomState([int(seed) & 0xFFFFFFFF, 1])  # independent of the split's stream
    steps_per_epoch = (len(train_idx) + batch_size - 1) // batch_size
    total_steps = epochs * steps_per_epoch
    # VarPred as looked up here, so that tests can forbid building it
    model = TrainingGraph(pairs.shape[1:], num_dims, input_mode, seed=seed, device=device, net_class=VarPred)

    def record_test_split(correct, nll):
        """Append one whole-test-split evaluation to the histories; keep its confusion matrix."""
        confusion[...] = 0
        np.add.at(confusion, (targets[test_idx], predicted[:len(test_idx)]), 1)
        history.append(float(100.0 * correct.mean()))
        test_losses.append(nll / len(test_idx))
        if num_val:
            rest_history.append(float(100.0 * correct[num_val:].mean()))

    def say(msg):  # a line between the bar's redraws, so that neither garbles the other
        with tqdm.external_write_mode():
            log(msg)

    per_epoch_test = epoch_eval_idx is test_idx
    predicted = np.empty(len(test_idx), dtype=np.int64)  # the predicted dims of the last evaluation
    confusion = np.zeros((num_dims, num_dims), dtype=np.int64)   # rows: the varied dim; columns: predicted
    history, val_history, rest_history = [], [], []
    train_losses, test_losses, train_secs, eval_secs, train_cpu, eval_cpu = [], [], [], [], [], []
    stopped_early, since_best, best_val = False, 0, None
    with model.session(threads) as sess, tqdm(total=epochs, desc="VP seed %d" % seed, unit="epoch", file=sys.stderr,
                                            disable=not verbose, dynamic_ncols=True) as bar:
        if verbose:
            say("VarPred %s: %d params, %d train / %d test pairs (%d val + %d scored), C=%d, images %dx%d, "
                "protocol %s (%d epochs, lr %g %s), seed %d"
                % (input_mode, model.net.num_params(), len(train_idx), len(test_idx), num_val,
                   len(test_idx) - num_val, num_dims, pairs.shape[2] // 2, pairs.shape[1], protocol, epochs, lr,
                   lr_schedule, seed))
        for epoch in range(epochs):
            t0, c0 = time.time(), time.process_time()
            order = train_idx[shuffle_rng.permutation(len(train_idx))]
            lrs = [learning_rate(lr, epoch * steps_per_epoch + i, total_steps, lr_schedule)
                   for i in range(steps_per_epoch)]
            train_losses.append(model.train_epoch(sess, pairs, targets, order, batch_size, lrs))
            t1, c1 = time.time(), time.process_time()
            correct, nll = model.evaluate(sess, pairs, targets, epoch_eval_idx, eval_batch_size, predicted)
            t2, c2 = time.time(), time.process_time()
            if per_epoch_test:
                record_test_split(correct, nll)
            if num_val:
                val_history.append(float(100.0 * correct[:num_val].mean()))
            train_secs.append(t1 - t0)
            eval_secs.append(t2 - t1)
            train_cpu.append(c1 - c0)
            eval_cpu.append(c2 - c1)
            bar.set_postfix_str("best test %.2f%%" % max(history) if per_epoch_test
                                else "best val %.2f%%" % max(val_history), refresh=False)
            bar.update(1)
            if verbose:
                if per_epoch_test:
                    extra = " (val %.2f, scored %.2f)" % (val_history[-1], rest_history[-1]) if num_val else ""
                    acc = "test loss %.4f  test acc %.2f%s  best %.2f" % (test_losses[-1], history[-1], extra,
                                                                           max(history))
                else:
                    acc = "val acc %.2f (%d pairs)" % (val_history[-1], num_val)
                say("epoch %3d/%d  train loss %.4f  %s  %.1fs + %.1fs"
                    % (epoch + 1, epochs, train_losses[-1], acc, t1 - t0, t2 - t1))
            if patience and num_val:
                if best_val is None or val_history[-1] > best_val:
                    best_val, since_best = val_history[-1], 0
                else:
                    since_best += 1
                    if since_best >= patience and epoch + 1 < epochs:
                        stopped_early = True
                        if verbose:
                            say("early stop: validation accuracy has not improved for %d epochs" % patience)
                        break
        if not per_epoch_test:  # 'fast': the whole test split once, after the last epoch
            t1, c1 = time.time(), time.process_time()
            correct, nll = model.evaluate(sess, pairs, targets, test_idx, eval_batch_size, predicted)
            record_test_split(correct, nll)
            final_eval = (time.time() - t1, time.process_time() - c1)
            eval_secs[-1] += final_eval[0]
            eval_cpu[-1] += final_eval[1]
            if verbose:
                say("final: test acc %.2f (val %.2f, scored %.2f)" % (history[-1], 100.0 * correct[:num_val].mean(),
                                                                     rest_history[-1]))

    epochs_run = len(train_losses)
    if per_epoch_test:
        final_eval = (eval_secs[-1], eval_cpu[-1])
        scores = summarize_history(history, val_history if num_val else None, rest_history if num_val else None)
    else:  # one whole-split evaluation, after the last epoch: all three scores come from it
        scores = dict(vp_score=history[-1], vp_score_final=history[-1], best_epoch=epochs_run,
                      vp_score_heldout=rest_history[-1], heldout_epoch=epochs_run)
    result = dict(scores)
    result.update(
        accuracy_history=history, val_accuracy_history=val_history, heldout_accuracy_history=rest_history,
        train_loss_history=train_losses, test_loss_history=test_losses,
        epoch_train_seconds=train_secs, epoch_eval_seconds=eval_secs,
        epoch_train_cpu_seconds=train_cpu, epoch_eval_cpu_seconds=eval_cpu,
        test_eval_seconds=final_eval[0], test_eval_cpu_seconds=final_eval[1],
        num_pairs=int(len(pairs)), num_train=int(len(train_idx)), num_test=int(len(test_idx)), num_val=int(num_val),
        num_heldout=int(len(test_idx) - num_val if num_val else 0), num_dims=int(num_dims), chance=100.0 / num_dims,
        epochs_run=epochs_run, stopped_early=stopped_early, wall_seconds=time.time() - start_time,
        num_params=model.net.num_params(),
        confusion=confusion.tolist(),
        per_dim_accuracy=[float(100.0 * confusion[d, d] / confusion[d].sum()) if confusion[d].sum() else None
                          for d in range(num_dims)],
        settings=dict(seed=int(seed), epochs=epochs, batch_size=batch_size, lr=float(lr), lr_schedule=lr_schedule,
                      test_ratio=float(test_ratio), input_mode=input_mode, protocol=protocol,
                      eval_batch_size=eval_batch_size, val_ratio=val_ratio, patience=patience, threads=threads,
                      image_size=[int(pairs.shape[1]), int(pairs.shape[2] // 2)], tf_version=TF_VERSION),
    )
    return result


def run_vp_metric(source, repeats=3, seed=0, out_json=None, max_pairs=None, verbose=True, **kwargs):
    """Repeat ``compute_vp_score`` with seeds seed, seed + 1, ...; print the summary line; optionally write JSON.

    ``source``: a pair-folder path (decoded once; each repeat re-splits and re-trains), a tuple (pairs, labels), or
    a callable ``make_pairs(repeat_seed) -> (pairs, labels)`` called per repeat (fresh pairs each time, e.g.
    ``lambda s: metrics.pair_dataset.generate_pairs(Gs, 10000, seed=s)``). Other kwargs go to compute_vp_score.
    Returns dict(summary=aggregate_repeats(...), repeats=[per-repeat results], line=..., source=...).
    """
    from dnnlib import util

    repeats = int(repeats)
    if repeats < 1:
        raise ValueError("repeats must be >= 1, got %d" % repeats)
    if out_json:
        util.check_output_path(out_json, "file", "out_json")
    fixed, source_name = None, None
    if callable(source):
        source_name = getattr(source, "__name__", "callable")
    elif isinstance(source, (tuple, list)):
        fixed, source_name = (source[0][:max_pairs], source[1][:max_pairs]), "in-memory"
    else:
        source_name = os.fspath(source)
        if verbose:
            print("loading pairs from %s ..." % source_name, flush=True)
        t0 = time.time()
        fixed = load_pair_folder(source_name, max_pairs=max_pairs)
        if verbose:
            print("loaded %d pairs of %dx%d (W x H) in %.1fs" % (len(fixed[0]), fixed[0].shape[2], fixed[0].shape[1],
                                                         time.time() - t0), flush=True)
    results = []
    for r in range(repeats):
        repeat_seed = int(seed) + r
        pairs, labels = fixed if fixed is not None else source(repeat_seed)
        if fixed is None and max_pairs is not None:
            pairs, labels = pairs[:max_pairs], labels[:max_pairs]
        if verbose:
            print("== repeat %d/%d (seed %d) ==" % (r + 1, repeats, repeat_seed), flush=True)
        res = compute_vp_score(pairs, labels, seed=repeat_seed, verbose=verbose, **kwargs)
        results.append(res)
        if verbose:
            print("repeat %d: vp_score %.2f  final %.2f  heldout %s  (best epoch %d, %.0fs)"
                  % (r + 1, res["vp_score"], res["vp_score_final"],
                     "n/a" if res["vp_score_heldout"] is None else "%.2f" % res["vp_score_heldout"],
                     res["best_epoch"], res["wall_seconds"]), flush=True)
    summary = aggregate_repeats(results)
    line = summary_line(summary, results[0]["num_dims"], results[0]["num_pairs"])
    out = dict(line=line, summary=summary, source=source_name, seed=int(seed), repeats=results)
    if out_json:  # check_output_path allowed missing folders on the way
        os.makedirs(os.path.dirname(os.path.abspath(out_json)), exist_ok=True)
        with util.atomic_write(out_json, "w") as f:
            json.dump(out, f, indent=2, default=json_default)
            f.write("\n")
    print(line, flush=True)
    return out


def main(argv=None):
    """The CLI (metrics/vp_cli.py) on ``argv``; returns the exit status."""
    from metrics import vp_cli

    return vp_cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
