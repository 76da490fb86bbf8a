#!/usr/bin/env bash
# Issue 5's device-machine measurements still open (docs/PERFORMANCE.md, "NVIDIA H200, fourth visit"), as
# one command for the device tool. Build the kit first: bash scripts/gpu/make-kit.sh, then:
#   run(command: "bash scripts/gpu/pending.sh", carry: [".gpu", ".gl"], timeout_s: 300).
# Parts, most wanted first (a time-out keeps what ran), results in $OUT/<part> (results.jsonl and log.txt):
#   w  on the device machine's processor (run 25: a 16-core Intel Xeon), each convolution pass at 2 and 8
#      threads, medians of alternated rounds (--alternate; runs 23 and 25 took the best of 3-5 calls of each
#      pass in turn, whose ratios moved by 10-50% between runs): the filter gradient with x in phase rows
#      beside the NHWC gather and the forward pass, and the RGB layer's with dy read row-major (b0e72ad).
# QUICK=1 (and PY=/usr/bin/python3) runs it at tiny sizes on the build machine, to check the plumbing.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/gpu-bench-out}
status=0
PARTS=wasmconv THREADSET="2 8" WCREPS=${WCREPS:-11} WCWARM=${WCWARM:-5} WCFLAGS=--alternate OUT=$OUT/w bash scripts/gpu/run-bench.sh || status=1
exit $status
