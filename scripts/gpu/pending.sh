#!/usr/bin/env bash
# Issue 5's GPU measurements still open (docs/PERFORMANCE.md, "NVIDIA H200, third visit"), as one
# command for the device tool. Build the kit first, with the commit the whole steps are compared against:
#   git worktree add /tmp/base2 0edb156 (and npm ci there), then BASE=/tmp/base2 bash scripts/gpu/make-kit.sh
# then: run(command: "bash scripts/gpu/pending.sh", carry: [".gpu", ".gl"], timeout_s: 330).
# Parts, most wanted first (a time-out keeps what ran), results in $OUT/<part> (results.jsonl and log.txt):
#   d  whole steps of this commit (the loads prefetched where run 21-22 measured it paying) against
#      BASE (0edb156: no prefetch), alternated three times; the final combination was never run as a step;
#   t  PyTorch in the same call;
#   k  every pass of every layer with the default tilings at batch 64 and 256 (the TFLOP/s table);
#   p  where a step's GPU time goes now (timestamps);
#   w  on the processor, each convolution pass at 2 and 8 threads: our WebAssembly kernel on its own
#      threads (all three passes since 2026-11-27) against XNNPACK's forward pass beyond the build
#      machine's 2 cores;
#   c  whole training steps on the processor (WebAssembly) beside PyTorch on the CPU, at 2 and 8 threads.
# GPU timestamps unquantised (GAN_AUGMENT_DAWN_FLAGS, set here unless already set). QUICK=1 (and
# PY=/usr/bin/python3) runs it at tiny sizes on the build machine, to check the plumbing.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/gpu-bench-out}
export GAN_AUGMENT_DAWN_FLAGS=${GAN_AUGMENT_DAWN_FLAGS-disable-dawn-features=timestamp_quantization}
if [ -n "${QUICK:-}" ]; then BATCHES="2"; else BATCHES="64 256"; fi
status=0
PARTS=abtrain REPEAT=3 STEPS=30 WSTEPS=10 WWARM=10 OUT=$OUT/d bash scripts/gpu/run-bench.sh || status=1
PARTS=torch OUT=$OUT/t bash scripts/gpu/run-bench.sh || status=1
PARTS=convbatches CBSET="$BATCHES" OUT=$OUT/k bash scripts/gpu/run-bench.sh || status=1
PARTS=profile OUT=$OUT/p bash scripts/gpu/run-bench.sh || status=1
PARTS=wasmconv THREADSET="2 8" WCREPS=3 OUT=$OUT/w bash scripts/gpu/run-bench.sh || status=1
PARTS=cpu THREADSET="2 8" OUT=$OUT/c bash scripts/gpu/run-bench.sh || status=1
exit $status
