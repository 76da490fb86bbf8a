/**
 * Batch norm's training pass on WebAssembly (./batchnorm.ts): the SIMD helpers against float64
 * references on [R, C] views (one 16-column group and several; one row, a few, many), and the
 * patched BatchNormalization layer against tfjs-layers' own on this backend, with tfjs-layers' path
 * kept where the channels are not a multiple of 16. Its own file: the tfjs backend is process-wide.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../tf';
import { initBackend } from '../index';
import { Prng } from '../../training/rng';
import { randomArray } from '../kernels/test-support';
import { uninstallFusedBatchNorm } from '../../models/batchnorm';
import { compareWithTfjsLayers, expectFusedMatches, expectSameAsSeparate } from '../../models/batchnorm-test-support';
import { wasmBatchNorm, wasmBatchNormApplies } from './batchnorm';
import { activeHeap } from './heap';

beforeAll(async () => {
  await initBackend('wasm');
});
afterAll(() => uninstallFusedBatchNorm());

/** Per-column float64 sums of f(value, row, column) over a row-major [rows, cols] array. */
function columns(values: Float32Array, cols: number, f: (v: number, r: number, c: number) => number): Float64Array {
  const out = new Float64Array(cols);
  for (let i = 0; i < values.length; i++) out[i % cols] = out[i % cols]! + f(values[i]!, Math.floor(i / cols), i % cols);
  return out;
}

/** |got - ref| within float32 rounding of a sum of `terms` terms, relative to the largest reference. */
function expectClose(what: string, got: ArrayLike<number>, ref: Float64Array, terms: number): void {
  let scale = 0;
  for (const v of ref) scale = Math.max(scale, Math.abs(v));
  const tol = 2e-7 * terms * scale + 1e-6;
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[i]! - ref[i]!));
  expect(worst, `${what}: largest error ${worst} (tolerance ${tol})`).toBeLessThanOrEqual(tol);
}

/** Buffers the backend holds (tensors and our scratch): a scratch buffer not freed shows here. */
function backendBuffers(): number {
  return (activeHeap()!.backend as unknown as { dataIdMap: { numDataIds(): number } }).dataIdMap.numDataIds();
}

describe('batch norm helpers (wasm)', () => {
  it.each([
    [1, 16],
    [37, 48],
    [4096, 64],
    [300, 512],
  ])('moments, normalisation, backward sums and input gradient over %i rows x %i channels', async (rows, cols) => {
    const rng = new Prng(rows * 7 + cols);
    const xv = randomArray(rows * cols, rng).map((v) => v * 3 + 0.5);
    const dyv = randomArray(rows * cols, rng);
    const gv = randomArray(cols, rng).map((v) => v + 1);
    const bv = randomArray(cols, rng);
    const eps = 1e-3;
    const buffersBefore = backendBuffers();
    const tensorsBefore = tf.memory().numTensors;
    const [x, dy, gamma, beta] = [tf.tensor2d(xv, [rows, cols]), tf.tensor2d(dyv, [rows, cols]), tf.tensor1d(gv), tf.tensor1d(bv)];
    expect(wasmBatchNormApplies(x)).toBe(true);

    const [m, v] = wasmBatchNorm.moments(x);
    const mRef = columns(xv, cols, (a) => a / rows);
    expectClose('mean', await m.data(), mRef, rows);
    const mv = await m.data();
    const vRef = columns(xv, cols, (a, _, c) => (a - mv[c]!) ** 2 / rows);
    expectClose('variance', await v.data(), vRef, rows);
    const vv = await v.data();
    const rstd = Float64Array.from(vv, (a) => 1 / Math.sqrt(a + eps));

    const y = wasmBatchNorm.normalize(x, [m, v], gamma, beta, eps);
    const yRef = Float64Array.from(xv, (a, i) => (a - mv[i % cols]!) * rstd[i % cols]! * gv[i % cols]! + bv[i % cols]!);
    expectClose('normalised', await y.data(), yRef, 8);

    const [dbeta, dgamma] = wasmBatchNorm.backwardSums(dy, x, [m, v], eps);
    expectClose('dbeta', await dbeta.data(), columns(dyv, cols, (a) => a), rows);
    const dgRef = columns(xv, cols, (a, r, c) => (dyv[r * cols + c]! * (a - mv[c]!)) * rstd[c]!);
    expectClose('dgamma', await dgamma.data(), dgRef, rows);

    const dx = wasmBatchNorm.inputGrad(dy, x, [m, v], gamma, dbeta, dgamma, rows, eps);
    const db = await dbeta.data();
    const dg = await dgamma.data();
    const dxRef = Float64Array.from(xv, (a, i) => {
      const c = i % cols;
      const xhat = (a - mv[c]!) * rstd[c]!;
      return (dyv[i]! - db[c]! / rows - xhat * (dg[c]! / rows)) * (gv[c]! * rstd[c]!);
    });
    expectClose('dx', await dx.data(), dxRef, 8);

    const ema = wasmBatchNorm.movingAverage(m, [m, v], 'variance', 0.1); // m moved towards v
    const emaMean = wasmBatchNorm.movingAverage(m, [v, m], 'mean', 0.1); // the same, v given as the mean
    expect(Array.from(await emaMean.data())).toEqual(Array.from(await ema.data()));
    emaMean.dispose();
    expectClose('moving average', await ema.data(), Float64Array.from(mv, (a, c) => a - (a - vv[c]!) * 0.1), 2);
    // the same bits as tfjs's three kernels (Sub, Multiply, Sub), for the decays tfjs-layers uses
    for (const decay of [0.1, 0.01, 1 - 0.99, 1 / 3]) {
      const ours = wasmBatchNorm.movingAverage(m, [m, v], 'variance', decay);
      const theirs = tf.tidy(() => tf.sub(m, tf.mul(tf.sub(m, v), decay)));
      expect(Array.from(await ours.data())).toEqual(Array.from(await theirs.data()));
      tf.dispose([ours, theirs]);
    }

    tf.dispose([x, dy, gamma, beta, m, v, y, dbeta, dgamma, dx, ema]);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(backendBuffers()).toBe(buffersBefore); // the scratch of normalize and inputGrad freed
  });

  it('applies to float32 tensors whose channels are a multiple of 16, and nothing else', () => {
    const cases: Array<[tf.Tensor, boolean]> = [
      [tf.zeros([2, 3, 3, 32]), true],
      [tf.zeros([2, 3, 3, 24]), false],
      [tf.zeros([0, 3, 3, 32]), false],
      [tf.zeros([2, 3, 3, 32], 'int32'), false],
      [tf.zeros([32]), false],
    ];
    for (const [t, applies] of cases) expect(wasmBatchNormApplies(t), `[${t.shape}] ${t.dtype}`).toBe(applies);
    tf.dispose(cases.map(([t]) => t));
  });
});

describe('FusedBatchNorm with given statistics (wasm)', () => {
  // Ours (channels a multiple of 16, every vector given) and the backend's own (24 channels; no scale).
  it.each([
    [[4, 5, 3, 32], true, true],
    [[2, 3, 3, 24], true, false],
    [[4, 5, 3, 32], false, false],
  ])('normalises [%j] with the given statistics (scale given: %s; ours: %s)', async (shape, withScale, ours) => {
    const rng = new Prng(shape[3]!);
    const C = shape[3]!;
    const xv = randomArray(shape.reduce((a, b) => a * b, 1), rng);
    const [mv, gv, bv] = [randomArray(C, rng), randomArray(C, rng), randomArray(C, rng)];
    const vv = Float32Array.from(randomArray(C, rng), (v) => v * v + 0.5);
    const x = tf.tensor4d(xv, shape as [number, number, number, number]);
    const [m, v, g, b] = [mv, vv, gv, bv].map((a) => tf.tensor1d(a));
    const before = backendBuffers();
    const y = tf.batchNorm(x, m!, v!, b!, withScale ? g! : undefined, 1e-3);
    const want = Float64Array.from(xv, (a, i) => ((a - mv[i % C]!) / Math.sqrt(vv[i % C]! + 1e-3)) * (withScale ? gv[i % C]! : 1) + bv[i % C]!);
    expectClose('normalised', await y.data(), want, 8);
    if (ours) {
      // The same pass as the training path's normalisation, to the bit.
      const same = wasmBatchNorm.normalize(x, [m!, v!], g!, b!, 1e-3);
      expect(Array.from(await y.data())).toEqual(Array.from(await same.data()));
      same.dispose();
    }
    y.dispose();
    expect(backendBuffers()).toBe(before); // the scratch freed
    tf.dispose([x, m!, v!, g!, b!]);
  });
});

describe('fused training batch norm (wasm)', () => {
  // One 16-channel group; several groups and many rows; the rows of a [16, 16, 16, 128] DCGAN layer.
  it.each([
    [[4, 6, 5, 16]],
    [[3, 17, 19, 80]],
    [[16, 16, 16, 128]],
  ])("matches tfjs-layers' own at %j: output, gradients, moving averages; fewer kernels; no leaks", async (shape) => {
    await expectFusedMatches(shape);
  });

  it("keeps tfjs-layers' path where the channels are not a multiple of 16", async () => {
    const kernels = await compareWithTfjsLayers([2, 5, 5, 12], { y: 1e-7, grads: 1e-7, moving: 1e-7 });
    expect(kernels.ours).toBe(kernels.theirs);
  });

  it('batch norm with its activation as one layer: here the two layers\' own passes, the same bits', async () => {
    const shape = [3, 6, 5, 16];
    const x = tf.randomNormal(shape, 0.3, 2, 'float32', 11);
    await expectSameAsSeparate(shape, { activation: 'relu' }, x, null);
    await expectSameAsSeparate(shape, { activation: 'leakyRelu', alpha: 0.2 }, x, null);
    x.dispose();
  });
});
