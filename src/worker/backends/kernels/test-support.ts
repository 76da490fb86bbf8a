/**
 * Shared set-up of the kernel tests and the kernel benchmark (not shipped code paths: imported by
 * *.test.ts and bench/ only).
 */
import { expect } from 'vitest';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../tf';
import { initBackend } from '../index';
import type { Prng } from '../../training/rng';

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

/** One convolution shape under test: x is the conv2d input [B, H, W, CI], k the kernel side, co the output channels. */
export interface ConvCase<Pad> {
  name: string;
  x: [number, number, number, number];
  k: number;
  co: number;
  stride: number;
  pad: Pad;
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
