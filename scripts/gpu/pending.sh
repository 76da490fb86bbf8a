#!/usr/bin/env bash
# Issue 5's GPU measurements still open (docs/PERFORMANCE.md), as one command for the device tool.
# Build the kit first, with the commit the whole steps are compared against:
#   git worktree add /tmp/base 2cab964 (and npm ci there), then BASE=/tmp/base bash scripts/gpu/make-kit.sh
# then: run(command: "bash scripts/gpu/pending.sh", carry: [".gpu", ".gl"], timeout_s: 400).
# Parts, most wanted first (a time-out keeps what ran), results in $OUT/<part> (results.jsonl and log.txt):
#   d  PyTorch, then whole steps of this commit against BASE, alternated (run 19's kernel choices:
#      the image layer's tree split sum, vec4 loads, D4's 32-row forward stages);
#   k  every pass of every layer with the default tilings, at batch 64 and 256, beside the earlier ones;
#   n  the image layer's filter gradient (the one pass still slower than its forward pass): tiles of
#      all 64 columns (x read once), 16 columns, 48-row stages, vec4 dy loads, with the tree sum;
#   p  where a step's GPU time goes (timestamps), DCGAN-64 at batch 64 and 256 and the cWGAN-GP.
# GPU timestamps unquantised (GAN_AUGMENT_DAWN_FLAGS, set here unless already set). QUICK=1 (and
# PY=/usr/bin/python3) runs it at tiny sizes on the build machine, to check the plumbing.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/gpu-bench-out}
export GAN_AUGMENT_DAWN_FLAGS=${GAN_AUGMENT_DAWN_FLAGS-disable-dawn-features=timestamp_quantization}
# Batches of the kernel sweeps (QUICK: one tiny batch; run-bench.sh shrinks the rest itself).
if [ -n "${QUICK:-}" ]; then BATCHES="2"; else BATCHES="64 256"; fi
status=0
PARTS="torch abtrain" REPEAT=2 STEPS=30 WSTEPS=10 WWARM=10 OUT=$OUT/d bash scripts/gpu/run-bench.sh || status=1
PARTS=convbatches CBSET="$BATCHES" OUT=$OUT/k bash scripts/gpu/run-bench.sh || status=1
PARTS=filtersweep CBSET="$BATCHES" FLAYERS=D1 REPEAT=1 OUT=$OUT/n \
  FTILES="48x32x24w512cr 48x64x48w512cr 48x64x48w1024cr 48x32x24w512cvr 48x32x48w512cr 48x16x24w512cr" \
  bash scripts/gpu/run-bench.sh || status=1
PARTS=profile OUT=$OUT/p bash scripts/gpu/run-bench.sh || status=1
exit $status
