#!/usr/bin/env bash
# Issue 5's GPU measurement as one prepared script, for the device tool (an NVIDIA machine with
# PyTorch but no Node and no network). Needs .gpu/ and .gl/ from scripts/gpu/make-kit.sh, carried:
#   run(command: "bash scripts/gpu/run-bench.sh", carry: [".gpu", ".gl"])
# Writes every JSON line to $OUT/results.jsonl as it goes (partial results survive a time-out) and
# the whole log to $OUT/log.txt.
# QUICK=1 runs tiny sizes (to check the plumbing on the build machine, on lavapipe; PY=/usr/bin/python3 there).
# PARTS (default "conv torch train wgan"; also "toggles" (each switch of TOGGLES off and on, alternated), "wasmconv", "profile", "overhead" (make-kit.sh with KIT_ALL=1), "cpuprof", "cpuprofwgan", "filtersweep"
# with FTILES and FLAYERS, "inputsweep" with ITILES and ILAYERS, "readevery" (the read-back cadences of READSET), "forwardsweep" with FWTILES, "convbatches", "adapter" (make-kit.sh with KIT_ALL=1), "switchab" (whole steps alternated in one process between two values of a call-time switch, SWITCHES as NAME or NAME=A/B, at THREADSET threads), "slicehelpers" (pairs of the sizes from which
# helper calls run in slices, for the helpers and for the `compute` helpers, SLICEPAIRS, alternated step by step in one process, each helper timed, at THREADSET threads), "slicecpu" (every helper
# sliced over threads, and our kernels on KTHREADS threads, against the default, THREADSET), "winocpu" (Winograd off and on, on the
# processor at THREADSET threads), "cpu" (WebAssembly and PyTorch on the
# processor at THREADSET threads), "abtrain" (an earlier commit's training alternated with this one's; make-kit.sh
# with BASE=)) picks what runs; KSET (default "0 1") the
# GAN_AUGMENT_WGSL_KERNELS settings compared; FASTSET (default "1") the GAN_AUGMENT_FAST_DISPATCH settings; LAZYSET
# (default "1"; "0 1" for before/after) the GAN_AUGMENT_LAZY_GRADIENTS settings of the wgan part; SUBMITSET its tfjs
# submit batch sizes (default 15); REPEAT how often the filtersweep, wgan and abtrain parts repeat, alternating; TILES the
# tilings swept; STEPS the timed steps; WARM / WWARM the warm-up steps (DCGAN / WGAN-GP).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/gpu-bench-out}
mkdir -p "$OUT"
RES="$OUT/results.jsonl"
LOG="$OUT/log.txt"
: >"$RES"
exec > >(tee -a "$LOG") 2>&1
PARTS=${PARTS:-conv torch train wgan}
K=.gpu
if [ -z "${QUICK:-}" ]; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  fi
fi
BIN=/tmp/gpu-bench-bin
mkdir -p $BIN
[ -x $BIN/node ] || { xz -dc $K/node.xz >$BIN/node && chmod +x $BIN/node; }
# The bundles and the webgpu package run from a copy, so that .gpu/ stays small enough to carry.
RUN=/tmp/gpu-bench-run
rm -rf $RUN && cp -r $K/bench $RUN
xz -d $RUN/node_modules/webgpu/dist/linux-x64/dawn.node.xz
NODE=$BIN/node
echo "== $(date -u +%FT%TZ) $(uname -n) node $($NODE -v)"
# The processor too: the cpu and wasmconv parts' figures depend on it (not recorded before 2026-11-27 16:40).
echo "processor: $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
PY=${PY:-python3}
# bench/support.ts LAYERS_64, for bench/torch_conv_layers.py.
LAYERS64_JSON='[{"name":"D1 64x64x3->32x32x64 (= G4)","input":[64,64,3],"co":64,"k":4,"stride":2},{"name":"D2 32x32x64->16x16x128 (= G3)","input":[32,32,64],"co":128,"k":4,"stride":2},{"name":"D3 16x16x128->8x8x256 (= G2)","input":[16,16,128],"co":256,"k":4,"stride":2},{"name":"D4 8x8x256->4x4x512 (= G1)","input":[8,8,256],"co":512,"k":4,"stride":2}]'

# Every JSON line of a command goes to results.jsonl (tagged), everything to the log.
run() {
  local tag=$1
  shift
  echo "-- $tag: $*"
  local t0=$(date +%s)
  "$@" 2>&1 | while IFS= read -r line; do
    echo "$line"
    case "$line" in "{}") ;; "{"*) echo "{\"tag\":\"$tag\",${line#\{}" >>"$RES" ;; esac
  done
  local rc=${PIPESTATUS[0]}
  # A failed command leaves a line saying so (else it would only be missing from the results).
  [ "$rc" = 0 ] || echo "{\"tag\":\"$tag\",\"failed\":true,\"rc\":$rc}" >>"$RES"
  echo "-- $tag done in $(($(date +%s) - t0)) s (exit $rc)"
}

if [ -n "${QUICK:-}" ]; then
  CB=2 INNER=2 B64=4 B256=8 STEPS=2 WARM=1 WB=4 WSTEPS=1 WWARM=1 LAYERS=D2,D4 WCB=2 WCREPS=1 WCWARM=2
else
  # --inner 100: on the H200 one result read-back per 20 calls still hid half of a kernel's speed.
  # WARM 40: the WebGPU dispatch cache settles within about 40 steps (src/worker/backends/webgpu-dispatch.ts).
  CB=${CB:-256} INNER=${INNER:-100} B64=64 B256=256 STEPS=${STEPS:-10} WARM=${WARM:-40} WB=64 WSTEPS=${WSTEPS:-3} WWARM=${WWARM:-8} LAYERS=${LAYERS:-D1,D2,D3,D4}
fi
CONV="$NODE $RUN/conv-kernels.cjs --net 64 --batch $CB --inner $INNER --reps 3 --warmup 1 --layers $LAYERS --json"

case " $PARTS " in *" conv "*)
  # tfjs's kernels beside ours (tfjs's filter gradient is left out: 100 calls of it take seconds per layer).
  run conv-vs-tfjs $CONV --kernels ${CONV_KERNELS:-input,forward}
  run conv-ours $CONV --kernels filter,input,forward,fused --ours-only
  run conv-input-strided $CONV --kernels input --ours-only --input-tile 64x64x32s
  for t in ${TILES:-}; do
    run "conv-tile-$t" $CONV --kernels filter,input,forward --tile $t --input-tile $t --forward-tile $t --ours-only
  done
  ;;
esac
case " $PARTS " in *" convbatches "*)
  # Our default tilings (all four kernels) at batch 64 and 256, beside the earlier GPU tilings (64x64x32 forward,
  # 64x64x16w512 filter gradient) in the same run.
  for b in ${CBSET:-64 256}; do
    C="$NODE $RUN/conv-kernels.cjs --net 64 --batch $b --inner $INNER --reps 3 --warmup 1 --layers $LAYERS --json --ours-only"
    run "conv-defaults-b$b" $C --kernels filter,input,forward,fused
    run "conv-earlier-b$b" $C --kernels filter,forward,fused --tile 64x64x16w512 --forward-tile 64x64x32
  done
  ;;
esac
case " $PARTS " in *" forwardsweep "*)
  # Our forward pass (Conv2D, FusedConv2D) for each tiling in FWTILES (MxNxK[b8]), e.g. "64x64x32 128x128x16b8".
  for t in ${FWTILES:-64x64x32 128x128x16b8}; do
    run "conv-forward-$t" $CONV --kernels forward,fused --ours-only --forward-tile $t
  done
  ;;
esac
case " $PARTS " in *" inputsweep "*)
  # The input gradient for each tiling in ITILES (a GEMM tile MxNxK[s][b8], "direct" or "block1/2/4", the
  # direct programs for dx with at most 4 channels) on the layers ILAYERS (default D1), at each batch in
  # CBSET (default: CB), the whole sweep REPEAT times (alternating tilings).
  for rep in $(seq ${REPEAT:-1}); do
    for b in ${CBSET:-$CB}; do
      for t in ${ITILES:-direct block2}; do
        run "conv-input-$t-b$b-r$rep" $NODE $RUN/conv-kernels.cjs --net 64 --batch $b --inner $INNER --reps 3 --warmup 1 --layers ${ILAYERS:-D1} --json --kernels input --ours-only --input-tile $t
      done
    done
  done
  ;;
esac
case " $PARTS " in *" filtersweep "*)
  # The filter gradient beside our forward pass (same run) for each tiling in FTILES (MxNxK[wT][c][b8][v][r|q]),
  # on the layers FLAYERS (default: all), at each batch in CBSET (default: CB), the whole sweep REPEAT times (alternating tilings).
  for rep in $(seq ${REPEAT:-1}); do
    for b in ${CBSET:-$CB}; do
      for t in ${FTILES:-64x64x32}; do
        run "conv-filter-$t-b$b-r$rep" $NODE $RUN/conv-kernels.cjs --net 64 --batch $b --inner $INNER --reps 3 --warmup 1 --layers ${FLAYERS:-$LAYERS} --json --kernels filter,forward --ours-only --tile $t
      done
    done
  done
  ;;
esac
case " $PARTS " in *" adapter "*)
  # The adapter's WebGPU features and limits (shader-f16, subgroups, subgroup matrices).
  run adapter $NODE $RUN/adapter.cjs
  ;;
esac
case " $PARTS " in *" train "*)
  for b in $B64 $B256; do
    for k in ${KSET:-0 1}; do
      for f in ${FASTSET:-1}; do
        GAN_AUGMENT_FAST_DISPATCH=$f GAN_AUGMENT_WGSL_KERNELS=$k run "train-dcgan64-b$b-kernels-$k-fast-$f" $NODE $RUN/train.cjs --model dcgan --resolution 64 --batch $b --backend webgpu --steps $STEPS --warmup $WARM --json
      done
    done
    # The same with tfjs submitting a command buffer every 64 dispatches instead of 15 (SUBMIT64=1).
    [ -n "${SUBMIT64:-}" ] && GAN_AUGMENT_TFJS_FLAGS=WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=64 run "train-dcgan64-b$b-kernels-1-submit64" $NODE $RUN/train.cjs --model dcgan --resolution 64 --batch $b --backend webgpu --steps $STEPS --warmup $WARM --json
  done
  ;;
esac
case " $PARTS " in *" cpu "*)
  # Training on the processor (WebAssembly, our threaded module) beside PyTorch on the CPU, at each thread
  # count in THREADSET (default "2 4 8"; ours stops at 8): DCGAN-32 batch 16 and the cWGAN-GP 32.
  for t in ${THREADSET:-2 4 8}; do
    GAN_AUGMENT_WASM_THREADS=$t run "cpu-dcgan32-b16-wasm-t$t" $NODE $RUN/train-cpu.cjs --model dcgan --resolution 32 --batch 16 --backend wasm --steps ${CSTEPS:-5} --warmup 1 --json
    GAN_AUGMENT_WASM_THREADS=$t run "cpu-cwgangp32-b16-wasm-t$t" $NODE $RUN/train-cpu.cjs --model cwgan-gp --resolution 32 --batch 16 --classes 8 --backend wasm --steps ${CWSTEPS:-2} --warmup 1 --json
    if $PY -c 'import torch' 2>/dev/null; then
      OMP_NUM_THREADS=$t run "cpu-torch-dcgan32-b16-t$t" $PY $K/torch_dcgan.py 32 16 cpu 20
      OMP_NUM_THREADS=$t run "cpu-torch-cwgangp32-b16-t$t" $PY $K/torch_cwgan_gp.py 32 16 cpu 5 8
    fi
  done
  ;;
esac
case " $PARTS " in *" slicecpu "*)
  # The processor's threads, alternated twice at each thread count in THREADSET (default "8"), DCGAN-64
  # batch 16: as before 2026-11-28 (only phaseRows in slices, our kernels on the module's threads:
  # "old"), every helper in slices on every thread (GAN_AUGMENT_WASM_SLICE_HELPERS=all), our kernels on
  # KTHREADS threads (GAN_AUGMENT_WASM_KERNEL_THREADS, default 16: beyond Emscripten's 8), both, and
  # today's defaults, nothing set (the module on one thread per processor up to 8, every helper sliced
  # (since 2026-11-28 afternoon also batch norm's passes, the column sums and transposes), our kernels on one thread per processor up to 16 where the module stops at 8; a
  # thread count set on purpose holds for our kernels too, so "default" sets none).
  for t in ${THREADSET:-8}; do
    for round in 1 2; do
      for mode in old helpers kernels both default; do
        helpers=some; kernels=$t; threads=$t
        case $mode in helpers) helpers=all ;; kernels) kernels=${KTHREADS:-16} ;; both) helpers=all; kernels=${KTHREADS:-16} ;; default) helpers=""; kernels=""; threads="" ;; esac
        GAN_AUGMENT_WASM_SLICE_HELPERS=$helpers GAN_AUGMENT_WASM_KERNEL_THREADS=$kernels GAN_AUGMENT_WASM_THREADS=$threads run "slicecpu-dcgan64-b16-t$t-$mode-r$round" $NODE $RUN/train-cpu.cjs --model dcgan --resolution 64 --batch 16 --backend wasm --steps ${SSTEPS:-8} --warmup 2 --json
      done
    done
  done
  ;;
esac
case " $PARTS " in *" slicehelpers "*)
  # bench/slice-helpers.bench.ts: each pair A/B of SLICEPAIRS (MEMORY_KIB:COMPUTE_KIB, default: the sizes
  # before 2026-11-28 evening against today's defaults, today's against all from 1 MB, and against all
  # from 256 KB), steps alternated in one process, every helper's time per step under each, at each
  # thread count of THREADSET (default "16"; our kernels on as many), DCGAN-32 and DCGAN-64 at batch 16
  # and the cWGAN-GP 32 (SLICERES, SLICEMODELS).
  for t in ${THREADSET:-16}; do
    for pair in ${SLICEPAIRS:-8192:8192/8192:1024 8192:1024/1024:1024 8192:1024/256:256}; do
      for model in ${SLICEMODELS:-dcgan cwgan-gp}; do
        for res in ${SLICERES:-32 64}; do
          [ "$model" = cwgan-gp ] && [ "$res" != 32 ] && continue
          GAN_AUGMENT_WASM_THREADS=$t GAN_AUGMENT_WASM_KERNEL_THREADS=$t run "slicehelpers-$model$res-b16-t$t-${pair//[:\/]/_}" $NODE $RUN/slice-helpers.cjs --model $model --resolution $res --batch 16 \
            --a "${pair%/*}" --b "${pair#*/}" --rounds ${SROUNDS:-20} --warmup 4 --json
        done
      done
    done
  done
  ;;
esac
case " $PARTS " in *" switchab "*)
  # bench/switch-ab.bench.ts: whole steps alternated one by one in one process between each switch of
  # SWITCHES (default: GAN_AUGMENT_WASM_WINOGRAD_SCATTER, the input gradient as the forward pass's
  # Winograd transposed, off and on; and GAN_AUGMENT_WASM_SPIN_US, the calling thread's spin before it
  # sleeps, 0 and 200 us) A and B, each NAME (off and on) or NAME=A/B, at each thread count of THREADSET
  # (default "16"; our kernels on as many): DCGAN-32 and DCGAN-64 at batch 16, DCGAN-64 at batch 64 and
  # the cWGAN-GP 32 (XRES, XROUNDS).
  for t in ${THREADSET:-16}; do
    for spec in ${SWITCHES:-GAN_AUGMENT_WASM_WINOGRAD_SCATTER GAN_AUGMENT_WASM_SPIN_US=0/200}; do
      sw=${spec%%=*}
      values=off/on
      [ "$spec" != "$sw" ] && values=${spec#*=}
      for cfg in ${XCONFIGS:-dcgan:32:16 dcgan:64:16 dcgan:64:64 cwgan-gp:32:16}; do
        IFS=: read -r model res batch <<<"$cfg"
        [ -n "${XRES:-}" ] && [ "$res" != "$XRES" ] && continue
        GAN_AUGMENT_WASM_THREADS=$t GAN_AUGMENT_WASM_KERNEL_THREADS=$t run "switchab-$sw-$model$res-b$batch-t$t" $NODE $RUN/switch-ab.cjs --switch $sw \
          --a "${values%/*}" --b "${values#*/}" --model $model --resolution $res --batch $batch --backend wasm --rounds ${XROUNDS:-20} --warmup 4
      done
    done
  done
  ;;
esac
case " $PARTS " in *" winocpu "*)
  # Winograd on the processor (GAN_AUGMENT_WASM_WINOGRAD off, 2: F(2x2, 2x2) only, and on: F(4x4, 2x2)
  # too; alternated twice) at each thread count in THREADSET (default "8"): DCGAN-64 at batch 16 and 64,
  # the sizes whose 4x4 stride-2 passes it takes (its gates were set on the build machine's 2 cores).
  for t in ${THREADSET:-8}; do
    for round in 1 2; do
      for wino in 0 2 1; do
        for b in ${WINOBATCHES:-16 64}; do
          GAN_AUGMENT_WASM_WINOGRAD=$wino GAN_AUGMENT_WASM_THREADS=$t run "winocpu-dcgan${WINORES:-64}-b$b-t$t-winograd-$wino-r$round" $NODE $RUN/train-cpu.cjs --model dcgan --resolution ${WINORES:-64} --batch $b --backend wasm --steps ${VSTEPS:-6} --warmup 2 --json
        done
      done
    done
  done
  ;;
esac
case " $PARTS " in *" wasmconv "*)
  # Each convolution pass on the processor (WebAssembly) at each thread count in THREADSET: our kernel
  # on its own threads, and XNNPACK's forward pass, beyond the build machine's 2 cores (issue 5: the
  # filter gradient no slower than the forward pass on any device). WCFLAGS=--alternate for medians of
  # alternated rounds.
  for t in ${THREADSET:-2 4 8}; do
    for net in 64 32; do
      GAN_AUGMENT_WASM_THREADS=$t run "wasmconv-$net-t$t" $NODE $RUN/wasm-conv.cjs --net $net --batch ${WCB:-16} --reps ${WCREPS:-5} --warmup ${WCWARM:-20} ${WCFLAGS:-} --json \
        $($PY -c 'import torch' 2>/dev/null && echo "--torch --python $PY --torch-script $K/torch_conv_layers.py")
    done
  done
  ;;
esac
case " $PARTS " in *" torch "*)
  if $PY -c 'import torch' 2>/dev/null; then
    dev=$($PY -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')
    for b in $B64 $B256; do run "torch-dcgan64-b$b" $PY $K/torch_dcgan.py 64 $b $dev 50; done
    # The conditional WGAN-GP as ours runs it in the wgan part: 8 classes, n_critic 5.
    run "torch-cwgangp64-b$WB" $PY $K/torch_cwgan_gp.py 64 $WB $dev 20 8
    # cuDNN's own three passes per critic layer (the layers of bench/support.ts LAYERS_64): its filter
    # gradient as a multiple of its forward pass, beside ours in the conv part.
    for b in $B64 $B256; do run "torch-conv64-b$b" $PY $K/torch_conv_layers.py $b $dev $(nproc) 30 10 "$LAYERS64_JSON"; done
  else
    echo "no PyTorch here"
  fi
  ;;
esac
case " $PARTS " in *" profile "*)
  # Where a step's time goes, per kernel (WebGPU timestamp queries).
  run profile-dcgan64-b$B256 $NODE $RUN/profile-step.cjs --model dcgan --resolution 64 --batch $B256 --steps 3 --warmup $WARM
  run profile-dcgan64-b$B64 $NODE $RUN/profile-step.cjs --model dcgan --resolution 64 --batch $B64 --steps 3 --warmup $WARM
  run profile-cwgangp64-b$WB $NODE $RUN/profile-step.cjs --model cwgan-gp --resolution 64 --batch $WB --steps 2 --warmup 1
  ;;
esac
case " $PARTS " in *" overhead "*)
  # The CPU-side cost of one tfjs op, a batch upload and one fused-Adam update.
  run dispatch-overhead $NODE $RUN/dispatch-overhead.cjs --ops 2000
  ;;
esac
case " $PARTS " in *" cpuprof "*)
  # A V8 CPU profile of DCGAN-64 training steps (where the CPU side of a step goes), into $OUT.
  run cpuprof-dcgan64-b$B64 $NODE --cpu-prof --cpu-prof-dir="$OUT" --cpu-prof-name=dcgan64-b$B64.cpuprofile $RUN/train.cjs --model dcgan --resolution 64 --batch $B64 --backend webgpu --steps 30 --warmup $WARM --json
  ;;
esac
case " $PARTS " in *" cpuprofwgan "*)
  # The same for the conditional WGAN-GP (its step was bound by enqueueing on the H100, run 11).
  run cpuprof-cwgangp64-b$WB $NODE --cpu-prof --cpu-prof-dir="$OUT" --cpu-prof-name=cwgangp64-b$WB.cpuprofile $RUN/train.cjs --model cwgan-gp --resolution 64 --batch $WB --classes 8 --backend webgpu --steps 10 --warmup $WWARM --json
  ;;
esac
case " $PARTS " in *" abtrain "*)
  # The earlier commit (train-base.cjs) and this one, alternated REPEAT times (default 2), same GPU and minutes.
  if [ -f $RUN/train-base.cjs ]; then
    for rep in $(seq ${REPEAT:-2}); do
      for v in base this; do
        f=$RUN/train.cjs
        [ $v = base ] && f=$RUN/train-base.cjs
        # --read-every 0: only the last timed step reads back, as every build before 2026-11-28 did
        # (an earlier build ignores the flag).
        for b in $B64 $B256; do run "ab-$v-$rep-dcgan64-b$b" $NODE $f --model dcgan --resolution 64 --batch $b --backend webgpu --steps $STEPS --warmup $WARM --read-every 0 --json; done
        run "ab-$v-$rep-cwgangp64-b$WB" $NODE $f --model cwgan-gp --resolution 64 --batch $WB --classes 8 --backend webgpu --steps $WSTEPS --warmup $WWARM --read-every 0 --json
      done
    done
  else
    echo "no train-base.cjs (make-kit.sh with BASE=)"
  fi
  ;;
esac
case " $PARTS " in *" readevery "*)
  # How often the timed steps read their losses back (READSET, default "0 1 4": only the last step,
  # every step as PyTorch's reference does, every 4th as the app does on a GPU), alternated REPEAT
  # times (default 2): DCGAN-64 at B64 and B256, the cWGAN-GP 64 at WB.
  for rep in $(seq ${REPEAT:-2}); do
    for r in ${READSET:-0 1 4}; do
      for b in $B64 $B256; do
        run "read-$r-dcgan64-b$b-r$rep" $NODE $RUN/train.cjs --model dcgan --resolution 64 --batch $b --backend webgpu --steps $STEPS --warmup $WARM --read-every $r --json
      done
      run "read-$r-cwgangp64-b$WB-r$rep" $NODE $RUN/train.cjs --model cwgan-gp --resolution 64 --batch $WB --classes 8 --backend webgpu --steps $WSTEPS --warmup $WWARM --read-every $r --json
    done
  done
  ;;
esac
case " $PARTS " in *" toggles "*)
  # Each switch of TOGGLES (default: GAN_AUGMENT_IN_PLACE, in-place updates of ours (Adam's variables
  # and beta powers, batch norm's moving averages) or tfjs's programs; GAN_AUGMENT_LOSS_PROGRAMS, the
  # losses as our programs or tfjs's ops; also GAN_AUGMENT_MASKED_CONV_GRADS, the convolution gradients
  # reading dy through the LeakyReLU's mask or the mask a program of its own)
  # off (0) and on (1), alternated REPEAT times (default 2): DCGAN-64 at B64 and B256, the cWGAN-GP 64
  # at WB. Steps bound by the processor's enqueueing should show them most.
  for t in ${TOGGLES:-GAN_AUGMENT_IN_PLACE GAN_AUGMENT_LOSS_PROGRAMS}; do
    short=$(echo "${t#GAN_AUGMENT_}" | tr 'A-Z_' 'a-z-')
    for rep in $(seq ${REPEAT:-2}); do
      for a in 0 1; do
        export "$t=$a"
        for b in $B64 $B256; do
          run "$short-$a-dcgan64-b$b-r$rep" $NODE $RUN/train.cjs --model dcgan --resolution 64 --batch $b --backend webgpu --steps $STEPS --warmup $WARM --json
        done
        run "$short-$a-cwgangp64-b$WB-r$rep" $NODE $RUN/train.cjs --model cwgan-gp --resolution 64 --batch $WB --classes 8 --backend webgpu --steps $WSTEPS --warmup $WWARM --json
        unset "$t"
      done
    done
  done
  ;;
esac
case " $PARTS " in *" wgan "*)
  # SUBMITSET: tfjs's WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE values compared (default: tfjs's own, 15);
  # REPEAT: the whole set that many times, alternating.
  for rep in $(seq ${REPEAT:-1}); do
    for k in ${KSET:-0 1}; do
      for f in ${FASTSET:-1}; do
        for l in ${LAZYSET:-1}; do
          for sb in ${SUBMITSET:-15}; do
            GAN_AUGMENT_TFJS_FLAGS=WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=$sb GAN_AUGMENT_LAZY_GRADIENTS=$l GAN_AUGMENT_FAST_DISPATCH=$f GAN_AUGMENT_WGSL_KERNELS=$k run "train-cwgangp64-b$WB-kernels-$k-fast-$f-lazy-$l-submit-$sb-r$rep" $NODE $RUN/train.cjs --model cwgan-gp --resolution 64 --batch $WB --classes 8 --backend webgpu --steps $WSTEPS --warmup $WWARM --json
          done
        done
      done
    done
  done
  ;;
esac
echo "== done $(date -u +%FT%TZ)"
