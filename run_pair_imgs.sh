#!/usr/bin/env bash
# The original evaluation settings: 10,000 onedim pairs in batches of 100 from a trained pickle,
# then the VP metric on them (repeat the whole procedure ~3 times with different seeds and average).
#   NETWORK_PKL=results/00000-.../network-final.pkl PAIR_DIR=results/pairs ./run_pair_imgs.sh
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python}"
NETWORK_PKL="${NETWORK_PKL:?set NETWORK_PKL to a network pickle (G, D, I, Gs)}"
PAIR_DIR="${PAIR_DIR:-results/pair_dataset}"
SEED="${SEED:-0}"

"$PYTHON" run_pair_imgs.py --network_pkl "$NETWORK_PKL" --n_imgs 10000 --batch_size 100 \
    --delta_type onedim --seed "$SEED" --result-dir "$PAIR_DIR" "$@"
