/**
 * Batch norm's WGSL reductions (./batchnorm-kernels) against float64 references on [R, C] views:
 * rows split into parts with a short last one, channel counts that are not multiples of 64, and the
 * moving-average update. On lavapipe here; skipped, with the reason printed, without a WebGPU adapter.
 */
import { describe, expect, it } from 'vitest';
import { tf } from '../tf';
import { randomArray, webgpuSkipReason } from './test-support';
import { columnSums, movingAverage, rowParts } from './batchnorm-kernels';
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
    [1000, 130],
    [37, 3],
    [4096, 64],
  ])('sum, squared deviation and the backward pair over %i rows x %i channels', async (rows, cols) => {
    const rng = new Prng(rows + cols);
    const xv = randomArray(rows * cols, rng).map((v) => v * 3 + 0.5);
    const dyv = randomArray(rows * cols, rng);
    const mv = randomArray(cols, rng);
    const vv = Float32Array.from(randomArray(cols, rng), (v) => v * v + 0.1);
    const eps = 1e-3;
    const before = tf.memory().numTensors;
    const [x, dy, m, v] = [tf.tensor2d(xv, [rows, cols]), tf.tensor2d(dyv, [rows, cols]), tf.tensor1d(mv), tf.tensor1d(vv)];
    const [sum] = columnSums('sum', { x }, rows);
    const [sq] = columnSums('sqdev', { x, m }, rows);
    const [dbeta, dgamma] = columnSums('dotdev', { dy, x, m, v, eps }, 1);
    expectClose(await sum!.data(), columns(xv, cols, (a) => a / rows), rows);
    expectClose(await sq!.data(), columns(xv, cols, (a, _, c) => (a - mv[c]!) ** 2 / rows), rows);
    expectClose(await dbeta!.data(), columns(dyv, cols, (a) => a), rows);
    expectClose(
      await dgamma!.data(),
      columns(xv, cols, (a, r, c) => dyv[r * cols + c]! * (a - mv[c]!) / Math.sqrt(vv[c]! + eps)),
      rows,
    );
    const ema = movingAverage(m, v, 0.1);
    const emaRef = Float64Array.from(mv, (a, c) => a - (a - vv[c]!) * 0.1);
    expectClose(await ema.data(), emaRef, 1);
    tf.dispose([x, dy, m, v, sum!, sq!, dbeta!, dgamma!, ema]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
