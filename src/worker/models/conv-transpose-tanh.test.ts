/**
 * Conv2DTransposeTanh (./conv-transpose-tanh.ts) against the two layers it stands for, tfjs-layers'
 * Conv2DTranspose with a bias and then Activation('tanh'), on WebGPU (lavapipe here): in training the
 * bias and tanh run as one program and tanh's gradient as one, and outputs and gradients (x, kernel,
 * bias) must be the same bits, in one dispatch fewer forward and two fewer backward. Also the paths
 * that do not fuse (our kernels off; no bias), inference, NaN and infinities, serialisation and no
 * tensors left behind. Skipped, with the reason printed, without a WebGPU adapter; on the processor's
 * backends the layer is Conv2DTranspose's call and tfjs's tanh, the two layers' own operations.
 */
import { describe, expect, it } from 'vitest';
import { tf, tfl } from '../backends/tf';
import { webgpuSkipReason, withOurKernelsOff } from '../backends/kernels/test-support';
import { fastDispatchStats } from '../backends/index';
import { Conv2DTransposeTanh, conv2dTransposeTanh } from './conv-transpose-tanh';
import { CASES, type Case, layerPair } from './conv-transpose-tanh-test-support';
import { expectNoTensorsLeftByTraining, expectSameBits, expectSameInference, forward, saveAndLoad, trainLayers } from './layer-test-support';

const reason = await webgpuSkipReason('transposed convolution with its tanh tests');

/** Dispatches of a training call's gradients of sum(y * w) with respect to the first layer's weights. */
function weightGradDispatches(layers: tfl.layers.Layer[], x: tf.Tensor, w: tf.Tensor): number {
  const vars = layers[0]!.trainableWeights.map((v) => v.read() as tf.Variable);
  const before = fastDispatchStats()!.dispatches;
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(forward(layers, x), w)) as tf.Scalar, vars);
  const n = fastDispatchStats()!.dispatches - before;
  tf.dispose([value, ...Object.values(grads)]);
  return n;
}

async function expectSameAsSeparate(c: Case, x: tf.Tensor, fused: boolean): Promise<void> {
  const { fused: ours, separate: theirs, dispose } = layerPair(c);
  const yShape = (forward(theirs, x) as tf.Tensor).shape;
  const w = tf.randomNormal(yShape, 0, 1, 'float32', 12);
  const warm = trainLayers(theirs, x, w); // uploads x and w, compiles
  const a = trainLayers(ours, x, w);
  const b = trainLayers(theirs, x, w);
  const what = JSON.stringify(c);
  await expectSameBits(a.y, b.y, `${what} output`);
  for (const [i, name] of ['dx', 'dkernel', 'dbias'].entries()) await expectSameBits(a.grads[i]!, b.grads[i]!, `${what} ${name}`);
  // Forward: the bias and tanh in one program. With dx alone, tanh's gradient takes one program fewer
  // than tfjs's three but the bias's sum runs too (one custom op gives both); with the weights' gradients
  // (training), two fewer.
  expect(a.forwardDispatches, `${what} forward dispatches`).toBe(b.forwardDispatches - (fused ? 1 : 0));
  if (fused) expect(a.dispatches, `${what} dispatches`).toBeLessThanOrEqual(b.dispatches - 1);
  else expect(a.dispatches, `${what} dispatches`).toBe(b.dispatches);
  expect(weightGradDispatches(ours, x, w), `${what} training dispatches`).toBe(weightGradDispatches(theirs, x, w) - (fused ? 3 : 0));
  tf.dispose([w, ...[warm, a, b].flatMap((r) => [r.y, ...r.grads])]);
  dispose();
}

describe.skipIf(reason !== '')('transposed convolution and its tanh, one layer (WebGPU)', () => {
  it.each(CASES.map((c) => [JSON.stringify(c), c] as const))('in training at %s: the same bits as the two layers, fewer dispatches', async (_, c) => {
    const x = tf.randomNormal(c.x, 0, 1, 'float32', 11);
    await expectSameAsSeparate(c, x, true);
    x.dispose();
  });

  it('NaN and infinities in the input give the two layers\' bits', async () => {
    const c = CASES[0]!;
    const values = Array.from({ length: c.x.reduce((p, q) => p * q, 1) }, (_, i) => Math.sin(i) * 4);
    [values[3], values[40], values[77]] = [NaN, Infinity, -Infinity];
    const x = tf.tensor(values, c.x);
    await expectSameAsSeparate(c, x, true);
    x.dispose();
  });

  it('does not fuse with our kernels off, or without a bias; the results still the two layers\'', async () => {
    const c = CASES[0]!;
    const x = tf.randomNormal(c.x, 0, 1, 'float32', 13);
    await withOurKernelsOff(() => expectSameAsSeparate(c, x, false));
    const { fused, separate, dispose } = layerPair(c, false);
    const [a, b] = [forward(fused, x), forward(separate, x)];
    await expectSameBits(a, b, 'no bias');
    tf.dispose([x, a, b]);
    dispose();
  });

  it('in inference, and after saving and loading under its own class name: the same bits', async () => {
    const layer = conv2dTransposeTanh({ filters: 3, kernelSize: 4, strides: 2, padding: 'same', kernelInitializer: tfl.initializers.randomNormal({ stddev: 0.3, seed: 3 }) });
    const { model, loaded, savedConfig } = await saveAndLoad(layer, [4, 4, 8], Conv2DTransposeTanh.className);
    expect(savedConfig).toMatchObject({ filters: 3, padding: 'same' });
    expect(savedConfig).not.toHaveProperty('activation');
    expect(loaded.layers[1]).toBeInstanceOf(Conv2DTransposeTanh);
    const x = tf.randomNormal([2, 4, 4, 8], 0, 1, 'float32', 14);
    const { fused, separate, dispose } = layerPair(CASES[0]!, true, 9);
    await expectSameInference({ model, loaded }, fused[0]!, separate, x);
    x.dispose();
    dispose();
  });

  it('refuses another activation, and leaves no tensors behind in training', () => {
    expect(() => conv2dTransposeTanh({ filters: 3, kernelSize: 4, activation: 'relu' } as never)).toThrow(/activation is its tanh/);
    const layer = conv2dTransposeTanh({ filters: 3, kernelSize: 4, strides: 2, padding: 'same' });
    const x = tf.randomNormal([2, 4, 4, 8], 0, 1, 'float32', 15);
    expectNoTensorsLeftByTraining(layer, x);
    x.dispose();
    layer.dispose();
  });
});
