/**
 * Convolution kernel benchmark (not a test): tfjs-backend-webgpu's Conv2DBackpropFilter vs ours
 * (src/worker/backends/kernels/conv2d-backprop-filter.ts) on the DCGAN-32 layers, with the forward
 * conv2d of the same layer for scale. One JSON line per layer (--json) or a readable line.
 *
 *   npx tsx bench/conv-kernels.bench.ts [--batch 16] [--reps 3] [--warmup 1] [--layers D1,D2,D3]
 *     [--tile 32x32x16] [--json]
 *
 * Times are the best of --reps single calls after --warmup calls, each synchronised with
 * `await data()` (so they include one GPU->CPU read of the small filter gradient). The generator's
 * transposed convolutions have the same three filter-gradient shapes (x and dy swap roles).
 */
import { initBackend } from '../src/worker/backends';
import { tf } from '../src/worker/backends/tf';
import {
  DEFAULT_TILING,
  planFilterGrad,
  registerOurKernels,
  runFilterGrad,
  unregisterOurKernels,
  type FilterGradAttrs,
  type FilterGradTiling,
  type WebGpuBackendLike,
} from '../src/worker/backends/kernels/conv2d-backprop-filter';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length && !process.argv[i + 1]!.startsWith('--')) return process.argv[i + 1]!;
  return fallback;
}

interface Layer {
  name: string;
  /** [H, W, CI] of the conv input. */
  input: [number, number, number];
  co: number;
  k: number;
  stride: number;
}

/** DCGAN-32 (default preset): the critic's three k4 s2 'same' convolutions. */
const LAYERS: Layer[] = [
  { name: 'D1 32x32x3->16x16x64 (= G3 filter grad)', input: [32, 32, 3], co: 64, k: 4, stride: 2 },
  { name: 'D2 16x16x64->8x8x128 (= G2)', input: [16, 16, 64], co: 128, k: 4, stride: 2 },
  { name: 'D3 8x8x128->4x4x256 (= G1)', input: [8, 8, 128], co: 256, k: 4, stride: 2 },
];

async function timeBest(reps: number, warmup: number, f: () => tf.Tensor): Promise<number> {
  for (let i = 0; i < warmup; i++) {
    const t = f();
    await t.data();
    t.dispose();
  }
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const t = f();
    await t.data();
    best = Math.min(best, performance.now() - t0);
    t.dispose();
  }
  return best;
}

function parseTile(s: string): FilterGradTiling {
  const [m, n, k] = s.split('x').map(Number);
  if (!m || !n || !k) throw new Error('--tile MxNxK, e.g. 32x32x16');
  return { ...DEFAULT_TILING, tileM: m, tileN: n, tileK: k };
}

async function main(): Promise<void> {
  const batch = Number(arg('batch', '16'));
  const reps = Number(arg('reps', '3'));
  const warmup = Number(arg('warmup', '1'));
  const which = arg('layers', 'D1,D2,D3').split(',');
  const tileArg = arg('tile', '');
  const tiling = tileArg ? parseTile(tileArg) : DEFAULT_TILING;
  const json = process.argv.includes('--json');
  const skipTfjs = process.argv.includes('--ours-only');

  const backend = await initBackend('webgpu');
  const be = tf.backend() as unknown as WebGpuBackendLike;
  const [load1, load5] = (await import('node:os')).loadavg();

  for (const layer of LAYERS.filter((l) => which.some((w) => l.name.startsWith(w)))) {
    const [H, W, CI] = layer.input;
    const xShape: [number, number, number, number] = [batch, H, W, CI];
    const filterShape: [number, number, number, number] = [layer.k, layer.k, CI, layer.co];
    const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, layer.stride, 1, 'same');
    const dyShape: [number, number, number, number] = [batch, info.outHeight, info.outWidth, layer.co];
    const x = tf.randomNormal(xShape, 0, 1, 'float32', 1) as tf.Tensor4D;
    const dy = tf.randomNormal(dyShape, 0, 1, 'float32', 2) as tf.Tensor4D;
    const w = tf.randomNormal(filterShape, 0, 1, 'float32', 3) as tf.Tensor4D;
    const attrs: FilterGradAttrs = { strides: [layer.stride, layer.stride], pad: 'same', dataFormat: 'NHWC', filterShape };
    const runKernel = () =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;

    unregisterOurKernels();
    const tfjsMs = skipTfjs ? NaN : await timeBest(reps, warmup, runKernel);
    const forwardMs = skipTfjs ? NaN : await timeBest(reps, warmup, () => tf.conv2d(x, w, layer.stride, 'same'));
    const oursMs = await timeBest(reps, warmup, () =>
      tf.engine().makeTensorFromTensorInfo(runFilterGrad(be, x, dy, attrs, tiling)!),
    );
    // Agreement of the two on this layer (max abs difference relative to the max magnitude).
    let relDiff: number | undefined;
    if (!skipTfjs) {
      const a = runKernel();
      registerOurKernels({ force: true });
      const b = runKernel();
      unregisterOurKernels();
      const [ad, bd] = [await a.data(), await b.data()];
      let d = 0;
      let mx = 0;
      for (let i = 0; i < ad.length; i++) {
        d = Math.max(d, Math.abs(ad[i]! - bd[i]!));
        mx = Math.max(mx, Math.abs(ad[i]!));
      }
      relDiff = d / mx;
      a.dispose();
      b.dispose();
    }
    const geo = planFilterGrad(info, tiling);
    const flop = 2 * geo.M * geo.N * geo.K;
    const gflops = (ms: number) => Math.round((flop / (ms * 1e6)) * 100) / 100;
    const result = {
      bench: 'conv2d-backprop-filter',
      layer: layer.name,
      batch,
      x: xShape,
      dy: dyShape,
      filter: filterShape,
      gemm: { M: geo.M, N: geo.N, K: geo.K, splits: geo.splits, tile: `${tiling.tileM}x${tiling.tileN}x${tiling.tileK}` },
      gflop: Math.round(flop / 1e6) / 1000,
      tfjsMs: Math.round(tfjsMs * 10) / 10,
      oursMs: Math.round(oursMs * 10) / 10,
      forwardMs: Math.round(forwardMs * 10) / 10,
      tfjsGflops: gflops(tfjsMs),
      oursGflops: gflops(oursMs),
      speedup: Math.round((tfjsMs / oursMs) * 100) / 100,
      oursVsForward: Math.round((oursMs / forwardMs) * 100) / 100,
      maxRelDiff: relDiff,
      reps,
      warmup,
      device: backend.device,
      loadavg: [Math.round(load1! * 100) / 100, Math.round(load5! * 100) / 100],
      date: new Date().toISOString(),
    };
    if (json) console.log(JSON.stringify(result));
    else
      console.log(
        `${layer.name} b${batch}: tfjs ${result.tfjsMs} ms (${result.tfjsGflops} GFLOP/s), ours ${result.oursMs} ms ` +
          `(${result.oursGflops} GFLOP/s), ${result.speedup}x; forward ${result.forwardMs} ms; splits ${geo.splits}; ` +
          `max rel diff ${relDiff?.toExponential(2)}`,
      );
    x.dispose();
    dy.dispose();
    w.dispose();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
