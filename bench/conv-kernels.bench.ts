/**
 * Convolution kernel benchmark (not a test): tfjs-backend-webgpu's Conv2DBackpropFilter,
 * Conv2DBackpropInput, Conv2D ('forward') and FusedConv2D with bias + leakyrelu ('fused') vs ours (src/worker/backends/kernels/) on the DCGAN-32 layers, with the forward
 * conv2d of the same layer for scale. One JSON line per layer and kernel (--json) or a readable line.
 *
 *   npx tsx bench/conv-kernels.bench.ts [--net 32|64] [--batch 16] [--reps 3] [--warmup 1] [--inner 1]
 *     [--layers D1,D2,D3] [--kernels filter,input] [--tile 32x32x16] [--input-tile 64x64x32|direct|block2] [--json]
 *     [--ours-only] [--forward-tile 64x64x32] [--read probe|full]
 *
 * oursKernelMs is one call's GPU time alone (WebGPU timestamp queries, best of --reps; null without
 * them): where it is far below oursMs, the CPU side or allocation, not the kernel, sets the pace.
 * Times are the best of --reps runs of --inner back-to-back calls after --warmup calls, each run
 * synchronised by reading back one value of its last result (--read full: the whole result, as
 * before 2026-11-26 18:20 UTC, which counts its GPU->CPU copy, spread over --inner calls). --net 64 takes the DCGAN-64 layers (D2 there is issue 5's 32x32x64 ->
 * 16x16x128 layer). The generator's transposed
 * convolutions have the same three filter-gradient shapes (x and dy swap roles), and their forward
 * pass is the input gradient of the same three shapes (D1's input gradient = G3's forward, etc.).
 * GFLOP/s count the useful multiply-adds (2 * B * OH * OW * CO * KH * KW * CI, as the forward pass).
 * --kernels forward,fused are not in the default list (add them); --forward-tile fixes our forward
 * tiling (else chooseForwardTiling per layer), e.g. to sweep tiles on a GPU.
 */
import { arg, convLayerFlop, LAYERS_32, LAYERS_64, runBench } from './support';
import { initBackend } from '../src/worker/backends';
import { tf } from '../src/worker/backends/tf';
import {
  DEFAULT_TILING,
  kernelTilingFor,
  planFilterGrad,
  runFilterGrad,
  type FilterGradAttrs,
  type FilterGradTiling,
} from '../src/worker/backends/kernels/conv2d-backprop-filter';
import {
  chooseDirectTiling,
  chooseInputTiling,
  DIRECT_MAX_CHANNELS,
  NARROW_INPUT_TILING,
  type DirectBlockTiling,
  planInputGrad,
  runInputGrad,
  coalescedLoads,
  type InputGradAttrs,
  type InputGradTiling,
} from '../src/worker/backends/kernels/conv2d-backprop-input';
import {
  chooseForwardTiling,
  planForward,
  runForward,
  type ForwardAttrs,
  type ForwardInputs,
  type ForwardTiling,
} from '../src/worker/backends/kernels/conv2d-forward';
import { registerOurKernels, unregisterOurKernels } from '../src/worker/backends/kernels';
import type { WebGpuBackendLike } from '../src/worker/backends/kernels/common';

/**
 * Waits for `t` (and so for all work queued before it) by reading back one value of it: a one-element
 * slice, so that the read-back of a large result (67 MB for D1's forward pass at batch 256) is not
 * counted. Before 2026-11-26 18:20 UTC the whole result was read (`--read full` does that again): on
 * the GPU that added up to a few tenths of a millisecond per call to the passes with large outputs.
 */
async function settle(t: tf.Tensor, read: 'probe' | 'full'): Promise<void> {
  if (read === 'full') {
    await t.data();
    return;
  }
  const probe = tf.tidy(() => tf.slice(tf.reshape(t, [-1]), [0], [1])); // the reshape is let go too
  await probe.data();
  probe.dispose();
}

/**
 * Best of `reps` timings of `inner` back-to-back calls (only the last is waited for, which waits for
 * the whole queue), divided by `inner`: on a real GPU one call can take less than a GPU->CPU read, so
 * --inner 10 or more there.
 */
async function timeBest(reps: number, warmup: number, f: () => tf.Tensor, inner = 1, read: 'probe' | 'full' = 'probe'): Promise<number> {
  for (let i = 0; i < warmup; i++) {
    const t = f();
    await settle(t, read);
    t.dispose();
  }
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    for (let j = 0; j < inner - 1; j++) f().dispose();
    const t = f();
    await settle(t, read);
    best = Math.min(best, (performance.now() - t0) / inner);
    t.dispose();
  }
  return best;
}

/**
 * The GPU time of one call, from WebGPU timestamp queries (tf.time's kernelMs): best of `reps`. Unlike
 * timeBest it leaves out what the CPU does around a call (buffer allocation, enqueueing, the read-back).
 * NaN where the adapter has no timestamp queries.
 */
async function kernelMsBest(reps: number, f: () => tf.Tensor): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const info = await tf.time(() => f().dispose());
    const ms = (info as { kernelMs: unknown }).kernelMs;
    if (typeof ms !== 'number') return NaN;
    best = Math.min(best, ms);
  }
  return best;
}

/**
 * MxNxK, e.g. 32x32x16; then optionally wT (the filter gradient aims for T workgroups in all, tiles
 * times K splits: e.g. 64x64x32w1024), a trailing 's' (the input gradient's strided first loads),
 * 'c' (the filter gradient's x gather walked by carrying adds, `carryK`), 'b8' (the filter
 * gradient's 8 x 8 outputs per thread, `threadBlock`), 'v' (the filter gradient's x and dy read as
 * vec4 where the channels allow, `vecLoads`), 'p' (the next K tile's loads issued before this tile's
 * multiply-adds, `prefetch`) and 'r' or 'q' (its K splits added by a tree or serially, `splitSum`; else serial).
 */
function parseTile(s: string): FilterGradTiling & { coalesced?: boolean } {
  const match = /^(\d+)x(\d+)x(\d+)(?:w(\d+))?(s?)(c?)(b8)?(v?)(p?)([rq]?)$/.exec(s);
  if (!match) throw new Error('--tile MxNxK[wT][s][c][b8][v][p][r|q], e.g. 32x32x16, 64x64x32w1024, 64x64x16w512c or 128x128x16w512b8');
  const [m, n, k, w] = match.slice(1, 5).map(Number);
  return {
    ...DEFAULT_TILING,
    tileM: m!,
    tileN: n!,
    tileK: k!,
    ...(w ? { targetWorkgroups: w } : {}),
    ...(match[5] ? { coalesced: false } : {}),
    ...(match[6] ? { carryK: true } : {}),
    ...(match[7] ? { threadBlock: 8 as const } : {}),
    ...(match[8] ? { vecLoads: true } : {}),
    ...(match[9] ? { prefetch: true } : {}),
    ...(match[10] ? { splitSum: match[10] === 'r' ? ('tree' as const) : ('serial' as const) } : {}),
  };
}

/**
 * The input gradient's tiling: a GEMM tile (parseTile), 'direct' (the one-pixel-per-thread direct
 * program) or 'blockN' (the stride-block direct program, N = 1, 2 or 4 blocks per thread).
 */
function parseInputTile(s: string): InputGradTiling | 'direct' | DirectBlockTiling {
  if (s === 'direct') return s;
  const block = /^block([124])$/.exec(s);
  if (block) return { blocksW: Number(block[1]) as 1 | 2 | 4 };
  return parseTile(s);
}

/** Max abs difference of two tensors relative to the first's max magnitude; disposes both. */
async function relDiffOf(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const [ad, bd] = [await a.data(), await b.data()];
  let d = 0;
  let mx = 0;
  for (let i = 0; i < ad.length; i++) {
    d = Math.max(d, Math.abs(ad[i]! - bd[i]!));
    mx = Math.max(mx, Math.abs(ad[i]!));
  }
  a.dispose();
  b.dispose();
  return d / mx;
}

async function main(): Promise<void> {
  const batch = Number(arg('batch', '16'));
  const reps = Number(arg('reps', '3'));
  const warmup = Number(arg('warmup', '1'));
  const net = arg('net', '32');
  if (net !== '32' && net !== '64') throw new Error('--net must be 32 or 64');
  const layers = net === '64' ? LAYERS_64 : LAYERS_32;
  const inner = Number(arg('inner', '1'));
  const read = arg('read', 'probe') === 'full' ? 'full' : 'probe';
  const which = arg('layers', layers.map((l) => l.name.split(' ')[0]).join(',')).split(',');
  const kernels = arg('kernels', 'filter,input').split(',');
  const tileArg = arg('tile', '');
  const tilingArg = tileArg ? parseTile(tileArg) : null;
  const inputTileArg = arg('input-tile', '');
  const inputTiling = inputTileArg ? parseInputTile(inputTileArg) : undefined;
  const forwardTileArg = arg('forward-tile', '');
  const forwardTiling: ForwardTiling | undefined = forwardTileArg ? parseTile(forwardTileArg) : undefined;
  const json = process.argv.includes('--json');
  const skipTfjs = process.argv.includes('--ours-only');

  const backend = await initBackend('webgpu');
  // Without --tile: the tiling the registered kernel uses on this adapter, for each layer.
  const filterTiling = (m: number, n: number, k: number) => tilingArg ?? kernelTilingFor({ m, n, k });
  const be = tf.backend() as unknown as WebGpuBackendLike;
  const os = await import('node:os');
  const loadavg = () => os.loadavg().slice(0, 2).map((v) => Math.round(v * 100) / 100);
  const round3 = (v: number) => Math.round(v * 1000) / 1000;
  const round2 = (v: number) => Math.round(v * 100) / 100;

  for (const layer of layers.filter((l) => which.some((w) => l.name.startsWith(`${w} `)))) {
    const [H, W, CI] = layer.input;
    const xShape: [number, number, number, number] = [batch, H, W, CI];
    const filterShape: [number, number, number, number] = [layer.k, layer.k, CI, layer.co];
    const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, layer.stride, 1, 'same');
    const dyShape: [number, number, number, number] = [batch, info.outHeight, info.outWidth, layer.co];
    const x = tf.randomNormal(xShape, 0, 1, 'float32', 1) as tf.Tensor4D;
    const dy = tf.randomNormal(dyShape, 0, 1, 'float32', 2) as tf.Tensor4D;
    const w = tf.randomNormal(filterShape, 0, 1, 'float32', 3) as tf.Tensor4D;
    // Useful multiply-adds, the same for the three passes.
    const flop = convLayerFlop(layer, batch);
    const gflops = (ms: number) => round2(flop / (ms * 1e6));
    unregisterOurKernels();
    const forwardMs = skipTfjs ? NaN : await timeBest(reps, warmup, () => tf.conv2d(x, w, layer.stride, 'same'), inner, read);

    /** tfjs's kernel vs ours through the same runKernel call (ours installed with `only`). */
    const compare = async (kernelName: string, inputs: tf.NamedTensorMap, attrs: object, ours: () => tf.Tensor) => {
      const runKernel = () => tf.engine().runKernel(kernelName, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
      unregisterOurKernels();
      const tfjsMs = skipTfjs ? NaN : await timeBest(reps, warmup, runKernel, inner, read);
      const oursMs = await timeBest(reps, warmup, ours, inner, read);
      const oursKernelMs = await kernelMsBest(reps, ours);
      let relDiff: number | undefined;
      if (!skipTfjs) {
        const a = runKernel();
        registerOurKernels({ force: true, only: [kernelName] });
        const b = runKernel();
        unregisterOurKernels();
        relDiff = await relDiffOf(a, b);
      }
      return { tfjsMs, oursMs, oursKernelMs, relDiff };
    };

    const report = (
      bench: string,
      gemm: Record<string, unknown>,
      r: { tfjsMs: number; oursMs: number; oursKernelMs: number; relDiff?: number },
    ) => {
      const result = {
        bench,
        layer: layer.name,
        batch,
        x: xShape,
        dy: dyShape,
        filter: filterShape,
        gemm,
        gflop: Math.round(flop / 1e6) / 1000,
        tfjsMs: round3(r.tfjsMs),
        oursMs: round3(r.oursMs),
        forwardMs: round3(forwardMs),
        forwardGflops: gflops(forwardMs),
        tfjsGflops: gflops(r.tfjsMs),
        oursGflops: gflops(r.oursMs),
        oursKernelMs: round3(r.oursKernelMs),
        oursKernelGflops: gflops(r.oursKernelMs),
        speedup: round2(r.tfjsMs / r.oursMs),
        oursVsForward: round2(r.oursMs / forwardMs),
        maxRelDiff: r.relDiff,
        reps,
        warmup,
        inner,
        read,
        device: backend.device,
        loadavg: loadavg(),
        date: new Date().toISOString(),
      };
      if (json) console.log(JSON.stringify(result));
      else
        console.log(
          `${bench} ${layer.name} b${batch}: tfjs ${result.tfjsMs} ms (${result.tfjsGflops} GFLOP/s), ours ${result.oursMs} ms ` +
            `(${result.oursGflops} GFLOP/s), ${result.speedup}x; forward ${result.forwardMs} ms; ${JSON.stringify(gemm)}; ` +
            `max rel diff ${r.relDiff?.toExponential(2)}`,
        );
    };

    if (kernels.includes('filter')) {
      const tiling = filterTiling(layer.k * layer.k * CI, layer.co, batch * info.outHeight * info.outWidth);
      const attrs: FilterGradAttrs = { strides: [layer.stride, layer.stride], pad: 'same', dataFormat: 'NHWC', filterShape };
      const r = await compare('Conv2DBackpropFilter', { x, dy }, attrs, () =>
        tf.engine().makeTensorFromTensorInfo(runFilterGrad(be, x, dy, attrs, tiling)!),
      );
      const geo = planFilterGrad(info, tiling);
      report('conv2d-backprop-filter', { M: geo.M, N: geo.N, K: geo.K, splits: geo.splits, tile: `${tiling.tileM}x${tiling.tileN}x${tiling.tileK}w${tiling.targetWorkgroups}${tiling.carryK ? 'c' : ''}${tiling.threadBlock === 8 ? 'b8' : ''}${tiling.vecLoads ? 'v' : ''}${tiling.prefetch ? 'p' : ''}${tiling.splitSum === 'tree' ? 'r' : tiling.splitSum === 'serial' ? 'q' : ''}` }, r);
    }
    if (kernels.includes('input')) {
      const attrs: InputGradAttrs = { inputShape: xShape, strides: [layer.stride, layer.stride], pad: 'same', dataFormat: 'NHWC' };
      const r = await compare('Conv2DBackpropInput', { dy, filter: w }, attrs, () =>
        tf.engine().makeTensorFromTensorInfo(runInputGrad(be, dy, w, attrs, inputTiling)!),
      );
      // Without --input-tile the registered choice runs: a direct program for at most 4 dx channels.
      const chosen = inputTiling ?? (CI <= DIRECT_MAX_CHANNELS ? chooseDirectTiling() : chooseInputTiling(CI, info.outChannels));
      const t = chosen === 'direct' || 'blocksW' in chosen ? NARROW_INPUT_TILING : chosen;
      const geo = planInputGrad(info, t);
      const p = geo.phases[0]!;
      const tile =
        chosen === 'direct'
          ? 'direct'
          : 'blocksW' in chosen
            ? `block${chosen.blocksW}`
            : `${t.tileM}x${t.tileN}x${t.tileK}${coalescedLoads(t) ? '' : 's'}${t.threadBlock === 8 ? 'b8' : ''}${t.prefetch ? 'p' : ''}`;
      report(
        'conv2d-backprop-input',
        {
          phases: geo.phases.length,
          M: p.M,
          N: geo.N,
          K: p.K,
          tfjsK: layer.k * layer.k * layer.co,
          tile,
        },
        r,
      );
    }
    for (const kind of ['forward', 'fused'] as const) {
      if (!kernels.includes(kind)) continue;
      const fused = kind === 'fused';
      const attrs: ForwardAttrs = {
        strides: [layer.stride, layer.stride],
        pad: 'same',
        dataFormat: 'NHWC',
        dilations: [1, 1],
        ...(fused ? { activation: 'leakyrelu', leakyreluAlpha: 0.2 } : {}),
      };
      const bias = tf.randomNormal([layer.co], 0, 1, 'float32', 4) as tf.Tensor1D;
      const inputs: tf.NamedTensorMap = fused ? { x, filter: w, bias } : { x, filter: w };
      const kernelName = fused ? 'FusedConv2D' : 'Conv2D';
      const r = await compare(kernelName, inputs, attrs, () =>
        tf.engine().makeTensorFromTensorInfo(runForward(be, inputs as unknown as ForwardInputs, attrs, forwardTiling)!),
      );
      const t = forwardTiling ?? chooseForwardTiling(info);
      const geo = planForward(info, t);
      report(
        fused ? 'conv2d-fused-bias-leakyrelu' : 'conv2d-forward',
        { M: geo.M, N: geo.N, K: geo.K, tile: `${t.tileM}x${t.tileN}x${t.tileK}${t.threadBlock === 8 ? 'b8' : ''}${t.prefetch ? 'p' : ''}` },
        r,
      );
      bias.dispose();
    }
    x.dispose();
    dy.dispose();
    w.dispose();
  }
}

runBench(main);
