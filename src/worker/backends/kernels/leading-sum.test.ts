/**
 * Sum over leading axes on WebGPU (./leading-sum) through tf.sum: float64 references, shapes with
 * keepDims and negative axes, one dispatch up to 256 rows and two beyond (no transpose), tfjs's
 * kernel for other axes, and nothing left behind. On lavapipe here; skipped, with the reason printed,
 * without a WebGPU adapter.
 */
import { describe, expect, it } from 'vitest';
import { tf } from '../tf';
import { randomArray, recordPrograms, webgpuSkipReason } from './test-support';
import { fastDispatchStats } from '../index';
import { Prng } from '../../training/rng';

const reason = await webgpuSkipReason('leading-axes sum tests');

/** Column sums in float64 of values viewed as [rows, cols]. */
function reference(values: Float32Array, cols: number): Float64Array {
  const out = new Float64Array(cols);
  for (let i = 0; i < values.length; i++) out[i % cols] = out[i % cols]! + values[i]!;
  return out;
}

/** The programs (shader keys) `f` runs on the WebGPU backend. */
const programsRun = (f: () => void): string[] => recordPrograms(f).programs.map((p) => p.shaderKey);

describe.skipIf(reason !== '')('sum over leading axes (WebGPU)', () => {
  it.each([
    [[4, 1], [0], false, 1],
    [[3, 5, 7, 6], [0, 1, 2], false, 1],
    [[3, 5, 7, 6], [-4, -3, -2], true, 1],
    [[2, 9, 9, 130], [0, 1, 2], true, 1],
    [[1000, 3], [0], false, 2],
    [[16, 64, 64, 5], [0, 1, 2], false, 2],
    [[4, 100, 7], [0, 1], false, 2],
  ])('x %j, axes %j, keepDims %s: %i dispatch(es), no transpose', async (shape, axis, keepDims, dispatches) => {
    const rng = new Prng(shape.reduce((a, b) => a * b, 1));
    const size = shape.reduce((a, b) => a * b, 1);
    const values = randomArray(size, rng).map((v) => v * 4 + 1);
    const x = tf.tensor(values, shape);
    await x.data();
    const tensors = tf.memory().numTensors;
    const before = fastDispatchStats()!.dispatches;
    expect(programsRun(() => tf.sum(x, axis, keepDims).dispose())).toEqual(
      dispatches === 1 ? ['ganAugmentColumnPartials_sum'] : ['ganAugmentColumnPartials_sum', 'ganAugmentColumnFinish_false'],
    );
    expect(fastDispatchStats()!.dispatches - before).toBe(dispatches);
    const y = tf.sum(x, axis, keepDims);
    const k = axis.length;
    expect(y.shape).toEqual(keepDims ? [...new Array<number>(k).fill(1), ...shape.slice(k)] : shape.slice(k));
    const cols = size / shape.slice(0, k).reduce((a, b) => a * b, 1);
    const want = reference(values, cols);
    const got = await y.data();
    const rows = size / cols;
    for (let c = 0; c < cols; c++) expect(Math.abs(got[c]! - want[c]!), `column ${c}`).toBeLessThanOrEqual(2e-6 * Math.sqrt(rows) * (Math.abs(want[c]!) + rows));
    y.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
    x.dispose();
  });

  it("leaves other axes, full reductions and integers to tfjs's kernel, with its values", async () => {
    const values = randomArray(3 * 4 * 5, new Prng(5));
    const x = tf.tensor(values, [3, 4, 5]);
    for (const axis of [[1], [2], [1, 2], [0, 2], [0, 1, 2]]) {
      const ours = tf.sum(x, axis);
      // float64 sums over `axis` of the [3, 4, 5] values, in the remaining axes' order
      const keep = [0, 1, 2].filter((a) => !axis.includes(a));
      const dims = [3, 4, 5];
      const want = new Float64Array(keep.reduce((n, a) => n * dims[a]!, 1));
      for (let i = 0; i < values.length; i++) {
        const at = [Math.floor(i / 20), Math.floor(i / 5) % 4, i % 5];
        const o = keep.reduce((n, a) => n * dims[a]! + at[a]!, 0);
        want[o] = want[o]! + values[i]!;
      }
      expect(ours.shape, `axes ${axis}`).toEqual(keep.map((a) => dims[a]!));
      const o = await ours.data();
      for (let i = 0; i < want.length; i++) expect(Math.abs(o[i]! - want[i]!), `axes ${axis} [${i}]`).toBeLessThanOrEqual(1e-5);
      ours.dispose();
    }
    const ints = tf.tensor([[1, 2], [3, 4]], [2, 2], 'int32');
    const s = tf.sum(ints, 0);
    expect(s.dtype).toBe('int32');
    expect(Array.from(await s.data())).toEqual([4, 6]);
    tf.dispose([x, ints, s]);
  });

  it('is what a bias gradient runs, and its gradient is still a broadcast', async () => {
    const x = tf.randomNormal([2, 6, 6, 4], 0, 1, 'float32', 7);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.sum(t, [0, 1, 2]))))(x);
    const s = await tf.sum(x, [0, 1, 2]).data();
    const gv = await g.data();
    for (let i = 0; i < gv.length; i++) expect(Math.abs(gv[i]! - 2 * s[i % 4]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(s[i % 4]!)));
    tf.dispose([x, g]);
  });
});
