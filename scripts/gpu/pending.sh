#!/usr/bin/env bash
# Issue 5's GPU measurements still open (docs/PERFORMANCE.md, "NVIDIA H200, fourth visit"), as one
# command for the device tool. Build the kit first: bash scripts/gpu/make-kit.sh (BASE= only for the
# abtrain part of run-bench.sh), then: run(command: "bash scripts/gpu/pending.sh", carry: [".gpu", ".gl"], timeout_s: 300).
# Parts, most wanted first (a time-out keeps what ran), results in $OUT/<part> (results.jsonl and log.txt):
#   i  the input gradient's tilings on D2-D4 at batch 64 and 256, twice, alternated: the registered ones
#      (64x64x16, with prefetch 'p') beside 8 x 8 blocks per thread (b8) in 128x128, 128x64 and 64x128 tiles.
#      The input gradient is the largest share of a DCGAN-64 step on the H200 (8.8 of 29 ms, run 23), and
#      D2-D4's run at 22-25 TFLOP/s where the forward pass's 128x128 b8 tiles reach 28-30;
#   f  the image layer's filter gradient (1.3-1.6x its forward pass, run 23) with 256-2,048 workgroups and
#      16-column tiles, beside the registered 48x32x24w512cpr.
# GPU timestamps unquantised (GAN_AUGMENT_DAWN_FLAGS, set here unless already set). QUICK=1 (and
# PY=/usr/bin/python3) runs it at tiny sizes on the build machine, to check the plumbing.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/gpu-bench-out}
export GAN_AUGMENT_DAWN_FLAGS=${GAN_AUGMENT_DAWN_FLAGS-disable-dawn-features=timestamp_quantization}
if [ -n "${QUICK:-}" ]; then BATCHES="2"; else BATCHES="64 256"; fi
status=0
PARTS=inputsweep REPEAT=2 CBSET="$BATCHES" ILAYERS=D2,D3,D4 ITILES="64x64x16 64x64x16p 128x128x16b8 128x128x16b8p 128x64x16b8p 64x128x16b8p" \
  OUT=$OUT/i bash scripts/gpu/run-bench.sh || status=1
PARTS=filtersweep REPEAT=2 CBSET="$BATCHES" FLAYERS=D1 FTILES="48x32x24w512cpr 48x32x24w256cpr 48x32x24w1024cpr 48x32x24w2048cpr 48x16x24w512cpr" \
  OUT=$OUT/f bash scripts/gpu/run-bench.sh || status=1
exit $status
