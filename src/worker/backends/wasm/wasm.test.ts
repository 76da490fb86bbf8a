/**
 * The WebAssembly training backend (./index.ts): our kernels against tfjs-backend-cpu's on random
 * inputs (DCGAN layers, odd sizes, strides 1-3, every padding kind, NCHW), DCGAN and conditional
 * WGAN-GP steps on 'wasm' without leaks, and `auto` choosing it when the only WebGPU adapter is a
 * software one. Its own file: the tfjs backend is process-wide.
 */
import { describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import { tf } from '../tf';
import { describeAdapter, initBackend, releaseIdleBackendMemory, wasmHeapBytes } from '../index';
import { makeConfig } from '../../models/config';
import { createTrainer } from '../../training/trainer';
import { DeviceOutOfMemoryError } from '../../training/errors';
import { Prng } from '../../training/rng';
import { randomArray } from '../kernels/test-support';
import { randomDataset, stepLosses } from '../../../../test/helpers/training';
import { chooseFilterGradMethod, conv2dBackpropFilter, filterGradGeometry, type FilterGradMethod } from './conv2d-backprop-filter';
import { convGeometry } from './nhwc';
import { chooseInputGradMethod, clearInputGradFilterCache, conv2dBackpropInput, inputGradFilterCacheSize, type InputGradMethod } from './conv2d-backprop-input';
import { BROADCAST_KERNELS, channelBroadcastKernel, isTrailingBlock, leadingBlockLength } from './broadcast';
import { currentKernelThreads, disposeKernelThreads } from './simd/kernel-threads';
import { conv2dForward, gemmApplies } from './conv2d';
import { WINOGRAD_MAX_SCRATCH_BYTES, WINOGRAD_MIN_MULTIPLY_ADDS, winogradScatter4Pays, winogradScatterApplies, winograd4Applies, winograd4Pays, winogradApplies, winogradFilter4Pays, winogradFilterPays, winogradInput4Pays, winogradInputPays, winogradLevel, winogradPays, winogradScratchFloats } from './winograd';
import { exactAlpha, leakyFactor, leakyMulInHeap } from './leaky-relu';

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
/** x: the conv input's NHWC shape; k: kernel; co: output channels. */
interface Case {
  x: [number, number, number, number];
  k: [number, number];
  co: number;
  s: number | [number, number];
  pad: Pad;
  nchw?: boolean;
  /** The transposed Winograd input gradients that apply (checked where given). */
  scatter?: InputGradMethod[];
}

const CASES: Case[] = [
  { x: [4, 32, 32, 3], k: [4, 4], co: 64, s: 2, pad: 'same' }, // DCGAN-32 D1
  { x: [4, 16, 16, 64], k: [4, 4], co: 128, s: 2, pad: 'same' }, // D2
  { x: [3, 9, 11, 5], k: [3, 3], co: 7, s: 1, pad: 'same' },
  { x: [3, 9, 11, 5], k: [3, 3], co: 7, s: 1, pad: 'valid' },
  { x: [2, 7, 10, 4], k: [4, 4], co: 6, s: 2, pad: 'valid' }, // rows and columns never read
  { x: [2, 7, 9, 3], k: [4, 3], co: 5, s: 2, pad: 'same' }, // even kernel, odd size, asymmetric pad
  { x: [2, 10, 11, 3], k: [5, 5], co: 4, s: 3, pad: 'same' },
  { x: [2, 8, 8, 3], k: [5, 5], co: 4, s: 1, pad: [[0, 0], [1, 2], [0, 3], [0, 0]] },
  { x: [2, 9, 8, 3], k: [3, 3], co: 4, s: [2, 1], pad: 1 },
  { x: [1, 5, 5, 4], k: [1, 1], co: 3, s: 1, pad: 'valid' },
  { x: [2, 7, 7, 8], k: [1, 1], co: 5, s: 2, pad: 'valid' }, // phases no tap reaches: zero in dx
  { x: [2, 9, 8, 9], k: [3, 3], co: 6, s: 2, pad: 'same' }, // odd kernel: phases with 2 and 1 taps
  { x: [2, 8, 8, 3], k: [4, 4], co: 5, s: 2, pad: 'same', nchw: true },
  { x: [2, 8, 9, 3], k: [3, 3], co: 4, s: 1, pad: [[0, 0], [1, 2], [0, 3], [0, 0]], nchw: true },
  // Output channels a multiple of 16: the 'direct' method applies too.
  { x: [3, 9, 11, 3], k: [3, 3], co: 16, s: 1, pad: 'same' }, // 27 filter rows (odd)
  { x: [2, 7, 10, 2], k: [4, 3], co: 32, s: 2, pad: 'valid' },
  { x: [1, 5, 5, 1], k: [1, 1], co: 16, s: 1, pad: 'valid' }, // batch 1, one filter row
  { x: [2, 8, 8, 3], k: [5, 5], co: 16, s: [1, 2], pad: [[0, 0], [1, 2], [0, 3], [0, 0]] },
  { x: [2, 8, 8, 3], k: [4, 4], co: 16, s: 2, pad: 'same', nchw: true },
  { x: [9, 30, 30, 3], k: [4, 4], co: 48, s: 2, pad: 'same' }, // 2,025 dy rows: 8 slices, the last short
  // Our forward kernel for the input gradient's phases too (x has 16 channels), odd sizes.
  { x: [3, 9, 7, 16], k: [3, 3], co: 16, s: 2, pad: 'same' },
  { x: [2, 6, 6, 4], k: [3, 3], co: 32, s: 1, pad: 'valid' }, // no padding: the forward pass reads x in place
  { x: [1, 5, 5, 2], k: [3, 3], co: 16, s: 1, pad: 'same' }, // 25 output pixels (odd): XNNPACK's forward pass
  { x: [2, 12, 10, 32], k: [4, 4], co: 32, s: 2, pad: 'same' }, // 512 filter rows: several slices of 'directRows'
  // 'directRows' with x in phase rows: unequal strides, and taps that a stride phase lacks.
  { x: [2, 9, 8, 4], k: [3, 4], co: 16, s: [2, 1], pad: 'same' },
  { x: [2, 10, 11, 4], k: [5, 5], co: 16, s: 3, pad: 'same' },
  { x: [2, 7, 9, 16], k: [1, 1], co: 5, s: 2, pad: 'valid' }, // 'phasesInHeap' with phases no tap reaches
  // Winograd's forward pass: 45 tiles (odd: the GEMMs' pad row), and no padding (x read in place of a pad)
  { x: [3, 12, 20, 8], k: [4, 4], co: 16, s: 2, pad: 'same' },
  { x: [2, 10, 14, 4], k: [4, 4], co: 32, s: 2, pad: 'valid' },
  // Winograd's input gradient: odd dx sizes (phases of unequal lengths, tiles past dx), and no padding
  { x: [2, 9, 7, 16], k: [4, 4], co: 8, s: 2, pad: 'same' },
  { x: [2, 10, 14, 16], k: [4, 4], co: 4, s: 2, pad: 'valid' },
  // The input gradient as the forward pass transposed (winogradScatter, winograd4Scatter): dy of 4 x 6
  // (F(2x2, 2x2) only), 8 x 4 in 3 images (F(4x4, 2x2): 6 tiles, 2 a column), 4 x 4 in 3 images (3 tiles:
  // odd), patches past dx's top and right (pad 2 above, explicit), and 'valid', whose last row no tap
  // reads (neither: its pixels would get no value)
  { x: [3, 8, 12, 16], k: [4, 4], co: 16, s: 2, pad: 'same', scatter: ['winogradScatter'] },
  { x: [3, 16, 8, 32], k: [4, 4], co: 32, s: 2, pad: 'same', scatter: ['winogradScatter', 'winograd4Scatter'] },
  { x: [3, 8, 8, 16], k: [4, 4], co: 48, s: 2, pad: 'same', scatter: ['winogradScatter', 'winograd4Scatter'] },
  { x: [2, 8, 7, 16], k: [4, 4], co: 16, s: 2, pad: [[0, 0], [2, 0], [1, 2], [0, 0]], scatter: ['winogradScatter', 'winograd4Scatter'] },
  { x: [2, 11, 10, 16], k: [4, 4], co: 16, s: 2, pad: 'valid', scatter: [] },
];

/** An NHWC explicit padding in the layout of the case (NCHW: [[0, 0], [0, 0], [t, b], [l, r]]). */
function padFor(c: Case): Pad {
  const p = c.pad;
  return c.nchw && Array.isArray(p) ? [p[0], p[3], p[1], p[2]] : p;
}

/** Runs one kernel on `backend` with fresh tensors; returns its values. */
async function runOn(backend: 'cpu' | 'wasm', kernel: string, inputs: Record<string, [Float32Array, number[]]>, attrs: object): Promise<Float32Array> {
  await tf.setBackend(backend);
  const out = tf.tidy(() => {
    const ins = Object.fromEntries(Object.entries(inputs).map(([k, [v, shape]]) => [k, tf.tensor(v, shape)]));
    return tf.engine().runKernel(kernel, ins, attrs as never) as tf.Tensor;
  });
  const data = (await out.data()) as Float32Array;
  out.dispose();
  return data;
}

function maxRel(got: Float32Array, ref: Float32Array): number {
  expect(got.length).toBe(ref.length);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - ref[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return err / scale;
}

const wasmInfo = await initBackend('wasm');

/**
 * Float64 sums of sampled outputs of a 4x4 convolution of stride 2 with padding 1 ('same' on an even
 * size), x [n, h, h, ci], filter [4, 4, ci, co], dy [n, h / 2, h / 2, co]: [index in the output, exact value].
 */
function forwardSamples(x: Float32Array, filter: Float32Array, n: number, h: number, ci: number, co: number): Array<[number, number]> {
  const samples: Array<[number, number]> = [];
  for (let p = 0; p < n * (h / 2) ** 2; p += 7) {
    const [img, oy, ox] = [Math.floor(p / (h / 2) ** 2), Math.floor(p / (h / 2)) % (h / 2), p % (h / 2)];
    for (let o = 0; o < co; o += 5) {
      let exact = 0;
      for (let kh = 0; kh < 4; kh++) for (let kw = 0; kw < 4; kw++) {
        const [iy, ix] = [2 * oy + kh - 1, 2 * ox + kw - 1];
        if (iy < 0 || ix < 0 || iy >= h || ix >= h) continue;
        for (let c = 0; c < ci; c++) exact += x[((img * h + iy) * h + ix) * ci + c]! * filter[((kh * 4 + kw) * ci + c) * co + o]!;
      }
      samples.push([p * co + o, exact]);
    }
  }
  return samples;
}

/** The filter gradient's, every steps[0]-th tap, steps[1]-th channel and steps[2]-th output (see `forwardSamples`). */
function filterGradSamples(x: Float32Array, dy: Float32Array, n: number, h: number, ci: number, co: number, steps: [number, number, number]): Array<[number, number]> {
  const samples: Array<[number, number]> = [];
  for (let tap = 0; tap < 16; tap += steps[0]) {
    for (let c = 0; c < ci; c += steps[1]) {
      for (let o = 0; o < co; o += steps[2]) {
        const [kh, kw] = [Math.floor(tap / 4), tap % 4];
        let exact = 0;
        for (let img = 0; img < n; img++) for (let oy = 0; oy < h / 2; oy++) for (let ox = 0; ox < h / 2; ox++) {
          const [iy, ix] = [2 * oy + kh - 1, 2 * ox + kw - 1];
          if (iy < 0 || ix < 0 || iy >= h || ix >= h) continue;
          exact += x[((img * h + iy) * h + ix) * ci + c]! * dy[((img * (h / 2) + oy) * (h / 2) + ox) * co + o]!;
        }
        samples.push([(tap * ci + c) * co + o, exact]);
      }
    }
  }
  return samples;
}

/** The input gradient's (see `forwardSamples`). */
function inputGradSamples(dy: Float32Array, filter: Float32Array, n: number, h: number, ci: number, co: number): Array<[number, number]> {
  const samples: Array<[number, number]> = [];
  for (let p = 0; p < n * h * h; p += 11) {
    const [img, iy, ix] = [Math.floor(p / (h * h)), Math.floor(p / h) % h, p % h];
    for (let c = 0; c < ci; c += 7) {
      let exact = 0;
      for (let kh = 0; kh < 4; kh++) for (let kw = 0; kw < 4; kw++) {
        const [oy, ox] = [(iy + 1 - kh) / 2, (ix + 1 - kw) / 2];
        if (!Number.isInteger(oy) || !Number.isInteger(ox) || oy < 0 || ox < 0 || oy >= h / 2 || ox >= h / 2) continue;
        for (let o = 0; o < co; o++) exact += dy[((img * (h / 2) + oy) * (h / 2) + ox) * co + o]! * filter[((kh * 4 + kw) * ci + c) * co + o]!;
      }
      samples.push([p * ci + c, exact]);
    }
  }
  return samples;
}

/** The largest error of each of two results at the samples, then the largest exact value. */
function sampledErrors(samples: Array<[number, number]>, a: Float32Array, b: Float32Array): [number, number, number] {
  const err = (r: Float32Array) => samples.reduce((e, [at, exact]) => Math.max(e, Math.abs(r[at]! - exact)), 0);
  return [err(a), err(b), samples.reduce((m, [, exact]) => Math.max(m, Math.abs(exact)), 0)];
}

describe('WebAssembly backend', () => {
  it('starts with a device description and a warning', () => {
    expect(wasmInfo.name).toBe('wasm');
    expect(wasmInfo.device).toMatch(/^CPU: WebAssembly/);
    expect(wasmInfo.isGpu).toBe(false);
    expect(wasmInfo.warning).toMatch(/processor/);
  });

  it.each(CASES)('forward pass (with and without a bias), filter and input gradients match the CPU backend: %j', async (c) => {
    const rng = new Prng(c.x.reduce((a, b) => a * 7 + b, c.co));
    const [n, h, w, ci] = c.x;
    const dataFormat = c.nchw ? 'NCHW' : 'NHWC';
    const filterShape: [number, number, number, number] = [c.k[0], c.k[1], ci, c.co];
    const info = tf.backend_util.computeConv2DInfo(c.x, filterShape, c.s, 1, c.pad as never);
    const xShape = c.nchw ? [n, ci, h, w] : c.x;
    const dyShape = c.nchw ? [n, c.co, info.outHeight, info.outWidth] : [n, info.outHeight, info.outWidth, c.co];
    const x = randomArray(n * h * w * ci, rng);
    const dy = randomArray(dyShape.reduce((a, b) => a * b, 1), rng);
    const filter = randomArray(filterShape.reduce((a, b) => a * b, 1), rng);
    const common = { strides: c.s, pad: padFor(c), dataFormat, dimRoundingMode: undefined };
    const fAttrs = { ...common, filterShape };
    const iAttrs = { ...common, inputShape: xShape };
    const fIn = { x: [x, xShape], dy: [dy, dyShape] } as Record<string, [Float32Array, number[]]>;
    const iIn = { dy: [dy, dyShape], filter: [filter, filterShape] } as Record<string, [Float32Array, number[]]>;
    const before = tf.memory().numTensors;
    // Backend-level data too: our direct method's scratch is not a tensor of the engine's.
    const wasmData = () => (tf.findBackend('wasm') as unknown as { numDataIds(): number }).numDataIds();
    const dataBefore = wasmData();
    // The forward pass: Conv2D, and FusedConv2D with a bias (NHWC: tfjs-backend-wasm has no NCHW). Not with a
    // numeric pad and unequal strides: tfjs 4.22 computes that output's width with the row stride,
    // and XNNPACK's kernel then never returns.
    const cAttrs = { ...common, dilations: 1 };
    const tfjsQuirk = typeof c.pad === 'number' && Array.isArray(c.s) && c.s[0] !== c.s[1];
    const cIn = { x: [x, xShape], filter: [filter, filterShape] } as Record<string, [Float32Array, number[]]>;
    const cRef = tfjsQuirk || c.nchw ? null : await runOn('cpu', 'Conv2D', cIn, cAttrs);
    if (cRef) expect(maxRel(await runOn('wasm', 'Conv2D', cIn, cAttrs), cRef)).toBeLessThan(1e-5);
    const ours = !c.nchw && c.co % 16 === 0 && (n * info.outHeight * info.outWidth) % 2 === 0;
    expect(gemmApplies({ shape: xShape, dtype: 'float32' } as never, { shape: filterShape, dtype: 'float32' } as never, cAttrs as never)).toBe(ours);
    if (cRef) {
      const bias = randomArray(c.co, rng);
      const bIn = { ...cIn, bias: [bias, [c.co]] } as Record<string, [Float32Array, number[]]>;
      const bAttrs = { ...cAttrs, activation: 'linear' };
      expect(maxRel(await runOn('wasm', 'FusedConv2D', bIn, bAttrs), await runOn('cpu', 'FusedConv2D', bIn, bAttrs))).toBeLessThan(1e-5);
      await tf.setBackend('wasm');
      const geometry = { n, h, w, ci, oh: info.outHeight, ow: info.outWidth, co: c.co, kh: c.k[0], kw: c.k[1], sh: info.strideHeight, sw: info.strideWidth, padTop: info.padInfo.top, padLeft: info.padInfo.left, hp: Math.max(h + info.padInfo.top, (info.outHeight - 1) * info.strideHeight + c.k[0]), wp: Math.max(w + info.padInfo.left, (info.outWidth - 1) * info.strideWidth + c.k[1]) };
      const winogradMethods = [...(winogradApplies(geometry) ? (['winograd'] as const) : []), ...(winograd4Applies(geometry) ? (['winograd4'] as const) : [])];
      const forwardMethods = ours ? (['gemm', ...winogradMethods, 'xnnpack'] as const) : (['xnnpack'] as const);
      for (const method of forwardMethods) {
        const got = tf.tidy(() => conv2dForward(tf.tensor4d(x, xShape as never), tf.tensor4d(filter, filterShape), cAttrs as never, method));
        // F(4x4, 2x2)'s transforms round (entries 2, 3, 4, 8, 1/6): a wider bound
        expect(maxRel((await got.data()) as Float32Array, cRef), method).toBeLessThan(method === 'winograd4' ? 3e-5 : 1e-5);
        got.dispose();
      }
    }
    const fRef = await runOn('cpu', 'Conv2DBackpropFilter', fIn, fAttrs);
    expect(maxRel(await runOn('wasm', 'Conv2DBackpropFilter', fIn, fAttrs), fRef)).toBeLessThan(1e-5);
    // Both ways of computing it, whichever the kernel picks for this shape.
    await tf.setBackend('wasm');
    const rows = c.k[0] * c.k[1] * ci;
    const methods: FilterGradMethod[] = ['dyFilter', 'xFilter'];
    if (c.co % 16 === 0) methods.push('direct', 'directNhwc');
    if (c.co % 16 === 0 && rows % 2 === 0) methods.push('directRows', 'directRowsNhwc');
    const fg = c.nchw ? null : filterGradGeometry(c.x, [n, info.outHeight, info.outWidth, c.co], fAttrs as never);
    const winogradFilter = fg !== null && winogradApplies({ ...fg, hp: h + fg.padTop + fg.padBottom, wp: w + fg.padLeft + fg.padRight });
    if (winogradFilter) methods.push('winograd', 'winogradRows');
    if (fg !== null && winograd4Applies({ ...fg, hp: h + fg.padTop + fg.padBottom, wp: w + fg.padLeft + fg.padRight })) methods.push('winograd4');
    const byMethod = new Map<FilterGradMethod, Float32Array>();
    for (const method of methods) {
      const got = tf.tidy(() => conv2dBackpropFilter(tf.tensor4d(x, xShape as never), tf.tensor4d(dy, dyShape as never), fAttrs as never, method));
      expect(got.shape).toEqual(filterShape);
      byMethod.set(method, (await got.data()) as Float32Array);
      expect(maxRel(byMethod.get(method)!, fRef), method).toBeLessThan(method === 'winograd4' ? 3e-5 : 1e-5);
      got.dispose();
    }
    // x in phase rows sums the same products in the same order as x in NHWC: the same bits, in slices
    // of filter rows and of dy rows alike (Ci not a multiple of 4: the scalar phase rows).
    if (byMethod.has('directRows')) expect(Array.from(byMethod.get('directRows')!)).toEqual(Array.from(byMethod.get('directRowsNhwc')!));
    if (byMethod.has('direct')) expect(Array.from(byMethod.get('direct')!)).toEqual(Array.from(byMethod.get('directNhwc')!));
    // Winograd's GEMMs read U transposed or where it lies: the same sums in the same order
    if (winogradFilter) expect(Array.from(byMethod.get('winograd')!)).toEqual(Array.from(byMethod.get('winogradRows')!));
    const iRef = await runOn('cpu', 'Conv2DBackpropInput', iIn, iAttrs);
    expect(maxRel(await runOn('wasm', 'Conv2DBackpropInput', iIn, iAttrs), iRef)).toBeLessThan(1e-5);
    await tf.setBackend('wasm');
    const inputMethods: InputGradMethod[] = ['subPixel', 'phases', 'patches'];
    if (ci % 16 === 0) inputMethods.push('phasesInHeap');
    if (ci % 16 === 0 && c.co % 4 === 0 && c.k[0] === 4 && c.k[1] === 4 && c.s === 2 && !Array.isArray(c.pad)) inputMethods.push('winograd', 'winograd4');
    // the forward pass transposed, where dy is whole tiles and the patches cover dx
    const ig = { n, h, w, ci, oh: info.outHeight, ow: info.outWidth, co: c.co, kh: c.k[0], kw: c.k[1], sh: info.strideHeight, sw: info.strideWidth, padTop: info.padInfo.top, padLeft: info.padInfo.left };
    if (winogradScatterApplies(ig, 2)) inputMethods.push('winogradScatter');
    if (winogradScatterApplies(ig, 4)) inputMethods.push('winograd4Scatter');
    if (c.scatter !== undefined) expect(inputMethods.filter((m) => m.endsWith('Scatter'))).toEqual(c.scatter);
    for (const method of inputMethods) {
      const got = tf.tidy(() => conv2dBackpropInput(tf.tensor4d(dy, dyShape as never), tf.tensor4d(filter, filterShape), iAttrs as never, method));
      expect(got.shape).toEqual(xShape);
      expect(maxRel((await got.data()) as Float32Array, iRef), method).toBeLessThan(method.startsWith('winograd4') ? 3e-5 : 1e-5);
      got.dispose();
    }
    // Which one the kernel takes: below 16 input channels on WebAssembly 'patches' where a stride
    // interleaves phases, 'subPixel' (one plain convolution) at stride 1
    const defaultInput = chooseInputGradMethod(convGeometry('Conv2DBackpropInput', c.x, filterShape, [n, info.outHeight, info.outWidth, c.co], { strides: c.s, pad: c.pad as never }));
    if (ci < 16) expect(defaultInput).toBe(info.strideHeight * info.strideWidth === 1 ? 'subPixel' : 'patches');
    // On another backend (no heap) 'subPixel' reads dx out of its result in JavaScript.
    await tf.setBackend('cpu');
    const js = tf.tidy(() => conv2dBackpropInput(tf.tensor4d(dy, dyShape as never), tf.tensor4d(filter, filterShape), iAttrs as never, 'subPixel'));
    expect(maxRel((await js.data()) as Float32Array, iRef), 'subPixel on the CPU backend').toBeLessThan(1e-5);
    js.dispose();
    await tf.setBackend('wasm');
    // Nothing else is left once the input gradient's cached filters are dropped.
    clearInputGradFilterCache();
    expect(tf.memory().numTensors).toBe(before);
    expect(wasmData()).toBe(dataBefore);
    await tf.setBackend('wasm');
  });

  it('Winograd\'s three passes: as close to the exact sums as the direct passes, taken by default where they pay (the forward pass\'s bias included, the same bits), and not where GAN_AUGMENT_WASM_WINOGRAD=0', async () => {
    await tf.setBackend('wasm');
    const rng = new Prng(23);
    // 256 tiles, 2^29 multiply-adds (DCGAN-64's D3 at batch 16): F(2x2, 2x2) by default (64 tiles of 4x4: not F(4x4, 2x2))
    const [n, h, ci, co] = [16, 16, 128, 256];
    const x = randomArray(n * h * h * ci, rng);
    const filter = randomArray(16 * ci * co, rng);
    const bias = randomArray(co, rng);
    const geometry = { n, h, w: h, ci, oh: h / 2, ow: h / 2, co, kh: 4, kw: 4, sh: 2, sw: 2, padTop: 1, padLeft: 1, hp: h + 2, wp: h + 2 };
    expect([winogradPays(geometry), winograd4Applies(geometry), winograd4Pays(geometry)]).toEqual([true, true, false]);
    expect(64 * n * (h / 4) ** 2 * ci * co).toBe(4 * WINOGRAD_MIN_MULTIPLY_ADDS);
    expect(winogradPays({ ...geometry, n: 1, ci: 1024, co: 1024 })).toBe(false); // 16 tiles
    expect(winogradPays({ ...geometry, n: 2, ci: 512, co: 1024 })).toBe(true); // 32 tiles, 2^30
    expect(winogradPays({ ...geometry, n: 8 })).toBe(true); // 128 tiles, 2^28
    expect(winogradPays({ ...geometry, co: co / 4 })).toBe(true); // 256 tiles, 2^27
    expect(winogradPays({ ...geometry, co: co / 8 })).toBe(false); // 2^26
    // a batch whose scratch would pass 256 MB: the direct passes (DCGAN-64's D2 at batch 256: 300 MB)
    const d2 = { n: 256, h: 32, w: 32, ci: 64, oh: 16, ow: 16, co: 128, kh: 4, kw: 4, sh: 2, sw: 2, padTop: 1, padLeft: 1, hp: 34, wp: 34 };
    expect(4 * winogradScratchFloats(d2, 'forward')).toBeGreaterThan(WINOGRAD_MAX_SCRATCH_BYTES);
    expect([winogradApplies(d2), winogradPays(d2), winogradFilterPays(d2)]).toEqual([true, false, false]);
    // F(4x4, 2x2)'s own scratch counts for it (1.56 times instead of 2.25): 236 MB there, taken; not at batch 512
    expect(4 * winogradScratchFloats(d2, 'forward', 4)).toBeLessThan(WINOGRAD_MAX_SCRATCH_BYTES);
    expect([winograd4Pays(d2), winogradFilter4Pays(d2), winograd4Pays({ ...d2, n: 512 }), winogradFilter4Pays({ ...d2, n: 512 })]).toEqual([true, true, false, false]);
    expect([winogradPays({ ...d2, n: 64 }), winogradFilterPays({ ...d2, n: 64 })]).toEqual([true, true]);
    expect(winogradApplies({ ...geometry, ci: 6 })).toBe(false);
    expect(winogradApplies({ ...geometry, kh: 3, kw: 3 })).toBe(false);
    expect(winogradApplies({ ...geometry, sh: 1, sw: 1 })).toBe(false);
    expect(winogradApplies({ ...geometry, oh: 7 })).toBe(false);
    const attrs = { strides: 2, pad: 'same', dataFormat: 'NHWC', dilations: 1 } as const;
    const run = (method?: 'gemm' | 'winograd') =>
      tf.tidy(() => conv2dForward(tf.tensor4d(x, [n, h, h, ci]), tf.tensor4d(filter, [4, 4, ci, co]), attrs as never, method).dataSync() as Float32Array);
    const [direct, winograd, byDefault] = [run('gemm'), run('winograd'), run()];
    expect(Array.from(byDefault)).toEqual(Array.from(winograd));
    expect(Array.from(winograd)).not.toEqual(Array.from(direct)); // another order of sums
    // float64 sums of a sample of outputs: Winograd's error within twice the direct pass's
    const [errDirect, errWinograd, scale] = sampledErrors(forwardSamples(x, filter, n, h, ci, co), direct, winograd);
    expect(errWinograd / scale).toBeLessThan(4e-6); // 2,048 products a sum
    expect(errWinograd).toBeLessThan(2 * errDirect);
    // FusedConv2D with a bias: Winograd adds it as its last sum, the bits of adding it after
    const fused = await runOn('wasm', 'FusedConv2D', { x: [x, [n, h, h, ci]], filter: [filter, [4, 4, ci, co]], bias: [bias, [co]] }, { ...attrs, activation: 'linear' });
    expect(Array.from(fused)).toEqual(Array.from(winograd, (v, i) => Math.fround(v + bias[i % co]!)));
    // switched off: the direct pass, as before
    const saved = process.env.GAN_AUGMENT_WASM_WINOGRAD;
    process.env.GAN_AUGMENT_WASM_WINOGRAD = '0';
    try {
      expect(Array.from(run())).toEqual(Array.from(direct));
    } finally {
      if (saved === undefined) delete process.env.GAN_AUGMENT_WASM_WINOGRAD;
      else process.env.GAN_AUGMENT_WASM_WINOGRAD = saved;
    }
    expect(() => tf.tidy(() => conv2dForward(tf.zeros([2, 9, 9, 4]), tf.zeros([4, 4, 4, 16]), attrs as never, 'winograd'))).toThrow(/even output size/);

    // The filter gradient of the same layer, from a dy of its output's shape
    const dy = randomArray(n * (h / 2) ** 2 * co, rng);
    const fAttrs = { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [4, 4, ci, co] } as const;
    const fg = filterGradGeometry([n, h, h, ci], [n, h / 2, h / 2, co], fAttrs as never);
    expect(chooseFilterGradMethod(fg)).toBe('winograd');
    expect(chooseFilterGradMethod(filterGradGeometry([n / 4, h, h, ci], [n / 4, h / 2, h / 2, co], fAttrs as never))).toBe('winograd'); // 2^27, Ci 128
    expect(chooseFilterGradMethod(filterGradGeometry([n / 8, h, h, ci], [n / 8, h / 2, h / 2, co], fAttrs as never))).toBe('directRows'); // 2^26
    const grad = (method?: FilterGradMethod) =>
      tf.tidy(() => conv2dBackpropFilter(tf.tensor4d(x, [n, h, h, ci]), tf.tensor4d(dy, [n, h / 2, h / 2, co]), fAttrs as never, method).dataSync() as Float32Array);
    const [gDirect, gWinograd, gDefault] = [grad('directRows'), grad('winograd'), grad()];
    expect(Array.from(gDefault)).toEqual(Array.from(gWinograd));
    const [gErrDirect, gErrWinograd, gScale] = sampledErrors(filterGradSamples(x, dy, n, h, ci, co, [3, 9, 13]), gDirect, gWinograd);
    expect(gErrWinograd / gScale).toBeLessThan(4e-6); // 1,024 products a sum
    expect(gErrWinograd).toBeLessThan(2 * gErrDirect);
    // The input gradient of the same layer, from the same dy
    // (the forward pass transposed: F(4x4, 2x2) from 64 tiles of 4x4, F(2x2, 2x2) below, from 2^27 multiply-adds)
    const iGeometry = { ...fg, h, w: h };
    expect(chooseInputGradMethod(iGeometry)).toBe('winograd4Scatter');
    expect(chooseInputGradMethod({ ...iGeometry, n: n / 4 })).toBe('winogradScatter'); // 2^27, 16 tiles of 4x4
    expect(chooseInputGradMethod({ ...iGeometry, n: n / 8 })).toBe('phasesInHeap'); // 2^26
    // where the transposed passes do not apply (dy's size not whole tiles), the per-phase ones
    expect(chooseInputGradMethod({ ...iGeometry, h: 14, w: 14, oh: 7, ow: 7 })).toBe('winograd');
    const iAttrs = { strides: 2, pad: 'same', dataFormat: 'NHWC', inputShape: [n, h, h, ci] } as const;
    const dxOf = (method?: InputGradMethod) =>
      tf.tidy(() => conv2dBackpropInput(tf.tensor4d(dy, [n, h / 2, h / 2, co]), tf.tensor4d(filter, [4, 4, ci, co]), iAttrs as never, method).dataSync() as Float32Array);
    const [dxDirect, dxWinograd, dxScatter, dxDefault] = [dxOf('phasesInHeap'), dxOf('winograd'), dxOf('winogradScatter'), dxOf()];
    expect(Array.from(dxDefault)).toEqual(Array.from(dxOf('winograd4Scatter')));
    const [iErrDirect, iErrWinograd, iScale] = sampledErrors(inputGradSamples(dy, filter, n, h, ci, co), dxDirect, dxWinograd);
    expect(iErrWinograd / iScale).toBeLessThan(4e-6); // 1,024 products a sum
    expect(iErrWinograd).toBeLessThan(2 * iErrDirect);
    const [, iErrScatter] = sampledErrors(inputGradSamples(dy, filter, n, h, ci, co), dxDirect, dxScatter);
    expect(iErrScatter / iScale).toBeLessThan(4e-6);
    expect(iErrScatter).toBeLessThan(2 * iErrDirect);
    process.env.GAN_AUGMENT_WASM_WINOGRAD = 'off';
    try {
      expect(chooseFilterGradMethod(fg)).toBe('directRows');
      expect(chooseInputGradMethod(iGeometry)).toBe('phasesInHeap');
      expect(Array.from(dxOf())).toEqual(Array.from(dxDirect));
      expect(Array.from(grad())).toEqual(Array.from(gDirect));
      process.env.GAN_AUGMENT_WASM_WINOGRAD = '2';
      expect(chooseInputGradMethod(iGeometry)).toBe('winogradScatter');
      expect(Array.from(dxOf())).toEqual(Array.from(dxScatter));
    } finally {
      if (saved === undefined) delete process.env.GAN_AUGMENT_WASM_WINOGRAD;
      else process.env.GAN_AUGMENT_WASM_WINOGRAD = saved;
    }
    expect(() => tf.tidy(() => conv2dBackpropFilter(tf.zeros([2, 8, 8, 6]), tf.zeros([2, 4, 4, 16]), { ...fAttrs, filterShape: [4, 4, 6, 16] } as never, 'winograd'))).toThrow(/Ci a multiple of 4/);
    expect(() => tf.tidy(() => conv2dBackpropInput(tf.zeros([2, 4, 4, 16]), tf.zeros([4, 4, 8, 16]), { ...iAttrs, inputShape: [2, 8, 8, 8] } as never, 'winograd'))).toThrow(/input channels a multiple of 16/);
  });

  it('Winograd\'s F(4x4, 2x2): the three passes within 10x the direct passes\' error, taken where it pays, not where GAN_AUGMENT_WASM_WINOGRAD=2 or 0', async () => {
    await tf.setBackend('wasm');
    const rng = new Prng(29);
    // DCGAN-64's D2 at batch 16: 256 tiles of 4x4 pixels, the smallest F(4x4, 2x2) takes by default
    const [n, h, ci, co] = [16, 32, 64, 128];
    const x = randomArray(n * h * h * ci, rng);
    const filter = randomArray(16 * ci * co, rng);
    const dy = randomArray(n * (h / 2) ** 2 * co, rng);
    const geometry = { n, h, w: h, ci, oh: h / 2, ow: h / 2, co, kh: 4, kw: 4, sh: 2, sw: 2, padTop: 1, padLeft: 1, hp: h + 2, wp: h + 2 };
    expect([winogradPays(geometry), winograd4Pays(geometry), winograd4Pays({ ...geometry, n: n / 2 })]).toEqual([true, true, false]);
    expect(winograd4Applies({ ...geometry, oh: 14, ow: 14 })).toBe(false); // 3.5 tiles of 4x4
    const attrs = { strides: 2, pad: 'same', dataFormat: 'NHWC', dilations: 1 } as const;
    const run = (method?: 'gemm' | 'winograd' | 'winograd4') =>
      tf.tidy(() => conv2dForward(tf.tensor4d(x, [n, h, h, ci]), tf.tensor4d(filter, [4, 4, ci, co]), attrs as never, method).dataSync() as Float32Array);
    const [direct, f2, f4, byDefault] = [run('gemm'), run('winograd'), run('winograd4'), run()];
    expect(Array.from(byDefault)).toEqual(Array.from(f4));
    const [errDirect, errF4, scale] = sampledErrors(forwardSamples(x, filter, n, h, ci, co), direct, f4);
    expect(errF4 / scale).toBeLessThan(2e-5); // 1,024 products a sum
    expect(errF4).toBeLessThan(10 * errDirect); // 4.9x measured
    const saved = process.env.GAN_AUGMENT_WASM_WINOGRAD;
    const withSwitch = <T>(value: string, f: () => T): T => {
      process.env.GAN_AUGMENT_WASM_WINOGRAD = value;
      try {
        return f();
      } finally {
        if (saved === undefined) delete process.env.GAN_AUGMENT_WASM_WINOGRAD;
        else process.env.GAN_AUGMENT_WASM_WINOGRAD = saved;
      }
    };
    expect(Array.from(withSwitch('2', () => run()))).toEqual(Array.from(f2));
    expect(Array.from(withSwitch(' off ', () => run()))).toEqual(Array.from(direct));
    expect([withSwitch('2', winogradLevel), withSwitch('1', winogradLevel), withSwitch('false', winogradLevel), winogradLevel({})]).toEqual(['2x2', 'all', 'off', 'all']);

    // The filter gradient: F(4x4, 2x2) by default on this layer (256 tiles of 4x4), not on D4 (64 at batch 64)
    const fAttrs = { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [4, 4, ci, co] } as const;
    const fg = filterGradGeometry([n, h, h, ci], [n, h / 2, h / 2, co], fAttrs as never);
    expect(chooseFilterGradMethod(fg)).toBe('winograd4');
    expect(winogradFilter4Pays({ n: 64, h: 8, w: 8, ci: 256, oh: 4, ow: 4, co: 512, kh: 4, kw: 4, sh: 2, sw: 2, padTop: 1, padLeft: 1, hp: 10, wp: 10 })).toBe(false);
    // DCGAN-32's D2 at batch 16 (Ci 64): 64 tiles, enough with so few channels; at batch 8 not
    const d2s = { n: 16, h: 16, w: 16, ci: 64, oh: 8, ow: 8, co: 128, kh: 4, kw: 4, sh: 2, sw: 2, padTop: 1, padLeft: 1, hp: 18, wp: 18 };
    expect([winogradFilter4Pays(d2s), winogradFilter4Pays({ ...d2s, n: 8 }), winogradFilterPays({ ...d2s, n: 8 })]).toEqual([true, false, false]);
    expect(withSwitch('2', () => chooseFilterGradMethod(fg))).toBe('winograd');
    const grad = (method: FilterGradMethod) =>
      tf.tidy(() => conv2dBackpropFilter(tf.tensor4d(x, [n, h, h, ci]), tf.tensor4d(dy, [n, h / 2, h / 2, co]), fAttrs as never, method).dataSync() as Float32Array);
    const [gDirect, gF4] = [grad('directRows'), grad('winograd4')];
    const [gErrDirect, gErrF4, gScale] = sampledErrors(filterGradSamples(x, dy, n, h, ci, co, [3, 5, 11]), gDirect, gF4);
    expect(gErrF4 / gScale).toBeLessThan(2e-5); // 4,096 products a sum
    expect(gErrF4).toBeLessThan(10 * gErrDirect); // 1.04x measured

    // The input gradient: F(4x4, 2x2) by default from 2^31 multiply-adds and 256 tiles in a phase
    const iGeometry = { n, h, w: h, ci, oh: h / 2, ow: h / 2, co, kh: 4, kw: 4, sh: 2, sw: 2, padTop: 1, padLeft: 1 };
    expect([winogradInputPays(iGeometry), winogradInput4Pays(iGeometry)]).toEqual([true, false]); // 2^29
    expect(winogradInput4Pays({ ...iGeometry, n: 64 })).toBe(true); // DCGAN-64's D2 at batch 64: 1,024 tiles a phase
    expect(winogradInput4Pays({ ...iGeometry, n: 64, h: 8, w: 8, oh: 4, ow: 4, ci: 256, co: 512 })).toBe(false); // D4: 64 tiles a phase
    // (the per-phase passes; the transposed ones where dy is whole tiles: F(4x4, 2x2) from 64 tiles of 4x4)
    const odd = { ...iGeometry, n: 64, h: 26, w: 26, oh: 13, ow: 13, co: 256 }; // dy 13 x 13: not whole tiles
    expect([chooseInputGradMethod(odd), withSwitch('2', () => chooseInputGradMethod(odd))]).toEqual(['winograd4', 'winograd']);
    expect([chooseInputGradMethod(iGeometry), chooseInputGradMethod({ ...iGeometry, n: 64 })]).toEqual(['winograd4Scatter', 'winograd4Scatter']);
    expect(withSwitch('2', () => chooseInputGradMethod({ ...iGeometry, n: 64 }))).toBe('winogradScatter');
    expect(winogradScatter4Pays({ ...iGeometry, n: 64, h: 8, w: 8, oh: 4, ow: 4, ci: 256, co: 512 })).toBe(true); // D4 at batch 64: 64 tiles
    expect(winogradScatter4Pays({ ...iGeometry, h: 8, w: 8, oh: 4, ow: 4, ci: 256, co: 512 })).toBe(false); // D4 at batch 16: 16 tiles
    expect(winogradScatter4Pays({ ...iGeometry, oh: 14, ow: 14 })).toBe(false); // 3.5 tiles of 4x4
    const iAttrs = { strides: 2, pad: 'same', dataFormat: 'NHWC', inputShape: [n, h, h, ci] } as const;
    const dxOf = (method: InputGradMethod) =>
      tf.tidy(() => conv2dBackpropInput(tf.tensor4d(dy, [n, h / 2, h / 2, co]), tf.tensor4d(filter, [4, 4, ci, co]), iAttrs as never, method).dataSync() as Float32Array);
    const [dxDirect, dxF4, dxF4Scatter] = [dxOf('phasesInHeap'), dxOf('winograd4'), dxOf('winograd4Scatter')];
    const [iErrDirect, iErrF4, iScale] = sampledErrors(inputGradSamples(dy, filter, n, h, ci, co), dxDirect, dxF4);
    expect(iErrF4 / iScale).toBeLessThan(2e-5); // 512 products a sum
    expect(iErrF4).toBeLessThan(10 * iErrDirect); // 6.3x measured
    const [, iErrF4Scatter] = sampledErrors(inputGradSamples(dy, filter, n, h, ci, co), dxDirect, dxF4Scatter);
    expect(iErrF4Scatter / iScale).toBeLessThan(2e-5);
    expect(iErrF4Scatter).toBeLessThan(10 * iErrDirect);
    expect(() => tf.tidy(() => conv2dForward(tf.zeros([2, 12, 12, 4]), tf.zeros([4, 4, 4, 16]), attrs as never, 'winograd4'))).toThrow(/output size a multiple of 4/);
  });

  it('reuses the input gradient\'s rearranged filters while the weights live, bounded, and frees them', async () => {
    await tf.setBackend('wasm');
    clearInputGradFilterCache();
    const rng = new Prng(11);
    const attrs = { strides: 2, pad: 'same', dataFormat: 'NHWC', inputShape: [2, 8, 8, 16] } as never;
    const dy = tf.tensor4d(randomArray(2 * 4 * 4 * 8, rng), [2, 4, 4, 8]);
    const before = tf.memory().numTensors;
    const w1 = tf.tensor4d(randomArray(4 * 4 * 16 * 8, rng), [4, 4, 16, 8]);
    const dx1 = conv2dBackpropInput(dy, w1, attrs, 'phases');
    expect(inputGradFilterCacheSize()).toBe(1);
    const held = tf.memory().numTensors; // dx1 and the four phase filters
    // A clone (what tfjs saves for the backward pass) shares w1's data id: reused.
    const saved = tf.clone(w1);
    const dx1b = conv2dBackpropInput(dy, saved, attrs, 'phases');
    expect(Array.from(await dx1b.data())).toEqual(Array.from(await dx1.data()));
    expect(inputGradFilterCacheSize()).toBe(1);
    expect(tf.memory().numTensors).toBe(held + 2); // saved and dx1b only
    // One value changed by one bit (a new tensor): its own entry and its own, correct result.
    const bits = new Uint32Array((w1.dataSync() as Float32Array).slice().buffer);
    bits[100]! ^= 1;
    const w2 = tf.tensor4d(new Float32Array(bits.buffer), [4, 4, 16, 8]);
    const dx2 = conv2dBackpropInput(dy, w2, attrs, 'phases');
    expect(inputGradFilterCacheSize()).toBe(2);
    const ref = conv2dBackpropInput(dy, w2, attrs, 'subPixel');
    expect(maxRel((await dx2.data()) as Float32Array, (await ref.data()) as Float32Array)).toBeLessThan(1e-6);
    expect(Array.from(await dx2.data())).not.toEqual(Array.from(await dx1.data()));
    // An entry stays while a tensor with its data id lives, and goes with the last one.
    tf.dispose([dx1, dx1b, dx2, ref, w1, w2]);
    expect(inputGradFilterCacheSize()).toBe(1); // saved still holds w1's data
    saved.dispose();
    expect(inputGradFilterCacheSize()).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    // Bounded: 20 different live weights leave the 16 most recent.
    const ws = Array.from({ length: 20 }, () => tf.tensor4d(randomArray(4 * 4 * 16 * 8, rng), [4, 4, 16, 8]));
    for (const w of ws) conv2dBackpropInput(dy, w, attrs, 'phases').dispose();
    expect(inputGradFilterCacheSize()).toBe(16);
    expect(clearInputGradFilterCache()).toBe(16);
    tf.dispose([...ws, dy]);
    expect(tf.memory().numTensors).toBe(before - 1);
  });

  it('takes the patches below 16 input channels only where they fit 256 MB of scratch (else the sub-pixel convolution)', async () => {
    await tf.setBackend('wasm');
    // DCGAN-128's RGB layer: at batch 256 its patches take 201 MB, at 512 twice that
    const rgb128 = (batch: number) => ({ n: batch, h: 128, w: 128, ci: 3, oh: 64, ow: 64, co: 64, kh: 4, kw: 4, sh: 2, sw: 2, padTop: 1, padLeft: 1 }) as never;
    expect([chooseInputGradMethod(rgb128(256)), chooseInputGradMethod(rgb128(512))]).toEqual(['patches', 'subPixel']);
  });

  it('keeps the transposed Winograd\'s transposed taps and the patches\' W^T while the weights live: the same bits on a hit, freed with the weights', async () => {
    await tf.setBackend('wasm');
    clearInputGradFilterCache();
    const rng = new Prng(13);
    const before = tf.memory().numTensors;
    const dy = tf.tensor4d(randomArray(2 * 4 * 4 * 32, rng), [2, 4, 4, 32]);
    const w = tf.tensor4d(randomArray(4 * 4 * 16 * 32, rng), [4, 4, 16, 32]);
    const wRgb = tf.tensor4d(randomArray(4 * 4 * 3 * 32, rng), [4, 4, 3, 32]);
    const attrs = { strides: 2, pad: 'same', dataFormat: 'NHWC' } as const;
    for (const [method, filter, ci] of [['winogradScatter', w, 16], ['winograd4Scatter', w, 16], ['patches', wRgb, 3]] as const) {
      const run = (f: tf.Tensor4D) => conv2dBackpropInput(dy, f, { ...attrs, inputShape: [2, 8, 8, ci] } as never, method);
      const first = run(filter);
      const entries = inputGradFilterCacheSize();
      const clone = tf.clone(filter); // shares the data id: a hit
      const again = run(clone);
      expect(inputGradFilterCacheSize(), method).toBe(entries);
      expect(Array.from(await again.data()), method).toEqual(Array.from(await first.data()));
      tf.dispose([first, again, clone]);
    }
    expect(inputGradFilterCacheSize()).toBe(2); // w's taps (both tiles share them) and wRgb's W^T
    tf.dispose([w, wRgb]);
    expect(inputGradFilterCacheSize()).toBe(0);
    dy.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('leaves negative padding and convolutions with no output channels to the backend; its gradients read negative padding as a crop, as the CPU backend does', async () => {
    await tf.setBackend('wasm');
    const rng = new Prng(23);
    const xv = randomArray(2 * 6 * 6 * 2, rng);
    const wv = randomArray(3 * 3 * 2 * 16, rng);
    const crop = [[0, 0], [-1, -1], [0, 0], [0, 0]] as never; // tfjs-core allows it: a crop on the CPU backend
    const attrs = { strides: 1, pad: crop, dataFormat: 'NHWC', dilations: 1 } as never;
    expect(gemmApplies({ shape: [2, 6, 6, 2], dtype: 'float32' } as never, { shape: [3, 3, 2, 16], dtype: 'float32' } as never, attrs)).toBe(false);
    expect(gemmApplies({ shape: [2, 6, 6, 2], dtype: 'float32' } as never, { shape: [1, 1, 2, 0], dtype: 'float32' } as never, { strides: 1, pad: 'same' } as never)).toBe(false);
    const sentinel = tf.tensor1d([1, 2, 3, 4, 5, 6, 7, 8]); // in the heap beside what the kernels write
    const cIn = { x: [xv, [2, 6, 6, 2]], filter: [wv, [3, 3, 2, 16]] } as Record<string, [Float32Array, number[]]>;
    expect(maxRel(await runOn('wasm', 'Conv2D', cIn, attrs), await runOn('cpu', 'Conv2D', cIn, attrs))).toBeLessThan(1e-5);
    await tf.setBackend('wasm');
    const none = tf.conv2d(tf.tensor4d(xv, [2, 6, 6, 2]), tf.zeros([1, 1, 2, 0]) as tf.Tensor4D, 1, 'same');
    expect(none.shape).toEqual([2, 6, 6, 0]);
    // Both gradients against the CPU backend's: crops on one side or both, beside positive padding, at
    // strides 1 and 2, in NHWC and NCHW; a filter gradient of 16 channels takes our kernel.
    const cases = [
      { x: [2, 6, 6, 2], pad: [[0, 0], [-1, -1], [0, 0], [0, 0]], s: 1 },
      { x: [2, 9, 8, 4], pad: [[0, 0], [-1, 2], [1, -2], [0, 0]], s: 2 },
      { x: [1, 7, 9, 4], pad: [[0, 0], [0, -2], [-1, 0], [0, 0]], s: [2, 1] },
      { x: [2, 4, 9, 8], pad: [[0, 0], [0, 0], [-1, 1], [0, -1]], s: 2, nchw: true }, // NCHW: [[0, 0], [0, 0], top/bottom, left/right]
    ] as const;
    for (const c of cases) {
      const nchw = 'nchw' in c;
      const ci = nchw ? c.x[1] : c.x[3];
      const filterShape = [3, 3, ci, 16] as [number, number, number, number];
      const xIn = randomArray((c.x as readonly number[]).reduce((a, b) => a * b, 1), rng);
      const fIn = randomArray(filterShape.reduce((a, b) => a * b, 1), rng);
      const base = { strides: c.s, pad: c.pad, dataFormat: nchw ? 'NCHW' : 'NHWC' };
      await tf.setBackend('cpu');
      const dyShape = tf.tidy(() => tf.engine().runKernel('Conv2D', { x: tf.tensor(xIn, [...c.x]), filter: tf.tensor(fIn, filterShape) }, { ...base, dilations: 1 } as never) as tf.Tensor).shape;
      const dyIn = randomArray(dyShape.reduce((a, b) => a * b, 1), rng);
      const fAttrs = { ...base, filterShape };
      const gIn = { x: [xIn, [...c.x]], dy: [dyIn, dyShape] } as Record<string, [Float32Array, number[]]>;
      expect(maxRel(await runOn('wasm', 'Conv2DBackpropFilter', gIn, fAttrs), await runOn('cpu', 'Conv2DBackpropFilter', gIn, fAttrs))).toBeLessThan(1e-5);
      const iAttrs = { ...base, inputShape: [...c.x] };
      const dIn = { dy: [dyIn, dyShape], filter: [fIn, filterShape] } as Record<string, [Float32Array, number[]]>;
      expect(maxRel(await runOn('wasm', 'Conv2DBackpropInput', dIn, iAttrs), await runOn('cpu', 'Conv2DBackpropInput', dIn, iAttrs))).toBeLessThan(1e-5);
    }
    await tf.setBackend('wasm');
    // A crop that leaves nothing is said in words.
    const x = tf.tensor4d(xv, [2, 6, 6, 2]);
    const all = [[0, 0], [-3, -3], [0, 0], [0, 0]] as never;
    const dy = tf.zeros([2, 1, 4, 16]) as tf.Tensor4D;
    expect(() => conv2dBackpropFilter(x, dy, { strides: 1, pad: all, filterShape: [3, 3, 2, 16] } as never)).toThrow(/negative padding crops all of a 6 x 6 image/);
    expect(Array.from(await sentinel.data())).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    tf.dispose([sentinel, none, x, dy]);
  });

  it('empty batches and zero channels give zero gradients (XNNPACK refuses empty convolutions)', async () => {
    await tf.setBackend('wasm');
    const attrs = { strides: 2, pad: 'same', dataFormat: 'NHWC' } as const;
    const dw = tf.tidy(() => conv2dBackpropFilter(tf.zeros([0, 8, 8, 3]), tf.zeros([0, 4, 4, 5]), { ...attrs, filterShape: [4, 4, 3, 5] } as never));
    expect(dw.shape).toEqual([4, 4, 3, 5]);
    expect(Array.from(await dw.data()).every((v) => v === 0)).toBe(true);
    const dx = tf.tidy(() => conv2dBackpropInput(tf.zeros([2, 4, 4, 0]), tf.zeros([4, 4, 3, 0]), { ...attrs, inputShape: [2, 8, 8, 3] } as never));
    expect(dx.shape).toEqual([2, 8, 8, 3]);
    expect(Array.from(await dx.data()).every((v) => v === 0)).toBe(true);
    tf.dispose([dw, dx]);
  });

  it('Identity (tf.clone) shares the data, which lives until the last sharer is disposed', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor2d([1, 2, 3, 4.5], [2, 2]);
    const y = tf.clone(x);
    expect(y.dataId).toBe(x.dataId);
    x.dispose();
    expect(Array.from(await y.data())).toEqual([1, 2, 3, 4.5]);
    const before = tf.memory().numBytes;
    y.dispose();
    expect(tf.memory().numBytes).toBe(before - 16);
    const t = tf.tensor1d(['a', 'b'], 'string');
    const s = tf.clone(t);
    t.dispose();
    expect(await s.data()).toEqual(['a', 'b']);
    s.dispose();
  });

  it('UnsortedSegmentSum and Tile (zero repetitions included) match the CPU backend', async () => {
    const rng = new Prng(3);
    const x = randomArray(6 * 5, rng);
    const ids = Float32Array.from([2, 0, 2, 1, 5, 0]); // 5 is past numSegments: dropped
    const seg = async (b: 'cpu' | 'wasm', numSegments = 3) => {
      await tf.setBackend(b);
      const out = tf.tidy(() => tf.engine().runKernel('UnsortedSegmentSum', { x: tf.tensor(x, [6, 5]), segmentIds: tf.tensor(ids, [6], 'int32') }, { numSegments } as never) as tf.Tensor);
      const d = (await out.data()) as Float32Array;
      out.dispose();
      return d;
    };
    expect(maxRel(await seg('wasm'), await seg('cpu'))).toBeLessThan(1e-6);
    // One segment (a conditional model of one class): only the rows of id 0
    expect(Array.from(await seg('wasm', 1))).toEqual(Array.from(await seg('cpu', 1)));
    const t = randomArray(2 * 1 * 3, rng);
    const tile = { x: [t, [2, 1, 3]] } as Record<string, [Float32Array, number[]]>;
    expect(Array.from(await runOn('wasm', 'Tile', tile, { reps: [2, 4, 1] }))).toEqual(Array.from(await runOn('cpu', 'Tile', tile, { reps: [2, 4, 1] })));
    expect((await runOn('wasm', 'Tile', tile, { reps: [2, 0, 1] })).length).toBe(0);
    await tf.setBackend('wasm');
  });

  it('GatherV2 (any axis, repeated and 2-D indices, float32 / int32 / bool) matches the CPU backend; a bad index is an error', async () => {
    const rng = new Prng(7);
    type Dtype = 'float32' | 'int32' | 'bool';
    const gather = async (b: 'cpu' | 'wasm', values: number[], shape: number[], dtype: Dtype, idx: number[], idxShape: number[], axis: number, batchDims: number) => {
      await tf.setBackend(b);
      const out = tf.tidy(() => tf.gather(tf.tensor(values, shape, dtype), tf.tensor(idx, idxShape, 'int32'), axis, batchDims));
      const r = { shape: out.shape, dtype: out.dtype, values: Array.from(await out.data()) };
      out.dispose();
      return r;
    };
    const cases: Array<[number[], Dtype, number[], number[], number, number]> = [
      [[8, 4096], 'float32', [3, 0, 7, 3, 1, 1, 6, 2, 0, 5, 4, 3, 2, 1, 0, 7], [16], 0, 0], // the critic's label projection
      [[3, 5, 7], 'float32', [4, 0, 4], [3], 1, 0],
      [[3, 5, 7], 'float32', [6, 0, 2, 6], [2, 2], -1, 0],
      [[4, 3], 'int32', [3, 3, 0], [3], 0, 0],
      [[4, 3], 'bool', [2, 1], [2], 0, 0],
      [[2, 4, 3], 'float32', [1, 0, 3, 3], [2, 2], 1, 1], // batchDims: the backend's own kernel
    ];
    for (const [shape, dtype, idx, idxShape, axis, batchDims] of cases) {
      const values = Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => (dtype === 'float32' ? rng.next() * 2 - 1 : rng.int(2)));
      const ours = await gather('wasm', values, shape, dtype, idx, idxShape, axis, batchDims);
      expect(ours).toEqual(await gather('cpu', values, shape, dtype, idx, idxShape, axis, batchDims));
    }
    await tf.setBackend('wasm');
    const table = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
    const atStart = tf.memory().numTensors;
    const picked = tf.tidy(() => [tf.gather(table, tf.tensor1d([2, 0, 2], 'int32')), tf.gather(table, tf.tensor1d([1, 0], 'int32'), 1)]);
    expect(picked.map((t) => Array.from(t.dataSync()))).toEqual([[5, 6, 1, 2, 5, 6], [2, 1, 4, 3, 6, 5]]);
    tf.dispose(picked);
    const bad = tf.tensor1d([3], 'int32');
    expect(() => tf.gather(table, bad)).toThrow('GatherV2: the index value 3 is not in [0, 2]');
    bad.dispose();
    expect(tf.memory().numTensors).toBe(atStart); // the failed gather left no output behind
    table.dispose();
  });

  it('binary ops with a repeating operand (per channel or per sample, either side) take the same-shape path and match float32 arithmetic bit for bit; others fall back', async () => {
    expect(isTrailingBlock([256], [16, 4, 4, 256])).toBe(true);
    expect(isTrailingBlock([1, 1, 1, 256], [16, 4, 4, 256])).toBe(true);
    expect(isTrailingBlock([4, 256], [16, 4, 4, 256])).toBe(true);
    expect(isTrailingBlock([16, 1, 1, 256], [16, 4, 4, 256])).toBe(false); // per sample and channel
    expect(isTrailingBlock([1, 1, 1, 1, 256], [16, 4, 4, 256])).toBe(false); // the result has rank 5
    expect(isTrailingBlock([1, 1], [3, 4])).toBe(false); // a scalar
    expect(leadingBlockLength([16, 1, 1, 1], [16, 32, 32, 3])).toBe(32 * 32 * 3); // per sample
    expect(leadingBlockLength([16, 1], [16, 4096])).toBe(4096);
    expect(leadingBlockLength([16, 32, 1, 1], [16, 32, 32, 3])).toBe(32 * 3);
    expect(leadingBlockLength([16, 1, 1, 3], [16, 32, 32, 3])).toBe(0);
    expect(leadingBlockLength([1, 1, 1, 1], [16, 32, 32, 3])).toBe(0);
    expect(leadingBlockLength([4096], [16, 4096])).toBe(0); // that one repeats as a whole (trailing)

    const rng = new Prng(9);
    const f32 = Math.fround;
    const exact: Record<(typeof BROADCAST_KERNELS)[number], (a: number, b: number) => number> = {
      Add: (a, b) => f32(a + b),
      Sub: (a, b) => f32(a - b),
      Multiply: (a, b) => f32(a * b),
      RealDiv: (a, b) => f32(a / b),
      SquaredDifference: (a, b) => f32(f32(a - b) ** 2),
      Maximum: (a, b) => Math.max(a, b),
      Minimum: (a, b) => Math.min(a, b),
    };
    // [a shape, b shape, whether ours repeats one of them]
    const cases: Array<[number[], number[], boolean]> = [
      [[16, 4, 4, 8], [8], true],
      [[1, 1, 1, 8], [3, 5, 5, 8], true], // the small one on the left (order matters for Sub and RealDiv)
      [[3, 5, 4, 6], [5, 4, 6], true],
      [[3, 5, 4, 6], [3, 1, 1, 1], true], // per sample
      [[3, 1], [3, 7], true],
      [[3, 5, 4, 6], [3, 1, 1, 6], false], // per sample and channel: the backend's own broadcast
      [[4, 1], [1, 5], false], // both broadcast
      [[7], [1], false], // a scalar
      [[2, 3], [2, 3], false],
    ];
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const idsAtStart = backend.numDataIds();
    for (const name of BROADCAST_KERNELS) {
      // Our wrapper around a recorder of what reaches the backend's own kernel (through the registered one).
      const registered = tf.getKernel(name, 'wasm')!.kernelFunc;
      const reached: number[][][] = [];
      const ours = channelBroadcastKernel((args) => {
        reached.push([(args.inputs.a as tf.TensorInfo).shape, (args.inputs.b as tf.TensorInfo).shape]);
        return registered(args);
      });
      for (const [sa, sb, repeats] of cases) {
        const va = randomArray(sa.reduce((p, q) => p * q, 1), rng);
        const vb = randomArray(sb.reduce((p, q) => p * q, 1), rng).map((v) => (name === 'RealDiv' ? v + Math.sign(v) * 0.5 : v));
        const a = tf.tensor(va, sa);
        const b = tf.tensor(vb, sb);
        reached.length = 0;
        const info = ours({ inputs: { a, b }, backend: tf.backend(), attrs: {} }) as tf.TensorInfo;
        const out = tf.engine().makeTensorFromTensorInfo(info);
        expect(reached[0]).toEqual(repeats ? [out.shape, out.shape] : [sa, sb]);
        const ref = tf.tidy(() => tf.engine().runKernel(name, { a, b }) as tf.Tensor); // the registered kernel, wrapped too
        // float32 arithmetic on the broadcast operands, element by element
        const full = tf.tidy(() => [tf.broadcastTo(a, out.shape), tf.broadcastTo(b, out.shape)]);
        const [aFull, bFull] = await Promise.all(full.map((t) => t.data()));
        const want = Array.from(aFull!, (x, i) => exact[name](x, bFull![i]!));
        expect(Array.from(await out.data())).toEqual(want);
        expect(Array.from(await ref.data())).toEqual(want);
        tf.dispose([a, b, out, ref, ...full]);
      }
    }
    expect(backend.numDataIds()).toBe(idsAtStart); // the repeated copies were freed
  });

  it('LeakyRelu matches float32 arithmetic, and its first and second derivatives the CPU backend, bit for bit (alpha 0.2, 0.01; 1.5 through the backend\'s own kernel)', async () => {
    const rng = new Prng(8);
    const x = randomArray(2 * 5 * 5 * 6, rng);
    x[0] = 0;
    x[1] = -0;
    const u = randomArray(x.length, rng);
    const run = async (b: 'cpu' | 'wasm', alpha: number) => {
      await tf.setBackend(b);
      const xs = tf.tensor4d(x, [2, 5, 5, 6]);
      const us = tf.tensor4d(u, [2, 5, 5, 6]);
      const f = (t: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(t, alpha), w));
      // Second derivative as the WGAN-GP penalty takes it: the gradient, with respect to the weights,
      // of a function of the gradient with respect to the input (the mask is a constant of the
      // backward pass, ../gradients.ts, so the gradient reaches the weights through dy).
      const g2 = (w: tf.Tensor) => tf.sum(tf.square(tf.grad((t: tf.Tensor) => f(t, w))(xs)));
      const outs = [tf.leakyRelu(xs, alpha), tf.grad((t: tf.Tensor) => f(t, us))(xs), tf.grad(g2)(us)];
      const values = await Promise.all(outs.map(async (o) => Array.from((await o.data()) as Float32Array, (v) => v + 0))); // -0 and 0 alike
      tf.dispose([xs, us, ...outs]);
      return values;
    };
    for (const alpha of [0.2, 0.01, 1.5]) {
      const ours = await run('wasm', alpha);
      // tfjs-backend-wasm's own kernel multiplies in float32 (the CPU backend in double, then rounds).
      expect(ours[0]).toEqual(Array.from(x, (v) => (v < 0 ? Math.fround(Math.fround(alpha) * v) : v) + 0));
      const ref = await run('cpu', alpha);
      expect(ours[1]).toEqual(ref[1]);
      expect(ours[2]).toEqual(ref[2]);
    }
    await tf.setBackend('wasm');
  });

  it('computes Tanh in the heap within 2 units in the last place of tanh, special values and odd sizes included', async () => {
    await tf.setBackend('wasm');
    /** Distance in float32 steps (the bits ordered as integers, -0 next to +0). */
    const ordered = (v: number) => {
      const i = new Int32Array(new Float32Array([v]).buffer)[0]!;
      return i < 0 ? -(i & 0x7fffffff) : i;
    };
    const special = [NaN, -0, 0, Infinity, -Infinity, 1e-45, -1e-45, 1e-30, -2e-20, 0.37499997, 0.375, -0.74999994, 0.75, 9, 9.1, 20, 21, -100, 3.4e38];
    for (const n of [special.length, 4099, 300_001]) {
      const values = new Float32Array(n);
      const rng = new Prng(n);
      for (let i = 0; i < n; i++) values[i] = i < special.length ? special[i]! : i % 2 ? (rng.next() - 0.5) * 24 : (rng.next() - 0.5) * 4 * Math.exp(-14 * rng.next());
      const x = tf.tensor1d(values);
      const before = tf.backend().numDataIds();
      const y = tf.tanh(x);
      const got = (await y.data()) as Float32Array;
      let worst = 0;
      let exact = 0;
      for (let i = 0; i < n; i++) {
        const want = Math.fround(Math.tanh(values[i]!));
        if (Number.isNaN(want)) {
          expect(got[i], `tanh(${values[i]})`).toBeNaN();
          continue;
        }
        if (want === 0) expect(Object.is(got[i], want), `tanh(${values[i]}) keeps the sign of zero`).toBe(true);
        const d = Math.abs(ordered(got[i]!) - ordered(want));
        worst = Math.max(worst, d);
        if (d === 0) exact++;
      }
      expect(worst, `largest error in float32 steps, ${n} values`).toBeLessThanOrEqual(2);
      if (n > 1000) expect(exact / n, 'share exactly rounded').toBeGreaterThan(0.9);
      y.dispose();
      expect(tf.backend().numDataIds()).toBe(before);
      x.dispose();
    }
    // Infinities and the values past 9.01 give exactly +-1.
    const ends = tf.tidy(() => tf.tanh(tf.tensor1d([Infinity, -Infinity, 9.1, -50])));
    expect(Array.from(await ends.data())).toEqual([1, -1, 1, -1]);
    ends.dispose();
  });

  it('computes LeakyReLU and its gradient in one pass in the heap with the bits of the factor form, special values and odd sizes included', async () => {
    await tf.setBackend('wasm');
    const special = [NaN, -0, 0, Infinity, -Infinity, 1e-45, -1e-45, 3.4e38, -3.4e38, 1, -1];
    for (const n of [11, 4099]) {
      const rng = new Prng(n);
      const xv = randomArray(n, rng);
      xv.set(special);
      const x = tf.tensor1d(xv);
      const dy = tf.tensor1d(randomArray(n, rng));
      for (const alpha of [0.2, 0.01]) {
        const a = exactAlpha(alpha)!;
        const before = tf.backend().numDataIds();
        const pairs: Array<[tf.Tensor, tf.Tensor]> = [
          [tf.engine().makeTensorFromTensorInfo(leakyMulInHeap(x, x, a)!), tf.tidy(() => tf.mul(x, leakyFactor(x, a)))],
          [tf.engine().makeTensorFromTensorInfo(leakyMulInHeap(dy, x, a)!), tf.tidy(() => tf.mul(dy, leakyFactor(x, a)))],
        ];
        for (const [ours, factorForm] of pairs) {
          // The same bits (every NaN alike: which NaN a product keeps is the processor's).
          const bits = async (t: tf.Tensor) => {
            const v = (await t.data()) as Float32Array;
            return Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length), (b, i) => (Number.isNaN(v[i]!) ? 'nan' : b));
          };
          expect(await bits(ours)).toEqual(await bits(factorForm));
        }
        tf.dispose(pairs.flat());
        expect(tf.backend().numDataIds()).toBe(before);
      }
      tf.dispose([x, dy]);
    }
  });

  it.each(['dcgan', 'cwgan-gp'] as const)('trains %s reproducibly on wasm (its threads included): the same seed gives the same losses, to the bit', async (family) => {
    const info = await initBackend('wasm');
    expect(info.device).toMatch(/threads?/); // the module in use (threaded where this machine has cores)
    const ds = randomDataset(9, [0, 1, 0, 1, 0, 1, 0, 1]);
    const config = makeConfig(family, 32, { preset: 'tiny', batchSize: 8, numClasses: 2 });
    const losses = () => stepLosses(createTrainer(family === 'cwgan-gp' ? { ...config, nCritic: 2 } : config, ds, { seed: 5 }), 2);
    const first = await losses();
    expect(first.every((v) => Number.isFinite(v))).toBe(true);
    expect(await losses()).toEqual(first);
  }, 120_000);

  it.each(['dcgan', 'cwgan-gp'] as const)('trains %s steps on wasm with finite losses and no leaks', async (family) => {
    await initBackend('wasm');
    const ds = randomDataset(4, [0, 1, 0, 1]);
    const config = makeConfig(family, 32, { preset: 'tiny', batchSize: 4, numClasses: 2 });
    const atStart = tf.memory().numTensors;
    const t = createTrainer(family === 'cwgan-gp' ? { ...config, nCritic: 2 } : config, ds, { seed: 2 });
    const m1 = await t.step();
    const before = tf.memory().numTensors;
    const m2 = await t.step();
    expect(tf.memory().numTensors).toBe(before);
    for (const m of [m1, m2]) expect(Number.isFinite(m.dLoss) && Number.isFinite(m.gLoss)).toBe(true);
    // Disposing the trainer frees its models, optimizers and the kernels' cached filters of its weights.
    t.dispose();
    expect(tf.memory().numTensors).toBe(atStart);
  }, 120_000);

  it('a full WebAssembly heap is an out-of-memory error in words; the next start gets a fresh module and the old one is let go', async () => {
    await initBackend('wasm');
    const atStart = tf.memory().numTensors;
    // Emscripten's process listeners (one pair per live module), told apart from the test runner's by their source.
    const listeners = () =>
      [...process.listeners('unhandledRejection'), ...process.listeners('uncaughtException')].filter((fn) =>
        /ExitStatus|^function ?\(reason\) ?\{ ?throw reason;? ?\}$/.test(fn.toString()),
      ).length;
    const listenersBefore = listeners();
    const ds = randomDataset(5, [0, 0, 0, 0]);
    const config = makeConfig('dcgan', 32, { preset: 'tiny', batchSize: 4, numClasses: 1 });
    const t = createTrainer(config, ds, { seed: 2 });
    await t.step();
    // Fill the heap the way a too-large model does (reserved, not written: no real memory is used).
    const heap = (tf.backend() as unknown as { wasm: { _malloc(n: number): number } }).wasm;
    // Our guard throws where malloc returned 0 (tfjs would have written at address 0). At most 16
    // blocks of each size fit in what the one before left; without the guard malloc returns 0 for
    // ever, so the loops are bounded (that is a failure, not a hang).
    const fill = (size: number) => () => {
      for (let i = 0; i < 10_000; i++) heap._malloc(size);
    };
    for (const size of [256 * 2 ** 20, 16 * 2 ** 20, 2 ** 20, 2 ** 16]) expect(fill(size)).toThrow(/^The WebAssembly heap is full: \d+ bytes could not be allocated\.$/);
    const err = await t.step().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceOutOfMemoryError);
    expect((err as Error).message).toBe(
      'Training ran out of memory. On the processor (WebAssembly) it can use at most 4 GB, however much memory the computer has. Try a smaller batch size or resolution.',
    );
    try {
      t.dispose(); // as a task's cleanup does; the broken module may fail here too
    } catch {
      /* the task's cleanup keeps the first error */
    }
    // The failed step's tape was discarded: nothing of it is left.
    expect(tf.memory().numTensors).toBe(atStart);
    const again = await initBackend('wasm');
    expect(again.name).toBe('wasm');
    // The old module's process listeners (which would keep its 4 GB heap alive) are gone: one pair, the new module's.
    expect(listenersBefore).toBe(2);
    expect(listeners()).toBe(2);
    const t2 = createTrainer(config, ds, { seed: 2 });
    const m = await t2.step();
    expect(Number.isFinite(m.dLoss) && Number.isFinite(m.gLoss)).toBe(true);
    t2.dispose();
    expect(tf.memory().numTensors).toBe(atStart);
  }, 120_000);

  it('after a task, a heap that grew past 512 MB goes back to the system (a fresh module); a small one stays', async () => {
    await initBackend('wasm');
    const heap = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array; _malloc(n: number): number; _free(p: number): void } }).wasm;
    const small = wasmHeapBytes();
    await releaseIdleBackendMemory();
    expect(heap().HEAPU8.length).toBe(small); // nothing to give back
    // Grow the heap as a large model does, then free it again (the heap itself never shrinks).
    const blocks = Array.from({ length: 6 }, () => heap()._malloc(128 * 2 ** 20));
    expect(blocks.every((p) => p !== 0)).toBe(true);
    for (const p of blocks) heap()._free(p);
    expect(wasmHeapBytes()).toBeGreaterThan(512 * 2 ** 20);
    const module = heap();
    // Our SIMD kernel's threads start only when it runs, and share the heap: they go with it.
    await disposeKernelThreads();
    const attrs16 = { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [4, 4, 3, 16] } as never;
    tf.tidy(() => conv2dBackpropFilter(tf.ones([1, 4, 4, 3]), tf.ones([1, 2, 2, 16]), attrs16, 'dyFilter')).dispose();
    expect(currentKernelThreads()).toBeNull();
    tf.tidy(() => conv2dBackpropFilter(tf.ones([1, 4, 4, 3]), tf.ones([1, 2, 2, 16]), { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [4, 4, 3, 16] } as never, 'direct')).dispose();
    const pool = currentKernelThreads();
    expect(pool).not.toBeNull();
    await releaseIdleBackendMemory();
    expect(tf.getBackend()).toBe('wasm');
    expect(heap()).not.toBe(module);
    expect(currentKernelThreads()).toBeNull();
    expect(pool!.workerCount).toBe(0);
    expect(wasmHeapBytes()).toBeLessThan(128 * 2 ** 20);
    const y = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), 1));
    expect(Array.from(await y.data())).toEqual([2, 3]);
    y.dispose();
  });

  it('a WebAssembly trap with room left in the heap is a backend failure, not "out of memory"; the module is replaced', async () => {
    await initBackend('wasm');
    const ds = randomDataset(6, [0, 0, 0, 0]);
    const t = createTrainer(makeConfig('dcgan', 32, { preset: 'tiny', batchSize: 4, numClasses: 1 }), ds, { seed: 2 });
    const tanh = tf.getKernel('Tanh', 'wasm')!;
    tf.unregisterKernel('Tanh', 'wasm');
    tf.registerKernel({ ...tanh, kernelFunc: () => { throw new WebAssembly.RuntimeError('memory access out of bounds'); } });
    let err: unknown;
    try {
      err = await t.step().catch((e: unknown) => e);
    } finally {
      tf.unregisterKernel('Tanh', 'wasm');
      tf.registerKernel(tanh);
    }
    expect((err as { kind?: string }).kind).toBe('internal');
    expect((err as Error).message).toBe(
      'The processor backend (WebAssembly) failed (memory access out of bounds). Your project is safe; the next task starts it afresh. If it happens again, please report it.',
    );
    t.dispose();
    const module = (tf.backend() as unknown as { wasm: unknown }).wasm;
    await initBackend('wasm');
    expect((tf.backend() as unknown as { wasm: unknown }).wasm).not.toBe(module);
  }, 120_000);

  it('auto prefers WebAssembly to WebGPU on a software adapter (this machine) and names it', async () => {
    const info = await initBackend('auto');
    // Here there is no tfjs-node and the only WebGPU adapter (if any) is lavapipe.
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(describeAdapter({ architecture: 'software', description: 'llvmpipe' }).isGpu).toBe(false);
  });
});
