#!/usr/bin/env bash
# Issue 5's GPU measurements still open (docs/PERFORMANCE.md, "Not measured on a GPU yet, prepared for
# the next run"), as one command for the device tool. Build the kit first, with the commit the whole
# steps are compared against:
#   git worktree add /tmp/base 2cab964 (and npm ci there), then BASE=/tmp/base bash scripts/gpu/make-kit.sh
# then: run(command: "bash scripts/gpu/pending.sh", carry: [".gpu", ".gl"], timeout_s: 480).
# Three parts, results in $OUT/a, $OUT/b and $OUT/c (results.jsonl and log.txt each):
#   a  the filter gradient's vec4 loads and 256-workgroup wide tiles on D2-D4 at batch 64 and 256, and
#      whole steps of this commit against BASE, alternated, beside PyTorch;
#   b  the forward pass with 32-row stages (128x128x32, 8 x 8 blocks) against 64x64x32;
#   c  the image layer's filter gradient: the split sum serial (q) or by a tree (r), at 512-2,048
#      workgroups, and lavapipe's 8 x 8 blocks (48x64x24b8) on the GPU.
# GPU timestamps unquantised (GAN_AUGMENT_DAWN_FLAGS, set here unless already set). QUICK=1 (and
# PY=/usr/bin/python3) runs it at tiny sizes on the build machine, to check the plumbing.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/gpu-bench-out}
export GAN_AUGMENT_DAWN_FLAGS=${GAN_AUGMENT_DAWN_FLAGS-disable-dawn-features=timestamp_quantization}
# Batches of the kernel sweeps (QUICK: one tiny batch; run-bench.sh shrinks the rest itself).
if [ -n "${QUICK:-}" ]; then BATCHES="2"; else BATCHES="64 256"; fi
status=0
PARTS="filtersweep abtrain torch" CBSET="$BATCHES" FLAYERS=D2,D3,D4 REPEAT=2 STEPS=30 WSTEPS=10 WWARM=10 \
  FTILES="64x64x16w512c 64x64x16w512cv 128x128x16w256cb8 128x128x16w256cb8v" OUT=$OUT/a \
  bash scripts/gpu/run-bench.sh || status=1
PARTS=forwardsweep FWTILES="64x64x32 128x128x32b8" OUT=$OUT/b bash scripts/gpu/run-bench.sh || status=1
PARTS=filtersweep CBSET="$BATCHES" FLAYERS=D1 REPEAT=2 OUT=$OUT/c \
  FTILES="48x32x24w512cq 48x32x24w512cr 48x32x24w1024cr 48x32x24w2048cr 48x64x24w512cb8 48x64x24w512cb8r" \
  bash scripts/gpu/run-bench.sh || status=1
exit $status
