#!/usr/bin/env bash
# Issue 5's device-machine measurements still open (docs/PERFORMANCE.md, "NVIDIA H200, fourth visit"), as
# one command for the device tool. Build the kit first: bash scripts/gpu/make-kit.sh, then:
#   run(command: "bash scripts/gpu/pending.sh", carry: [".gpu", ".gl"], timeout_s: 300).
# Parts, most wanted first (a time-out keeps what ran), results in $OUT/<part> (results.jsonl and log.txt):
#   w  on the device machine's processor, each convolution pass at 2 and 8 threads (our WebAssembly kernel,
#      the filter gradient with x in phase rows and, beside it, in NHWC as before): run 23 found D3's filter
#      gradient 1.52x its forward pass there at 2 threads, where the build machine showed 1.05-1.2x;
#   c  whole training steps on that processor (WebAssembly) beside PyTorch on the CPU, at 2 and 8 threads.
# QUICK=1 (and PY=/usr/bin/python3) runs it at tiny sizes on the build machine, to check the plumbing.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/gpu-bench-out}
status=0
PARTS=wasmconv THREADSET="2 8" WCREPS=${WCREPS:-5} OUT=$OUT/w bash scripts/gpu/run-bench.sh || status=1
PARTS=cpu THREADSET="2 8" OUT=$OUT/c bash scripts/gpu/run-bench.sh || status=1
exit $status
