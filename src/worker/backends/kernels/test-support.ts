/**
 * Shared set-up of the kernel tests and the kernel benchmark (not shipped code paths: imported by
 * *.test.ts and bench/ only).
 */
import { expect } from 'vitest';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../tf';
import { initBackend } from '../index';
import { Prng } from '../../training/rng';
import type { ConvAttrs } from './common';
import { type FusedAdamOptimizer, createAdam } from './adam';

import { thenRestore } from './record-programs';

export { recordPrograms, type RecordedProgram } from './record-programs';

/** Starts the WebGPU backend; returns '' or, when there is no adapter, the reason (printed) to skip. */
export async function webgpuSkipReason(what: string): Promise<string> {
  try {
    await initBackend('webgpu');
    return '';
  } catch (e) {
    const reason = (e as Error).message;
    console.log(`[skip] ${what}: ${reason}`);
    return reason;
  }
}

/**
 * Runs fn with one of the GAN_AUGMENT_* switches (read on each call) set to '0', then restores it (once
 * a returned promise settles): e.g. GAN_AUGMENT_WGSL_KERNELS (our WebGPU kernels) or
 * GAN_AUGMENT_LOSS_PROGRAMS (our loss programs).
 */
export function withSwitchOff<T>(name: `GAN_AUGMENT_${string}`, fn: () => T): T {
  const before = process.env[name];
  const restore = () => {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  };
  process.env[name] = '0';
  return thenRestore(fn, restore);
}

/** Runs fn with our WebGPU kernels turned off (GAN_AUGMENT_WGSL_KERNELS=0). */
export const withOurKernelsOff = <T>(fn: () => T): T => withSwitchOff('GAN_AUGMENT_WGSL_KERNELS', fn);

/** One convolution shape under test: x is the conv2d input [B, H, W, CI], k the kernel side, co the output channels. */
export interface ConvCase<Pad> {
  name: string;
  x: [number, number, number, number];
  k: number;
  co: number;
  stride: number;
  pad: Pad;
}

/**
 * Shapes every convolution pass is tested on: odd sizes, strides 1 and 2, every kind of padding,
 * batch 1, channel counts that are not multiples of 4, and two DCGAN layers. Names give x's channels,
 * then the output channels.
 */
export const COMMON_CONV_CASES: ReadonlyArray<ConvCase<ConvAttrs['pad']>> = [
  { name: 'odd 7x9, 3/5 channels, k3 s1 same', x: [2, 7, 9, 3], k: 3, co: 5, stride: 1, pad: 'same' },
  { name: 'odd 9x7, 5/3 channels, k3 s2 same', x: [1, 9, 7, 5], k: 3, co: 3, stride: 2, pad: 'same' },
  { name: 'odd 11x11, 3/6 channels, k4 s2 valid', x: [2, 11, 11, 3], k: 4, co: 6, stride: 2, pad: 'valid' },
  { name: 'batch 1, 8x8, 5/7 channels, k4 s1 valid', x: [1, 8, 8, 5], k: 4, co: 7, stride: 1, pad: 'valid' },
  { name: 'batch 1, 10x10, 7/5 channels, k3 s2 same', x: [1, 10, 10, 7], k: 3, co: 5, stride: 2, pad: 'same' },
  { name: 'explicit pads 1/2, 2/0, 4/8 channels, k3 s2', x: [2, 10, 9, 4], k: 3, co: 8, stride: 2, pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
  { name: 'numeric pad 1, 13x13, 6/10 channels, k4 s2', x: [1, 13, 13, 6], k: 4, co: 10, stride: 2, pad: 1 },
  { name: 'DCGAN D1 / G3 32x32x3 <-> 16x16x64, k4 s2 same, batch 2', x: [2, 32, 32, 3], k: 4, co: 64, stride: 2, pad: 'same' },
  { name: 'DCGAN D2 / G2 16x16x64 <-> 8x8x128, k4 s2 same, batch 2', x: [2, 16, 16, 64], k: 4, co: 128, stride: 2, pad: 'same' },
];

/** The case whose name starts with `prefix` (tests pick cases by name, not position). */
export function caseNamed<C extends { name: string }>(cases: readonly C[], prefix: string): C {
  const c = cases.find((x) => x.name.startsWith(prefix));
  if (!c) throw new Error(`no test case named ${prefix}`);
  return c;
}

export function randomArray(n: number, rng: Prng): Float32Array {
  return Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
}

/** tfjs's conv info for a test case (output size and pads for the float64 references). */
export function convInfoOf<Pad>(c: ConvCase<Pad>) {
  return tf.backend_util.computeConv2DInfo(c.x, [c.k, c.k, c.x[3], c.co], c.stride, 1, c.pad as Parameters<typeof tf.conv2d>[3]);
}

/** The conv output's shape [B, OH, OW, CO] (= dy's shape for the gradients). */
export function convOutShape<Pad>(c: ConvCase<Pad>): [number, number, number, number] {
  const info = convInfoOf(c);
  return [c.x[0], info.outHeight, info.outWidth, c.co];
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/**
 * Expects max |got - ref| <= 1e-5 * sqrt(K) * max|ref| + 1e-6 (fp32 summation error of K terms grows
 * about like sqrt(K)); prints the figures; returns the error and the tolerance.
 */
export function expectNearReference(name: string, got: ArrayLike<number>, ref: Float64Array, K: number): { err: number; tol: number } {
  expect(got.length).toBe(ref.length);
  let err = 0;
  for (let i = 0; i < ref.length; i++) err = Math.max(err, Math.abs(got[i]! - ref[i]!));
  const tol = 1e-5 * Math.sqrt(K) * maxAbs(ref) + 1e-6;
  console.log(`${name}: K=${K} max|ref|=${maxAbs(ref).toFixed(3)} max abs error ${err.toExponential(2)} (tolerance ${tol.toExponential(2)})`);
  expect(err).toBeLessThanOrEqual(tol);
  return { err, tol };
}

/** The values of one of our kernels' outputs (null: the kernel declined the inputs, a test failure). */
export async function readKernelOutput(info: TensorInfo | null): Promise<Float32Array> {
  if (!info) throw new Error('unsupported');
  const t = tf.engine().makeTensorFromTensorInfo(info);
  const data = (await t.data()) as Float32Array;
  t.dispose();
  return data;
}

/** max |a - b| / max |a| (a is the reference). */
export async function maxRelDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const [x, y] = [await a.data(), await b.data()];
  let d = 0;
  let m = 1e-12;
  for (let i = 0; i < x.length; i++) {
    d = Math.max(d, Math.abs(x[i]! - y[i]!));
    m = Math.max(m, Math.abs(x[i]!));
  }
  return d / m;
}

/**
 * Two copies (tags[0]: ours, tags[1]: tfjs's) of variables of the given shapes with the same values,
 * our Adam and tfjs's with the same settings, and `step(seed)`, which applies the same random
 * gradients (`grads(vars, seed)`) through each optimizer to its copy.
 */
export function adamTwins(shapes: number[][], tags: [string, string], seed: number) {
  const makeVars = (tag: string): tf.Variable[] => {
    const r = new Prng(seed);
    return shapes.map((s, i) => tf.variable(tf.tensor(randomArray(s.reduce((a, b) => a * b, 1), r), s), true, `${tag}_${i}_${r.int(1e9)}`));
  };
  const grads = (vars: tf.Variable[], gradSeed: number): tf.NamedTensorMap => {
    const r = new Prng(gradSeed);
    return Object.fromEntries(vars.map((v) => [v.name, tf.tensor(randomArray(v.size, r), v.shape)]));
  };
  const ours = makeVars(tags[0]);
  const theirs = makeVars(tags[1]);
  const optOurs: FusedAdamOptimizer = createAdam(2e-3, 0.5, 0.999, 1e-7);
  const optTheirs: tf.Optimizer = tf.train.adam(2e-3, 0.5, 0.999, 1e-7);
  const step = (gradSeed: number): void => {
    const gO = grads(ours, gradSeed);
    const gT = grads(theirs, gradSeed);
    optOurs.applyGradients(gO);
    optTheirs.applyGradients(gT);
    tf.dispose([...Object.values(gO), ...Object.values(gT)]);
  };
  return { ours, theirs, optOurs, optTheirs, grads, step };
}
