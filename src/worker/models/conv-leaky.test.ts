/**
 * Conv2DLeakyReLU (./conv-leaky.ts) against the two layers it stands for, tfjs-layers' Conv2D with a
 * bias and then LeakyReLU, on WebGPU (lavapipe here): in training the LeakyReLU runs in our forward
 * convolution kernel, and outputs and gradients (x, kernel, bias) must be the same bits, in one
 * dispatch fewer per forward pass; the WGAN-GP penalty's double backward through it must give the
 * same weight gradients. Also the paths that do not fuse (a slope of 0, our gradients turned off),
 * inference, serialisation and no tensors left behind. Skipped, with the reason printed, without a
 * WebGPU adapter.
 */
import { describe, expect, it } from 'vitest';
import { tf, tfl } from '../backends/tf';
import { webgpuSkipReason, withSwitchOff } from '../backends/kernels/test-support';
import { setLazyGradients } from '../backends/gradients';
import { Conv2DLeakyReLU, conv2dLeakyReLU } from './conv-leaky';
import { expectNoTensorsLeftByTraining, expectSameBits, expectSameInference, forward, saveAndLoad, trainLayers as train } from './layer-test-support';

const reason = await webgpuSkipReason('convolution with its LeakyReLU tests');

const CONV = { filters: 16, kernelSize: 4, strides: 2, padding: 'same', useBias: true } as const;

/** The fused layer, and Conv2D then LeakyReLU as two layers, with the same weights, built for `shape`. */
function layerPair(shape: number[], alpha: number, seed = 1) {
  const fused = conv2dLeakyReLU({ ...CONV, alpha });
  const conv = tfl.layers.conv2d(CONV);
  const leaky = tfl.layers.leakyReLU({ alpha });
  const weights = [tf.randomNormal([4, 4, shape[3]!, 16], 0, 0.3, 'float32', seed), tf.randomNormal([16], 0, 0.5, 'float32', seed + 1)];
  for (const layer of [fused, conv]) {
    layer.apply(tf.zeros(shape), { training: false }); // builds the weights
    layer.setWeights(weights);
  }
  const dispose = () => {
    tf.dispose(weights);
    for (const layer of [fused, conv, leaky]) layer.dispose();
  };
  return { fused: [fused], separate: [conv, leaky], dispose };
}

/** `fewer`: dispatches the fused layer saves in its forward pass; `fewerBackward`: in its backward pass. */
async function expectSameAsSeparate(shape: number[], alpha: number, fewer: number, fewerBackward: number): Promise<void> {
  const x = tf.randomNormal(shape, 0, 1, 'float32', 11);
  const { fused, separate, dispose } = layerPair(shape, alpha);
  const w = tf.randomNormal([shape[0]!, Math.ceil(shape[1]! / 2), Math.ceil(shape[2]! / 2), 16], 0, 1, 'float32', 12);
  // A first pass uploads x and w (until then tfjs runs some small ops on the processor): counts after it.
  const warm = train(separate, x, w);
  const ours = train(fused, x, w);
  const theirs = train(separate, x, w);
  const what = `alpha ${alpha} ${JSON.stringify(shape)}`;
  await expectSameBits(ours.y, theirs.y, `${what} output`);
  for (const [i, name] of ['dx', 'dkernel', 'dbias'].entries()) await expectSameBits(ours.grads[i]!, theirs.grads[i]!, `${what} ${name}`);
  expect(ours.forwardDispatches, `${what} forward dispatches`).toBe(theirs.forwardDispatches - fewer);
  expect(ours.dispatches, `${what} dispatches`).toBe(theirs.dispatches - fewer - fewerBackward);
  tf.dispose([x, w, ...[warm, ours, theirs].flatMap((r) => [r.y, ...r.grads])]);
  dispose();
}

describe.skipIf(reason !== '')('convolution and its LeakyReLU, one layer (WebGPU)', () => {
  it.each([
    [[2, 16, 16, 3], 0.2],
    [[3, 9, 7, 8], 0.2],
    [[2, 8, 8, 32], 0.3],
  ])('in training at %j, slope %d: the same bits as the two layers, one dispatch fewer each way', async (shape, alpha) => {
    // Backward, the gradient programs read dy through the mask (../backends/kernels/masked-conv-grads.ts).
    await expectSameAsSeparate(shape, alpha, 1, 1);
    // With that turned off, the mask is a program of its own, as the separate layers' LeakyReLU gradient.
    await withSwitchOff('GAN_AUGMENT_MASKED_CONV_GRADS', () => expectSameAsSeparate(shape, alpha, 1, 0));
  });

  it('does not fuse where it cannot (a slope of 0; our gradients off), with the two layers\' results', async () => {
    await expectSameAsSeparate([2, 8, 8, 3], 0, 0, 0);
    expect(setLazyGradients(false)).toBe(false);
    try {
      await expectSameAsSeparate([2, 8, 8, 3], 0.2, 0, 0);
    } finally {
      expect(setLazyGradients(true)).toBe(true);
    }
  });

  it("the WGAN-GP penalty's double backward: the same weight gradients as through the two layers", async () => {
    const shape = [3, 8, 8, 3];
    const x = tf.randomNormal(shape, 0, 1, 'float32', 13);
    const { fused, separate, dispose } = layerPair(shape, 0.2, 5);
    const penaltyGrads = (layers: tfl.layers.Layer[]) => {
      const vars = layers[0]!.trainableWeights.map((v) => v.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(() => {
        const g = tf.grad((xi: tf.Tensor) => tf.sum(tf.square(forward(layers, xi))))(x);
        return tf.sum(tf.square(g)) as tf.Scalar;
      }, vars);
      return [value, ...vars.map((v) => grads[v.name]!)];
    };
    const ours = penaltyGrads(fused);
    const theirs = penaltyGrads(separate);
    for (const [i, name] of ['value', 'dkernel', 'dbias'].entries()) await expectSameBits(ours[i]!, theirs[i]!, `penalty ${name}`);
    tf.dispose([x, ...ours, ...theirs]);
    dispose();
  });

  it('in inference, and after saving and loading under its own class name: the same bits', async () => {
    const layer = conv2dLeakyReLU({ ...CONV, alpha: 0.2, kernelInitializer: tfl.initializers.randomNormal({ stddev: 0.5, seed: 3 }) });
    const { model, loaded, savedConfig } = await saveAndLoad(layer, [8, 8, 3], Conv2DLeakyReLU.className);
    expect(savedConfig).toMatchObject({ alpha: 0.2, filters: 16 });
    expect(savedConfig).not.toHaveProperty('activation');
    expect(loaded.layers[1]).toBeInstanceOf(Conv2DLeakyReLU);
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 14);
    // And inference through the fused layer: the two layers' bits.
    const { fused, separate, dispose } = layerPair([2, 8, 8, 3], 0.2, 9);
    await expectSameInference({ model, loaded }, fused[0]!, separate, x);
    x.dispose();
    dispose();
  });

  it('refuses another activation, and leaves no tensors behind in training', () => {
    expect(() => conv2dLeakyReLU({ ...CONV, activation: 'relu' } as never)).toThrow(/activation is its LeakyReLU/);
    const layer = conv2dLeakyReLU({ ...CONV, alpha: 0.2 });
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 15);
    expectNoTensorsLeftByTraining(layer, x);
    x.dispose();
    layer.dispose();
  });
});
