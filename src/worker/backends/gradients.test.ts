/**
 * ./gradients: the fused conv2d route and the LeakyReLU mask off the tape give the same values as
 * tfjs's own paths, bit for bit, first and second order, while computing only what is asked for.
 * CPU backend (the WebAssembly form of the mask: wasm.test.ts; a whole WebAssembly step: below).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { tf, tfl } from './tf';
import { initBackend } from './index';
import { installLazyGradients, lazyGradientsOn, lazyGradientsRequested, setLazyGradients } from './gradients';
import { makeConfig } from '../models/config';
import { buildProjectionCritic } from '../models/networks';
import { gradientPenalty } from '../models/losses';
import { createTrainer } from '../training/trainer';
import { datasetFromPixels } from '../training/dataset';
import { Prng } from '../training/rng';
import { stepLosses } from '../../../test/helpers/training';

await initBackend('cpu');

afterEach(() => {
  setLazyGradients(true);
});

/** Runs `f` with ours on and with tfjs's paths, and returns both results' values. */
async function bothWays(f: () => tf.Tensor[]): Promise<{ ours: number[][]; theirs: number[][] }> {
  const values = async (): Promise<number[][]> => {
    const out = f();
    const data = await Promise.all(out.map(async (t) => Array.from(await t.data())));
    tf.dispose(out);
    return data;
  };
  expect(setLazyGradients(true)).toBe(true);
  const ours = await values();
  setLazyGradients(false);
  const theirs = await values();
  setLazyGradients(true);
  return { ours, theirs };
}

/** Kernel names that ran inside `f` (tf.profile), with how often. */
async function kernelCounts(f: () => void): Promise<Record<string, number>> {
  const info = await tf.profile(f);
  const counts: Record<string, number> = {};
  for (const k of info.kernels) counts[k.name] = (counts[k.name] ?? 0) + 1;
  return counts;
}

const rand = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);

describe('installing', () => {
  it('is on after initBackend, and routes tfjs-layers conv layers through the FusedConv2D kernel', async () => {
    expect(lazyGradientsOn()).toBe(true);
    const layer = tfl.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', useBias: true });
    const x = rand([2, 8, 8, 3], 1);
    layer.apply(x); // builds the weights
    const counts = await kernelCounts(() => {
      const g = tf.grad((t: tf.Tensor) => tf.sum(layer.apply(t) as tf.Tensor))(x);
      g.dispose();
    });
    expect(counts.FusedConv2D).toBe(1);
    expect(counts.fusedConv2d__op).toBeUndefined(); // tfjs's customGrad path was not taken
    x.dispose();
    layer.dispose();
  });

  it('GAN_AUGMENT_LAZY_GRADIENTS=0 / false / off keeps tfjs\'s paths', () => {
    for (const v of ['0', 'false', 'OFF']) expect(lazyGradientsRequested({ GAN_AUGMENT_LAZY_GRADIENTS: v })).toBe(false);
    for (const v of [undefined, '1', '']) expect(lazyGradientsRequested({ GAN_AUGMENT_LAZY_GRADIENTS: v })).toBe(true);
    expect(installLazyGradients({ GAN_AUGMENT_LAZY_GRADIENTS: '0' })).toBe(false);
    expect(lazyGradientsOn()).toBe(false);
    expect(installLazyGradients({})).toBe(true);
    expect(lazyGradientsOn()).toBe(true);
  });
});

describe('ReLU and Abs: the step a constant of the backward pass', () => {
  it.each([
    { name: 'relu', f: (t: tf.Tensor) => tf.relu(t) },
    { name: 'abs', f: (t: tf.Tensor) => tf.abs(t) },
  ])("$name: first and second derivatives equal tfjs's, bit for bit", async ({ f }) => {
    const x = rand([3, 5, 4], 5);
    const w = rand([3, 5, 4], 6);
    // A second derivative with respect to w, through dy (as a penalty's is through the weights).
    const first = () => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(tf.mul(t, w)), w)))(x);
    const second = () => tf.grad((v: tf.Tensor) => tf.sum(tf.square(tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), v)))(x))))(w);
    const { ours, theirs } = await bothWays(() => [first(), second()]);
    expect(ours).toEqual(theirs);
    tf.dispose([x, w]);
  });
});

describe('GatherV2 along the first axis: no transposes by the identity', () => {
  it.each([
    { name: 'an embedding lookup (axis 0), repeated indices', x: [5, 3, 4], idx: [4, 0, 4, 2, 2, 1], axis: 0 },
    { name: 'axis given as -rank', x: [6, 8], idx: [[1, 5], [5, 0]], axis: -2 },
    { name: 'axis 1 (tfjs\'s own gradient)', x: [3, 5, 2], idx: [4, 1, 1], axis: 1 },
  ])('$name: the same values as tfjs\'s gradient', async ({ x: shape, idx, axis }) => {
    const x = rand(shape, 3);
    const indices = tf.tensor(idx.flat(), [idx.length, ...(Array.isArray(idx[0]) ? [(idx[0] as number[]).length] : [])], 'int32');
    const outShape = tf.gather(x, indices, axis).shape;
    const w = rand(outShape, 4);
    const f = () => [tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, indices, axis), w)))(x)];
    const { ours, theirs } = await bothWays(f);
    expect(ours).toEqual(theirs);
    const transposes = (await kernelCounts(() => tf.dispose(f()))).Transpose ?? 0;
    expect(transposes).toBe(axis === 1 ? 2 : 0);
    tf.dispose([x, indices, w]);
  });
});

describe('fused conv2d: one gradient function per input', () => {
  const cases = [
    { name: 'odd sizes, stride 2, same, bias', x: [2, 9, 7, 5], f: [3, 3, 5, 6], strides: 2, pad: 'same' as const, bias: true },
    { name: 'stride 1, valid, no bias', x: [1, 6, 6, 3], f: [4, 4, 3, 7], strides: 1, pad: 'valid' as const, bias: false },
    { name: 'k4 s2 explicit padding, bias', x: [3, 8, 8, 4], f: [4, 4, 4, 8], strides: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] as tf.backend_util.ExplicitPadding, bias: true },
  ];
  for (const c of cases) {
    it(`${c.name}: the gradients of x, filter and bias are tfjs's, bit for bit`, async () => {
      const x = rand(c.x, 2);
      const filter = rand(c.f, 3);
      const bias = c.bias ? rand([c.f[3]!], 4) : undefined;
      const inputs = bias ? [x, filter, bias] : [x, filter];
      const { ours, theirs } = await bothWays(() => {
        const f = (...ts: tf.Tensor[]) =>
          tf.fused.conv2d({ x: ts[0] as tf.Tensor4D, filter: ts[1] as tf.Tensor4D, bias: ts[2], strides: c.strides, pad: c.pad });
        const y = f(...inputs);
        const dy = rand(y.shape, 5);
        const grads = tf.grads(f)(inputs, dy);
        return [y, ...grads, dy];
      });
      expect(ours).toEqual(theirs);
      // ...and it took the route: the kernel on the tape, not tfjs's customGrad op.
      const counts = await kernelCounts(() =>
        tf.dispose(tf.grads((...ts: tf.Tensor[]) => tf.sum(tf.fused.conv2d({ x: ts[0] as tf.Tensor4D, filter: ts[1] as tf.Tensor4D, bias: ts[2], strides: c.strides, pad: c.pad })))(inputs)),
      );
      expect(counts.FusedConv2D).toBe(1);
      expect(counts.fusedConv2d__op).toBeUndefined();
      tf.dispose(inputs);
    });
  }

  it('computes only the gradients asked for', async () => {
    const x = rand([2, 8, 8, 4], 6);
    const filter = tf.variable(rand([4, 4, 4, 8], 7)) as tf.Variable<tf.Rank.R4>;
    const bias = tf.variable(rand([8], 8));
    const conv = (t: tf.Tensor) => tf.fused.conv2d({ x: t as tf.Tensor4D, filter, bias, strides: 2, pad: 'same' });
    const onlyX = await kernelCounts(() => tf.grad((t: tf.Tensor) => tf.sum(conv(t)))(x).dispose());
    expect(onlyX.Conv2DBackpropInput).toBe(1);
    expect(onlyX.Conv2DBackpropFilter).toBeUndefined();
    const onlyWeights = await kernelCounts(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(conv(x)) as tf.Scalar, [filter, bias]);
      tf.dispose([value, ...Object.values(grads)]);
    });
    expect(onlyWeights.Conv2DBackpropFilter).toBe(1);
    expect(onlyWeights.Conv2DBackpropInput).toBeUndefined();
    // tfjs's own path computes all three whichever is asked for.
    setLazyGradients(false);
    const theirs = await kernelCounts(() => tf.grad((t: tf.Tensor) => tf.sum(conv(t)))(x).dispose());
    expect(theirs.Conv2DBackpropFilter).toBe(1);
    tf.dispose([x, filter, bias]);
  });

  it('leaves tfjs\'s path to what the route does not cover (an activation, dilation, rank 3, a rounding mode), same values', async () => {
    const x4 = rand([2, 7, 7, 3], 9);
    const x3 = rand([7, 7, 3], 10) as tf.Tensor3D;
    const filter = rand([3, 3, 3, 4], 11) as tf.Tensor4D;
    const bias = rand([4], 12);
    const relu = (t: tf.Tensor) => tf.fused.conv2d({ x: t as tf.Tensor4D, filter, bias, strides: 1, pad: 'same', activation: 'relu' });
    const withRelu = await bothWays(() => [relu(x4), tf.grad((t: tf.Tensor) => tf.sum(relu(t)))(x4)]);
    expect(withRelu.ours).toEqual(withRelu.theirs);
    // tfjs has no gradient for a dilated fused conv2d: with ours on, its own error still says so.
    const dilated = (t: tf.Tensor) => tf.fused.conv2d({ x: t as tf.Tensor4D, filter, bias, strides: 1, pad: 'same', dilations: 2 });
    expect(() => tf.grad((t: tf.Tensor) => tf.sum(dilated(t)))(x4)).toThrow(/dilation rates greater than 1/);
    const rank3 = (t: tf.Tensor) => tf.fused.conv2d({ x: t as tf.Tensor3D, filter, bias, strides: 1, pad: 'same' });
    // tfjs's own gradient of a rank-3 fused conv2d fails (4.22): with ours on, its own error still shows.
    expect(() => tf.grad((t: tf.Tensor) => tf.sum(rank3(t)))(x3)).toThrow(/Length of inShape \(4\) and rank of dy \(3\)/);
    const rounded = (t: tf.Tensor) => tf.fused.conv2d({ x: t as tf.Tensor4D, filter, bias, strides: 2, pad: 0, dimRoundingMode: 'ceil' });
    const rr = await bothWays(() => [rounded(x4), tf.grad((t: tf.Tensor) => tf.sum(rounded(t)))(x4)]);
    expect(rr.ours).toEqual(rr.theirs);
    const counts = await kernelCounts(() => tf.grad((t: tf.Tensor) => tf.sum(rounded(t)))(x4).dispose());
    expect(counts.fusedConv2d__op).toBe(1); // tfjs's own path
    tf.dispose([x4, x3, filter, bias]);
  });
});

describe('LeakyReLU: the mask is a constant of the backward pass', () => {
  it('first and second derivatives are tfjs\'s, bit for bit (alpha 0.2 and 0.01)', async () => {
    const x = rand([3, 5, 7], 13);
    const u = rand([3, 5, 7], 14);
    for (const alpha of [0.2, 0.01]) {
      const { ours, theirs } = await bothWays(() => {
        const f = (t: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(tf.mul(t, t), alpha), u));
        // Second order: the gradient of |grad f|^2, which goes through the mask's backward pass.
        const g2 = (t: tf.Tensor) => tf.sum(tf.square(tf.grad(f)(t)));
        return [tf.grad(f)(x), tf.grad(g2)(x)];
      });
      expect(ours).toEqual(theirs);
    }
    tf.dispose([x, u]);
  });

  it('has no second derivative in an input it reaches only through the mask (tfjs gave zeros; training differentiates weights)', () => {
    const x = rand([4, 5], 18);
    const u = rand([4, 5], 19);
    const f = (t: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(t, 0.2), u)); // its gradient is mask * u
    expect(() => tf.grad((t: tf.Tensor) => tf.sum(tf.grad(f)(t)))(x)).toThrow(/Cannot compute gradient/);
    setLazyGradients(false);
    const zeros = tf.grad((t: tf.Tensor) => tf.sum(tf.grad(f)(t)))(x);
    expect(Array.from(zeros.dataSync()).every((v) => v === 0)).toBe(true);
    tf.dispose([x, u, zeros]);
  });
});

describe('the WGAN-GP penalty (a gradient of a gradient) of the projection critic', () => {
  const config = makeConfig('cwgan-gp', 32, { preset: 'tiny', numClasses: 2, batchSize: 2 });
  const penaltyGrads = (critic: tfl.LayersModel, real: tf.Tensor4D, fake: tf.Tensor4D, eps: tf.Tensor4D, labels: tf.Tensor) => {
    const vars = critic.trainableWeights.map((w: unknown) => (w as unknown as { val: tf.Variable }).val);
    const score = (x: tf.Tensor4D) => critic.apply([x, labels], { training: true }) as tf.Tensor;
    const { value, grads } = tf.variableGrads(
      () => tf.add(tf.sub(tf.mean(score(fake)), tf.mean(score(real))), tf.mul(10, gradientPenalty(score, real, fake, eps))) as tf.Scalar,
      vars,
    );
    return [value, ...vars.map((v: tf.Variable) => grads[v.name]!)];
  };

  it('gives the same loss and weight gradients, bit for bit, with 9 filter gradients instead of 15 and no tensor left over', async () => {
    const critic = buildProjectionCritic(config, 1);
    const real = rand([2, 32, 32, 3], 15) as tf.Tensor4D;
    const fake = rand([2, 32, 32, 3], 16) as tf.Tensor4D;
    const eps = tf.randomUniform([2, 1, 1, 1], 0, 1, 'float32', 17) as tf.Tensor4D;
    const labels = tf.tensor2d([[0], [1]], [2, 1], 'int32');
    const { ours, theirs } = await bothWays(() => penaltyGrads(critic, real, fake, eps, labels));
    expect(ours).toEqual(theirs);

    // Per conv layer, ours: the real and fake passes' filter gradients and the one through the
    // penalty's inner backward pass (3 x 3 layers = 9). tfjs's path added the inner pass's unused
    // filter gradients and a backward pass of zeros through the interpolated images' forward pass.
    const count = async () => (await kernelCounts(() => tf.dispose(penaltyGrads(critic, real, fake, eps, labels)))).Conv2DBackpropFilter;
    expect(await count()).toBe(9);
    setLazyGradients(false);
    expect(await count()).toBe(15);
    setLazyGradients(true);

    const before = tf.memory().numTensors;
    tf.dispose(penaltyGrads(critic, real, fake, eps, labels));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([real, fake, eps, labels]);
    critic.dispose();
  });

  it('whole training steps of both families give the same losses, bit for bit, on the CPU and on WebAssembly', async () => {
    const rng = new Prng(3);
    const pixels = Uint8Array.from({ length: 6 * 32 * 32 * 3 }, () => rng.int(256));
    const labels = Int32Array.from({ length: 6 }, (_, i) => i % 2);
    const losses = (family: 'dcgan' | 'cwgan-gp') =>
      stepLosses(
        createTrainer({ ...makeConfig(family, 32, { preset: 'tiny', numClasses: 2, batchSize: 2 }), nCritic: 2 }, datasetFromPixels(pixels, labels, 32, 3), { seed: 5 }),
        2,
      );
    for (const backend of ['cpu', 'wasm'] as const) {
      await initBackend(backend);
      for (const family of ['dcgan', 'cwgan-gp'] as const) {
        const ours = await losses(family);
        setLazyGradients(false);
        const theirs = await losses(family);
        setLazyGradients(true);
        expect(ours.every((v) => v !== null && Number.isFinite(v))).toBe(true);
        expect(ours, `${backend} ${family}`).toEqual(theirs);
      }
    }
    await initBackend('cpu');
  }, 120_000);
});
