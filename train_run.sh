#!/usr/bin/env bash
# Train VP-GAN.
#
# With CELEBA_TFR_PARENT set (the PARENT directory of a celeba_tfr/ made by
#   python dataset_tool.py create_celeba <parent>/celeba_tfr /path/to/celeba
# ), runs the paper's CelebA 128x128 command. Without it, renders procedural dSprites and trains the
# tiny `quickstart` VP-GAN on the CPU (a few minutes).
#
# --C_lambda: the original train_run.sh passes 0.01, but the released code ignored the flag in the
# onedim VP loss until September 2020 (effective weight 1.0), so the paper's runs most likely used
# 1.0. We apply the flag as written and pass 1.0 here (docs/decisions.md).
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python}"
RESULT_DIR="${RESULT_DIR:-results}"
CELEBA_TFR_PARENT="${CELEBA_TFR_PARENT:-}"     # e.g. /data/CelebA_dataset (holds celeba_tfr/)
NUM_GPUS="${NUM_GPUS:-2}"
DATA_DIR="${DATA_DIR:-datasets}"              # where the procedural dSprites go

if [ -n "$CELEBA_TFR_PARENT" ]; then
    "$PYTHON" run_training.py --result-dir "$RESULT_DIR" --data-dir "$CELEBA_TFR_PARENT" --dataset celeba_tfr \
        --num-gpus "$NUM_GPUS" --model_type vc_gan_with_vc_head --C_lambda 1.0 --random_eps True \
        --latent_type uniform --delta_type onedim \
        --module_list '[Conv-up-1, C_global-10, Conv-id-2, Noise-2, Conv-up-1, C_global-10, Conv-id-1, Noise-2, Conv-up-1, C_global-5, Conv-id-2, Noise-2, Conv-id-1, Noise-2, Conv-up-1, C_global-5, Conv-id-1, Noise-2, Conv-id-2, Conv-up-1, Conv-id-1]' \
        "$@"
    # InfoGAN baseline (the original's commented-out command):
    # "$PYTHON" run_training.py --result-dir "$RESULT_DIR" --data-dir "$CELEBA_TFR_PARENT" --dataset celeba_tfr \
    #     --num-gpus "$NUM_GPUS" --model_type info_gan --C_lambda 0.01 --latent_type uniform --module_list '...'
else
    echo "CELEBA_TFR_PARENT is not set: training the quickstart VP-GAN on procedural dSprites instead."
    if [ ! -d "$DATA_DIR/dsprites" ]; then
        "$PYTHON" dataset_tool.py create_dsprites "$DATA_DIR/dsprites" --max_images 20000 --seed 0
    fi
    "$PYTHON" run_training.py --preset quickstart --result-dir "$RESULT_DIR" --data-dir "$DATA_DIR" --dataset dsprites "$@"
fi
