#!/usr/bin/env bash
# Issue 5's device-machine measurements for the next visit (docs/PERFORMANCE.md, "NVIDIA H200, fifth
# visit" is the last), as one command for the device tool. Build the kit first (BASE= a worktree of an
# earlier build with node_modules, for part a; without it part a says so and the rest runs):
#   bash scripts/gpu/make-kit.sh
#   run(command: "bash scripts/gpu/pending.sh", carry: [".gpu", ".gl"], timeout_s: 420).
# Since run 29 the GPU kernels and a step's programs are unchanged. On the processor, every helper runs
# in slices wherever there are worker threads (from 8 threads until 2026-11-28 afternoon, when batch
# norm's passes, the column sums and transposes joined them: "batch norm on every thread"), and where the module stops at Emscripten's 8 threads our kernels take one
# per processor (at most 16), as part s of run 28 measured them: part s checks the defaults. The
# training benchmark reads the losses back in its timed steps as the app's training does (every 4th
# step on a GPU); run 29 measured that against reading only the last (--read-every 0, as before) and
# every step (PyTorch's reference's .item()). Since 2026-11-28 09:36 the RGB layer's filter gradient on
# the processor reads dy through in order before summing it, and writes its phase rows a row at a
# time (docs/PERFORMANCE.md, "its kernel was waiting for dy"), measured on 2 cores only: part w times
# every pass at 2 and 8 threads with --cold, as there. Since 2026-11-28 11:00 the processor runs the
# larger 4x4 stride-2 passes by Winograd's F(2x2, 2x2) ("Winograd's F(2x2, 2x2)"), since 13:00 the
# largest by F(4x4, 2x2) ("Winograd's F(4x4, 2x2)"), their gates set on 2 cores: part v compares them
# off, F(2x2, 2x2) alone and both at 8 and 16 threads. Parts, most wanted first (a time-out keeps
# the parts that finished), every result in $OUT/results.jsonl and every log in $OUT/log.txt:
#   v  whole DCGAN-64 steps on the processor at batch 16 and 64, GAN_AUGMENT_WASM_WINOGRAD off, 2
#      (F(2x2, 2x2) only) and on, alternated twice, at 8 and 16 threads;
#   x  on 16 threads, whole steps alternated one by one in one process with the input gradient's
#      transposed Winograd (GAN_AUGMENT_WASM_WINOGRAD_SCATTER) off and on, then with the calling
#      thread's spin before it sleeps (GAN_AUGMENT_WASM_SPIN_US) 0 and 200 us: DCGAN-32 and DCGAN-64
#      at batch 16, DCGAN-64 at 64, the cWGAN-GP 32 (2026-11-28, measured on 2 cores only: 5% and 3%
#      faster);
#   s  whole steps on the processor at 8 threads, alternated twice: as before 2026-11-28 ("old"), every
#      helper sliced over the threads (GAN_AUGMENT_WASM_SLICE_HELPERS=all), our kernels on 16 threads
#      (GAN_AUGMENT_WASM_KERNEL_THREADS=16), both, and today's defaults (which should equal both).
#   m  on 16 threads, DCGAN-32 and DCGAN-64 at batch 16 and the cWGAN-GP 32, steps alternated one by
#      one in one process between two settings of the sizes from which helper calls run in slices
#      (bench/slice-helpers.bench.ts; every helper timed): the old 8 MB for all against today's (the
#      `compute` helpers from 1 MB), today's against all from 1 MB, and against all from 256 KB. Set on
#      2 cores (2026-11-28 evening, COMPUTE_SLICE_DIVISOR); where more cores share a call, smaller calls may pay;
#   r  the read-back cadences (--read-every 0, 1, 4) alternated twice: DCGAN-64 at batch 64 and 256,
#      the cWGAN-GP 64 at batch 64; then PyTorch on the GPU (whole steps; cuDNN's passes per layer);
#   a  whole steps of this build against BASE's (the kit's train-base.cjs), alternated twice;
#   i  the switches GAN_AUGMENT_MASKED_CONV_GRADS, GAN_AUGMENT_IN_PLACE and GAN_AUGMENT_LOSS_PROGRAMS,
#      each off and on, alternated twice (each pair's lastLosses the same bits but the loss programs');
#   k  every pass of every layer with the default tilings at batch 64 and 256 (the TFLOP/s table);
#   g  whole steps of ours in the train part's way;
#   p  where a step's GPU time goes (timestamps) and its enqueueing;
#   w  on the processor, each convolution pass at 2 and 8 threads, medians of alternated rounds, with
#      PyTorch's own passes on the same threads first (--torch) where the machine's Python has it;
#   c  whole training steps on the processor beside PyTorch on the CPU, at 2 and 8 threads;
# GPU timestamps unquantised (GAN_AUGMENT_DAWN_FLAGS, set here unless already set). QUICK=1 (and
# PY=/usr/bin/python3) runs it at tiny sizes on the build machine, to check the plumbing.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/gpu-bench-out}
export GAN_AUGMENT_DAWN_FLAGS=${GAN_AUGMENT_DAWN_FLAGS-disable-dawn-features=timestamp_quantization}
if [ -n "${QUICK:-}" ]; then BATCHES="2"; else BATCHES="64 256"; fi
status=0
mkdir -p "$OUT"
# part NAME [VAR=value ...]: run-bench.sh with those settings, its results then appended to $OUT/results.jsonl
# and its log to $OUT/log.txt. The device tool brings back at most 8 files (run 28 lost five parts'
# results to that: run-bench.sh writes two files a part), so the parts' own folders do not stay; a time-out keeps the parts that finished.
part() {
  local name=$1 d="$OUT/part-$1" rc=0
  shift
  env "$@" OUT="$d" bash scripts/gpu/run-bench.sh || rc=1
  cat "$d/results.jsonl" >>"$OUT/results.jsonl" 2>/dev/null
  { echo "=== part $name"; cat "$d/log.txt" 2>/dev/null; } >>"$OUT/log.txt"
  rm -rf "$d"
  return $rc
}
if [ -n "${QUICK:-}" ]; then WINOQ="WINORES=32 WINOBATCHES=2 VSTEPS=1"; else WINOQ=""; fi
if [ -n "${QUICK:-}" ]; then SLICEQ="SLICERES=32 SLICEMODELS=dcgan SROUNDS=1 SLICEPAIRS=8192:8192/8192:1024"; else SLICEQ=""; fi
# shellcheck disable=SC2086
part v PARTS=winocpu THREADSET="8 16" $WINOQ || status=1
if [ -n "${QUICK:-}" ]; then SWQ="XRES=32 XROUNDS=1"; else SWQ=""; fi
# shellcheck disable=SC2086
part x PARTS=switchab THREADSET="16" $SWQ || status=1
part s PARTS=slicecpu THREADSET="8" || status=1
# shellcheck disable=SC2086
part m PARTS=slicehelpers THREADSET="16" $SLICEQ || status=1
part r PARTS="readevery torch" STEPS=32 WSTEPS=8 || status=1
part a PARTS=abtrain STEPS=20 || status=1
part i PARTS=toggles TOGGLES="GAN_AUGMENT_MASKED_CONV_GRADS GAN_AUGMENT_IN_PLACE GAN_AUGMENT_LOSS_PROGRAMS" STEPS=20 || status=1
part k PARTS=convbatches CBSET="$BATCHES" || status=1
part g PARTS=train KSET=1 STEPS=30 || status=1
part p PARTS=profile || status=1
part w PARTS=wasmconv THREADSET="2 8" WCREPS=${WCREPS:-11} WCWARM=${WCWARM:-5} WCFLAGS="--alternate --cold" || status=1
part c PARTS=cpu THREADSET="2 8" || status=1
exit $status
