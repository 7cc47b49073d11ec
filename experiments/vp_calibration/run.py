"""The VP score on synthetic generators of known disentanglement (training/synthetic.py).

    python experiments/vp_calibration/run.py                      # everything; resumes; skips what is done
    python experiments/vp_calibration/run.py --only perfect,rotation-45 --phases fast,gt
    python experiments/vp_calibration/build.py                    # CSV, plots, correlations from the JSONs

One JSON per generator in --out (default experiments/vp_calibration/results/generators/), rewritten after each
finished part, so an interrupted run loses at most the part in progress; each part records its settings and a
rerun recomputes a part only when they changed. Parts:
    vp_fast        VP metric, fast protocol, 10,000 onedim pairs per repeat (3 repeats for the ends of each
                   sweep, else 1); pairs drawn afresh per repeat (seed + r)
    vp_reference   the published protocol, 1 repeat, for the ends of the mixing and collapse sweeps
    gt             FactorVAE, MIG, DCI, SAP, beta-VAE scores of the generator's own code, reference sizes
Phases run in that order over all generators (``--phases``), cheapest first, so results arrive early; two
runners may run different phases at once (each re-reads a generator's JSON before adding its part).
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)

from metrics import metric_main  # noqa: E402

RESOLUTION = 32          # pairs of 32x32 halves: the VP metric's cost is ~4x lower than at 64 (budget)
NUM_PAIRS = 10000
SEED = 0

# sweep -> [(generator name, strength as plotted)], each from perfect to bad
SWEEPS = {
    "mixing": [("perfect", 0), ("rotation-10", 10), ("rotation-20", 20), ("rotation-30", 30), ("rotation-45", 45)],
    "warp": [("perfect", 0), ("warp-0.25", 0.25), ("warp-0.5", 0.5), ("warp-1", 1.0)],
    "context": [("perfect", 0), ("context-0.25", 0.25), ("context-0.5", 0.5)],
    "collapse": [("perfect", "perfect"), ("redundant", "redundant"), ("dead-1", "dead-1"), ("dead-2", "dead-2"),
                 ("undriven", "undriven")],
    "noise": [("perfect", 0), ("noise-0.05", 0.05), ("noise-0.1", 0.1), ("noise-0.2", 0.2), ("noise-0.4", 0.4)],
}
REFERENCE_SWEEPS = ("mixing", "collapse")     # their ends also get the published protocol
# (function, reported key) of each ground-truth metric, as metrics/metric_main.py defines them (CascadeVAE's variant
# needs a posterior KL, which a synthetic generator has not)
GT_METRICS = {name: (metric_main.METRICS[name].func, metric_main.METRICS[name].key)
              for name in ("factor_vae_score", "mig", "dci", "sap", "beta_vae_score")}
PHASES = ("fast", "gt", "reference")


def generator_names():
    names = []
    for members in SWEEPS.values():
        names += [n for n, _ in members if n not in names]
    return names


def plan(name):
    """The parts a generator gets: {part: settings}."""
    ends = {members[0][0] for members in SWEEPS.values()} | {members[-1][0] for members in SWEEPS.values()}
    ref_ends = {SWEEPS[s][0][0] for s in REFERENCE_SWEEPS} | {SWEEPS[s][-1][0] for s in REFERENCE_SWEEPS}
    parts = {"vp_fast": dict(protocol="fast", repeats=3 if name in ends else 1, num_pairs=NUM_PAIRS, seed=SEED,
                             resolution=RESOLUTION),
             "gt": dict(metrics=sorted(GT_METRICS), seed=SEED, sizes="reference")}
    if name in ref_ends:
        parts["vp_reference"] = dict(protocol="reference", repeats=1, num_pairs=NUM_PAIRS, seed=SEED,
                                     resolution=RESOLUTION)
    return parts


def run_vp(gen, settings, threads):
    from metrics import pair_dataset, vp_metric

    def make_pairs(seed):
        return pair_dataset.generate_pairs(gen, settings["num_pairs"], seed=seed, delta_type="onedim",
                                           batch_size=500, progress=False)

    out = vp_metric.run_vp_metric(make_pairs, repeats=settings["repeats"], seed=settings["seed"],
                                  protocol=settings["protocol"], threads=threads, verbose=False)
    keep = ("vp_score", "vp_score_final", "vp_score_heldout", "best_epoch", "chance", "num_dims",
            "per_dim_accuracy", "confusion", "wall_seconds", "epochs_run")
    return dict(summary=out["summary"], line=out["line"], repeats=[{k: r[k] for k in keep} for r in out["repeats"]])


def run_gt(gen, settings):
    import numpy as np

    from dnnlib import util

    data = gen.ground_truth_data()
    values, details, seconds = {}, {}, {}
    for name in settings["metrics"]:
        func, key = GT_METRICS[name]
        start = time.time()
        scores = util.call_func_by_name(data, gen.representation, np.random.RandomState(settings["seed"]),
                                        func_name=func)
        seconds[name] = time.time() - start
        values[name] = float(scores[key])
        details[name] = {k: float(v) for k, v in scores.items() if isinstance(v, (float, int))}
    return dict(values=values, details=details, seconds=seconds)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(HERE, "results", "generators"), help="one JSON per generator")
    parser.add_argument("--only", help="comma-separated generator names (default: all %d)" % len(generator_names()))
    parser.add_argument("--phases", default=",".join(PHASES), help="comma-separated, from %s" % ", ".join(PHASES))
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow threads for the VP metric (default 2)")
    args = parser.parse_args(argv)

    from dnnlib import util
    from training import dsprites, synthetic

    names = generator_names()
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in names]
        if unknown:
            print("error: unknown generator(s) %s; choose from %s" % (", ".join(unknown), ", ".join(names)),
                  file=sys.stderr)
            return 2
        names = wanted
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    if not phases or any(p not in PHASES for p in phases):
        print("error: --phases takes a comma-separated list from %s" % ", ".join(PHASES), file=sys.stderr)
        return 2
    util.check_output_path(args.out, "dir", "--out")
    os.makedirs(args.out, exist_ok=True)
    part_of_phase = {"fast": "vp_fast", "gt": "gt", "reference": "vp_reference"}
    started = time.time()
    for phase in PHASES:
        if phase not in phases:
            continue
        part = part_of_phase[phase]
        for name in names:
            settings = plan(name).get(part)
            if settings is None:
                continue
            path = os.path.join(args.out, "%s.json" % name)
            record = json.load(open(path)) if os.path.exists(path) else {}
            if record.get("parts", {}).get(part, {}).get("settings") == settings:
                continue
            gen = synthetic.SyntheticGenerator("%s@%d" % (name, settings.get("resolution", RESOLUTION)),
                                               data_format="NHWC")
            print("[%6.0fs] %s: %s ..." % (time.time() - started, name, part), flush=True)
            t0, c0 = time.time(), time.process_time()
            result = run_vp(gen, settings, args.threads) if part.startswith("vp") else run_gt(gen, settings)
            result.update(settings=settings, wall_seconds=time.time() - t0, cpu_seconds=time.process_time() - c0,
                          commit=util.git_commit(ROOT), finished=time.strftime("%Y-%m-%d %H:%M:%S"))
            # re-read before writing: another runner (another phase) may have added a part meanwhile
            record = json.load(open(path)) if os.path.exists(path) else {}
            record.setdefault("parts", {})[part] = result
            record.update(generator=name, num_latent_dims=gen.num_latent_dims, family=gen.family_name,
                          strength=gen.strength, resolution=gen.resolution,
                          renderer_version=dsprites.RENDERER_VERSION, machine=util.machine_info(),
                          planned_parts=sorted(plan(name)))
            with util.atomic_write(path, "w") as f:
                json.dump(record, f, indent=1, sort_keys=True)
                f.write("\n")
            line = result.get("line") or ", ".join("%s %.3f" % kv for kv in sorted(result["values"].items()))
            print("[%6.0fs] %s: %s done in %.0fs: %s" % (time.time() - started, name, part, result["wall_seconds"],
                                                        line), flush=True)
    print("all requested parts done in %.0fs" % (time.time() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
