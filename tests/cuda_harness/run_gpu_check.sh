#!/usr/bin/env bash
# GPU check and benchmark of the vpdis custom-op kernels, without TensorFlow.
#
# Builds tests/cuda_harness/harness.cu with nvcc (it includes dnnlib/tflib/ops/*_kernel.cuh, the arithmetic the
# TF ops run), runs FusedBiasAct and UpFirDn2D on seeded random inputs on the GPU (and the host path), checks
# every output against numpy references (check.py: python3 + numpy only), then times both kernels and prints
# effective GB/s next to the card's theoretical memory bandwidth.
#
# Usage:  tests/cuda_harness/run_gpu_check.sh [--no-bench] [--host-only]
#   --host-only  no GPU needed: checks only the host path (for machines without a GPU; implies --no-bench)
# Environment:
#   VPDIS_CUDA_ARCH   target architecture (sm_90, 90, 9.0, sm_90a); default: the GPU's per nvidia-smi, else sm_90
#   PYTHON            python with numpy (default python3)
#   HARNESS_DIR       build/output folder (default: a fresh temporary folder, removed at the end)
# Exit status: 0 when every case passes; non-zero on a build error, a CUDA error or any mismatch.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="${PYTHON:-python3}"
BENCH=1
HOST_ONLY=0
for arg in "$@"; do
    case "$arg" in
        --no-bench) BENCH=0 ;;
        --host-only) HOST_ONLY=1; BENCH=0 ;;
        *) echo "unknown option: $arg" >&2; exit 2 ;;
    esac
done

arch="${VPDIS_CUDA_ARCH:-}"
if [[ -z "$arch" && "$HOST_ONLY" == 0 ]] && command -v nvidia-smi >/dev/null 2>&1; then
    arch="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader -i 0 2>/dev/null | head -n1 | tr -d ' ' || true)"
fi
arch="${arch:-sm_90}"
arch="${arch#sm_}"
arch="${arch#compute_}"
arch="${arch/./}"
if ! [[ "$arch" =~ ^[0-9]+[a-z]?$ ]]; then
    echo "bad architecture '$arch' (VPDIS_CUDA_ARCH): expected e.g. sm_90" >&2
    exit 2
fi

if ! command -v nvcc >/dev/null 2>&1; then
    echo "FAIL: nvcc not found on PATH: install the CUDA toolkit" >&2
    exit 1
fi

if [[ -n "${HARNESS_DIR:-}" ]]; then
    WORK="$HARNESS_DIR"
    mkdir -p "$WORK"
else
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/vpdis_cuda_harness.XXXXXX")"
    trap 'rm -rf "$WORK"' EXIT
fi
rm -rf "$WORK/out"
mkdir -p "$WORK/out"

NVCC_CMD=(nvcc -O3 --use_fast_math -std=c++17 "-gencode=arch=compute_${arch},code=[sm_${arch},compute_${arch}]"
          -I "$ROOT/dnnlib/tflib/ops" "$ROOT/tests/cuda_harness/harness.cu" -o "$WORK/harness")
echo "== build: ${NVCC_CMD[*]}"
start=$(date +%s)
"${NVCC_CMD[@]}"
echo "== built in $(( $(date +%s) - start )) s ($(nvcc --version | tail -n1))"

status=0
if [[ "$HOST_ONLY" == 1 ]]; then
    echo "== correctness (host path only)"
    "$WORK/harness" "$WORK/out" --host-only --no-bench
    "$PY" "$ROOT/tests/cuda_harness/check.py" "$WORK/out" || status=1
else
    echo "== correctness (GPU and host paths vs numpy)"
    "$WORK/harness" "$WORK/out" --no-bench
    "$PY" "$ROOT/tests/cuda_harness/check.py" "$WORK/out" --require-device || status=1
    if [[ "$BENCH" == 1 ]]; then
        echo "== benchmark"
        "$WORK/harness" "$WORK/out" --bench-only || status=1
    fi
fi

if [[ "$status" == 0 ]]; then
    echo "GPU CHECK: PASS"
else
    echo "GPU CHECK: FAIL"
fi
exit "$status"
