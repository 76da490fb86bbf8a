/**
 * Batch norm's WGSL reductions (./batchnorm-kernels) against float64 references on [R, C] views:
 * rows split into parts with a short last one, channel counts that are not multiples of 64, data far
 * from zero mean (the parts' variances combined), the moving-average update, and the dispatches. On
 * lavapipe here; skipped, with the reason printed, without a WebGPU adapter.
 */
import { describe, expect, it } from 'vitest';
import { tf } from '../tf';
import { randomArray, webgpuSkipReason } from './test-support';
import { batchMoments, batchNormBackwardSums, movingAverage, rowParts, webgpuBatchNorm } from './batchnorm-kernels';
import { fastDispatchStats } from '../index';
import { Prng } from '../../training/rng';

const reason = await webgpuSkipReason('batch norm kernel tests');

function columns(values: Float32Array, cols: number, f: (v: number, r: number, c: number) => number): Float64Array {
  const out = new Float64Array(cols);
  for (let i = 0; i < values.length; i++) out[i % cols] = out[i % cols]! + f(values[i]!, Math.floor(i / cols), i % cols);
  return out;
}

function expectClose(got: ArrayLike<number>, ref: Float64Array, rows: number): void {
  let scale = 0;
  for (const v of ref) scale = Math.max(scale, Math.abs(v));
  const tol = 1e-6 * Math.sqrt(rows) * scale + 1e-6;
  for (let c = 0; c < ref.length; c++) expect(Math.abs(got[c]! - ref[c]!), `channel ${c}`).toBeLessThanOrEqual(tol);
}

describe.skipIf(reason !== '')('batch norm reductions (WebGPU)', () => {
  it('splits rows into at most 64 parts of at least 256 rows', () => {
    expect(rowParts(100)).toEqual({ parts: 1, rowsPerPart: 100 });
    expect(rowParts(1000)).toEqual({ parts: 4, rowsPerPart: 250 });
    expect(rowParts(256 * 32 * 32)).toEqual({ parts: 64, rowsPerPart: 4096 });
  });

  it.each([
    [1000, 130, 0.5],
    [37, 3, 0.5],
    [4096, 64, 0.5],
    [70000, 20, 1000],
  ])('moments, the backward pair and moving averages over %i rows x %i channels (mean near %d)', async (rows, cols, offset) => {
    const rng = new Prng(rows + cols);
    const xv = randomArray(rows * cols, rng).map((v, i) => v * 3 + offset + (i % cols) + Math.floor(i / cols / 1000));
    const dyv = randomArray(rows * cols, rng);
    const eps = 1e-3;
    const before = tf.memory().numTensors;
    const [x, dy] = [tf.tensor2d(xv, [rows, cols]), tf.tensor2d(dyv, [rows, cols])];
    const dispatches = fastDispatchStats()!.dispatches;
    const stats = batchMoments(x);
    expect(fastDispatchStats()!.dispatches - dispatches).toBe(2); // partials, then the finish
    expect(stats.shape).toEqual([2, cols]);
    const sv = await stats.data();
    const mean = columns(xv, cols, (a) => a / rows);
    const variance = columns(xv, cols, (a, _, c) => (a - mean[c]!) ** 2 / rows);
    expectClose(sv.slice(0, cols), mean, rows);
    // Relative to the variance itself (not to the mean's size: a one-pass sum of squares would fail).
    for (let c = 0; c < cols; c++) expect(Math.abs(sv[cols + c]! - variance[c]!), `variance ${c}`).toBeLessThanOrEqual(1e-5 * variance[c]!);
    const mv = sv.slice(0, cols);
    const vv = sv.slice(cols);
    const [dbeta, dgamma] = batchNormBackwardSums(dy, x, stats, eps);
    expectClose(await dbeta.data(), columns(dyv, cols, (a) => a), rows);
    expectClose(
      await dgamma.data(),
      columns(xv, cols, (a, r, c) => dyv[r * cols + c]! * (a - mv[c]!) / Math.sqrt(vv[c]! + eps)),
      rows,
    );
    const current = tf.tensor1d(randomArray(cols, rng));
    const cv = await current.data();
    for (const which of ['mean', 'variance'] as const) {
      const ema = webgpuBatchNorm.movingAverage(current, [stats], which, 0.1);
      const batch = which === 'mean' ? mv : vv;
      expectClose(await ema.data(), Float64Array.from(cv, (a, c) => a - (a - batch[c]!) * 0.1), 1);
      ema.dispose();
    }
    tf.dispose([x, dy, stats, dbeta, dgamma, current]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the moving average reads its batch values from an offset', async () => {
    const value = tf.tensor1d([1, 2, 3]);
    const batch = tf.tensor1d([10, 20, 30, 40, 50, 60]);
    const out = movingAverage(value, batch, 0.5, 3);
    expect(Array.from(await out.data())).toEqual([1 - (1 - 40) * 0.5, 2 - (2 - 50) * 0.5, 3 - (3 - 60) * 0.5]);
    tf.dispose([value, batch, out]);
  });
});
