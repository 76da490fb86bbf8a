#!/usr/bin/env bash
# Issue 5's device-machine measurements for the next visit (docs/PERFORMANCE.md, "NVIDIA H200, fourth
# visit"), as one command for the device tool. Build the kit first, with run 23's build as the base of
# part a (a worktree of c4672f9 with node_modules, e.g.: git worktree add /tmp/base23 c4672f9 &&
# ln -s "$PWD/node_modules" /tmp/base23/node_modules):
#   BASE=/tmp/base23 bash scripts/gpu/make-kit.sh
#   run(command: "bash scripts/gpu/pending.sh", carry: [".gpu", ".gl"], timeout_s: 420).
# The convolution kernels' tilings and arithmetic are run 23's; since then they can also read a LeakyReLU's
# mask (below). A step dispatches far fewer programs: Adam's update and
# batch norm's moving averages in place (part i), the losses as programs of ours (part i), batch norm's
# moments in two dispatches, the cWGAN-GP's embedding gradient without 22 copies, ReLU's and Abs's
# gradients one program each, the penalty's interpolation one program, Adam's beta powers in place, sums over
# leading axes without a transpose (over two sessions DCGAN-64 at batch 4 437 -> 257 dispatches a step on
# lavapipe, the cWGAN-GP 32 1,003 -> 708); then the critic's loss with its sign and lambda inside the loss
# programs, batch norm's ReLU / LeakyReLU inside its programs, and the critic's convolutions with their
# LeakyReLU in the kernel's epilogue (DCGAN-64 257 -> 228, the cWGAN-GP 708 -> 631); then the projection
# critic's head as four kernels of ours (the cWGAN-GP 631 -> 532 at 32 px, 748 -> 649 at 64 px with 8
# classes, the model part a times), and the generators' bias and tanh as one program each way
# (DCGAN-64 228 -> 225, the cWGAN-GP 32 532 -> 524); then a convolution's gradients reading dy through
# its LeakyReLU's mask, no mask program (the cWGAN-GP 32 524 -> 476, 64 px 641 -> 577, DCGAN-64 225 -> 222),
# and the cWGAN-GP's paired labels made on the processor (the cWGAN-GP 32 476 -> 471, 64 px 577 -> 572).
# Only the masks have a switch of their own (GAN_AUGMENT_MASKED_CONV_GRADS, first in part i: its masked loads
# could slow the GEMMs where the GPU, not the enqueueing, sets the pace; each pair's lastLosses must be
# the same bits, as on lavapipe); part a measures all with the rest. The rest repeats run 23's figures with whatever changed since, most wanted first (a time-out keeps what ran), results in $OUT/<part> (results.jsonl and log.txt):
#   a  whole steps of this build against run 23's (c4672f9, the kit's train-base.cjs), alternated
#      twice: DCGAN-64 at batch 64 and 256, the cWGAN-GP 64 at batch 64 (all of the above together);
#   i  the masked convolution gradients against the mask's own programs (GAN_AUGMENT_MASKED_CONV_GRADS),
#      in-place updates (Adam's, one dispatch per variable; batch norm's moving averages, one per
#      layer) against tfjs's programs (GAN_AUGMENT_IN_PLACE), then the losses as our programs against
#      tfjs's ops (GAN_AUGMENT_LOSS_PROGRAMS), each off and on, alternated twice, the same steps;
#   k  every pass of every layer with the default tilings at batch 64 and 256 (the TFLOP/s table);
#   t  PyTorch on the GPU: whole steps, and cuDNN's three passes per critic layer at batch 64 and 256
#      (bench/torch_conv_layers.py: its filter gradient as a multiple of its forward pass, beside k's);
#      then whole steps of ours in the train part's way (g);
#   p  where a step's GPU time goes (timestamps);
#   w  on the processor, each convolution pass at 2 and 8 threads, medians of alternated rounds, with
#      PyTorch's own passes on the same threads first (--torch) where the machine's Python has it;
#   c  whole training steps on the processor beside PyTorch on the CPU, at 2 and 8 threads;
#   s  whole steps on the processor at 8 threads, alternated twice: the default, every helper sliced
#      over the threads (GAN_AUGMENT_WASM_SLICE_HELPERS=all), our kernels on 16 threads
#      (GAN_AUGMENT_WASM_KERNEL_THREADS=16: all 16 cores, beyond Emscripten's 8), and both.
# GPU timestamps unquantised (GAN_AUGMENT_DAWN_FLAGS, set here unless already set). QUICK=1 (and
# PY=/usr/bin/python3) runs it at tiny sizes on the build machine, to check the plumbing.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/gpu-bench-out}
export GAN_AUGMENT_DAWN_FLAGS=${GAN_AUGMENT_DAWN_FLAGS-disable-dawn-features=timestamp_quantization}
if [ -n "${QUICK:-}" ]; then BATCHES="2"; else BATCHES="64 256"; fi
status=0
PARTS=abtrain STEPS=20 OUT=$OUT/a bash scripts/gpu/run-bench.sh || status=1
PARTS=toggles TOGGLES="GAN_AUGMENT_MASKED_CONV_GRADS GAN_AUGMENT_IN_PLACE GAN_AUGMENT_LOSS_PROGRAMS" STEPS=20 OUT=$OUT/i bash scripts/gpu/run-bench.sh || status=1
PARTS=convbatches CBSET="$BATCHES" OUT=$OUT/k bash scripts/gpu/run-bench.sh || status=1
PARTS=torch OUT=$OUT/t bash scripts/gpu/run-bench.sh || status=1
PARTS=train KSET=1 STEPS=30 OUT=$OUT/g bash scripts/gpu/run-bench.sh || status=1
PARTS=profile OUT=$OUT/p bash scripts/gpu/run-bench.sh || status=1
PARTS=wasmconv THREADSET="2 8" WCREPS=${WCREPS:-11} WCWARM=${WCWARM:-5} WCFLAGS=--alternate OUT=$OUT/w bash scripts/gpu/run-bench.sh || status=1
PARTS=cpu THREADSET="2 8" OUT=$OUT/c bash scripts/gpu/run-bench.sh || status=1
PARTS=slicecpu THREADSET="8" OUT=$OUT/s bash scripts/gpu/run-bench.sh || status=1
exit $status
