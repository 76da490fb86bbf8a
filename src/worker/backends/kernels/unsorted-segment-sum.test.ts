/**
 * UnsortedSegmentSum without atomics (./unsorted-segment-sum): each output adds its segment's rows in
 * row order in float32, the same bits on every run, and the embedding gradient (Gather's) through it
 * matches the CPU backend. On lavapipe here; skipped, with the reason printed, without an adapter.
 */
import { describe, expect, it } from 'vitest';
import { tf } from '../tf';
import { randomArray, webgpuSkipReason } from './test-support';
import { ourKernelsInstalled } from './index';
import { Prng } from '../../training/rng';

const reason = await webgpuSkipReason('segment sum tests');

describe.skipIf(reason !== '')('UnsortedSegmentSum (WebGPU)', () => {
  it('adds each segment\'s rows in row order (float32), skips ids outside the range, and repeats to the bit', async () => {
    expect(ourKernelsInstalled('UnsortedSegmentSum')).toBe(true);
    const rng = new Prng(5);
    const [rows, a, b, S] = [37, 3, 5, 6];
    const xs = randomArray(rows * a * b, rng);
    const ids = Int32Array.from({ length: rows }, (_, r) => (r % 9 === 0 ? -1 : r % 11 === 0 ? S : r % S));
    const want = new Float32Array(S * a * b);
    for (let seg = 0; seg < S; seg++)
      for (let c = 0; c < a * b; c++) {
        let s = 0;
        for (let r = 0; r < rows; r++) if (ids[r] === seg) s = Math.fround(s + xs[r * a * b + c]!);
        want[seg * a * b + c] = s;
      }
    const x = tf.tensor3d(xs, [rows, a, b]);
    const seg = tf.tensor1d(ids, 'int32');
    const first = tf.unsortedSegmentSum(x, seg, S);
    expect(first.shape).toEqual([S, a, b]);
    expect(Array.from(await first.data())).toEqual(Array.from(want));
    const again = tf.unsortedSegmentSum(x, seg, S);
    expect(Array.from(await again.data())).toEqual(Array.from(await first.data()));
    tf.dispose([x, seg, first, again]);
  });

  it('gives the label embedding\'s gradient (Gather\'s): each class row, the sum of its samples\' rows', async () => {
    const rng = new Prng(6);
    const table = randomArray(8 * 16, rng);
    const dyv = randomArray(64 * 16, rng);
    const labels = Int32Array.from({ length: 64 }, (_, i) => (i * 5) % 8);
    const grad = async (): Promise<Float32Array> => {
      const p = tf.tensor2d(table, [8, 16]);
      const idx = tf.tensor1d(labels, 'int32');
      const dy = tf.tensor2d(dyv, [64, 16]);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, idx), dy)))(p);
      const out = (await g.data()) as Float32Array;
      tf.dispose([p, idx, dy, g]);
      return out;
    };
    const ours = await grad();
    const want = new Float64Array(8 * 16);
    labels.forEach((c, n) => {
      for (let d = 0; d < 16; d++) want[c * 16 + d] = want[c * 16 + d]! + dyv[n * 16 + d]!;
    });
    for (let i = 0; i < ours.length; i++) expect(Math.abs(ours[i]! - want[i]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want[i]!)));
    expect(Array.from(await grad())).toEqual(Array.from(ours)); // and the same bits again
  });
});
