/**
 * For the tests of our own layers (./batchnorm-activation.test.ts, ./conv-leaky.test.ts,
 * ./projection-head.test.ts and the WebAssembly batch norm's): bit-for-bit comparison, a save and load through tfjs-layers'
 * serialisation, and a check that training calls leave no tensors behind.
 */
import { expect } from 'vitest';
import { tf, tfl } from '../backends/tf';
import { fastDispatchStats } from '../backends/index';

/** The same bits, NaN included. */
export async function expectSameBits(a: tf.Tensor, b: tf.Tensor, what: string): Promise<void> {
  const [x, y] = [await a.data(), await b.data()];
  expect(x.length, what).toBe(y.length);
  let differing = 0;
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) differing++;
  expect(differing, `${what}: values that differ`).toBe(0);
}

/** One input of a model under test: its shape (without the batch) and type. */
export type InputSpec = { shape: number[]; dtype?: 'float32' | 'int32' };

/**
 * `layer` alone in a model on inputs of `inputShape` (one shape, or several inputs' shapes and
 * types), with `weights` where given, saved (as a checkpoint is) and loaded again: both models, and
 * the saved config of the layer of class `className` (tfjs writes its keys and string values in snake
 * case). The caller disposes of both models.
 */
export async function saveAndLoad(
  layer: tfl.layers.Layer,
  inputShape: number[] | InputSpec[],
  className: string,
  weights?: tf.Tensor[],
): Promise<{ model: tfl.LayersModel; loaded: tfl.LayersModel; savedConfig: Record<string, unknown> }> {
  const specs = inputShape.every((d) => typeof d === 'number') ? null : (inputShape as InputSpec[]);
  const input = specs ? specs.map((s) => tfl.input(s)) : tfl.input({ shape: inputShape as number[] });
  const model = tfl.model({ inputs: input, outputs: layer.apply(input) as tfl.SymbolicTensor });
  if (weights) model.setWeights(weights);
  let artifacts: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const layers = (artifacts!.modelTopology as { config: { layers: Array<{ class_name: string; config: Record<string, unknown> }> } }).config.layers;
  const saved = layers.find((l) => l.class_name === className);
  expect(saved, `a layer of class ${className} in the saved topology`).toBeDefined();
  const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts!));
  return { model, loaded, savedConfig: saved!.config };
}

/** Three training calls of `layer` on x (gradients of its trainable weights) leave no tensors behind. */
export function expectNoTensorsLeftByTraining(layer: tfl.layers.Layer, x: tf.Tensor | tf.Tensor[]): void {
  layer.apply(x, { training: false }); // builds the weights
  const vars = layer.trainableWeights.map((v) => v.read() as tf.Variable);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    const { value, grads } = tf.variableGrads(() => tf.sum(layer.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, vars);
    tf.dispose([value, ...Object.values(grads)]);
  }
  expect(tf.memory().numTensors).toBe(before);
}

/** `layers` applied in turn to x, in training. */
export const forward = (layers: tfl.layers.Layer[], x: tf.Tensor): tf.Tensor =>
  layers.reduce((t, layer) => layer.apply(t, { training: true }) as tf.Tensor, x);

/**
 * The output y of `layers` on x, and the gradients of sum(y * w) with respect to x and to the first
 * layer's trainable weights, in order; with the WebGPU dispatches of the forward pass and of that
 * pass with its backward (0 on other backends). The caller disposes of y and the gradients.
 */
export function trainLayers(layers: tfl.layers.Layer[], x: tf.Tensor, w: tf.Tensor) {
  const vars = layers[0]!.trainableWeights.map((v) => v.read() as tf.Variable);
  const count = () => fastDispatchStats()?.dispatches ?? 0; // 0 where WebGPU's dispatch path is not installed
  const start = count();
  let forwardDispatches = 0;
  let y: tf.Tensor | null = null;
  const dx = tf.grad((xi: tf.Tensor) => {
    const before = count();
    y = tf.keep(forward(layers, xi));
    forwardDispatches = count() - before;
    return tf.sum(tf.mul(y, w));
  })(x);
  const dispatches = count() - start;
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(forward(layers, x), w)) as tf.Scalar, vars);
  value.dispose();
  return { y: y!, grads: [dx, ...vars.map((v) => grads[v.name]!)], forwardDispatches, dispatches };
}

/**
 * A model and its saved-and-loaded copy (`saveAndLoad`) predict the same bits on x, and the fused
 * layer in inference gives the bits of the separate layers applied in turn. Disposes of both models
 * and the results, not of the layers.
 */
export async function expectSameInference(
  models: { model: tfl.LayersModel; loaded: tfl.LayersModel },
  fused: tfl.layers.Layer,
  separate: tfl.layers.Layer[],
  x: tf.Tensor,
): Promise<void> {
  const [a, b] = [models.model.predict(x) as tf.Tensor, models.loaded.predict(x) as tf.Tensor];
  await expectSameBits(a, b, 'loaded model');
  const f = fused.apply(x) as tf.Tensor;
  const s = separate.reduce((t, layer) => layer.apply(t) as tf.Tensor, x);
  await expectSameBits(f, s, 'inference');
  tf.dispose([a, b, f, s]);
  models.model.dispose();
  models.loaded.dispose();
}
