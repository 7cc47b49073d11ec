"""Train VP-GAN (and the GAN / InfoGAN baselines) or VP-VAE (and the VAE / beta-VAE / FactorVAE baselines).

Examples:
  # the paper's CelebA 128x128 VP-GAN (train_run.sh)
  python run_training.py --preset celeba128 --data-dir ~/datasets --dataset celeba_tfr --num-gpus 2
  # a tiny model on procedural dSprites, minutes on a laptop CPU
  python dataset_tool.py create_dsprites datasets/dsprites --max_images 20000
  python run_training.py --preset quickstart --data-dir datasets --dataset dsprites
  # continue the newest run of the same kind after an interruption
  python run_training.py --preset quickstart --data-dir datasets --dataset dsprites --resume latest
  # VP-VAE on 64x64 dSprites with the original VAE-VC settings (beta 10, fulldim VP, 300k iterations)
  python dataset_tool.py create_dsprites datasets/dsprites
  python run_training.py --preset vp_vae_dsprites --data-dir datasets --dataset dsprites
  # the same model for a few minutes on a CPU; or a baseline: --model_type vae|beta_vae|factor_vae
  python run_training.py --preset quickstart_vae --data-dir datasets --dataset dsprites

Flags keep the original code's names (--model_type, --module_list, --C_lambda, ...) so the original
commands work; model types vc_gan_with_vc_head / vc_gan are accepted as aliases of vp_gan / gan.
Run directories: <result-dir>/NNNNN-<model>-<dataset>-<N>gpu-<config>/ with log.txt, the config as
JSON and text, reals.png, fakes*.png (traversal grids: row = latent dim), network-snapshot-*.pkl,
network-final.pkl and TensorBoard events; the VAEs add recons*.png (top: reals, bottom: reconstructions)
and their snapshots name E, Dec and I (vp_vae) or TC (factor_vae); GAN snapshots name G, D, [I,] Gs
(docs/formats.md).

Security: --resume/--resume_pkl unpickle networks, which executes code: use only files you trust.
"""

import argparse
import copy
import json
import math
import os
import re
import shutil
import sys

import dnnlib
from dnnlib import EasyDict, cli
from training import model_specs

CELEBA_MODULE_LIST = (
    "[Conv-up-1, C_global-10, Conv-id-2, Noise-2, Conv-up-1, C_global-10, Conv-id-1, Noise-2, Conv-up-1, "
    "C_global-5, Conv-id-2, Noise-2, Conv-id-1, Noise-2, Conv-up-1, C_global-5, Conv-id-1, Noise-2, Conv-id-2, "
    "Conv-up-1, Conv-id-1]"
)
DSPRITES64_MODULE_LIST = (
    "[Conv-up-1, C_global-2, Conv-id-1, Conv-up-1, C_global-2, Conv-id-1, Conv-up-1, C_global-1, Conv-id-1, "
    "Conv-up-1, C_global-1, Conv-id-1]"
)
QUICKSTART_MODULE_LIST = "[Conv-up-1, C_global-2, Conv-up-1, C_global-2, Conv-up-1, C_global-1, Conv-id-1]"

MODEL_ALIASES = {"vc_gan_with_vc_head": "vp_gan", "vc_gan": "gan"}

# Every flag's default, in one place. Presets override some of them; explicit flags override presets.
DEFAULTS = dict(
    result_dir="results", data_dir=None, dataset=None, resolution=None, config="config-e", num_gpus=1,
    total_kimg=25000.0, gamma=None, mirror_augment=False, metrics="", vp_pairs=10000, model_type="gan", resume=None,
    resume_pkl=None, resume_kimg=None, n_samples_per=10, module_list=None, single_const=True, D_lambda=1.0,
    C_lambda=1.0, epsilon_loss=3.0, latent_type="uniform", random_eps=False, delta_type="onedim",
    connect_mode="concat", fmap_decay=0.15, fmap_base=512, cascading=False, seed=1000, minibatch_size=32,
    minibatch_gpu=16, learning_rate=0.002, kimg_per_tick=None, snapshot_ticks=10, data_format="auto",
    impl="auto", shuffle_mb=4096, prefetch_mb=2048, cpu_threads=0,
    # VAE family only
    beta=None, latent_size=6, vc_epsilon=1.0, tc_gamma=35.0, l2_weight=4e-5,
)


# What the VAE family uses instead of the GAN defaults above (the original VAE-VC: batch 64, Adam 1e-4
# (0.9, 0.999), 300k iterations = 19200 kimg, VP delta type 'fulldim' as its flag default; FactorVAE:
# beta 1, gamma 35 as Kim & Mnih on dSprites). Applied before presets and explicit flags.
VAE_DEFAULTS = dict(
    minibatch_size=64, learning_rate=1e-4, total_kimg=19200.0, delta_type="fulldim", kimg_per_tick=64.0,
    snapshot_ticks=10, shuffle_mb=256, prefetch_mb=64,
)
# Defaults by family, applied before presets and explicit flags (model types and families: training/model_specs.py).
FAMILY_DEFAULTS = {"gan": {}, "vae": VAE_DEFAULTS}

PRESETS = {
    "celeba128": dict(
        _help="the paper's CelebA VP-GAN (train_run.sh; --C_lambda 1.0, see docs/decisions.md)",
        model_type="vp_gan", C_lambda=1.0, random_eps=True, latent_type="uniform", delta_type="onedim",
        module_list=CELEBA_MODULE_LIST, dataset="celeba_tfr",
    ),
    "dsprites64": dict(
        _help="VP-GAN on 64x64 dSprites (6 continuous dims spread over the resolutions)",
        model_type="vp_gan", C_lambda=1.0, random_eps=True, module_list=DSPRITES64_MODULE_LIST, dataset="dsprites",
        total_kimg=3000.0,
    ),
    "quickstart": dict(
        _help="tiny VP-GAN on 32x32 dSprites: a few minutes on 2 CPU cores",
        model_type="vp_gan", C_lambda=1.0, random_eps=True, module_list=QUICKSTART_MODULE_LIST, dataset="dsprites",
        resolution=32, fmap_base=64, fmap_decay=0.5, minibatch_size=16, minibatch_gpu=16, total_kimg=4.0,
        kimg_per_tick=0.5, snapshot_ticks=2, shuffle_mb=64, prefetch_mb=16,
    ),
    "dsprites32": dict(
        _help="VP-GAN on 32x32 dSprites with the quickstart's small networks, sized for CPU experiments "
              "(experiments/dsprites_gan): batch 32, a snapshot and traversal grid every 20 kimg",
        model_type="vp_gan", C_lambda=1.0, random_eps=True, module_list=QUICKSTART_MODULE_LIST, dataset="dsprites",
        resolution=32, fmap_base=64, fmap_decay=0.5, minibatch_size=32, minibatch_gpu=32, total_kimg=1000.0,
        kimg_per_tick=4.0, snapshot_ticks=5, shuffle_mb=64, prefetch_mb=16,
    ),
    "vp_vae_dsprites": dict(
        _help="the original VP-VAE (VAE-VC) on 64x64 dSprites: beta 10, C_lambda 1, fulldim VP, 6 dims, batch 64, 19200 kimg",
        model_type="vp_vae", dataset="dsprites", beta=10.0, C_lambda=1.0, delta_type="fulldim", vc_epsilon=1.0,
        latent_size=6, minibatch_size=64, learning_rate=1e-4, total_kimg=19200.0, l2_weight=4e-5,
    ),
    "quickstart_vae": dict(
        _help="the VP-VAE of vp_vae_dsprites for about 1-2 minutes on 2 CPU cores (19.2 kimg = 300 iterations, ~3 s/kimg), "
              "with Adam 1e-3 instead of 1e-4 so that 300 iterations learn more than a mean blob",
        model_type="vp_vae", dataset="dsprites", beta=10.0, C_lambda=1.0, delta_type="fulldim", vc_epsilon=1.0,
        latent_size=6, minibatch_size=64, learning_rate=1e-3, total_kimg=19.2, kimg_per_tick=1.6, snapshot_ticks=4,
    ),
}


def _str2bool(value):
    text = str(value).lower()
    if text in ("yes", "true", "t", "y", "1"):
        return True
    if text in ("no", "false", "f", "n", "0"):
        return False
    raise argparse.ArgumentTypeError("expected a boolean (yes/true/t/y/1 or no/false/f/n/0), got %r" % value)


def _config_gamma(config_id):
    """The original's --config: config-e* sets R1 gamma 100, the others 10; returns (gamma, D architecture)."""
    match = re.match(r"^config-([a-f])(?:-G(orig|skip|resnet)-D(orig|skip|resnet))?$", config_id or "")
    if not match:
        raise ValueError("--config must be config-a ... config-f or config-e-G<arch>-D<arch>, got %r" % config_id)
    gamma = 100.0 if match.group(1) == "e" else 10.0
    d_arch = match.group(3) or "resnet"
    if d_arch == "skip":
        raise ValueError("--config %s: the 'skip' discriminator is not implemented; use Dresnet or Dorig" % config_id)
    return gamma, d_arch


def build_parser():
    parser = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    arg = parser.add_argument
    arg("--preset", choices=sorted(PRESETS), help="; ".join("%s: %s" % (k, v["_help"]) for k, v in sorted(PRESETS.items())))
    arg("--result-dir", dest="result_dir", help="root of the run directories (default results)")
    arg("--data-dir", dest="data_dir", help="PARENT directory of the tfrecord directory")
    arg("--dataset", help="name of the tfrecord directory inside --data-dir")
    arg("--resolution", type=int, help="train at this resolution (a level stored in the tfrecords; default the largest)")
    arg("--config", help="original config id: config-e (default) sets R1 gamma 100, config-a..d/f gamma 10")
    arg("--num-gpus", dest="num_gpus", type=int, help="data-parallel towers: GPUs, or virtual CPU devices without a GPU (1, 2, 4, 8)")
    arg("--total-kimg", dest="total_kimg", type=float, help="training length in thousands of real images (default 25000)")
    arg("--gamma", type=float, help="R1 weight (overrides --config)")
    arg("--mirror-augment", dest="mirror_augment", type=_str2bool, help="random left-right flips of the reals")
    arg("--metrics", help="comma-separated metrics computed on each snapshot, e.g. vp_fast (see run_metrics.py)")
    arg("--model_type", help="vp_gan (alias vc_gan_with_vc_head), gan (alias vc_gan), info_gan, or the VAEs "
                             "vae, beta_vae, vp_vae, factor_vae (64x64 data)")
    arg("--vp-pairs", dest="vp_pairs", type=int, help="pairs for the VP metrics of --metrics (default 10000)")
    arg("--resume", help="'latest' (newest run of this kind in --result-dir) or a run directory: continue it in place")
    arg("--resume_pkl", help="start a new run from this network pickle (trusted files only)")
    arg("--resume_kimg", type=float, help="kimg to count from with --resume_pkl (default: from the file name)")
    arg("--n_samples_per", type=int, help="columns of the traversal grids (default 10)")
    arg("--module_list", help="generator modules, e.g. '[Conv-up-1, C_global-10, Conv-id-2, Noise-2, ...]'")
    arg("--single_const", type=_str2bool, help="one learned 4x4 constant (True) or one per discrete category")
    arg("--D_lambda", type=float, help="InfoGAN discrete-code weight")
    arg("--C_lambda", type=float, help="weight of the VP (or InfoGAN continuous) loss, applied as written")
    arg("--beta", type=float, help="VAE: KL weight per dim (default 10 for beta_vae / vp_vae, 1 for vae / factor_vae)")
    arg("--latent_size", type=int, help="VAE: latent dims (default 6, the original's --nconti)")
    arg("--vc_epsilon", type=float, help="VP-VAE fulldim step: delta = (u - 0.5) * vc_epsilon (default 1; onedim steps are N(0, 2^2))")
    arg("--tc_gamma", type=float, help="FactorVAE total-correlation weight (default 35)")
    arg("--l2_weight", type=float, help="VAE: L2 scale on all kernels, slim semantics scale*sum(w^2)/2 (default 4e-5)")
    arg("--epsilon_loss", type=float, help="VP step size epsilon (default 3)")
    arg("--latent_type", choices=["uniform", "normal", "trunc_normal"], help="training prior (default uniform U(-2,2))")
    arg("--random_eps", type=_str2bool, help="onedim steps epsilon*N(0,2^2) instead of epsilon")
    arg("--delta_type", choices=["onedim", "fulldim"], help="vary one dim (GAN default) or all dims (VP-VAE default, as the original)")
    arg("--connect_mode", choices=["concat", "diff"], help="how the recognizer sees the pair (default concat)")
    arg("--fmap_decay", type=float, help="generator width decay per module (default 0.15)")
    arg("--fmap_base", type=float, help="width base of G, D and the recognizer (default 512, as the original)")
    arg("--cascading", type=_str2bool, help="the original's optional curriculum over latent dims (default False)")
    arg("--seed", type=int, help="random seed (default 1000, as the original)")
    arg("--minibatch-size", dest="minibatch_size", type=int, help="total minibatch (default 32)")
    arg("--minibatch-gpu", dest="minibatch_gpu", type=int, help="minibatch per tower (default 16; gradients accumulate)")
    arg("--learning-rate", dest="learning_rate", type=float, help="Adam base learning rate of G+I and D (default 0.002; VAEs 1e-4)")
    arg("--kimg-per-tick", dest="kimg_per_tick", type=float, help="kimg between progress lines (default by resolution)")
    arg("--snapshot-ticks", dest="snapshot_ticks", type=int, help="ticks between snapshots and grids (default 10)")
    arg("--data-format", dest="data_format", choices=["auto", "NCHW", "NHWC"], help="auto: NCHW on a GPU, NHWC on the CPU")
    arg("--impl", choices=["auto", "cuda", "ref"], help="custom ops: auto (cuda on a GPU), cuda, or ref (pure TF)")
    arg("--cpu-threads", dest="cpu_threads", type=int, help="TF intra/inter-op threads (0 = TF's choice)")
    arg("--dry-run", dest="dry_run", action="store_true", help="print the resolved configuration and exit")
    arg("--print-flags", dest="print_flags", action="store_true",
        help="print the resolved flags (defaults, then the preset, then the flags given) as JSON and exit, without "
             "checking them or importing TensorFlow (run_sweep.py keys its trials by them)")
    return parser


def resolve_flags(argv=None):
    """CLI -> flat EasyDict: defaults, then the preset, then the flags given explicitly."""
    args = build_parser().parse_args(argv)
    flags = EasyDict(DEFAULTS)
    chosen = {}
    if args.preset:
        chosen.update((k, v) for k, v in PRESETS[args.preset].items() if not k.startswith("_"))
    chosen.update((k, v) for k, v in vars(args).items() if v is not None and k not in ("preset", "dry_run", "print_flags"))
    model_type = MODEL_ALIASES.get(chosen.get("model_type"), chosen.get("model_type"))
    if model_type in model_specs.MODEL_SPECS:
        flags.update(FAMILY_DEFAULTS[model_specs.family_of(model_type)])
        flags.beta = model_specs.MODEL_SPECS[model_type].get("beta")
    flags.update(chosen)
    flags.preset = args.preset
    flags.dry_run = args.dry_run
    flags.print_flags = args.print_flags
    return flags


def build_config(flags, gpu_visible=None):
    """Validate flags and build the training loop's config (one EasyDict) with the builder of the model type's
    family (CONFIG_BUILDERS). Raises ValueError."""
    model_type = MODEL_ALIASES.get(flags.model_type, flags.model_type)
    if model_type not in model_specs.MODEL_SPECS:
        raise ValueError("--model_type must be one of %s (or vc_gan_with_vc_head / vc_gan), got %r" % (
            ", ".join(model_specs.MODEL_SPECS), flags.model_type))
    return CONFIG_BUILDERS[model_specs.family_of(model_type)](flags, model_type, gpu_visible)


def build_gan_config(flags, model_type, gpu_visible=None):
    """The config of a GAN-family model (training/family_gan.py). Raises ValueError."""
    spec = model_specs.MODEL_SPECS[model_type]
    _check_common_flags(flags)
    gamma, d_arch = _config_gamma(flags.config)
    if flags.gamma is not None:
        gamma = flags.gamma
    from training.networks_vp import plan_generator

    plan_generator(flags.module_list, flags.resolution)  # malformed lists fail here, before any graph
    if flags.minibatch_size % (flags.minibatch_gpu * flags.num_gpus):
        raise ValueError("--minibatch-size %d must be a multiple of --minibatch-gpu x --num-gpus = %d x %d"
                         % (flags.minibatch_size, flags.minibatch_gpu, flags.num_gpus))

    kimg_per_tick = flags.kimg_per_tick
    if kimg_per_tick is None:
        kimg_per_tick = 12.0 if (flags.resolution or 128) >= 128 else 4.0  # the original's 12 kimg at 128^2

    fmap = dict(fmap_base=int(flags.fmap_base))
    cfg = EasyDict(
        # latent_type is not used by the network; it records the training prior for pair generation,
        # traversal grids and FID on the pickle.
        G_args=EasyDict(func_name="training.networks_vp.G_main_vp", module_list=flags.module_list,
                        fmap_decay=flags.fmap_decay, single_const=flags.single_const,
                        latent_type=flags.latent_type, **fmap),
        D_args=EasyDict(func_name="training.networks_stylegan2.D_stylegan2", architecture=d_arch, **fmap),
        I_args=EasyDict(func_name=spec.recognizer_func, connect_mode=flags.connect_mode, **fmap) if spec.recognizer_func else None,
        G_opt=EasyDict(learning_rate=flags.learning_rate, beta1=0.0, beta2=0.99, epsilon=1e-8),
        D_opt=EasyDict(learning_rate=flags.learning_rate, beta1=0.0, beta2=0.99, epsilon=1e-8),
        loss=EasyDict(latent_type=flags.latent_type, delta_type=flags.delta_type, epsilon=flags.epsilon_loss,
                      random_eps=bool(flags.random_eps), C_lambda=flags.C_lambda, D_lambda=flags.D_lambda,
                      cascading=bool(flags.cascading), gamma=gamma),
        minibatch_size=flags.minibatch_size,
        minibatch_gpu=flags.minibatch_gpu,
        total_kimg=flags.total_kimg,
        kimg_per_tick=kimg_per_tick,
        minibatch_repeats=4,
        D_reg_interval=16,
        G_reg_interval=4,
        G_smoothing_kimg=10.0,
        **_loop_settings(flags, model_type, gpu_visible)
    )
    return cfg


def _loop_settings(flags, model_type, gpu_visible=None):
    """Config entries shared by the GAN and VAE loops: data, layout, snapshots, grids, session, metrics.
    ``gpu_visible`` None: ask TensorFlow (picks NCHW + CUDA ops on a GPU, NHWC on the CPU)."""
    if gpu_visible is None:
        from dnnlib.tflib import custom_ops

        gpu_visible = custom_ops.gpu_available()
    return dict(
        model_type=model_type,
        seed=flags.seed,
        num_gpus=flags.num_gpus,
        data_format=flags.data_format if flags.data_format != "auto" else ("NCHW" if gpu_visible else "NHWC"),
        impl=flags.impl,
        dataset=EasyDict(data_dir=flags.data_dir, tfrecord_dir=flags.dataset, resolution=flags.resolution,
                         shuffle_mb=flags.shuffle_mb, prefetch_mb=flags.prefetch_mb),
        mirror_augment=bool(flags.mirror_augment),
        image_snapshot_ticks=flags.snapshot_ticks,
        network_snapshot_ticks=flags.snapshot_ticks,
        n_samples_per=flags.n_samples_per,
        grid_reals=64,
        tf_config={"gpu_options.allow_growth": True, "graph_options.place_pruned_graph": True,
                   "device_count.CPU": max(flags.num_gpus, 1),
                   "intra_op_parallelism_threads": flags.cpu_threads, "inter_op_parallelism_threads": flags.cpu_threads},
        resume=None,
        metrics=metric_names(flags),
        metric_args=EasyDict(seed=flags.seed, sha256=None, batch_size=100, vp_pairs=flags.vp_pairs, vp_repeats=1,
                             gt_data="dsprites", vp_epochs=None, sprite_samples=1000, verbose=False),
    )


def _check_common_flags(flags):
    """Checks shared by the GAN and VAE configs."""
    if not flags.data_dir or not flags.dataset:
        raise ValueError("--data-dir and --dataset are required (the tfrecord directory is <data-dir>/<dataset>)")
    if flags.num_gpus not in (1, 2, 4, 8):
        raise ValueError("--num-gpus must be 1, 2, 4 or 8, got %d" % flags.num_gpus)
    _check_numeric_flags(flags)
    metric_names(flags)


def _check_numeric_flags(flags):
    """Refuse lengths, intervals, sizes and rates outside their valid range (a usage error, before anything
    is created). Raises ValueError naming the flag, the valid range and the value given."""
    checks = [  # flag, value, lowest valid value, whether that value itself is valid, what the flag sets
        ("--total-kimg", flags.total_kimg, 0, False, "thousands of real images to train on"),
        ("--kimg-per-tick", flags.kimg_per_tick, 0, False, "kimg between progress lines"),
        ("--snapshot-ticks", flags.snapshot_ticks, 0, True, "ticks between snapshots and grids; 0: none"),
        ("--minibatch-size", flags.minibatch_size, 1, True, "images per step"),
        ("--minibatch-gpu", flags.minibatch_gpu, 1, True, "images per tower and step"),
        ("--learning-rate", flags.learning_rate, 0, False, "Adam step size"),
        ("--vp-pairs", flags.vp_pairs, 1, True, "pairs per VP metric"),
        ("--n_samples_per", flags.n_samples_per, 1, True, "traversal grid columns"),
        ("--cpu-threads", flags.cpu_threads, 0, True, "TF threads; 0: TF's choice"),
        ("--resume_kimg", flags.resume_kimg, 0, True, "kimg to count from"),
    ]
    for flag, value, low, inclusive, what in checks:
        if value is None:
            continue
        if not ((value >= low if inclusive else value > low) and math.isfinite(value)):  # NaN fails both
            raise ValueError("%s must be %s %g (%s), got %g" % (flag, ">=" if inclusive else ">", low, what, value))


def metric_names(flags):
    """--metrics -> list of names run_metrics.py computes at each snapshot (FID needs its own flags there)."""
    from metrics import metric_main

    names = metric_main.parse_metric_names(flags.metrics)
    no_fid = [n for n in names if metric_main.METRICS[n].kind == "fid"]
    if no_fid:
        raise ValueError("--metrics %s: FID needs a feature network and its sha256; run run_metrics.py --run_dir "
                         "<run> --metrics %s --fid-network ... on the snapshots instead" % (flags.metrics, no_fid[0]))
    return names


def build_vae_config(flags, model_type, gpu_visible=None):
    """The config of a VAE-family model (training/family_vae.py). Raises ValueError."""
    _check_common_flags(flags)
    _config_gamma(flags.config)  # validates --config, which only names the run here
    if flags.minibatch_size % flags.num_gpus:
        raise ValueError("--minibatch-size %d must be a multiple of --num-gpus %d" % (flags.minibatch_size, flags.num_gpus))
    if flags.latent_size < 1:
        raise ValueError("--latent_size must be positive, got %d" % flags.latent_size)
    spec = model_specs.MODEL_SPECS[model_type]
    beta = spec.beta if flags.beta is None else float(flags.beta)
    if spec.beta_fixed and beta != spec.beta:
        raise ValueError("--model_type %s is the plain VAE (beta %g); use --model_type beta_vae for --beta %g" % (model_type, spec.beta, beta))
    if flags.module_list:
        print("Note: --module_list is a GAN flag; the VAE networks are fixed (docs/decisions.md)")
    latent = int(flags.latent_size)
    cfg = EasyDict(
        E_args=EasyDict(func_name="training.networks_vae.vae_encoder", latent_size=latent),
        # latent_type records the prior of pair generation / traversal grids / FID: U(-2, 2) as the original.
        Dec_args=EasyDict(func_name="training.networks_vae.vae_decoder", latent_size=latent, latent_type="uniform"),
        I_args=EasyDict(func_name=spec.aux_func, num_outputs=latent) if spec.aux == "I" else None,
        TC_args=EasyDict(func_name=spec.aux_func, latent_size=latent) if spec.aux == "TC" else None,
        opt=EasyDict(learning_rate=flags.learning_rate, beta1=0.9, beta2=0.999, epsilon=1e-8),
        TC_opt=EasyDict(learning_rate=1e-4, beta1=0.5, beta2=0.9, epsilon=1e-8),
        loss=EasyDict(beta=beta, C_lambda=flags.C_lambda, delta_type=flags.delta_type, vc_epsilon=flags.vc_epsilon,
                      l2_weight=flags.l2_weight, tc_gamma=flags.tc_gamma),
        minibatch_size=flags.minibatch_size,
        minibatch_gpu=flags.minibatch_size // flags.num_gpus,     # the whole batch on each tower: no accumulation
        minibatch_repeats=1,
        total_kimg=flags.total_kimg,
        kimg_per_tick=flags.kimg_per_tick if flags.kimg_per_tick is not None else VAE_DEFAULTS["kimg_per_tick"],
        **_loop_settings(flags, model_type, gpu_visible)
    )
    return cfg


def check_dataset_resolution(flags):
    """The dataset directory holds tfrecords, and --resolution (if given) is one of its levels. Returns the
    training resolution. Raises ValueError with the reader's one-line message."""
    from training.dataset import list_tfrecord_files

    path = os.path.join(flags.data_dir, flags.dataset)
    levels = list_tfrecord_files(path)   # DatasetError: exit 2 when missing, 1 when unreadable
    resolution = flags.resolution or max(levels)
    if resolution not in levels:
        raise ValueError("--resolution %d: the dataset %s is %dx%d (levels %s); give --resolution %d or omit it"
                         % (resolution, path, max(levels), max(levels), ", ".join(str(r) for r in sorted(levels)),
                            max(levels)))
    return resolution


CONFIG_BUILDERS = {"gan": build_gan_config, "vae": build_vae_config}     # by family (training/model_specs.py)


def check_dataset(flags):
    """Pre-flight, before any run directory exists: the dataset directory holds tfrecords and the
    module list produces its resolution. Raises ValueError with the reader's one-line message."""
    from training.networks_vp import plan_generator

    resolution = check_dataset_resolution(flags)
    if model_specs.family_of(MODEL_ALIASES.get(flags.model_type, flags.model_type)) == "vae":
        if resolution % 16 or resolution < 16:
            raise ValueError("--resolution %d: the VAE networks need a multiple of 16 (the original: 64x64)" % resolution)
        return
    plan_generator(flags.module_list, resolution)


def _latest_run_dir(result_dir, desc):
    """The run dir with the highest id whose description is exactly ``desc`` and which holds a
    complete snapshot (a substring match would let 'gan-...' pick a 'vp_gan-...' run)."""
    from dnnlib.submission.submit import sanitize_run_desc
    from training import snapshots

    want = sanitize_run_desc(desc)
    best = None
    for name in sorted(os.listdir(result_dir)):
        match = re.match(r"^(\d+)-(.*)$", name)
        path = os.path.join(result_dir, name)
        if not (match and match.group(2) == want and os.path.isdir(path)):
            continue
        if not snapshots.list_snapshots(path):
            print("--resume latest: skipping %s (no complete snapshot; killed before its first one?)" % path)
            continue
        if best is None or int(match.group(1)) > best[0]:
            best = (int(match.group(1)), path)
    return best[1] if best else None


def run_description(cfg, flags):
    return "%s-%s-%dgpu-%s" % (cfg.model_type, os.path.basename(os.path.normpath(flags.dataset)), cfg.num_gpus, flags.config)


def resolve_resume(flags, cfg, desc):
    """Fill cfg.resume / decide the run directory. Returns the run dir to continue in, or None."""
    from training import snapshots

    if flags.resume and flags.resume_pkl:
        raise ValueError("use either --resume (continue a run in place) or --resume_pkl (new run from a pickle), not both")
    if flags.resume:
        if flags.resume == "latest":
            run_dir = _latest_run_dir(flags.result_dir, desc) if os.path.isdir(flags.result_dir) else None
            if run_dir is None:
                print("--resume latest: no run of %s with a snapshot under %s; starting a new run" % (desc, flags.result_dir))
                return None
        else:
            run_dir = flags.resume
        latest = snapshots.latest_snapshot(run_dir)
        if latest is None:
            raise ValueError("--resume %s: no complete network-snapshot-*.pkl in %s" % (flags.resume, run_dir))
        kimg, pkl_path, state_path = latest
        if os.path.exists(os.path.join(run_dir, "_finished.txt")) and os.path.exists(os.path.join(run_dir, "network-final.pkl")):
            print("Note: %s already finished; continuing it up to --total-kimg %g" % (run_dir, cfg.total_kimg))
        state_kimg = snapshots.load_state(state_path)["cur_nimg"] / 1000.0 if state_path else float(kimg)
        cfg.resume = EasyDict(pkl_path=pkl_path, state_path=state_path, kimg=state_kimg)
        return run_dir
    if flags.resume_pkl:
        kimg = flags.resume_kimg
        if kimg is None:
            kimg = float(snapshots.parse_snapshot_kimg(flags.resume_pkl) or 0.0)
        cfg.resume = EasyDict(pkl_path=flags.resume_pkl, state_path=None, kimg=kimg)
    return None


def run(cfg):
    """Entry point executed inside the run directory (called by dnnlib.submit_run)."""
    cfg = EasyDict(cfg)
    cfg.run_dir = dnnlib.submission.make_run_dir_path()
    dnnlib.util.reclaim_stale_staging(directory=cfg.run_dir, log=print)   # half-written files of a killed run
    from training.training_loop import training_loop

    return training_loop(cfg)


def main(argv=None):
    try:
        flags = resolve_flags(argv)
        if flags.print_flags:
            print(json.dumps(dict(flags={k: v for k, v in flags.items() if k not in ("dry_run", "print_flags")},
                                  python=sys.version.split()[0], executable=sys.executable), sort_keys=True))
            return 0
        dnnlib.util.check_output_path(flags.result_dir, "dir", "--result-dir")
        # a dry run checks everything the real run checks before training, the dataset included
        dataset_exists = bool(flags.data_dir and flags.dataset
                              and os.path.isdir(os.path.join(flags.data_dir, flags.dataset)))
        if dataset_exists and flags.resolution:
            check_dataset_resolution(flags)   # a --resolution the dataset lacks, named before the module list
        cfg = build_config(flags)
        check_dataset(flags)
        desc = run_description(cfg, flags)
        run_dir = resolve_resume(flags, cfg, desc)
        if cfg.get("resume"):
            check_resume_pickle(cfg)     # before any run dir exists (dry runs too)
    except (Exception, KeyboardInterrupt) as exc:     # exit status: dnnlib/cli.py (2 usage, 1 unusable input)
        return cli.report(exc)
    if flags.dry_run:
        print(json.dumps(dict(flags=flags, config=cfg, run_desc=desc, run_dir=run_dir), indent=2, default=str))
        return 0
    submit_config = dnnlib.SubmitConfig(run_dir_root=flags.result_dir, run_desc=desc, run_dir=run_dir)
    from training.training_loop import TrainingDiverged

    try:
        with dnnlib.util.removed_if_left_empty(flags.result_dir):
            os.makedirs(flags.result_dir, exist_ok=True)
            try:
                dnnlib.submit_run(submit_config, "run_training.run", cfg=copy.deepcopy(dict(cfg)))
            except BaseException:
                _remove_if_empty(submit_config, run_dir)
                raise
    except TrainingDiverged as exc:
        print("error: %s" % exc, file=sys.stderr)
        return cli.EXIT_RESULT
    except (Exception, KeyboardInterrupt) as exc:  # the traceback is in log.txt
        return cli.report(_data_error(exc, flags))
    return 0


def _data_error(exc, flags):
    """TensorFlow's reader errors on a damaged tfrecord file, as an InputError naming the dataset; others as they are."""
    from dnnlib.tflib.compat import tf

    if isinstance(exc, (tf.errors.DataLossError, tf.errors.InvalidArgumentError)) and "record" in str(exc).lower():
        return cli.InputError("dataset %s is truncated or corrupt (%s); recreate it with dataset_tool.py"
                              % (os.path.join(flags.data_dir, flags.dataset), str(exc).splitlines()[0]))
    return exc


def _remove_if_empty(submit_config, resumed_run_dir):
    """A new run that failed before its first snapshot leaves nothing worth keeping: remove its run dir."""
    from training import snapshots

    path = submit_config.get("run_dir")
    if path and not resumed_run_dir and os.path.isdir(path) and not (
            snapshots.list_snapshots(path) or os.path.exists(os.path.join(path, "network-final.pkl"))):
        shutil.rmtree(path, ignore_errors=True)
        print("Removed %s: the run failed before its first snapshot" % path, file=sys.stderr)


def check_resume_pickle(cfg):
    """Load cfg.resume's pickle in a throwaway graph and check it fits --model_type. Raises ValueError naming
    the file (truncated, foreign, or another model family)."""
    from dnnlib import tflib
    from dnnlib.tflib.compat import tf
    from training import snapshots

    spec, family = model_specs.get_spec(cfg.model_type)
    path = cfg.resume.pkl_path
    if "://" not in path and not os.path.isfile(path):
        raise ValueError("resume pickle %s does not exist" % path)
    with tf.Graph().as_default(), tflib.create_session().as_default():
        try:
            nets = snapshots.split_networks(snapshots.load_snapshot(path))
        except (IOError, OSError) as exc:
            raise cli.InputError("cannot read resume pickle %s: %s" % (path, exc))
        if nets.kind == "synthetic":
            raise ValueError("%s is a synthetic generator: there is nothing to resume training from" % path)
        try:
            family.check_resume(spec, nets, cfg)
        except ValueError as exc:
            raise ValueError("%s: %s" % (path, exc))


if __name__ == "__main__":
    sys.exit(main())
