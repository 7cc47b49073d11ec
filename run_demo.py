"""The whole pipeline on the CPU in minutes (``make demo`` runs this in the project's environment).

  python run_demo.py                      # full demo, about 6-10 minutes on 2 CPU cores
  python run_demo.py --budget small       # the same steps on a tiny budget (about 1-2 minutes; CI)
  python run_demo.py --check results/demo # verify that a finished demo folder holds every promised file

Steps: render procedural dSprites (no download) -> train the quickstart VP-GAN and the quickstart VP-VAE ->
copy their latent traversal grids -> write a pair dataset from the VP-GAN (the public VP-metric format) -> VP
scores of both models (fast protocol) -> <out>/summary.md, which links the pictures and lists the numbers and
the commands that made them. Training runs land in <out>/runs/; rerunning the demo starts new runs.
"""

import argparse
import glob
import json
import os
import platform
import shutil
import subprocess
import sys
import time

from dnnlib import cli

ROOT = os.path.dirname(os.path.abspath(__file__))

# Each budget: dataset images, VP-GAN kimg, VP-VAE kimg, pairs written and scored for the VP-GAN, pairs scored for
# the VP-VAE (decoded in memory), VP-metric epochs (None = the fast protocol's own).
BUDGETS = {
    "full": dict(images=20000, gan_kimg=4.0, vae_kimg=19.2, gan_pairs=10000, vae_pairs=4000, vp_epochs=None),
    "small": dict(images=2000, gan_kimg=0.2, vae_kimg=0.64, gan_pairs=300, vae_pairs=300, vp_epochs=2),
}
# What a finished demo folder holds (checked by --check): name -> kind.
PROMISED = {
    "summary.md": "text", "summary.json": "json", "reals_vp_gan.png": "png", "traversal_vp_gan.png": "png",
    "reals_vp_vae.png": "png", "traversal_vp_vae.png": "png", "pairs/labels.npy": "npy", "pairs/pairs.json": "json",
    "pairs/preview.png": "png", "vp_gan_vp_fast.json": "json", "vp_vae_vp_fast.json": "json",
}

# Committed traversal grids of models trained for hours (the demo's minutes of training draw blurred sprites at
# best): the summary shows those that exist. Paths relative to the repository root.
LONG_RUN_FIGURES = [
    ("VP-VAE, beta 10, seed 1, 15,000 steps (experiments/dsprites_vae)",
     "experiments/dsprites_vae/results/traversals/vp_vae-b10-l1-s1.png"),
    ("VP-GAN, seed 0, trained until it draws sprites (experiments/dsprites_gan)",
     "experiments/dsprites_gan/results/vp_gan-s0-traversal.png"),
]


def long_run_lines(out, root=ROOT, figures=LONG_RUN_FIGURES):
    """Markdown lines showing the committed long-run figures under ``root`` that exist, linked relative to ``out``."""
    found = [(title, path) for title, path in figures if os.path.isfile(os.path.join(root, path))]
    if not found:
        return []
    lines = ["## The same kind of model, trained for hours", "",
             "Committed figures of the repository's long runs, for comparison with the demo's minutes of training:", ""]
    for title, path in found:
        lines += ["%s:" % title, "", "![%s](%s)" % (title, os.path.relpath(os.path.join(root, path), out)), ""]
    return lines


class Step(object):
    """Prints a banner with the step number and the time elapsed since the demo started; ``timings`` holds each
    timed step's seconds (a step ends when the next one starts, or at ``end()``)."""

    def __init__(self, total):
        self.total, self.done, self.start = total, 0, time.time()
        self.timings, self._open = {}, None

    def __call__(self, title, key=None):
        """Start step ``title``; its seconds go to timings[key] unless key is None."""
        self.end()
        self.done += 1
        self._open = (key, time.time())
        print("\n== [%d/%d] %s  (demo time %s) ==" % (self.done, self.total, title, self.elapsed()), flush=True)

    def end(self):
        if self._open and self._open[0]:
            self.timings[self._open[0]] = time.time() - self._open[1]
        self._open = None

    def elapsed(self):
        seconds = int(time.time() - self.start)
        return "%d:%02d" % (seconds // 60, seconds % 60)


def run(cmd, log_cmds):
    """Run a command of this project with this interpreter; record it for summary.md."""
    shown = "python " + " ".join(cmd)
    log_cmds.append(shown)
    print("$ " + shown, flush=True)
    subprocess.check_call([sys.executable] + cmd, cwd=ROOT)


def newest_run(result_dir):
    runs = sorted(d for d in glob.glob(os.path.join(result_dir, "[0-9]*")) if os.path.isdir(d))
    if not runs:
        raise RuntimeError("no run directory under %s" % result_dir)
    return runs[-1]


def newest_traversal(run_dir):
    grids = sorted(p for p in glob.glob(os.path.join(run_dir, "fakes*.png")) if not p.endswith("fakes_init.png"))
    return grids[-1] if grids else os.path.join(run_dir, "fakes_init.png")


def train_quickstart(preset, result_dir, kimg, data_dir, cmds):
    """Train ``--preset preset`` for ``kimg`` into a new run under ``result_dir``; returns the run directory."""
    run(["run_training.py", "--preset", preset, "--data-dir", data_dir, "--dataset", "dsprites",
         "--result-dir", result_dir, "--total-kimg", str(kimg)], cmds)
    return newest_run(result_dir)


def demo(args):
    budget = BUDGETS[args.budget]
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    data_dir = os.path.join(out, "datasets")
    runs = os.path.join(out, "runs")
    cmds = []
    step = Step(7)

    step("render procedural dSprites (%d images)" % budget["images"], "dataset_s")
    if not glob.glob(os.path.join(data_dir, "dsprites", "*.tfrecords")):
        run(["dataset_tool.py", "create_dsprites", os.path.join(data_dir, "dsprites"), "--max_images",
             str(budget["images"]), "--seed", "0"], cmds)
    else:
        print("already there: %s" % os.path.join(data_dir, "dsprites"), flush=True)

    step("train the quickstart VP-GAN (%g kimg)" % budget["gan_kimg"], "train_vp_gan_s")
    gan_run = train_quickstart("quickstart", os.path.join(runs, "vp_gan"), budget["gan_kimg"], data_dir, cmds)

    step("train the quickstart VP-VAE (%g kimg)" % budget["vae_kimg"], "train_vp_vae_s")
    vae_run = train_quickstart("quickstart_vae", os.path.join(runs, "vp_vae"), budget["vae_kimg"], data_dir, cmds)

    step("traversal grids")
    for name, run_dir in (("vp_gan", gan_run), ("vp_vae", vae_run)):
        shutil.copyfile(newest_traversal(run_dir), os.path.join(out, "traversal_%s.png" % name))
        shutil.copyfile(os.path.join(run_dir, "reals.png"), os.path.join(out, "reals_%s.png" % name))
        print("%s: %s" % (name, os.path.join(out, "traversal_%s.png" % name)), flush=True)

    step("pair dataset from the VP-GAN (%d pairs)" % budget["gan_pairs"], "pairs_s")
    run(["run_pair_imgs.py", "--network_pkl", os.path.join(gan_run, "network-final.pkl"), "--n_imgs",
         str(budget["gan_pairs"]), "--batch_size", "100", "--delta_type", "onedim", "--result-dir",
         os.path.join(out, "pairs"), "--overwrite"], cmds)

    vp_epochs = budget["vp_epochs"]  # None: the fast protocol's own
    step("VP score of the VP-GAN (fast protocol, the pair folder)", "vp_gan_metric_s")
    run(["-m", "metrics.vp_metric", os.path.join(out, "pairs"), "--protocol", "fast", "--repeats", "1",
         "--out", os.path.join(out, "vp_gan_vp_fast.json")]
        + (["--epochs", str(vp_epochs)] if vp_epochs else []), cmds)

    step("VP score of the VP-VAE (fast protocol, %d pairs from the decoder)" % budget["vae_pairs"], "vp_vae_metric_s")
    run(["run_metrics.py", "--network_pkl", os.path.join(vae_run, "network-final.pkl"), "--metrics", "vp_fast",
         "--vp-pairs", str(budget["vae_pairs"]), "--vp-repeats", "1", "--result-dir", vae_run]
        + (["--vp-epochs", str(vp_epochs)] if vp_epochs else []), cmds)
    shutil.copyfile(os.path.join(vae_run, "metric-vp_fast.json"), os.path.join(out, "vp_vae_vp_fast.json"))
    step.end()

    write_summary(out, args.budget, gan_run, vae_run, cmds, step.timings, step.elapsed())
    problems = check(out)
    for problem in problems:
        print("problem: " + problem, file=sys.stderr)
    print("\nDemo finished in %s: %s" % (step.elapsed(), os.path.join(out, "summary.md")), flush=True)
    return 1 if problems else 0


def _scores(out):
    with open(os.path.join(out, "vp_gan_vp_fast.json")) as f:
        gan = json.load(f)["repeats"][0]
    with open(os.path.join(out, "vp_vae_vp_fast.json")) as f:
        vae = json.load(f)["details"]["repeats"][0]
    return gan, vae


def write_summary(out, budget, gan_run, vae_run, cmds, timings, elapsed):
    gan, vae = _scores(out)
    rel = lambda p: os.path.relpath(p, out)  # noqa: E731
    rows = []
    for name, res, run_dir in (("VP-GAN (quickstart)", gan, gan_run), ("VP-VAE (quickstart_vae)", vae, vae_run)):
        rows.append("| %s | %.1f | %.1f | %d | %d | %d | `%s` |" % (
            name, res["vp_score"], res["chance"], res["num_dims"], res["num_pairs"], res["epochs_run"], rel(run_dir)))
    from dnnlib.tflib.compat import TF_VERSION

    lines = [
        "# vpdis demo (%s budget)" % budget, "",
        "Made by `python run_demo.py --budget %s` in %s (Python %s, TensorFlow %s, %d CPUs)." % (
            budget, elapsed, platform.python_version(), TF_VERSION, os.cpu_count()), "",
        "## Latent traversals", "",
        "Each row sweeps one latent dimension across the prior with the others fixed. A disentangled model changes",
        "one factor of the sprite per row (position, scale, shape, rotation).", "",
        "| VP-GAN | VP-VAE |", "|---|---|",
        "| ![VP-GAN traversal](traversal_vp_gan.png) | ![VP-VAE traversal](traversal_vp_vae.png) |", "",
        "Training images: [VP-GAN reals](reals_vp_gan.png), [VP-VAE reals](reals_vp_vae.png).", "",
    ] + long_run_lines(out) + [
        "## VP scores (fast protocol: quick looks, not the published protocol)", "",
        "| model | VP score % | chance % | latent dims | pairs | epochs | run |", "|---|---|---|---|---|---|---|",
    ] + rows + [
        "", "Pair dataset (public VP-metric format): [pairs/](pairs/) -- preview:", "",
        "![pairs](pairs/preview.png)", "",
        "## Timings (seconds)", "",
        "| step | s |", "|---|---|",
    ] + ["| %s | %.0f |" % (k[:-2], v) for k, v in timings.items()] + [
        "", "## Commands", "", "```",
    ] + cmds + ["```", ""]
    from dnnlib.util import atomic_write

    with atomic_write(os.path.join(out, "summary.md"), "w") as f:
        f.write("\n".join(lines))
    summary = dict(budget=budget, elapsed=elapsed, timings=timings, commands=cmds, vp_gan_run=gan_run,
                   vp_vae_run=vae_run, vp_gan_vp_score=gan["vp_score"], vp_vae_vp_score=vae["vp_score"])
    with atomic_write(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)


def check(out):
    """Problems with a demo folder (missing or unreadable promised files, broken links): [] when complete."""
    import numpy as np
    import PIL.Image

    problems = []
    for name, kind in sorted(PROMISED.items()):
        path = os.path.join(out, name)
        if not os.path.isfile(path):
            problems.append("missing %s" % path)
            continue
        try:
            if kind == "png":
                with PIL.Image.open(path) as image:
                    image.verify()
            elif kind == "json":
                with open(path) as f:
                    json.load(f)
            elif kind == "npy":
                if np.load(path).ndim != 2:
                    problems.append("%s is not a 2-D label array" % path)
            elif os.path.getsize(path) == 0:
                problems.append("%s is empty" % path)
        except Exception as exc:  # any parse failure is a problem to report, whatever its type
            problems.append("cannot read %s (%s: %s)" % (path, type(exc).__name__, exc))
    if not problems:
        import re

        with open(os.path.join(out, "summary.md")) as f:
            for link in re.findall(r"\]\(([^)]+)\)", f.read()):
                if not os.path.exists(os.path.join(out, link)):
                    problems.append("summary.md links to %s, which does not exist" % link)
        num_pairs = len(np.load(os.path.join(out, "pairs", "labels.npy")))
        if len(glob.glob(os.path.join(out, "pairs", "pair_*.jpg"))) != num_pairs:
            problems.append("pairs/ holds a different number of JPEGs than labels.npy rows (%d)" % num_pairs)
    return problems


def main(argv=None):
    p = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join("results", "demo"), help="output folder (default results/demo)")
    p.add_argument("--budget", choices=sorted(BUDGETS), default="full",
                   help="full (default: the quickstart presets, ~6-10 min on 2 cores) or small (~1-2 min)")
    p.add_argument("--check", metavar="DEMO_DIR", help="only verify a finished demo folder; exit 1 on problems")
    args = p.parse_args(argv)
    sys.path.insert(0, ROOT)
    if args.check:
        problems = check(args.check)
        for problem in problems:
            print("problem: " + problem, file=sys.stderr)
        print("%s: %s" % (args.check, "complete" if not problems else "%d problem(s)" % len(problems)))
        return 1 if problems else 0
    try:
        return demo(args)
    except subprocess.CalledProcessError as exc:
        print("error: a demo step failed (exit %d): %s" % (exc.returncode, " ".join(exc.cmd[1:])), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
