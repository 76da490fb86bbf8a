/**
 * BatchNormActivation (./batchnorm.ts) against the two layers it stands for, tfjs-layers'
 * BatchNormalization followed by ReLU or LeakyReLU, on WebGPU (lavapipe here): in training the
 * activation runs inside batch norm's programs, and outputs, gradients (x, gamma, beta) and moving
 * averages must be the same bits, in two dispatches fewer per forward and backward pass. Also the
 * paths that do not fuse (inference, a slope of 0, the fused batch norm uninstalled), serialisation
 * through a saved and loaded model, NaN, and no tensors left behind. Skipped, with the reason printed,
 * without a WebGPU adapter; WebAssembly's path is in ../backends/wasm/batchnorm.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../backends/tf';
import { webgpuSkipReason } from '../backends/kernels/test-support';
import { BatchNormActivation, batchNormActivation, installFusedBatchNorm, uninstallFusedBatchNorm } from './batchnorm';
import { type Activation, expectSameAsSeparate, layerPair } from './batchnorm-test-support';
import { expectNoTensorsLeftByTraining, expectSameBits, saveAndLoad } from './layer-test-support';

const reason = await webgpuSkipReason('batch norm with its activation tests');

describe.skipIf(reason !== '')('batch norm with its activation, one layer (WebGPU)', () => {
  // (./networks.ts installs the fused batch norm when it is imported; this file does not import it.)
  beforeAll(() => expect(installFusedBatchNorm()).toBe(true));
  afterAll(() => uninstallFusedBatchNorm());

  it.each([
    [[4, 6, 5, 8], { activation: 'relu' }],
    [[4, 6, 5, 8], { activation: 'leakyRelu', alpha: 0.2 }],
    [[3, 17, 19, 70], { activation: 'relu' }],
    [[3, 17, 19, 70], { activation: 'leakyRelu', alpha: 0.2 }],
    [[2, 8], { activation: 'leakyRelu', alpha: 0.3 }],
  ] as Array<[number[], Activation]>)('in training at %j, %j: the same bits as the two layers, two dispatches fewer', async (shape, act) => {
    const x = tf.randomNormal(shape, 0.3, 2, 'float32', 1);
    await expectSameAsSeparate(shape, act, x, 2);
    x.dispose();
  });

  it('a NaN gives the same NaNs as the two layers (its channel, and the masks that read it)', async () => {
    const shape = [2, 3, 3, 4];
    const values = Array.from({ length: 72 }, (_, i) => Math.sin(i) * 3);
    values[5] = NaN; // channel 1 of the first pixel: that channel's statistics, its outputs, its gradients
    const x = tf.tensor(values, shape);
    for (const act of [{ activation: 'relu' }, { activation: 'leakyRelu', alpha: 0.2 }] as Activation[]) await expectSameAsSeparate(shape, act, x, 2);
    x.dispose();
  });

  it('does not fuse where it cannot: a slope of 0, inference, the fused batch norm uninstalled; the results still the two layers\'', async () => {
    const shape = [3, 4, 4, 16];
    const x = tf.randomNormal(shape, 0.3, 2, 'float32', 7);
    // LeakyReLU's mask cannot be read from its output with a slope of 0 (negative inputs give -0).
    await expectSameAsSeparate(shape, { activation: 'leakyRelu', alpha: 0 }, x, 0);
    // Inference: the moving statistics, then the activation.
    const { fused, separate, dispose } = layerPair(shape, { activation: 'relu' });
    const a = fused.apply(x, { training: false }) as tf.Tensor;
    const b = separate[1]!.apply(separate[0]!.apply(x, { training: false }), { training: false }) as tf.Tensor;
    await expectSameBits(a, b, 'inference');
    tf.dispose([a, b]);
    dispose();
    // tfjs-layers' own batch norm, then tfjs's relu.
    uninstallFusedBatchNorm();
    try {
      await expectSameAsSeparate(shape, { activation: 'relu' }, x, 0);
    } finally {
      expect(installFusedBatchNorm()).toBe(true);
    }
    x.dispose();
  });

  it('saves and loads under its own class name, with its activation and slope', async () => {
    const layer = batchNormActivation({ momentum: 0.9, epsilon: 1e-5, activation: 'leakyRelu', alpha: 0.2 });
    const weights = [tf.fill([8], 1.5), tf.fill([8], -0.25), tf.fill([8], 0.1), tf.fill([8], 2)];
    const { model, loaded, savedConfig } = await saveAndLoad(layer, [4, 4, 8], BatchNormActivation.className, weights);
    expect(savedConfig).toMatchObject({ activation: 'leaky_relu', alpha: 0.2, momentum: 0.9, epsilon: 1e-5 });
    expect(loaded.layers[1]).toBeInstanceOf(BatchNormActivation);
    expect(loaded.layers[1]).toMatchObject({ activation: 'leakyRelu', alpha: 0.2 });
    const x = tf.randomNormal([2, 4, 4, 8], 0, 2, 'float32', 8);
    const [a, b] = [model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
    await expectSameBits(a, b, 'loaded model');
    expect((await a.data()).some((v) => v < 0), 'LeakyReLU kept negative outputs').toBe(true);
    tf.dispose([x, a, b, ...weights]);
    model.dispose();
    loaded.dispose();
  });

  it('refuses an unknown activation, and leaves no tensors behind in training', () => {
    expect(() => batchNormActivation({ activation: 'tanh' as 'relu' })).toThrow(/unknown activation/);
    const layer = batchNormActivation({ momentum: 0.9, epsilon: 1e-5, activation: 'relu' });
    const x = tf.randomNormal([2, 4, 4, 16], 0, 1, 'float32', 9);
    expectNoTensorsLeftByTraining(layer, x);
    x.dispose();
    layer.dispose();
  });
});
