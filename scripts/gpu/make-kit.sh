#!/usr/bin/env bash
# Builds .gpu/, what an NVIDIA machine without network needs to run our training and kernel
# benchmarks beside the PyTorch reference (docs/PERFORMANCE.md, "How to measure"; issue 5):
#   .gpu/node.xz               this machine's Node binary (links only glibc and libstdc++)
#   .gpu/bench/*.cjs           bench/train.bench.ts and bench/conv-kernels.bench.ts bundled with tfjs
#   .gpu/bench/node_modules/webgpu   the `webgpu` package with only its linux-x64 dawn.node (xz)
#   .gpu/bench/train-cpu.cjs   the training benchmark with tfjs-backend-wasm bundled in (its threaded module's
#                              files beside it in node_modules/@tensorflow/tfjs-backend-wasm): the cpu part
#   .gpu/bench/wasm-conv.cjs   bench/wasm-conv.bench.ts the same way: the wasmconv part
#   .gpu/bench/slice-helpers.cjs  bench/slice-helpers.bench.ts the same way: the slicehelpers part
#   .gpu/bench/switch-ab.cjs   bench/switch-ab.bench.ts the same way: the switchab part
#   (.gpu/bench/adapter.cjs and dispatch-overhead.cjs, for the adapter and overhead parts, only with
#   KIT_ALL=1: with them the kit passed the 64 MiB a run carries)
#   .gpu/torch_dcgan.py        the PyTorch reference DCGAN (../shared/bench)
#   .gpu/torch_cwgan_gp.py     the PyTorch reference conditional WGAN-GP (bench/)
#   .gpu/torch_conv_layers.py  PyTorch's own convolution passes per layer (bench/): the torch part, and wasmconv's --torch
#   .gl/*.deb                  libvulkan1 and the glvnd libraries Dawn needs (device README)
#   .gpu/bench/train-base.cjs  with BASE=<a worktree of an earlier commit, its node_modules installed>:
#                              that commit's training benchmark, for the abtrain part's A/B in one run
# .gpu/ and .gl/ are ignored through .git/info/exclude; the device tool carries them.
# Then, on the GPU machine: bash scripts/gpu/run-bench.sh (see there).
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qx '/.gpu/' .git/info/exclude || echo /.gpu/ >>.git/info/exclude
grep -qx '/.gl/' .git/info/exclude || echo /.gl/ >>.git/info/exclude
mkdir -p .gpu/bench/node_modules/webgpu/dist/linux-x64
if [ ! -s .gpu/node.xz ]; then xz -T0 -6 -c "$(command -v node)" >.gpu/node.xz; fi
# bundle SOURCE OUTFILE [more esbuild flags]: a benchmark with tfjs, for Node 20, without sharp.
bundle() {
  npx esbuild "$1" --bundle --platform=node --format=cjs --target=node20 \
    --external:webgpu --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
    --alias:sharp=./scripts/gpu/no-sharp.cjs --log-level=warning --outfile="$2" "${@:3}"
}
rm -f .gpu/bench/adapter.cjs .gpu/bench/dispatch-overhead.cjs
for b in train conv-kernels profile-step ${KIT_ALL:+dispatch-overhead adapter}; do
  bundle "bench/$b.bench.ts" ".gpu/bench/$b.cjs" --external:@tensorflow/tfjs-backend-wasm
done
# The WebAssembly backend shares tfjs-core with the bundle, so it is bundled in; its threaded module's
# files are read from the package folder (src/worker/backends/wasm/threads.ts).
bundle bench/train.bench.ts .gpu/bench/train-cpu.cjs
bundle bench/wasm-conv.bench.ts .gpu/bench/wasm-conv.cjs
bundle bench/slice-helpers.bench.ts .gpu/bench/slice-helpers.cjs
bundle bench/switch-ab.bench.ts .gpu/bench/switch-ab.cjs
wp=node_modules/@tensorflow/tfjs-backend-wasm
wk=.gpu/bench/node_modules/@tensorflow/tfjs-backend-wasm
mkdir -p $wk/dist $wk/wasm-out
cp $wp/package.json $wk/
cp $wp/dist/*.wasm $wk/dist/
cp $wp/wasm-out/tfjs-backend-wasm-threaded-simd.js $wp/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js $wk/wasm-out/
cp $wp/dist/tfjs-backend-wasm-simd.wasm .gpu/bench/ # tfjs's own single-threaded start looks beside the bundle
rm -f .gpu/bench/train-base.cjs
if [ -n "${BASE:-}" ]; then
  out=$PWD/.gpu/bench/train-base.cjs
  (cd "$BASE" && bundle bench/train.bench.ts "$out" --external:@tensorflow/tfjs-backend-wasm)
  echo "train-base.cjs from $(git -C "$BASE" rev-parse --short HEAD)"
fi
w=node_modules/webgpu
cp $w/package.json $w/index.js .gpu/bench/node_modules/webgpu/
if [ ! -s .gpu/bench/node_modules/webgpu/dist/linux-x64/dawn.node.xz ]; then
  xz -T0 -6 -c $w/dist/linux-x64/dawn.node >.gpu/bench/node_modules/webgpu/dist/linux-x64/dawn.node.xz
fi
cp ../shared/bench/torch_dcgan.py .gpu/torch_dcgan.py
cp bench/torch_cwgan_gp.py .gpu/torch_cwgan_gp.py
cp bench/torch_conv_layers.py .gpu/torch_conv_layers.py
if ! ls .gl/*.deb >/dev/null 2>&1; then
  mkdir -p .gl /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update -qq
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
du -sh .gpu .gl
# The device tool carries at most 64 MiB: the tracked files, untracked ones not ignored, and .gpu and .gl.
total=$(( $(git ls-files -z --cached --others --exclude-standard | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1) + $(du -sb .gpu .gl | awk '{s += $1} END {print s}') ))
echo "what a run carries: $((total / 1048576)) MiB of 64"
[ "$total" -lt $((64 * 1048576)) ] || { echo "too large for the device tool: build without BASE, or carry less" >&2; exit 1; }
