/**
 * Our WGSL Conv2D / FusedConv2D against a float64 JS reference, on WebGPU (lavapipe here, a GPU
 * elsewhere). Skipped, with the reason printed, when no WebGPU adapter exists. Its own file: the
 * tfjs backend is process-wide.
 *
 * Tolerance: max |ours - reference| <= 1e-5 * sqrt(K) * max|reference| + 1e-6, K = KH * KW * CI (the
 * terms per output value; fp32 summation error grows about like sqrt(K)). The reference applies
 * bias and activation in float64 too.
 */
import { describe, expect, it } from 'vitest';
import { tf } from '../tf';
import { COMMON_CONV_CASES, caseNamed, convInfoOf, convOutShape, expectNearReference, maxAbs, randomArray, readKernelOutput, webgpuSkipReason, type ConvCase } from './test-support';
import {
  DEFAULT_FORWARD_TILING,
  NARROW_FORWARD_TILING,
  SHORT_K_FORWARD_TILING,
  SOFTWARE_FORWARD_TILING,
  GPU_WIDE_FORWARD_TILING,
  GPU_DEEP_FORWARD_TILING,
  chooseForwardTiling,
  planForward,
  runForward,
  type ForwardActivation,
  type ForwardAttrs,
  type ForwardTiling,
} from './conv2d-forward';
import { ourKernelsInstalled, registerOurKernels, unregisterOurKernels } from './index';
import { MAX_WORKGROUP_STORAGE_BYTES, setSoftwareAdapter, setWorkgroupStorageLimit, type WebGpuBackendLike } from './common';
import { Prng } from '../../training/rng';

const reason = await webgpuSkipReason('WGSL Conv2D / FusedConv2D tests');

type Pad = ForwardAttrs['pad'];
type Case = ConvCase<Pad>;

const ACT64: Record<ForwardActivation, (v: number, alpha: number) => number> = {
  linear: (v) => v,
  relu: (v) => Math.max(v, 0),
  relu6: (v) => Math.min(Math.max(v, 0), 6),
  leakyrelu: (v, a) => (v < 0 ? a * v : v),
  sigmoid: (v) => 1 / (1 + Math.exp(-v)),
  elu: (v) => (v < 0 ? Math.exp(v) - 1 : v),
};

/** Float64 reference, straight from the definition (tfjs's conv info gives the output size / pads). */
function reference(
  x: Float32Array,
  w: Float32Array,
  c: Case,
  bias?: Float32Array,
  activation: ForwardActivation = 'linear',
  alpha = 0.2,
): { y: Float64Array; K: number } {
  const [B, H, W, CI] = c.x;
  const info = convInfoOf(c);
  const { outHeight: OH, outWidth: OW } = info;
  const { top, left } = info.padInfo;
  const CO = c.co;
  const y = new Float64Array(B * OH * OW * CO);
  const acc = new Float64Array(CO);
  for (let b = 0; b < B; b++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        acc.fill(0);
        for (let kh = 0; kh < c.k; kh++) {
          const ih = oh * c.stride - top + kh;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < c.k; kw++) {
            const iw = ow * c.stride - left + kw;
            if (iw < 0 || iw >= W) continue;
            const xo = ((b * H + ih) * W + iw) * CI;
            for (let ci = 0; ci < CI; ci++) {
              const xv = x[xo + ci]!;
              const wo = ((kh * c.k + kw) * CI + ci) * CO;
              for (let co = 0; co < CO; co++) acc[co] = acc[co]! + xv * w[wo + co]!;
            }
          }
        }
        const yo = ((b * OH + oh) * OW + ow) * CO;
        for (let co = 0; co < CO; co++) y[yo + co] = ACT64[activation](acc[co]! + (bias ? bias[co]! : 0), alpha);
      }
  return { y, K: c.k * c.k * CI };
}

const CASES: readonly Case[] = [
  ...COMMON_CONV_CASES,
  { name: 'stride 3, 10x11, 8/4 channels, k4 same', x: [1, 10, 11, 8], k: 4, co: 4, stride: 3, pad: 'same' },
  { name: '1x1 conv, 5x6, 12/20 channels', x: [2, 5, 6, 12], k: 1, co: 20, stride: 1, pad: 'valid' },
  { name: 'critic head 4x4x16 -> 1x1x1, k4 valid', x: [3, 4, 4, 16], k: 4, co: 1, stride: 1, pad: 'valid' },
  { name: 'DCGAN D3 8x8x128 -> 4x4x256, k4 s2 same, batch 2', x: [2, 8, 8, 128], k: 4, co: 256, stride: 2, pad: 'same' },
];

const TILINGS: Array<[string, ForwardTiling]> = [
  ['64x64x32', DEFAULT_FORWARD_TILING],
  ['64x64x16', SHORT_K_FORWARD_TILING],
  ['256x4x8', NARROW_FORWARD_TILING],
  ['16x8x8', { tileM: 16, tileN: 8, tileK: 8 }],
  ['32x128x12', { tileM: 32, tileN: 128, tileK: 12 }],
  // 8 x 8 outputs per thread (the GPU sweep's b8): a full 128x128 tile, and a small one with 2 vec4 column groups
  ['128x128x16b8', GPU_WIDE_FORWARD_TILING],
  // 32-row stages (32 KiB of workgroup memory: lavapipe and NVIDIA have it, initBackend told our kernels)
  ['128x128x32b8', GPU_DEEP_FORWARD_TILING],
  ['16x16x8b8', { tileM: 16, tileN: 16, tileK: 8, threadBlock: 8 }],
];

function attrsOf(c: Case, activation?: ForwardActivation, leakyreluAlpha?: number): ForwardAttrs {
  return { strides: [c.stride, c.stride], pad: c.pad, dataFormat: 'NHWC', dilations: 1, activation, leakyreluAlpha };
}

async function runOurs(
  c: Case,
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  tiling?: ForwardTiling,
  bias?: tf.Tensor1D,
  activation?: ForwardActivation,
  alpha?: number,
): Promise<Float32Array> {
  const backend = tf.backend() as unknown as WebGpuBackendLike;
  return readKernelOutput(runForward(backend, { x, filter: w, bias }, attrsOf(c, activation, alpha), tiling));
}

let worst = { rel: 0, what: '' };

function check(name: string, got: ArrayLike<number>, ref: Float64Array, K: number): number {
  const { err, tol } = expectNearReference(name, got, ref, K);
  if (err / tol > worst.rel) worst = { rel: err / tol, what: `${name}: error ${err.toExponential(2)}, tolerance ${tol.toExponential(2)}` };
  return err;
}

describe.skipIf(reason !== '')('WGSL Conv2D / FusedConv2D (WebGPU)', () => {
  it('plans the GEMM [pixels x co] over K = KH * KW * CI, and picks tilings', () => {
    const info = convInfoOf({ name: '', x: [16, 16, 16, 64], k: 4, co: 128, stride: 2, pad: 'same' });
    const g = planForward(info, DEFAULT_FORWARD_TILING);
    expect([g.M, g.N, g.K]).toEqual([16 * 8 * 8, 128, 4 * 4 * 64]);
    expect(g.dispatch).toEqual([2, 16, 1]);
    const big = planForward({ ...info, batchSize: 1 << 16 }, DEFAULT_FORWARD_TILING);
    expect(big.dispatch[1]).toBeLessThanOrEqual(65535);
    expect(big.dispatch[1] * big.dispatch[2]).toBeGreaterThanOrEqual(big.tilesM);
    const before = setSoftwareAdapter(false); // a real GPU's choices
    expect(chooseForwardTiling(info)).toBe(DEFAULT_FORWARD_TILING);
    expect(chooseForwardTiling({ ...info, inChannels: 3 })).toBe(SHORT_K_FORWARD_TILING);
    expect(chooseForwardTiling({ ...info, outChannels: 1 })).toBe(NARROW_FORWARD_TILING);
    // 8 x 8 blocks once the 128x128 tiles fill the GPU: 16 * 8 * 8 = 1024 pixels are 8 tiles; 32 times the batch, 256
    expect(chooseForwardTiling({ ...info, batchSize: 16 * 32 })).toBe(GPU_WIDE_FORWARD_TILING);
    expect(chooseForwardTiling({ ...info, batchSize: 16 * 31 })).toBe(DEFAULT_FORWARD_TILING);
    expect(chooseForwardTiling({ ...info, batchSize: 16 * 32, outChannels: 64 })).toBe(DEFAULT_FORWARD_TILING);
    expect(chooseForwardTiling({ ...info, batchSize: 16 * 32, inChannels: 3 })).toBe(SHORT_K_FORWARD_TILING);
    // 32-row stages for deep layers with 128-255 of those tiles, where the device has 32 KiB: DCGAN-64's D4
    // (8x8x256 -> 4x4x512, K 4096) at batch 256 has 128 tiles, at batch 64 32; D3 (K 2048) at batch 256 512
    const d4 = { filterHeight: 4, filterWidth: 4, inChannels: 256, outChannels: 512, batchSize: 256, outHeight: 4, outWidth: 4 };
    const storage = setWorkgroupStorageLimit(48 * 1024);
    expect(chooseForwardTiling(d4)).toBe(GPU_DEEP_FORWARD_TILING);
    // Prefetching paid only there (H200, run 22)
    expect([GPU_DEEP_FORWARD_TILING, GPU_WIDE_FORWARD_TILING, DEFAULT_FORWARD_TILING, SHORT_K_FORWARD_TILING].map((t) => t.prefetch === true)).toEqual([true, false, false, false]);
    expect(chooseForwardTiling({ ...d4, batchSize: 64 })).toBe(DEFAULT_FORWARD_TILING);
    expect(chooseForwardTiling({ ...d4, batchSize: 248 })).toBe(DEFAULT_FORWARD_TILING); // 124 tiles
    expect(chooseForwardTiling({ ...d4, inChannels: 128 })).toBe(DEFAULT_FORWARD_TILING); // K 2048
    expect(chooseForwardTiling({ ...d4, inChannels: 128, outChannels: 256, outHeight: 8, outWidth: 8 })).toBe(GPU_WIDE_FORWARD_TILING);
    setWorkgroupStorageLimit(MAX_WORKGROUP_STORAGE_BYTES); // WebGPU's default 16 KiB
    expect(chooseForwardTiling(d4)).toBe(DEFAULT_FORWARD_TILING);
    setWorkgroupStorageLimit(storage);
    setSoftwareAdapter(true); // a software driver's
    expect(chooseForwardTiling(info)).toBe(SOFTWARE_FORWARD_TILING);
    expect(chooseForwardTiling({ ...info, outChannels: 1 })).toBe(NARROW_FORWARD_TILING);
    setSoftwareAdapter(before);
  });

  // Each case: the registered tiling and one other (in turn); two cases (vec4 and scalar x loads) all.
  CASES.forEach((c, ci) => {
    const tilings = c.name.startsWith('DCGAN D2') || c.name.startsWith('odd 11x11') ? TILINGS : [TILINGS[ci % TILINGS.length]!];
    it(`matches the reference: ${c.name}`, async () => {
      const rng = new Prng(c.name.length * 7919 + c.x[1] * 31 + c.co);
      const xa = randomArray(c.x.reduce((a, b) => a * b, 1), rng);
      const wa = randomArray(c.k * c.k * c.x[3] * c.co, rng);
      const { y, K } = reference(xa, wa, c);
      const x = tf.tensor4d(xa, c.x);
      const w = tf.tensor4d(wa, [c.k, c.k, c.x[3], c.co]);
      // The registered choice, then the other tilings (edge paths: partial tiles in M, N and K).
      check(c.name, await runOurs(c, x, w), y, K);
      for (const [tn, t] of tilings) {
        const staged = await runOurs(c, x, w, { ...t, prefetch: false });
        check(`${c.name} (${tn})`, staged, y, K);
        // The next tile's loads in registers during this tile's multiply-adds: the same sums in the same order.
        expect(Array.from(await runOurs(c, x, w, { ...t, prefetch: true }))).toEqual(Array.from(staged));
      }
      x.dispose();
      w.dispose();
    });
  });

  const FUSED: Array<[Case, ForwardActivation, number?]> = [
    [caseNamed(CASES, 'odd 7x9'), 'linear'],
    [caseNamed(CASES, 'batch 1, 10x10'), 'relu'],
    [caseNamed(CASES, 'explicit pads'), 'relu6'],
    [caseNamed(CASES, 'numeric pad'), 'leakyrelu', 0.2],
    [caseNamed(CASES, 'DCGAN D2'), 'leakyrelu', 0.05],
    [caseNamed(CASES, 'odd 11x11'), 'sigmoid'],
    [caseNamed(CASES, 'DCGAN D1'), 'elu'],
    [caseNamed(CASES, 'critic head'), 'sigmoid'],
  ];
  for (const [c, act, alpha] of FUSED) {
    it(`fuses bias + ${act}${alpha != null ? ` (alpha ${alpha})` : ''}: ${c.name}`, async () => {
      const rng = new Prng(c.co * 131 + act.length);
      const xa = randomArray(c.x.reduce((a, b) => a * b, 1), rng);
      const wa = randomArray(c.k * c.k * c.x[3] * c.co, rng);
      // relu6 needs values beyond 6 to test the clamp: scale the bias up.
      const ba = randomArray(c.co, rng).map((v) => v * (act === 'relu6' ? 8 : 1));
      const { y, K } = reference(xa, wa, c, ba, act, alpha ?? 0.2);
      const x = tf.tensor4d(xa, c.x);
      const w = tf.tensor4d(wa, [c.k, c.k, c.x[3], c.co]);
      const b = tf.tensor1d(ba);
      check(`${c.name} +bias ${act}`, await runOurs(c, x, w, undefined, b, act, alpha), y, K);
      // The bias and activation epilogue with 8 x 8 blocks (two vec4 column groups per thread).
      check(`${c.name} +bias ${act} (16x16x8b8)`, await runOurs(c, x, w, { tileM: 16, tileN: 16, tileK: 8, threadBlock: 8 }, b, act, alpha), y, K);
      // Through tf.fused.conv2d with ours installed.
      const wasInstalled = ourKernelsInstalled('FusedConv2D');
      registerOurKernels({ force: true, only: ['FusedConv2D'] });
      try {
        const before = tf.memory().numTensors;
        const t = tf.fused.conv2d({ x, filter: w, strides: c.stride, pad: c.pad as 'same', bias: b, activation: act, leakyreluAlpha: alpha });
        check(`${c.name} +bias ${act} (tf.fused.conv2d)`, (await t.data()) as Float32Array, y, K);
        t.dispose();
        expect(tf.memory().numTensors).toBe(before);
      } finally {
        if (!wasInstalled) unregisterOurKernels(['FusedConv2D']);
      }
      tf.dispose([x, w, b]);
    });
  }

  it("declines what it does not support, so tfjs's kernel runs", () => {
    const backend = tf.backend() as unknown as WebGpuBackendLike;
    const x = tf.zeros([1, 5, 5, 3]);
    const w = tf.zeros([3, 3, 3, 4]);
    const base: ForwardAttrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1 };
    const xn = tf.zeros([1, 3, 5, 5]);
    expect(runForward(backend, { x: xn, filter: w }, { ...base, dataFormat: 'NCHW' })).toBeNull();
    expect(runForward(backend, { x, filter: w }, { ...base, dilations: 2 })).toBeNull();
    const xi = tf.zeros([1, 5, 5, 3], 'int32');
    const wi = tf.zeros([3, 3, 3, 4], 'int32');
    expect(runForward(backend, { x: xi, filter: wi }, base)).toBeNull();
    const pw = tf.zeros([4]);
    expect(runForward(backend, { x, filter: w, preluActivationWeights: pw }, { ...base, activation: 'prelu' })).toBeNull();
    expect(runForward(backend, { x, filter: w }, { ...base, activation: 'selu' })).toBeNull();
    const scalarBias = tf.zeros([1]);
    expect(runForward(backend, { x, filter: w, bias: scalarBias }, base)).toBeNull();
    tf.dispose([x, w, xn, xi, wi, pw, scalarBias]);
  });

  it('falls back for prelu and dilation through the registered kernels', async () => {
    const wasInstalled = ourKernelsInstalled('FusedConv2D');
    registerOurKernels({ force: true, only: ['Conv2D', 'FusedConv2D'] });
    try {
      const x = tf.ones([1, 6, 6, 2]) as tf.Tensor4D;
      const w = tf.ones([3, 3, 2, 4]) as tf.Tensor4D;
      const a = tf.fill([4], 0.1) as tf.Tensor1D;
      const d = tf.conv2d(x, w, 1, 'valid', 'NHWC', 2);
      expect(d.shape).toEqual([1, 2, 2, 4]);
      expect(Array.from(await d.data())).toEqual(new Array(16).fill(18));
      const nx = tf.neg(x) as tf.Tensor4D;
      const p = tf.fused.conv2d({ x: nx, filter: w, strides: 1, pad: 'valid', activation: 'prelu', preluActivationWeights: a });
      expect(Math.max(...Array.from(await p.data()).map((v) => Math.abs(v + 1.8)))).toBeLessThan(1e-5);
      tf.dispose([x, w, a, d, nx, p]);
    } finally {
      if (!wasInstalled) unregisterOurKernels(['Conv2D', 'FusedConv2D']);
    }
  });

  it('is what conv2d and its tf.grad use once registered, leaking no tensors', async () => {
    const rng = new Prng(13);
    const c: Case = { name: 'registered, 9x9 c5->6 k4 s2 same', x: [2, 9, 9, 5], k: 4, co: 6, stride: 2, pad: 'same' };
    const ys = convOutShape(c);
    const xa = randomArray(c.x.reduce((a, b) => a * b, 1), rng);
    const wa = randomArray(c.k * c.k * c.x[3] * c.co, rng);
    const ra = randomArray(ys.reduce((a, b) => a * b, 1), rng);
    const ba = randomArray(c.co, rng);
    const x = tf.tensor4d(xa, c.x);
    const w = tf.tensor4d(wa, [c.k, c.k, c.x[3], c.co]);
    const r = tf.tensor4d(ra, ys);
    const b = tf.tensor1d(ba);
    // Loss = sum(conv2d(x, w) * r) and sum(leakyrelu(conv2d(x, w) + b) * r): gradients for x, w (and b).
    const forwardAndGrads = async () => {
      const y = tf.conv2d(x, w, c.stride, 'same');
      const gs = tf.grads((xv: tf.Tensor, wv: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xv as tf.Tensor4D, wv as tf.Tensor4D, c.stride, 'same'), r)))([
        x,
        w,
      ]);
      const fused = (xv: tf.Tensor, wv: tf.Tensor, bv: tf.Tensor) =>
        tf.sum(
          tf.mul(
            tf.fused.conv2d({
              x: xv as tf.Tensor4D,
              filter: wv as tf.Tensor4D,
              strides: c.stride,
              pad: 'same',
              bias: bv,
              activation: 'leakyrelu',
              leakyreluAlpha: 0.2,
            }),
            r,
          ),
        );
      const fgs = tf.grads(fused)([x, w, b]);
      const out = await Promise.all([y, ...gs, ...fgs].map(async (t) => (await t.data()) as Float32Array));
      tf.dispose([y, ...gs, ...fgs]);
      return out;
    };
    const { y: yRef, K } = reference(xa, wa, c);
    const direct = await runOurs(c, x, w);
    const wasInstalled = ourKernelsInstalled('Conv2D');
    unregisterOurKernels(['Conv2D', 'FusedConv2D']);
    const theirs = await forwardAndGrads();
    expect(registerOurKernels({ force: true, only: ['Conv2D', 'FusedConv2D'] })).toBe(true);
    expect(ourKernelsInstalled('Conv2D')).toBe(true);
    expect(ourKernelsInstalled('FusedConv2D')).toBe(true);
    try {
      const before = tf.memory().numTensors;
      const ours = await forwardAndGrads();
      expect(tf.memory().numTensors).toBe(before);
      // Bit-identical to a direct call of ours: the registered kernel is ours.
      expect(Array.from(ours[0]!)).toEqual(Array.from(direct));
      check(`${c.name} (tf.conv2d)`, ours[0]!, yRef, K);
      // The gradients (tfjs's or our backward kernels, whichever are installed) agree with tfjs's path.
      for (let i = 1; i < ours.length; i++) {
        const a = ours[i]!;
        const t = theirs[i]!;
        let d = 0;
        for (let j = 0; j < a.length; j++) d = Math.max(d, Math.abs(a[j]! - t[j]!));
        expect(d).toBeLessThanOrEqual(1e-4 * Math.max(1, maxAbs(t)));
      }
    } finally {
      if (!wasInstalled) unregisterOurKernels(['Conv2D', 'FusedConv2D']);
    }
    tf.dispose([x, w, r, b]);
    console.log(`worst error / tolerance over this file: ${worst.rel.toFixed(3)} (${worst.what})`);
  });
});
