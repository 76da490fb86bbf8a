/**
 * The losses as our WebGPU programs (./loss-programs, through ../../models/losses) against float64
 * references written out here and against tfjs's ops (the same functions with
 * GAN_AUGMENT_LOSS_PROGRAMS=0): values and gradients, edge values, the dispatches they save, and the
 * penalty's weight gradient (double backward). On lavapipe here; skipped, with the reason printed,
 * without a WebGPU adapter.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { tf } from '../tf';
import { randomArray, webgpuSkipReason, withSwitchOff } from './test-support';
import { lossProgramsAvailable, lossProgramsRequested, sumSquaresOnDevice } from './loss-programs';
import { bceWithLogits, criticLoss, gradientPenalty, interpolate, meanDifference, normPenalty, wassersteinEstimate } from '../../models/losses';
import { makeConfig } from '../../models/config';
import { buildProjectionCritic } from '../../models/networks';
import { Prng } from '../../training/rng';
import { fastDispatchStats } from '../index';

const reason = await webgpuSkipReason('loss program tests');

/** Runs `f` with the loss programs turned off (tfjs's ops). */
const withTfjsOps = <T>(f: () => T): T => withSwitchOff('GAN_AUGMENT_LOSS_PROGRAMS', f);

/** Value and gradient of a scalar function of x, as arrays. */
async function valueAndGrad(f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor): Promise<{ value: number; grad: Float32Array }> {
  const { value, grad } = tf.valueAndGrad(f)(x);
  const out = { value: (await value.data())[0]!, grad: (await grad.data()) as Float32Array };
  tf.dispose([value, grad]);
  return out;
}

/** Programs a value-and-gradient run dispatches (ours and tfjs's, counted where they are recorded). */
function dispatchCount(f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor): number {
  const before = fastDispatchStats()!.dispatches;
  const { value, grad } = tf.valueAndGrad(f)(x);
  tf.dispose([value, grad]);
  return fastDispatchStats()!.dispatches - before;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, relative: number, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  let scale = 1e-30;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!), `${what}[${i}]`).toBeLessThanOrEqual(relative * scale);
}

afterEach(() => {
  expect(lossProgramsRequested()).toBe(true); // withTfjsOps restored the setting
});

describe.skipIf(reason !== '')('loss programs (WebGPU)', () => {
  it('are on by default on WebGPU, off with GAN_AUGMENT_LOSS_PROGRAMS=0, and for integer inputs', () => {
    const x = tf.zeros([2, 1]);
    const labels = tf.zeros([2, 1], 'int32');
    expect(lossProgramsAvailable(x)).toBe(true);
    expect(withTfjsOps(() => lossProgramsAvailable(x))).toBe(false);
    expect(lossProgramsAvailable(labels)).toBe(false);
    for (const v of ['0', 'false', ' OFF ']) expect(lossProgramsRequested(v)).toBe(false);
    for (const v of [undefined, '', '1', 'on']) expect(lossProgramsRequested(v)).toBe(true);
    tf.dispose([x, labels]);
  });

  it('binary cross-entropy: float64 values and sigmoid(x) - t gradients, tfjs\'s ops within float32 rounding, from batch 1 to 257', async () => {
    const rng = new Prng(31);
    for (const n of [1, 3, 64, 257]) {
      const xs = randomArray(n, rng).map((v) => v * 6);
      if (n >= 64) xs.set([0, -0, 30, -30, 90, -90, 1e-8]); // saturated logits both ways, and zeros
      const x = tf.tensor2d(xs, [n, 1]);
      for (const target of [0, 1] as const) {
        const ours = await valueAndGrad((t) => bceWithLogits(t, target), x);
        const theirs = await withTfjsOps(() => valueAndGrad((t) => bceWithLogits(t, target), x));
        let sum = 0;
        const grad: number[] = [];
        for (const v of xs) {
          sum += Math.max(v, 0) - v * target + Math.log1p(Math.exp(-Math.abs(v)));
          grad.push((1 / (1 + Math.exp(-v)) - target) / n);
        }
        const what = `batch ${n}, target ${target}`;
        expect(Math.abs(ours.value - sum / n), what).toBeLessThanOrEqual(2e-6 * Math.max(1, sum / n));
        expect(Math.abs(ours.value - theirs.value), what).toBeLessThanOrEqual(2e-6 * Math.max(1, sum / n));
        expectClose(ours.grad, grad, 1e-6, `${what} gradient`);
        // tfjs differentiates its formula term by term: the same gradient except at x = 0 exactly.
        const nonzero = (a: ArrayLike<number>) => Array.from(a).filter((_, i) => xs[i] !== 0);
        expectClose(nonzero(ours.grad), nonzero(theirs.grad), 1e-6, `${what} gradient against tfjs`);
      }
      x.dispose();
    }
  });

  it('binary cross-entropy: a NaN logit gives a NaN loss', async () => {
    const x = tf.tensor2d([0.5, NaN, -1], [3, 1]);
    const value = bceWithLogits(x, 1);
    expect(Number.isNaN((await value.data())[0])).toBe(true);
    tf.dispose([x, value]);
  });

  it('mean difference: the Wasserstein estimate and the generator loss, against float64 and tfjs\'s ops', async () => {
    const rng = new Prng(32);
    for (const [n, split] of [[2, 1], [7, 3], [128, 64], [5, 0], [1, 0]] as const) {
      const xs = randomArray(n, rng).map((v) => v * 40);
      const x = tf.tensor2d(xs, [n, 1]);
      const ours = await valueAndGrad((t) => meanDifference(t, split), x);
      const theirs = await withTfjsOps(() => valueAndGrad((t) => meanDifference(t, split), x));
      const first = xs.slice(0, split).reduce((a, b) => a + b, 0) / Math.max(1, split);
      const rest = xs.slice(split).reduce((a, b) => a + b, 0) / (n - split);
      const grad = Array.from(xs, (_, i) => (i < split ? 1 / split : -1 / (n - split)));
      const what = `n ${n}, split ${split}`;
      const scale = Math.max(1, Math.abs(first), Math.abs(rest));
      expect(Math.abs(ours.value - (first - rest)), what).toBeLessThanOrEqual(2e-6 * scale);
      expect(Math.abs(ours.value - theirs.value), what).toBeLessThanOrEqual(2e-6 * scale);
      expectClose(ours.grad, grad, 1e-7, `${what} gradient`);
      expect(Array.from(ours.grad), `${what} gradient against tfjs`).toEqual(Array.from(theirs.grad));
      x.dispose();
    }
    const x = tf.zeros([3, 1]);
    for (const split of [-1, 3]) expect(() => meanDifference(x, split)).toThrow(/outside/);
    x.dispose();
  });

  it('norm penalty: value and gradient against tfjs\'s ops, a sample with a zero gradient included', async () => {
    const g = tf.concat([tf.randomNormal([3, 5, 4, 3], 0, 0.2, 'float32', 33), tf.zeros([1, 5, 4, 3])]) as tf.Tensor4D;
    const ours = await valueAndGrad((t) => normPenalty(t as tf.Tensor4D), g);
    const theirs = await withTfjsOps(() => valueAndGrad((t) => normPenalty(t as tf.Tensor4D), g));
    const values = await g.data();
    const per = values.length / 4;
    let sum = 0;
    const grad: number[] = [];
    for (let b = 0; b < 4; b++) {
      let ss = 0;
      for (let i = 0; i < per; i++) ss += values[b * per + i]! ** 2;
      const norm = Math.sqrt(ss + 1e-12);
      sum += (norm - 1) ** 2;
      for (let i = 0; i < per; i++) grad.push(values[b * per + i]! * ((norm - 1) / norm) * (2 / 4));
    }
    expect(Math.abs(ours.value - sum / 4)).toBeLessThanOrEqual(2e-6);
    expect(Math.abs(ours.value - theirs.value)).toBeLessThanOrEqual(2e-6);
    expectClose(ours.grad, grad, 1e-6, 'gradient');
    expectClose(ours.grad, theirs.grad, 1e-6, 'gradient against tfjs');
    g.dispose();
  });

  it('mean difference with a scale: the same bits times -1, tfjs\'s ops times 2.5', async () => {
    const x = tf.tensor2d(randomArray(9, new Prng(38)).map((v) => v * 7), [9, 1]);
    const plain = await valueAndGrad((t) => meanDifference(t, 4), x);
    const negated = await valueAndGrad((t) => meanDifference(t, 4, -1), x);
    expect(negated.value).toBe(-plain.value);
    expect(Array.from(negated.grad)).toEqual(Array.from(plain.grad, (v) => -v));
    const ours = await valueAndGrad((t) => meanDifference(t, 4, 2.5), x);
    const theirs = await withTfjsOps(() => valueAndGrad((t) => meanDifference(t, 4, 2.5), x));
    expect(Math.abs(ours.value - 2.5 * plain.value)).toBeLessThanOrEqual(2e-6 * Math.abs(ours.value));
    expect(Math.abs(ours.value - theirs.value)).toBeLessThanOrEqual(2e-6 * Math.abs(ours.value));
    expectClose(ours.grad, theirs.grad, 1e-7, 'gradient against tfjs');
    x.dispose();
  });

  it('sums of squares per sample: one program, float64 sums from 1 to 12,289 values a sample', async () => {
    const rng = new Prng(39);
    for (const [batch, per] of [[1, 1], [3, 63], [2, 64], [4, 65], [2, 3 * 32 * 32], [2, 12289]] as const) {
      const values = randomArray(batch * per, rng).map((v) => v * 3);
      const g = tf.tensor2d(values, [batch, per]);
      const before = fastDispatchStats()!.dispatches;
      const sums = sumSquaresOnDevice(g);
      expect(fastDispatchStats()!.dispatches - before).toBe(1);
      expect(sums.shape).toEqual([batch]);
      const want = Array.from({ length: batch }, (_, b) => {
        let s = 0;
        for (let i = 0; i < per; i++) s += values[b * per + i]! ** 2;
        return s;
      });
      expectClose(await sums.data(), want, 2e-6, `batch ${batch}, ${per} a sample`);
      tf.dispose([g, sums]);
    }
  });

  it('norm penalty with a weight: lambda times the value and the gradient, as tfjs\'s ops give them', async () => {
    const g = tf.randomNormal([3, 4, 4, 3], 0, 0.3, 'float32', 40) as tf.Tensor4D;
    const plain = await valueAndGrad((t) => normPenalty(t as tf.Tensor4D), g);
    const ours = await valueAndGrad((t) => normPenalty(t as tf.Tensor4D, 10), g);
    const theirs = await withTfjsOps(() => valueAndGrad((t) => normPenalty(t as tf.Tensor4D, 10), g));
    expect(Math.abs(ours.value - 10 * plain.value)).toBeLessThanOrEqual(2e-6 * ours.value);
    expect(Math.abs(ours.value - theirs.value)).toBeLessThanOrEqual(2e-6 * ours.value);
    expectClose(ours.grad, Array.from(plain.grad, (v) => 10 * v), 1e-6, 'gradient');
    expectClose(ours.grad, theirs.grad, 1e-6, 'gradient against tfjs');
    g.dispose();
  });

  it("the critic's loss: -W + lambda GP and its weight gradients as tfjs's ops give them, its parts when asked, in fewer dispatches", async () => {
    const c = { ...makeConfig('cwgan-gp', 32, { preset: 'tiny', numClasses: 3 }), initStdDev: 0.2 };
    const D = buildProjectionCritic(c, 14);
    const real = tf.randomUniform([3, 32, 32, 3], -1, 1, 'float32', 8) as tf.Tensor4D;
    const fake = tf.randomUniform([3, 32, 32, 3], -1, 1, 'float32', 9) as tf.Tensor4D;
    const eps = tf.tensor4d([0.3, 0.8, 0.5], [3, 1, 1, 1]);
    const y = tf.tensor2d([[0], [2], [1]], [3, 1], 'int32');
    const vars = D.trainableWeights.map((w) => w.read() as tf.Variable);
    const critic = (x: tf.Tensor4D, labels: tf.Tensor2D) => D.apply([x, labels], { training: true }) as tf.Tensor;
    const run = (report: boolean, composed = false) => {
      let parts: tf.Tensor[] = [];
      const before = fastDispatchStats()!.dispatches;
      const { value, grads } = tf.variableGrads(() => {
        if (composed) {
          // The loss as the trainer wrote it before criticLoss: both parts, negated, weighted and added.
          const w = wassersteinEstimate(critic, real, fake, y);
          return tf.add(tf.neg(w), tf.mul(10, gradientPenalty((x) => critic(x, y), real, fake, eps))) as tf.Scalar;
        }
        const l = criticLoss(critic, real, fake, y, eps, 10, report);
        if (l.wasserstein && l.penalty) parts = [tf.keep(l.wasserstein), tf.keep(l.penalty)];
        else expect([l.wasserstein, l.penalty]).toEqual([null, null]);
        return l.loss;
      }, vars);
      return { value, grads, parts, dispatches: fastDispatchStats()!.dispatches - before };
    };
    const values = async (ts: tf.Tensor[]) => Promise.all(ts.map(async (t) => (await t.data())[0]!));
    // A first run uploads the inputs (until then tfjs runs some small ops on the processor): counts after it.
    const first = run(false);
    const ours = run(true);
    const theirs = withTfjsOps(() => run(true));
    const [oursParts, theirParts] = [await values(ours.parts), await values(theirs.parts)];
    const [a, b] = [(await ours.value.data())[0]!, (await theirs.value.data())[0]!];
    expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(b)));
    // The parts: W exactly minus the first term, GP within a rounding of the division by lambda.
    expect(oursParts[0]).toBeCloseTo(theirParts[0]!, 5);
    expect(Math.abs(oursParts[1]! - theirParts[1]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, theirParts[1]!));
    expect(Math.abs(a - (-oursParts[0]! + 10 * oursParts[1]!))).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(a)));
    expect(Object.keys(ours.grads).sort()).toEqual(Object.keys(theirs.grads).sort());
    for (const name of Object.keys(theirs.grads)) expectClose(await ours.grads[name]!.data(), await theirs.grads[name]!.data(), 1e-4, name);
    // Without the parts two programs fewer (their negation and division); four fewer than the loss
    // composed of the same programs (its negation, its product and the negation's gradient; Square and
    // Sum as one). (The product's gradient, of a scalar the engine made on the processor, runs there.)
    const quiet = run(false);
    const composed = run(false, true);
    expect(quiet.parts).toEqual([]);
    expect(quiet.dispatches).toBe(ours.dispatches - 2);
    expect(quiet.dispatches).toBe(composed.dispatches - 4);
    const composedValue = (await composed.value.data())[0]!;
    expect(Math.abs(composedValue - a)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(a)));
    tf.dispose([real, fake, eps, y]);
    for (const r of [first, ours, theirs, quiet, composed]) tf.dispose([r.value, ...Object.values(r.grads), ...r.parts]);
    D.dispose();
  });

  it('dispatch fewer kernels than tfjs\'s ops: 2 for the cross-entropy and the mean difference, 3 for the penalty', async () => {
    const x = tf.randomNormal([16, 1], 0, 1, 'float32', 34);
    const g = tf.randomNormal([4, 6, 6, 3], 0, 1, 'float32', 35) as tf.Tensor4D;
    const cases: Array<[string, (t: tf.Tensor) => tf.Scalar, tf.Tensor, number]> = [
      ['cross-entropy', (t) => bceWithLogits(t, 1), x, 2],
      ['mean difference', (t) => meanDifference(t, 8), x, 2],
      ['generator loss', (t) => meanDifference(t, 0), x, 2],
      ['norm penalty', (t) => normPenalty(t as tf.Tensor4D), g, 3],
    ];
    for (const [what, f, input, expected] of cases) {
      const [ours, theirs] = [dispatchCount(f, input), withTfjsOps(() => dispatchCount(f, input))];
      expect(ours, what).toBe(expected);
      expect(theirs, what).toBeGreaterThanOrEqual(ours + 2);
    }
    tf.dispose([x, g]);
  });

  it("the penalty's interpolation: one program, tfjs's values and gradients within float32 rounding", async () => {
    const real = tf.randomUniform([3, 5, 4, 3], -1, 1, 'float32', 41) as tf.Tensor4D;
    const fake = tf.randomUniform([3, 5, 4, 3], -1, 1, 'float32', 42) as tf.Tensor4D;
    const eps = tf.tensor4d([0, 0.3, 1], [3, 1, 1, 1]);
    const before = fastDispatchStats()!.dispatches;
    const ours = interpolate(real, fake, eps);
    expect(fastDispatchStats()!.dispatches - before).toBe(1);
    const theirs = withTfjsOps(() => interpolate(real, fake, eps));
    const [r, f, o] = [await real.data(), await fake.data(), await ours.data()];
    const want = Array.from(o, (_, i) => {
      const e = [0, 0.3, 1][Math.floor(i / 60)]!;
      return e * r[i]! + (1 - e) * f[i]!;
    });
    expectClose(o, want, 1e-6, 'value');
    expectClose(o, await theirs.data(), 1e-6, 'value against tfjs');
    // The gradients (not taken in training, but right): tfjs's ops both ways.
    const w = tf.randomNormal([3, 5, 4, 3], 0, 1, 'float32', 43);
    const loss = (a: tf.Tensor, b: tf.Tensor, e: tf.Tensor) => tf.sum(tf.mul(interpolate(a as tf.Tensor4D, b as tf.Tensor4D, e as tf.Tensor4D), w));
    const g1 = tf.grads(loss)([real, fake, eps]);
    const g2 = withTfjsOps(() => tf.grads(loss)([real, fake, eps]));
    for (let i = 0; i < 3; i++) expectClose(await g1[i]!.data(), await g2[i]!.data(), 1e-5, `gradient ${i}`);
    tf.dispose([real, fake, eps, ours, theirs, w, ...g1, ...g2]);
  });

  it("the gradient penalty's weight gradient (double backward) equals the one through tfjs's ops", async () => {
    const c = { ...makeConfig('cwgan-gp', 32, { preset: 'tiny', numClasses: 3 }), initStdDev: 0.2 };
    const D = buildProjectionCritic(c, 13);
    const real = tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 6) as tf.Tensor4D;
    const fake = tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
    const eps = tf.tensor4d([0.3, 0.8], [2, 1, 1, 1]);
    const y = tf.tensor2d([[0], [2]], [2, 1], 'int32');
    const vars = D.trainableWeights.map((w) => w.read() as tf.Variable);
    const f = () => gradientPenalty((x) => D.apply([x, y], { training: true }) as tf.Tensor, real, fake, eps);
    const ours = tf.variableGrads(f, vars);
    const theirs = withTfjsOps(() => tf.variableGrads(f, vars));
    const [a, b] = [(await ours.value.data())[0]!, (await theirs.value.data())[0]!];
    expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-5 * Math.max(1, b));
    // The penalty reaches no bias (it depends on them only through which side of each LeakyReLU a unit is).
    expect(Object.keys(ours.grads).sort()).toEqual(Object.keys(theirs.grads).sort());
    expect(Object.keys(ours.grads).length).toBe(5);
    for (const name of Object.keys(theirs.grads)) expectClose(await ours.grads[name]!.data(), await theirs.grads[name]!.data(), 1e-4, name);
    tf.dispose([real, fake, eps, y, ours.value, theirs.value, ...Object.values(ours.grads), ...Object.values(theirs.grads)]);
    D.dispose();
  });

  it('leave no tensors behind', () => {
    const before = tf.memory().numTensors;
    const x = tf.randomNormal([8, 1], 0, 1, 'float32', 36);
    const g = tf.randomNormal([2, 3, 3, 2], 0, 1, 'float32', 37) as tf.Tensor4D;
    for (const f of [(t: tf.Tensor) => bceWithLogits(t, 0), (t: tf.Tensor) => meanDifference(t, 4)]) tf.dispose(Object.values(tf.valueAndGrad(f)(x)));
    tf.dispose(Object.values(tf.valueAndGrad((t: tf.Tensor) => normPenalty(t as tf.Tensor4D))(g)));
    tf.dispose([x, g]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
