/**
 * Batch norm's WGSL reductions (./batchnorm-kernels) against float64 references on [R, C] views:
 * rows split into parts with a short last one, channel counts that are not multiples of 64, data far
 * from zero mean (the parts' variances combined), the moving-average update, and the dispatches. On
 * lavapipe here; skipped, with the reason printed, without a WebGPU adapter.
 */
import { describe, expect, it } from 'vitest';
import { tf } from '../tf';
import { randomArray, webgpuSkipReason } from './test-support';
import {
  batchMoments,
  batchNormBackwardSums,
  movingAverage,
  movingAverageInPlaceStats,
  movingAveragesInPlace,
  releaseMovingAverageUpdaters,
  rowParts,
  webgpuBatchNorm,
} from './batchnorm-kernels';
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

  describe('both moving averages in place, one dispatch', () => {
    const setup = () => {
      const rng = new Prng(77);
      const cols = 70;
      // Variables holding their data alone (tf.variable shares its initial tensor's until that goes).
      const own = (values: Float32Array) => tf.tidy(() => tf.variable(tf.tensor1d(values)));
      const mean = own(randomArray(cols, rng));
      const variance = own(randomArray(cols, rng).map((v) => v * v + 0.5));
      const stats = tf.tensor2d(randomArray(2 * cols, rng).map((v) => Math.abs(v)), [2, cols]);
      return { mean, variance, stats };
    };

    it("gives the two programs' values bit for bit, rewriting the variables' own data", async () => {
      const { mean, variance, stats } = setup();
      const expected = [movingAverage(mean, stats, 0.1, 0), movingAverage(variance, stats, 0.1, 70)];
      const want = [Array.from(await expected[0]!.data()), Array.from(await expected[1]!.data())];
      await mean.data(); // a CPU copy that the update must drop
      const ids = [mean.dataId, variance.dataId];
      const [inPlace, dispatches] = [movingAverageInPlaceStats().inPlace, fastDispatchStats()!.dispatches];
      expect(movingAveragesInPlace(mean, variance, stats, 0.1)).toBe(true);
      expect(movingAverageInPlaceStats().inPlace - inPlace).toBe(1);
      expect(fastDispatchStats()!.dispatches - dispatches).toBe(0); // none of tfjs's runner
      expect([mean.dataId, variance.dataId]).toEqual(ids);
      expect(Array.from(await mean.data())).toEqual(want[0]);
      expect(Array.from(await variance.data())).toEqual(want[1]);
      tf.dispose([mean, variance, stats, ...expected]);
    });

    it('declines where another tensor shares the data, which keeps its values', async () => {
      const { mean, variance, stats } = setup();
      const shared = tf.clone(mean);
      const before = Array.from(await shared.data());
      const declined = movingAverageInPlaceStats().declined;
      expect(movingAveragesInPlace(mean, variance, stats, 0.1)).toBe(false);
      expect(movingAverageInPlaceStats().declined - declined).toBe(1);
      expect(Array.from(await mean.data())).toEqual(before);
      expect(Array.from(await shared.data())).toEqual(before);
      tf.dispose([mean, variance, stats, shared]);
    });

    it('is turned off by GAN_AUGMENT_IN_PLACE=0, and released by releaseMovingAverageUpdaters', async () => {
      const { mean, variance, stats } = setup();
      process.env.GAN_AUGMENT_IN_PLACE = '0';
      try {
        expect(webgpuBatchNorm.movingAveragesInPlace!(mean, variance, [stats], 0.1)).toBe(false);
      } finally {
        delete process.env.GAN_AUGMENT_IN_PLACE;
      }
      expect(webgpuBatchNorm.movingAveragesInPlace!(mean, variance, [stats], 0.1)).toBe(true);
      expect(movingAverageInPlaceStats().inPlace).toBeGreaterThan(0);
      releaseMovingAverageUpdaters();
      expect(movingAverageInPlaceStats()).toEqual({ inPlace: 0, declined: 0 }); // a new updater next time
      expect(movingAveragesInPlace(mean, variance, stats, 0.1)).toBe(true);
      expect(movingAverageInPlaceStats().inPlace).toBe(1);
      tf.dispose([mean, variance, stats]);
    });
  });
});
