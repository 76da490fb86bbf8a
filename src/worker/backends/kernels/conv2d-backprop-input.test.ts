/**
 * Our WGSL Conv2DBackpropInput against a float64 JS reference, on WebGPU (lavapipe here, a GPU
 * elsewhere). Skipped, with the reason printed, when no WebGPU adapter exists. Its own file: the
 * tfjs backend is process-wide.
 *
 * Tolerance: max |ours - reference| <= 1e-5 * sqrt(K) * max|reference| + 1e-6, K = KH * KW * CO (an
 * upper bound on the terms per dx value; fp32 summation error grows about like sqrt(K)).
 */
import { describe, expect, it } from 'vitest';
import { tf } from '../tf';
import { COMMON_CONV_CASES, caseNamed, convInfoOf, convOutShape, expectNearReference, randomArray, readKernelOutput, webgpuSkipReason, type ConvCase } from './test-support';
import {
  DEFAULT_INPUT_TILING,
  NARROW_INPUT_TILING,
  STRIDED_INPUT_TILING,
  coalescedLoads,
  chooseInputTiling,
  GPU_LONG_CO_INPUT_TILING,
  fitStrideBlocks,
  SOFTWARE_INPUT_TILING,
  planInputGrad,
  runInputGrad,
  type DirectBlockTiling,
  type InputGradAttrs,
  type InputGradTiling,
} from './conv2d-backprop-input';
import { ourKernelsInstalled, registerOurKernels, unregisterOurKernels, wgslKernelSetting } from './index';
import { setSoftwareAdapter, type WebGpuBackendLike } from './common';
import { Prng } from '../../training/rng';

const reason = await webgpuSkipReason('WGSL Conv2DBackpropInput tests');

type Pad = InputGradAttrs['pad'];

type Case = ConvCase<Pad>;


/** Float64 reference, straight from the definition (tfjs's conv info gives the output size / pads). */
function reference(dy: Float32Array, w: Float32Array, c: Case): { dx: Float64Array; K: number } {
  const [B, H, W, CI] = c.x;
  const info = convInfoOf(c);
  const { outHeight: OH, outWidth: OW } = info;
  const { top, left } = info.padInfo;
  const CO = c.co;
  const dx = new Float64Array(B * H * W * CI);
  for (let b = 0; b < B; b++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        const dyo = ((b * OH + oh) * OW + ow) * CO;
        for (let kh = 0; kh < c.k; kh++) {
          const ih = oh * c.stride - top + kh;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < c.k; kw++) {
            const iw = ow * c.stride - left + kw;
            if (iw < 0 || iw >= W) continue;
            const xo = ((b * H + ih) * W + iw) * CI;
            for (let ci = 0; ci < CI; ci++) {
              const wo = ((kh * c.k + kw) * CI + ci) * CO;
              let s = 0;
              for (let co = 0; co < CO; co++) s += dy[dyo + co]! * w[wo + co]!;
              dx[xo + ci] = dx[xo + ci]! + s;
            }
          }
        }
      }
  return { dx, K: c.k * c.k * CO };
}

const CASES: readonly Case[] = [
  ...COMMON_CONV_CASES,
  { name: 'stride 3, 10x11, 5/4 channels, k4 same', x: [1, 10, 11, 5], k: 4, co: 4, stride: 3, pad: 'same' },
  { name: 'DCGAN G1 4x4x256 -> 8x8x128, k4 s2 same, batch 2', x: [2, 8, 8, 128], k: 4, co: 256, stride: 2, pad: 'same' },
  { name: 'grayscale 1/9 channels, 9x10, k5 s3 same', x: [2, 9, 10, 1], k: 5, co: 9, stride: 3, pad: 'same' },
  { name: '2/4 channels, numeric pad 2, 7x6, k3 s1', x: [1, 7, 6, 2], k: 3, co: 4, stride: 1, pad: 2 },
];

function attrsOf(c: Case): InputGradAttrs {
  return { inputShape: c.x, strides: [c.stride, c.stride], pad: c.pad, dataFormat: 'NHWC' };
}

async function runOurs(c: Case, dy: tf.Tensor4D, w: tf.Tensor4D, tiling?: InputGradTiling | 'direct' | DirectBlockTiling): Promise<Float32Array> {
  const backend = tf.backend() as unknown as WebGpuBackendLike;
  return readKernelOutput(runInputGrad(backend, dy, w, attrsOf(c), tiling));
}

const check = (name: string, got: ArrayLike<number>, ref: Float64Array, K: number) => expectNearReference(name, got, ref, K).err;

describe.skipIf(reason !== '')('WGSL Conv2DBackpropInput (WebGPU)', () => {
  it('plans one GEMM per stride phase, with only the taps that land', () => {
    const c: Case = caseNamed(CASES, 'DCGAN G1');
    const g = planInputGrad({ ...convInfoOf({ ...c, x: [16, 8, 8, 128] }) }, DEFAULT_INPUT_TILING);
    expect(g.phases.length).toBe(4);
    for (const p of g.phases) {
      expect(p.M).toBe(16 * 4 * 4);
      expect(p.K).toBe(2 * 2 * 256); // 4 of the 16 taps
    }
    expect(g.macs).toBe(16 * 4 * 4 * 256 * 4 * 4 * 128); // = the forward conv's multiply-adds
    const before = setSoftwareAdapter(false); // a real GPU's choices
    expect(chooseInputTiling(3)).toBe(NARROW_INPUT_TILING);
    expect(chooseInputTiling(64)).toBe(DEFAULT_INPUT_TILING);
    // The next co chunk's loads prefetched where each tap has 16 or more chunks (dy of 256+ channels, as measured)
    expect(chooseInputTiling(64, 128)).toBe(DEFAULT_INPUT_TILING);
    expect(chooseInputTiling(128, 256)).toBe(GPU_LONG_CO_INPUT_TILING);
    expect(chooseInputTiling(3, 512)).toBe(NARROW_INPUT_TILING);
    expect([DEFAULT_INPUT_TILING.prefetch, GPU_LONG_CO_INPUT_TILING.prefetch]).toEqual([undefined, true]);
    setSoftwareAdapter(true); // a software driver's
    expect(chooseInputTiling(128, 256)).toBe(SOFTWARE_INPUT_TILING);
    expect(chooseInputTiling(3)).toBe(NARROW_INPUT_TILING);
    expect(chooseInputTiling(64)).toBe(SOFTWARE_INPUT_TILING);
    setSoftwareAdapter(before);
    // Strided loads need whole K rows per load pass: a tile that would need half rows is refused.
    const dy = tf.zeros([1, 4, 4, 8]);
    const w = tf.zeros([3, 3, 8, 8]);
    const attrs: InputGradAttrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', inputShape: [1, 4, 4, 8] };
    expect(() => runInputGrad(tf.backend() as unknown as WebGpuBackendLike, dy, w, attrs, { tileM: 32, tileN: 8, tileK: 8, threadBlock: 8, coalesced: false })).toThrow(/whole K rows/);
    tf.dispose([dy, w]);
    // k-fastest loads where the threads split into whole vec4 columns of both tiles.
    expect(coalescedLoads(DEFAULT_INPUT_TILING)).toBe(true);
    expect(coalescedLoads(STRIDED_INPUT_TILING)).toBe(false);
    expect(coalescedLoads(NARROW_INPUT_TILING)).toBe(false); // one vec4 column of B, 8 per load pass
    expect(coalescedLoads({ tileM: 32, tileN: 32, tileK: 16 })).toBe(true);
    // Stride blocks per thread within 16 accumulators: fewer for stride 3, none past sh * sw = 16.
    expect(fitStrideBlocks({ blocksW: 4 }, 2, 2)).toEqual({ blocksW: 4 });
    expect(fitStrideBlocks({ blocksW: 4 }, 3, 3)).toEqual({ blocksW: 1 });
    expect(fitStrideBlocks({ blocksW: 4 }, 3, 2)).toEqual({ blocksW: 2 });
    expect(fitStrideBlocks({ blocksW: 1 }, 5, 4)).toBeNull();
  });

  for (const c of CASES) {
    it(`matches the reference: ${c.name}`, async () => {
      const rng = new Prng(c.name.length * 7919 + c.x[1] * 31 + c.co);
      const ds = convOutShape(c);
      const dya = randomArray(ds.reduce((a, b) => a * b, 1), rng);
      const wa = randomArray(c.k * c.k * c.x[3] * c.co, rng);
      const { dx, K } = reference(dya, wa, c);
      const dy = tf.tensor4d(dya, ds);
      const w = tf.tensor4d(wa, [c.k, c.k, c.x[3], c.co]);
      // The registered choice (a direct program for dx with at most 4 channels), then the other
      // tilings (edge paths: partial tiles in M, N and K).
      check(c.name, await runOurs(c, dy, w), dx, K);
      if (c.x[3] <= 4) {
        check(`${c.name} (direct, one pixel per thread)`, await runOurs(c, dy, w, 'direct'), dx, K);
        for (const blocksW of [1, 2, 4] as const) check(`${c.name} (direct, up to ${blocksW} stride blocks per thread)`, await runOurs(c, dy, w, { blocksW }), dx, K);
      }
      check(`${c.name} (64x64x16 coalesced)`, await runOurs(c, dy, w, DEFAULT_INPUT_TILING), dx, K);
      check(`${c.name} (64x64x32 strided)`, await runOurs(c, dy, w, STRIDED_INPUT_TILING), dx, K);
      check(`${c.name} (256x4x8 strided)`, await runOurs(c, dy, w, NARROW_INPUT_TILING), dx, K);
      check(`${c.name} (32x32x16 coalesced)`, await runOurs(c, dy, w, { tileM: 32, tileN: 32, tileK: 16 }), dx, K);
      check(`${c.name} (16x8x8 coalesced)`, await runOurs(c, dy, w, { tileM: 16, tileN: 8, tileK: 8 }), dx, K);
      check(`${c.name} (16x8x8 strided)`, await runOurs(c, dy, w, { tileM: 16, tileN: 8, tileK: 8, coalesced: false }), dx, K);
      // 8 x 8 outputs per thread: coalesced (128x128x8: 256 threads, 32 per K row; the padded 128x128x16 tiles exceed 16 KiB) and strided.
      check(`${c.name} (128x128x8 b8 coalesced)`, await runOurs(c, dy, w, { tileM: 128, tileN: 128, tileK: 8, threadBlock: 8 }), dx, K);
      check(`${c.name} (16x16x8 b8 strided)`, await runOurs(c, dy, w, { tileM: 16, tileN: 16, tileK: 8, threadBlock: 8, coalesced: false }), dx, K);
      // The next co chunk's loads in registers during this chunk's multiply-adds (coalesced tilings): the same bits.
      for (const t of [DEFAULT_INPUT_TILING, { tileM: 16, tileN: 8, tileK: 8 }, { tileM: 128, tileN: 128, tileK: 8, threadBlock: 8 as const }]) {
        expect(Array.from(await runOurs(c, dy, w, { ...t, prefetch: true }))).toEqual(Array.from(await runOurs(c, dy, w, { ...t, prefetch: false })));
      }
      dy.dispose();
      w.dispose();
    });
  }

  it("declines what it does not support (NCHW, int32), so tfjs's kernel runs", () => {
    const backend = tf.backend() as unknown as WebGpuBackendLike;
    const dy = tf.zeros([1, 4, 5, 5]);
    const w = tf.zeros([3, 3, 3, 4]);
    const attrs: InputGradAttrs = { inputShape: [1, 3, 5, 5], strides: 1, pad: 'same', dataFormat: 'NCHW' };
    expect(runInputGrad(backend, dy, w, attrs)).toBeNull();
    const dyi = tf.zeros([1, 5, 5, 4], 'int32');
    const wi = tf.zeros([3, 3, 3, 4], 'int32');
    expect(runInputGrad(backend, dyi, wi, { ...attrs, inputShape: [1, 5, 5, 3], dataFormat: 'NHWC' })).toBeNull();
    tf.dispose([dy, w, dyi, wi]);
  });

  it('reads GAN_AUGMENT_WGSL_KERNELS as off / default / all', () => {
    expect(wgslKernelSetting({})).toBe('default');
    expect(wgslKernelSetting({ GAN_AUGMENT_WGSL_KERNELS: '1' })).toBe('default');
    expect(wgslKernelSetting({ GAN_AUGMENT_WGSL_KERNELS: 'all' })).toBe('all');
    expect(wgslKernelSetting({ GAN_AUGMENT_WGSL_KERNELS: '0' })).toBe('off');
  });

  it('is what tf.grad (conv2d input gradient) and conv2dTranspose use once registered, leaking no tensors', async () => {
    const rng = new Prng(11);
    const c: Case = { name: 'registered, 9x9 c5<-6 k4 s2 same', x: [2, 9, 9, 5], k: 4, co: 6, stride: 2, pad: 'same' };
    const ds = convOutShape(c);
    const xa = randomArray(c.x.reduce((a, b) => a * b, 1), rng);
    const wa = randomArray(c.k * c.k * c.x[3] * c.co, rng);
    const ra = randomArray(ds.reduce((a, b) => a * b, 1), rng);
    const x = tf.tensor4d(xa, c.x);
    const w = tf.tensor4d(wa, [c.k, c.k, c.x[3], c.co]);
    const r = tf.tensor4d(ra, ds);
    // Loss = sum(conv2d(x, w) * r): dy = r.
    const gradX = async () => {
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(v as tf.Tensor4D, w, c.stride, 'same'), r)))(x);
      const d = (await g.data()) as Float32Array;
      g.dispose();
      return d;
    };
    const transpose = async () => {
      const t = tf.conv2dTranspose(r, w, c.x, c.stride, 'same');
      const d = (await t.data()) as Float32Array;
      t.dispose();
      return d;
    };
    const { dx, K } = reference(ra, wa, c);
    const direct = await runOurs(c, r, w);
    const wasInstalled = ourKernelsInstalled('Conv2DBackpropInput');
    unregisterOurKernels();
    const theirs = await gradX();
    expect(registerOurKernels({ force: true })).toBe(true);
    expect(ourKernelsInstalled('Conv2DBackpropInput')).toBe(true);
    try {
      const before = tf.memory().numTensors;
      const ours = await gradX();
      const oursT = await transpose();
      expect(tf.memory().numTensors).toBe(before);
      // Bit-identical to a direct call of ours: the registered kernel is ours.
      expect(Array.from(ours)).toEqual(Array.from(direct));
      expect(Array.from(oursT)).toEqual(Array.from(direct));
      check(`${c.name} (tf.grad)`, ours, dx, K);
      check(`${c.name} (conv2dTranspose)`, oursT, dx, K);
      check(`${c.name} (tfjs's own kernel)`, theirs, dx, K);
    } finally {
      if (!wasInstalled) unregisterOurKernels();
    }
    tf.dispose([x, w, r]);
  });
});
