/**
 * Matrix products without atomics (./matmul-deterministic): where tfjs-backend-webgpu would split K
 * over atomic adds, our kernel runs its reduce program instead; every other product keeps tfjs's
 * choice. On lavapipe here (tfjs makes the same choice there as on an H100); skipped, with the reason
 * printed, without an adapter.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { tf } from '../tf';
import { randomArray, recordPrograms, webgpuSkipReason } from './test-support';
import { registerOurKernels, unregisterOurKernels } from './index';
import { tfjsWouldSplitK } from './matmul-deterministic';
import { Prng } from '../../training/rng';

const reason = await webgpuSkipReason('deterministic matmul tests');

/** The names of the WebGPU programs `f` runs. */
function programsOf(f: () => tf.Tensor): { out: tf.Tensor; programs: string[] } {
  const { result, programs } = recordPrograms(f);
  return { out: result, programs: programs.map((p) => p.constructor.name) };
}

/** A critic's dense head: features [B, K] times weights [K, 1] (plus bias), in float64. */
function reference(xs: Float32Array, ws: Float32Array, rows: number, k: number, bias = 0): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = bias;
    for (let i = 0; i < k; i++) s += xs[r * k + i]! * ws[i]!;
    out[r] = s;
  }
  return out;
}

function expectNear(got: ArrayLike<number>, want: Float64Array, k: number): void {
  const tol = 4e-7 * Math.sqrt(k) * 8; // float32 sums of k products of values below 1
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(tol);
}

describe.skipIf(reason !== '')('BatchMatMul / _FusedMatMul without atomics (WebGPU)', () => {
  afterEach(() => registerOurKernels());

  it("restates tfjs's choice: split K for a dense head on 8192 features at batches 129-256 only", () => {
    const head = (b: number) => ({ aShape: [b, 8192], bShape: [8192, 1], transposeA: false, transposeB: false });
    expect(tfjsWouldSplitK(head(256), 8)).toBe(true);
    expect(tfjsWouldSplitK(head(129), 8)).toBe(true);
    expect(tfjsWouldSplitK(head(128), 8)).toBe(false); // 128 outputs: tfjs's reduce program already
    expect(tfjsWouldSplitK(head(257), 8)).toBe(false); // 9 tiles: packed
    expect(tfjsWouldSplitK({ ...head(256), bShape: [1, 8192], transposeB: true }, 8)).toBe(true);
    expect(tfjsWouldSplitK({ aShape: [256, 1999], bShape: [1999, 1], transposeA: false, transposeB: false }, 8)).toBe(false);
    expect(tfjsWouldSplitK({ aShape: [2, 256, 8192], bShape: [2, 8192, 1], transposeA: false, transposeB: false }, 8)).toBe(false);
  });

  it('runs the reduce program where tfjs would split K, with the right values, the same bits every time', async () => {
    const rng = new Prng(11);
    const [rows, k] = [200, 2048];
    const xs = randomArray(rows * k, rng);
    const ws = randomArray(k, rng);
    const x = tf.tensor2d(xs, [rows, k]);
    const w = tf.tensor2d(ws, [k, 1]);
    const bias = tf.tensor1d([0.25]);

    unregisterOurKernels(['BatchMatMul', '_FusedMatMul']);
    const theirs = programsOf(() => tf.matMul(x, w));
    expect(theirs.programs).toContain('MatMulSplitKProgram'); // the premise: tfjs splits K here
    theirs.out.dispose();
    registerOurKernels();

    const ours = programsOf(() => tf.matMul(x, w));
    expect(ours.programs).toEqual(['MatMulReduceProgram']);
    const first = (await ours.out.data()) as Float32Array;
    expectNear(first, reference(xs, ws, rows, k), k);
    const again = tf.matMul(x, w);
    expect(Array.from(await again.data())).toEqual(Array.from(first));

    // The fused product with bias and activation (tfjs-layers' Dense), and its gradient's products.
    const fused = programsOf(() => tf.fused.matMul({ a: x, b: w, bias, activation: 'relu' }));
    expect(fused.programs).not.toContain('MatMulSplitKProgram');
    const want = reference(xs, ws, rows, k, 0.25).map((v) => Math.max(0, v));
    expectNear((await fused.out.data()) as Float32Array, want, k);
    const g = programsOf(() => tf.grad((v: tf.Tensor) => tf.sum(tf.matMul(x, v as tf.Tensor2D)))(w));
    expect(g.programs).not.toContain('MatMulSplitKProgram');

    expect(tf.env().getNumber('WEBGPU_MATMUL_PROGRAM_TYPE')).toBe(-1); // the flag is restored
    tf.dispose([x, w, bias, ours.out, again, fused.out, g.out]);
  });

  it("leaves other products, and a program type a developer forced, to tfjs", async () => {
    const x = tf.ones([64, 64]);
    const small = programsOf(() => tf.matMul(x, x));
    expect(small.programs).not.toContain('MatMulReduceProgram');
    const a = tf.ones([200, 2048]);
    const b = tf.ones([2048, 1]);
    tf.env().set('WEBGPU_MATMUL_PROGRAM_TYPE', 1);
    try {
      const forced = programsOf(() => tf.matMul(a, b));
      expect(forced.programs).toContain('MatMulSplitKProgram');
      expect(Array.from(await forced.out.data()).every((v) => v === 2048)).toBe(true);
      forced.out.dispose();
    } finally {
      tf.env().set('WEBGPU_MATMUL_PROGRAM_TYPE', -1);
    }
    tf.dispose([x, a, b, small.out]);
  });
});
