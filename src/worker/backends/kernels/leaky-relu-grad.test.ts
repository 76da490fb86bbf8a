/**
 * LeakyReLU's backward pass as one WebGPU program (./leaky-relu-grad) against tfjs-core's
 * where(greater(x, 0), dy, dy * alpha), bit for bit, and through tf.grad. On lavapipe here; skipped,
 * with the reason printed, without a WebGPU adapter.
 */
import { describe, expect, it } from 'vitest';
import { tf } from '../tf';
import { randomArray, webgpuSkipReason } from './test-support';
import { leakyReluGradOnDevice, stepMulOnDevice } from './leaky-relu-grad';
import { Prng } from '../../training/rng';

const reason = await webgpuSkipReason('LeakyReLU gradient program tests');

describe.skipIf(reason !== '')('LeakyReLU backward program (WebGPU)', () => {
  it('gives tfjs-core\'s values bit for bit (zeros, -0, alpha 0.2 and 0.01, odd sizes)', async () => {
    const rng = new Prng(21);
    const xs = randomArray(3 * 7 * 5 * 3, rng);
    xs[0] = 0;
    xs[1] = -0;
    const x = tf.tensor4d(xs, [3, 7, 5, 3]);
    const dy = tf.tensor4d(randomArray(xs.length, rng), [3, 7, 5, 3]);
    for (const alpha of [0.2, 0.01]) {
      const ours = leakyReluGradOnDevice(dy, x, alpha);
      const theirs = tf.where(tf.greater(x, 0), dy, tf.mul(dy, alpha));
      expect(Array.from(await ours.data())).toEqual(Array.from(await theirs.data()));
      tf.dispose([ours, theirs]);
    }
    tf.dispose([x, dy]);
  });

  it("dy * step(x, alpha) gives tfjs-core's Step and Multiply bit for bit (alpha 0 and -1; zeros, -0, NaN, infinities)", async () => {
    const rng = new Prng(22);
    const xs = randomArray(5 * 9 * 3, rng);
    xs.set([0, -0, NaN, Infinity, -Infinity]);
    const ds = randomArray(xs.length, rng);
    ds.set([-2, 3, -1.5, -0.5, 4], 10);
    const x = tf.tensor3d(xs, [5, 9, 3]);
    const dy = tf.tensor3d(ds, [5, 9, 3]);
    for (const alpha of [0, -1]) {
      const ours = stepMulOnDevice(dy, x, alpha);
      const theirs = tf.mul(dy, tf.step(x, alpha));
      const [o, t] = [Array.from(await ours.data()), Array.from(await theirs.data())];
      expect(o.map((v) => Object.is(v, -0) ? '-0' : String(v))).toEqual(t.map((v) => Object.is(v, -0) ? '-0' : String(v)));
      tf.dispose([ours, theirs]);
    }
    tf.dispose([x, dy]);
  });

  it('is what tf.grad of relu and abs runs: one program each, no Step or Multiply', async () => {
    const x = tf.randomNormal([2, 4, 4, 8], 0, 1, 'float32', 4);
    for (const f of [tf.relu, tf.abs]) {
      const info = await tf.profile(() => tf.grad((t: tf.Tensor) => tf.sum(f(t)))(x).dispose());
      const names = info.kernels.map((k) => k.name);
      expect(names).not.toContain('Step');
      expect(names).not.toContain('Multiply');
    }
    x.dispose();
  });

  it('is what tf.grad of leakyRelu runs: one program, no Greater or Select', async () => {
    const x = tf.randomNormal([2, 4, 4, 8], 0, 1, 'float32', 3);
    const info = await tf.profile(() => tf.grad((t: tf.Tensor) => tf.sum(tf.leakyRelu(t, 0.2)))(x).dispose());
    const names = info.kernels.map((k) => k.name);
    expect(names).not.toContain('Greater');
    expect(names).not.toContain('Select');
    x.dispose();
  });
});
