import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../backends/tf';
import { initBackend } from '../backends';
import { makeConfig } from './config';
import { buildConditionalGenerator, buildDcganDiscriminator, buildDcganGenerator, buildProjectionCritic } from './networks';
import { gradientPenalty, normPenalty, wassersteinEstimate } from './losses';
import { makeDiffAugment } from './diffaugment';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('network shapes (tiny preset, 32 px)', () => {
  for (const channels of [1, 3] as const) {
    it(`DCGAN G and D, ${channels} channel(s)`, () => {
      const c = makeConfig('dcgan', 32, { preset: 'tiny', channels });
      const G = buildDcganGenerator(c, 1);
      const D = buildDcganDiscriminator(c, 1);
      const z = tf.randomNormal([3, c.latentDim]);
      const img = G.predict(z) as tf.Tensor;
      expect(img.shape).toEqual([3, 32, 32, channels]);
      const [lo, hi] = [tf.min(img).dataSync()[0]!, tf.max(img).dataSync()[0]!];
      expect(lo).toBeGreaterThanOrEqual(-1);
      expect(hi).toBeLessThanOrEqual(1);
      expect((D.predict(img) as tf.Tensor).shape).toEqual([3, 1]);
      tf.dispose([z, img]);
      G.dispose();
      D.dispose();
    });
  }

  it('conditional G and projection critic', () => {
    const c = makeConfig('cwgan-gp', 32, { preset: 'tiny', numClasses: 4 });
    const G = buildConditionalGenerator(c, 1);
    const D = buildProjectionCritic(c, 1);
    const z = tf.randomNormal([2, c.latentDim]);
    const y = tf.tensor2d([[0], [3]], [2, 1], 'int32');
    const img = G.predict([z, y]) as tf.Tensor;
    expect(img.shape).toEqual([2, 32, 32, 3]);
    expect((D.predict([img, y]) as tf.Tensor).shape).toEqual([2, 1]);
    // Different labels, same z: different images (the label is used).
    const img2 = G.predict([z, tf.tensor2d([[1], [2]], [2, 1], 'int32')]) as tf.Tensor;
    expect(tf.max(tf.abs(tf.sub(img, img2))).dataSync()[0]).toBeGreaterThan(0);
    // No batch norm in the critic.
    expect(D.layers.some((l) => l.getClassName() === 'BatchNormalization')).toBe(false);
    G.dispose();
    D.dispose();
  });

  it('the default 64 px DCGAN has the reference architecture (parameter counts as PyTorch)', () => {
    const c = makeConfig('dcgan', 64, { preset: 'default' });
    const G = buildDcganGenerator(c, 1);
    const D = buildDcganDiscriminator(c, 1);
    // PyTorch reference (torch_dcgan.py, RES 64): G 3,576,707 and D 2,765,633 (counted with PyTorch 1.13) trainable parameters.
    const count = (m: typeof G) => m.trainableWeights.reduce((a, w) => a + w.shape.reduce((x, y) => x! * y!, 1)!, 0);
    expect(count(G)).toBe(3576707);
    expect(count(D)).toBe(2765633);
    G.dispose();
    D.dispose();
  });
});

describe('DiffAugment', () => {
  it('keeps shapes, is deterministic per seed and passes gradients', () => {
    const cfg = { enabled: true, color: true, translation: true, translationRatio: 0.125, cutout: true, cutoutRatio: 0.5 };
    const x = tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 3) as tf.Tensor4D;
    const a = makeDiffAugment(cfg, 2, 32, 3, 42)(x);
    const b = makeDiffAugment(cfg, 2, 32, 3, 42)(x);
    expect(a.shape).toEqual([2, 32, 32, 3]);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    const g = tf.grad((t: tf.Tensor) => tf.sum(makeDiffAugment(cfg, 2, 32, 3, 7)(t as tf.Tensor4D)))(x);
    expect(g.shape).toEqual(x.shape);
    expect(tf.sum(tf.abs(g)).dataSync()[0]).toBeGreaterThan(0);
    // Translation only: a pure shift, so every output pixel equals some input pixel or 0.
    const t = makeDiffAugment({ ...cfg, color: false, cutout: false }, 2, 32, 3, 5)(x);
    const inputs = new Set(Array.from(x.dataSync()));
    for (const v of t.dataSync()) expect(v === 0 || inputs.has(v)).toBe(true);
  });
});

describe('gradient penalty', () => {
  it("normPenalty: the value of the ops written out, their gradient in closed form, in fewer kernels", async () => {
    // One sample's gradient exactly zero (the 1e-12 case), the others of norms around and below 1.
    const g = tf.concat([tf.randomNormal([2, 4, 4, 2], 0, 0.3, 'float32', 8), tf.zeros([1, 4, 4, 2])]) as tf.Tensor4D;
    const written = (t: tf.Tensor) => tf.mean(tf.square(tf.sub(tf.sqrt(tf.add(tf.sum(tf.square(t), [1, 2, 3]), 1e-12)), 1))) as tf.Scalar;
    const ours = tf.valueAndGrad((t: tf.Tensor) => normPenalty(t as tf.Tensor4D))(g);
    const ref = tf.valueAndGrad(written)(g);
    expect(ours.value.dataSync()[0]).toBe(ref.value.dataSync()[0]);
    const [a, b] = [ours.grad.dataSync(), ref.grad.dataSync()];
    const scale = Math.max(...Array.from(b, Math.abs));
    for (let i = 0; i < b.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(1e-6 * scale);
    const kernels = async (f: (t: tf.Tensor) => tf.Scalar) =>
      (await tf.profile(() => tf.grad(f)(g).dispose())).kernels.filter((k) => !['Reshape', 'Identity', 'unnamed scope'].includes(k.name)).length;
    const [mine, theirs] = [await kernels((t) => normPenalty(t as tf.Tensor4D)), await kernels(written)];
    expect(theirs - mine).toBeGreaterThanOrEqual(8); // 13 against 22 with tfjs 4.22

    tf.dispose([g, ours.value, ours.grad, ref.value, ref.grad]);
  });

  it("its weight gradient (double backward) matches finite differences", () => {
    // Larger init than training (0.2) so gradients are well above float32 noise. GP is piecewise
    // smooth in the weights: a LeakyReLU unit changing side makes it jump, so indices where the two
    // one-sided differences disagree (a jump within +-h) are skipped, and enough must remain.
    for (const criticNorm of ['none', 'layer'] as const) {
      const c = { ...makeConfig('cwgan-gp', 32, { preset: 'tiny', numClasses: 3 }), criticNorm, initStdDev: 0.2 };
      const D = buildProjectionCritic(c, 11);
      const real = tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 2) as tf.Tensor4D;
      const fake = tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 3) as tf.Tensor4D;
      const eps = tf.tensor4d([0.3, 0.8], [2, 1, 1, 1]);
      const y = tf.tensor2d([[0], [2]], [2, 1], 'int32');
      const f = () => tf.tidy(() => gradientPenalty((x) => D.apply([x, y], { training: true }) as tf.Tensor, real, fake, eps));
      const vars = D.trainableWeights.map((w) => w.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(f, vars);
      const f0 = value.dataSync()[0]!;
      let checked = 0;
      const h = 1e-3;
      for (const v of vars) {
        const g = grads[v.name];
        const analytic = g ? g.dataSync() : new Float32Array(v.size);
        const orig = v.dataSync().slice();
        for (const k of [0, 19].map((i) => i % v.size)) {
          const p = orig.slice();
          p[k] = orig[k]! + h;
          v.assign(tf.tensor(p, v.shape));
          const up = f().dataSync()[0]!;
          p[k] = orig[k]! - h;
          v.assign(tf.tensor(p, v.shape));
          const dn = f().dataSync()[0]!;
          v.assign(tf.tensor(orig, v.shape));
          const right = (up - f0) / h;
          const left = (f0 - dn) / h;
          const scale = Math.max(1, Math.abs(right), Math.abs(left));
          if (Math.abs(right - left) > 0.02 * scale) continue; // a jump: FD not valid here
          const central = (up - dn) / (2 * h);
          expect(analytic[k]!, `${criticNorm} ${v.name}[${k}]`).toBeCloseTo(central, 0);
          expect(Math.abs(analytic[k]! - central)).toBeLessThan(0.01 * scale + 2e-3);
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(vars.length);
      D.dispose();
    }
  });
});

describe('Wasserstein estimate', () => {
  it('scoring real and fake as one batch gives the value and weight gradients of two separate passes', () => {
    for (const criticNorm of ['none', 'layer'] as const) {
      const c = { ...makeConfig('cwgan-gp', 32, { preset: 'tiny', numClasses: 3 }), criticNorm, initStdDev: 0.2 };
      const D = buildProjectionCritic(c, 12);
      const real = tf.randomUniform([3, 32, 32, 3], -1, 1, 'float32', 4) as tf.Tensor4D;
      const fake = tf.randomUniform([3, 32, 32, 3], -1, 1, 'float32', 5) as tf.Tensor4D;
      const y = tf.tensor2d([[0], [2], [1]], [3, 1], 'int32');
      const critic = (x: tf.Tensor4D, labels: tf.Tensor2D) => D.apply([x, labels], { training: true }) as tf.Tensor;
      const vars = D.trainableWeights.map((w) => w.read() as tf.Variable);
      const joint = tf.variableGrads(() => wassersteinEstimate(critic, real, fake, y), vars);
      const separate = tf.variableGrads(() => tf.sub(tf.mean(critic(real, y)), tf.mean(critic(fake, y))) as tf.Scalar, vars);
      const [a, b] = [joint.value.dataSync()[0]!, separate.value.dataSync()[0]!];
      expect(Math.abs(a - b), criticNorm).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(b)));
      for (const v of vars) {
        const ga = joint.grads[v.name]!.dataSync();
        const gb = separate.grads[v.name]!.dataSync();
        const scale = Math.max(1e-3, ...Array.from(gb, Math.abs));
        for (let i = 0; i < gb.length; i++) expect(Math.abs(ga[i]! - gb[i]!), `${criticNorm} ${v.name}[${i}]`).toBeLessThanOrEqual(1e-5 * scale);
      }
      // The labels twice made by the caller (the trainer does, on the processor): the same bits.
      const y2 = tf.tensor2d([[0], [2], [1], [0], [2], [1]], [6, 1], 'int32');
      const paired = tf.variableGrads(() => wassersteinEstimate(critic, real, fake, y, 1, y2), vars);
      expect(paired.value.dataSync()[0], criticNorm).toBe(a);
      for (const v of vars) expect(Array.from(paired.grads[v.name]!.dataSync()), `${criticNorm} ${v.name}, labels paired`).toEqual(Array.from(joint.grads[v.name]!.dataSync()));
      tf.dispose([real, fake, y, y2, joint.value, separate.value, paired.value, ...Object.values(joint.grads), ...Object.values(separate.grads), ...Object.values(paired.grads)]);
      D.dispose();
    }
  });
});
