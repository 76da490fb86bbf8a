/**
 * For the tests of our own layers (./batchnorm-activation.test.ts, ./conv-leaky.test.ts,
 * ./projection-head.test.ts and the WebAssembly batch norm's): bit-for-bit comparison, a save and load through tfjs-layers'
 * serialisation, and a check that training calls leave no tensors behind.
 */
import { expect } from 'vitest';
import { tf, tfl } from '../backends/tf';

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
