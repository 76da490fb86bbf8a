/**
 * Our WGSL Conv2DBackpropFilter against a float64 JS reference, on WebGPU (lavapipe here, a GPU
 * elsewhere). Skipped, with the reason printed, when no WebGPU adapter exists. Its own file: the
 * tfjs backend is process-wide.
 *
 * Tolerance: max |ours - reference| <= 1e-5 * sqrt(K) * max|reference| + 1e-6 (K = B * OH * OW
 * terms per weight; fp32 summation error grows about like sqrt(K)).
 */
import { describe, expect, it } from 'vitest';
import { tf } from '../tf';
import { COMMON_CONV_CASES, caseNamed, convOutShape, expectNearReference, randomArray, readKernelOutput, webgpuSkipReason, type ConvCase } from './test-support';
import {
  DEFAULT_TILING,
  GPU_NARROW_TILING,
  GPU_TILING,
  GPU_WIDE_TILING,
  SOFTWARE_LARGE_TILING,
  SOFTWARE_NARROW_TILING,
  WIDE_MIN_K_PER_SPLIT,
  kernelTilingFor,
  planFilterGrad,
  runFilterGrad,
  type FilterGradAttrs,
  type FilterGradTiling,
} from './conv2d-backprop-filter';
import { MAX_WORKGROUP_STORAGE_BYTES, ourKernelsRequested, setSoftwareAdapter, setWorkgroupStorageLimit, type WebGpuBackendLike } from './common';
import { ourKernelsInstalled, registerOurKernels, unregisterOurKernels } from './index';
import { Prng } from '../../training/rng';

const reason = await webgpuSkipReason('WGSL Conv2DBackpropFilter tests');

type Pad = FilterGradAttrs['pad'];

type Case = ConvCase<Pad>;


/** Float64 reference, straight from the definition (tfjs's conv info gives the output size / pads). */
function reference(x: Float32Array, dy: Float32Array, c: Case): { dw: Float64Array; K: number } {
  const [B, H, W, CI] = c.x;
  const info = tf.backend_util.computeConv2DInfo(c.x, [c.k, c.k, CI, c.co], c.stride, 1, c.pad);
  const { outHeight: OH, outWidth: OW } = info;
  const { top, left } = info.padInfo;
  const CO = c.co;
  const dw = new Float64Array(c.k * c.k * CI * CO);
  for (let kh = 0; kh < c.k; kh++)
    for (let kw = 0; kw < c.k; kw++)
      for (let b = 0; b < B; b++)
        for (let oh = 0; oh < OH; oh++) {
          const ih = oh * c.stride - top + kh;
          if (ih < 0 || ih >= H) continue;
          for (let ow = 0; ow < OW; ow++) {
            const iw = ow * c.stride - left + kw;
            if (iw < 0 || iw >= W) continue;
            const xo = ((b * H + ih) * W + iw) * CI;
            const dyo = ((b * OH + oh) * OW + ow) * CO;
            for (let ci = 0; ci < CI; ci++) {
              const xv = x[xo + ci]!;
              const wo = ((kh * c.k + kw) * CI + ci) * CO;
              for (let co = 0; co < CO; co++) dw[wo + co] = dw[wo + co]! + xv * dy[dyo + co]!;
            }
          }
        }
  return { dw, K: B * OH * OW };
}

const CASES: readonly Case[] = COMMON_CONV_CASES;

async function runOurs(c: Case, x: tf.Tensor4D, dy: tf.Tensor4D, tiling?: FilterGradTiling): Promise<Float32Array> {
  const backend = tf.backend() as unknown as WebGpuBackendLike;
  const attrs: FilterGradAttrs = { strides: [c.stride, c.stride], pad: c.pad, dataFormat: 'NHWC', filterShape: [c.k, c.k, c.x[3], c.co] };
  return readKernelOutput(runFilterGrad(backend, x, dy, attrs, tiling));
}

const check = (c: Case, got: Float32Array, ref: Float64Array, K: number) => expectNearReference(c.name, got, ref, K).err;

/** Random x and dy for case `c` (seeded), as tensors, with the float64 reference gradient. */
function inputsFor(c: Case, seed: number) {
  const rng = new Prng(seed);
  const ds = convOutShape(c);
  const xa = randomArray(c.x.reduce((a, b) => a * b, 1), rng);
  const dya = randomArray(ds.reduce((a, b) => a * b, 1), rng);
  return { ...reference(xa, dya, c), x: tf.tensor4d(xa, c.x), dy: tf.tensor4d(dya, ds) };
}

describe.skipIf(reason !== '')('WGSL Conv2DBackpropFilter (WebGPU)', () => {
  it('plans split-K within the K range', () => {
    const g = planFilterGrad({ filterHeight: 4, filterWidth: 4, inChannels: 3, outChannels: 64, batchSize: 16, outHeight: 16, outWidth: 16 });
    expect(g.M).toBe(48);
    expect(g.K).toBe(4096);
    expect(g.splits).toBeGreaterThan(1);
    expect((g.splits - 1) * g.kPerSplit).toBeLessThan(g.K);
    expect(g.splits * g.kPerSplit).toBeGreaterThanOrEqual(g.K);
  });

  for (const c of CASES) {
    it(`matches the reference: ${c.name}`, async () => {
      const { x, dy, dw, K } = inputsFor(c, c.name.length * 7919 + c.x[1] * 31 + c.co);
      // Default tiling (split-K where K allows), then one split and a small tile (edge paths).
      check(c, await runOurs(c, x, dy), dw, K);
      check(c, await runOurs(c, x, dy, { ...DEFAULT_TILING, targetWorkgroups: 1 }), dw, K);
      // The GPU tilings (carryK: the x gather walked by carrying adds), and dividing per row; their vec4
      // loads of x (CI a multiple of 4) and dy (CO a multiple of 4, scalar elsewhere), and scalar loads.
      check(c, await runOurs(c, x, dy, GPU_TILING), dw, K);
      check(c, await runOurs(c, x, dy, { ...GPU_TILING, carryK: false }), dw, K);
      check(c, await runOurs(c, x, dy, { ...GPU_TILING, vecLoads: false }), dw, K);
      check(c, await runOurs(c, x, dy, { ...GPU_WIDE_TILING, vecLoads: false }), dw, K);
      // The next tile's loads issued before this tile's multiply-adds: the same sums in the same order, so the same bits.
      for (const t of [GPU_TILING, { ...GPU_TILING, carryK: false, vecLoads: false }, GPU_NARROW_TILING, GPU_WIDE_TILING, SOFTWARE_NARROW_TILING]) {
        expect(Array.from(await runOurs(c, x, dy, { ...t, prefetch: true }))).toEqual(Array.from(await runOurs(c, x, dy, { ...t, prefetch: false })));
      }
      // carryK with multi-row and one-split tilings too.
      check(c, await runOurs(c, x, dy, { ...DEFAULT_TILING, targetWorkgroups: 1, carryK: true }), dw, K);
      check(c, await runOurs(c, x, dy, { ...DEFAULT_TILING, tileM: 16, tileN: 8, tileK: 8, minKTilesPerSplit: 1, carryK: true }), dw, K);
      // 8 x 8 outputs per thread (the GPU sweep's b8 option): a full 128x128 tile and a small one.
      check(c, await runOurs(c, x, dy, SOFTWARE_LARGE_TILING), dw, K);
      check(c, await runOurs(c, x, dy, GPU_WIDE_TILING), dw, K);
      // The image layer's 48x32x24 tiles (rows not a power of two), on GPUs and software adapters.
      check(c, await runOurs(c, x, dy, GPU_NARROW_TILING), dw, K);
      check(c, await runOurs(c, x, dy, SOFTWARE_NARROW_TILING), dw, K);
      check(c, await runOurs(c, x, dy, { ...DEFAULT_TILING, tileM: 32, tileN: 16, tileK: 8, minKTilesPerSplit: 1, threadBlock: 8, carryK: true }), dw, K);
      check(c, await runOurs(c, x, dy, { ...DEFAULT_TILING, tileM: 16, tileN: 8, tileK: 8, minKTilesPerSplit: 1 }), dw, K);
      x.dispose();
      dy.dispose();
    });
  }

  it('picks its tiling by adapter and layer: 48-row tiles for the image layer; 8 x 8 blocks for layers of 128 or more weight rows on a software adapter, on GPUs where K splits are long', () => {
    const before = setSoftwareAdapter(true);
    expect(kernelTilingFor({ m: 48, n: 64, k: 4 * 32 * 32 })).toBe(SOFTWARE_NARROW_TILING); // the image layer: 48-row tiles
    expect(kernelTilingFor({ m: 64, n: 64, k: 4 * 32 * 32 })).toBe(DEFAULT_TILING);
    expect(kernelTilingFor({ m: 1024, n: 128, k: 4 * 16 * 16 })).toBe(SOFTWARE_LARGE_TILING);
    expect(kernelTilingFor({ m: 4096, n: 1, k: 4 })).toBe(DEFAULT_TILING); // a one-column head would waste the 128-wide tile
    setSoftwareAdapter(false);
    // DCGAN-64's critic at batch 64 and 256 (M, N, K = B * OH * OW).
    expect(kernelTilingFor({ m: 48, n: 64, k: 256 * 32 * 32 })).toBe(GPU_NARROW_TILING);
    expect(kernelTilingFor({ m: 48, n: 64, k: 64 * 32 * 32 })).toBe(GPU_NARROW_TILING);
    expect(kernelTilingFor({ m: 1024, n: 128, k: 64 * 16 * 16 })).toBe(GPU_TILING); // 256-row splits: 8 x 8 blocks were slower
    expect(kernelTilingFor({ m: 2048, n: 256, k: 64 * 8 * 8 })).toBe(GPU_TILING);
    expect(kernelTilingFor({ m: 4096, n: 512, k: 64 * 4 * 4 })).toBe(GPU_TILING);
    expect(kernelTilingFor({ m: 1024, n: 128, k: 256 * 16 * 16 })).toBe(GPU_WIDE_TILING); // 1024-row splits
    expect(kernelTilingFor({ m: 2048, n: 256, k: 256 * 8 * 8 })).toBe(GPU_WIDE_TILING);
    expect(kernelTilingFor({ m: 4096, n: 512, k: 256 * 4 * 4 })).toBe(GPU_WIDE_TILING);
    // D3: the wide tiling's splits are 2,048 rows long at batch 256, 512 at batch 64.
    const d3 = { filterHeight: 4, filterWidth: 4, inChannels: 128, outChannels: 256, outHeight: 8, outWidth: 8 };
    expect(planFilterGrad({ ...d3, batchSize: 256 }, GPU_WIDE_TILING).kPerSplit).toBe(2 * WIDE_MIN_K_PER_SPLIT);
    expect(planFilterGrad({ ...d3, batchSize: 64 }, GPU_WIDE_TILING).kPerSplit).toBe(WIDE_MIN_K_PER_SPLIT / 2);
    for (const t of [GPU_TILING, GPU_NARROW_TILING, GPU_WIDE_TILING]) expect(t.carryK).toBe(true);
    // As measured on the H200 (run 19): vec4 loads for the wider layers, the image layer's splits added by a tree.
    expect([GPU_TILING.vecLoads, GPU_WIDE_TILING.vecLoads, GPU_NARROW_TILING.splitSum]).toEqual([true, true, 'tree']);
    // and the next K tile's loads prefetched on all three (run 21)
    expect([GPU_TILING, GPU_WIDE_TILING, GPU_NARROW_TILING].map((t) => t.prefetch)).toEqual([true, true, true]);
    setSoftwareAdapter(before);
  });

  it('adds many K splits serially or by a fixed tree, with the same result within rounding', async () => {
    const c = caseNamed(CASES, 'DCGAN D1'); // M 48, N 64, K 2 * 16 * 16 = 512
    const { x, dy, dw, K } = inputsFor(c, 23);
    const conv = { filterHeight: 4, filterWidth: 4, inChannels: 3, outChannels: 64, batchSize: 2, outHeight: 16, outWidth: 16 };
    const tile = { ...DEFAULT_TILING, tileM: 16, tileN: 8, tileK: 8, minKTilesPerSplit: 1 }; // 3 x 8 tiles, 64 K tiles
    const results: Float32Array[] = [];
    for (const [target, splits] of [[22 * 24, 22], [64 * 24, 64]] as const) {
      expect(planFilterGrad(conv, { ...tile, targetWorkgroups: target }).splits).toBe(splits); // 22: not a multiple of the 16 lanes
      for (const splitSum of ['serial', 'tree'] as const) {
        const got = await runOurs(c, x, dy, { ...tile, targetWorkgroups: target, splitSum });
        check(c, got, dw, K);
        results.push(got);
      }
    }
    // The tree and the serial sum differ only by rounding; each is the same bits on a second run.
    expect(Array.from(await runOurs(c, x, dy, { ...tile, targetWorkgroups: 64 * 24, splitSum: 'tree' }))).toEqual(Array.from(results[3]!));
    tf.dispose([x, dy]);
  });

  it('runs tiles beyond 16 KiB where the device has the workgroup memory, and refuses them in words where not', async () => {
    const device = (tf.backend() as unknown as { device: { limits: { maxComputeWorkgroupStorageSize: number } } }).device;
    // initBackend told our kernels what the device has (lavapipe 32 KiB, NVIDIA 48 KiB).
    const before = setWorkgroupStorageLimit(MAX_WORKGROUP_STORAGE_BYTES);
    expect(before).toBe(device.limits.maxComputeWorkgroupStorageSize);
    const c = caseNamed(CASES, 'DCGAN D2');
    const { x, dy, dw, K } = inputsFor(c, 17);
    const big: FilterGradTiling = { ...GPU_WIDE_TILING, tileK: 32 }; // 2 x 32 x 128 floats: 32 KiB
    await expect(runOurs(c, x, dy, big)).rejects.toThrow('tiles need 32768 bytes of workgroup memory; this device has 16384');
    setWorkgroupStorageLimit(before);
    if (before >= 32768) check(c, await runOurs(c, x, dy, big), dw, K);
    tf.dispose([x, dy]);
  });

  it('declines what it does not support (NCHW, int32), so tfjs\'s kernel runs', () => {
    const backend = tf.backend() as unknown as WebGpuBackendLike;
    const x = tf.zeros([1, 3, 5, 5]);
    const dy = tf.zeros([1, 4, 5, 5]);
    const attrs: FilterGradAttrs = { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 3, 4] };
    expect(runFilterGrad(backend, x, dy, attrs)).toBeNull();
    const xi = tf.zeros([1, 5, 5, 3], 'int32');
    const dyi = tf.zeros([1, 5, 5, 4], 'int32');
    expect(runFilterGrad(backend, xi, dyi, { ...attrs, dataFormat: 'NHWC' })).toBeNull();
    tf.dispose([x, dy, xi, dyi]);
  });

  it('is on unless GAN_AUGMENT_WGSL_KERNELS is 0', () => {
    expect(ourKernelsRequested({})).toBe(true);
    expect(ourKernelsRequested({ GAN_AUGMENT_WGSL_KERNELS: '1' })).toBe(true);
    expect(ourKernelsRequested({ GAN_AUGMENT_WGSL_KERNELS: '0' })).toBe(false);
    expect(ourKernelsRequested({ GAN_AUGMENT_WGSL_KERNELS: 'off' })).toBe(false);
  });

  it('is what tf.grad uses once registered (conv2d filter gradient)', async () => {
    const rng = new Prng(5);
    const c: Case = { name: 'registered, 9x9 c3->5 k3 s2 same', x: [2, 9, 9, 3], k: 3, co: 5, stride: 2, pad: 'same' };
    const xa = randomArray(2 * 9 * 9 * 3, rng);
    const wa = randomArray(3 * 3 * 3 * 5, rng);
    const x = tf.tensor4d(xa, c.x);
    const w = tf.tensor4d(wa, [3, 3, 3, 5]);
    // Loss = sum(conv2d(x, w)): dy is all ones.
    const gradW = async () => {
      const g = tf.grad((f: tf.Tensor) => tf.sum(tf.conv2d(x, f as tf.Tensor4D, 2, 'same')))(w);
      const d = (await g.data()) as Float32Array;
      g.dispose();
      return d;
    };
    // initBackend may already have installed ours (GAN_AUGMENT_WGSL_KERNELS): start from tfjs's.
    const wasInstalled = ourKernelsInstalled();
    unregisterOurKernels();
    const theirs = await gradW();
    expect(registerOurKernels({ force: true })).toBe(true);
    try {
      const before = tf.memory().numTensors;
      const ours = await gradW();
      expect(tf.memory().numTensors).toBe(before);
      const { dw, K } = reference(xa, new Float32Array(convOutShape(c).reduce((a, b) => a * b, 1)).fill(1), c);
      check(c, ours, dw, K);
      check({ ...c, name: `${c.name} (tfjs's own kernel)` }, theirs, dw, K);
    } finally {
      if (!wasInstalled) unregisterOurKernels();
    }
    x.dispose();
    w.dispose();
  });
});
