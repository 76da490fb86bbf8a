/**
 * For the fused batch norm's tests on each backend (./batchnorm.webgpu and wasm tests): one
 * BatchNormalization layer trained with tfjs-layers' own call and with ours, from the same weights,
 * compared: outputs, gradients for x / gamma / beta, moving averages, kernels run, and no tensors
 * left behind by repeated training calls. And BatchNormActivation against the two layers it stands for.
 */
import { expect } from 'vitest';
import { tf, tfl } from '../backends/tf';
import { maxRelDiff } from '../backends/kernels/test-support';
import { batchNormActivation, installFusedBatchNorm, uninstallFusedBatchNorm } from './batchnorm';
import { fastDispatchStats } from '../backends/index';
import { expectSameBits } from './layer-test-support';

export interface Tolerances {
  y: number;
  grads: number;
  moving: number;
}

/**
 * Trains a fresh layer on x of `shape` both ways and checks ours against tfjs-layers' own within
 * `tol`. Returns both runs' kernel counts (three training calls and two backward passes each).
 */
export async function compareWithTfjsLayers(shape: number[], tol: Tolerances): Promise<{ theirs: number; ours: number }> {
  const C = shape[shape.length - 1]!;
  const x = tf.randomNormal(shape, 0.3, 2, 'float32', 1);
  const w = tf.randomNormal(shape, 0, 1, 'float32', 2); // a loss that weights every output
  const layer = tfl.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 });
  layer.apply(tf.zeros(shape), { training: false }); // builds the weights
  layer.setWeights([
    tf.randomNormal([C], 1, 0.2, 'float32', 3), // gamma
    tf.randomNormal([C], 0, 0.2, 'float32', 4), // beta
    tf.randomNormal([C], 0, 0.5, 'float32', 5), // moving mean
    tf.randomUniform([C], 0.5, 2, 'float32', 6), // moving variance
  ]);
  const start = layer.getWeights().map((t) => tf.clone(t));
  const [gamma, beta] = layer.trainableWeights.map((v) => v.read() as tf.Variable);

  /** One training call: loss, d/dx, d/dgamma, d/dbeta, the moving stats after it, the kernels run. */
  const run = async () => {
    layer.setWeights(start);
    let out: { y: tf.Tensor; grads: tf.Tensor[] } | null = null;
    const info = await tf.profile(() => {
      const g = tf.grads((xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => {
        void gi;
        void bi;
        return tf.sum(tf.mul(layer.apply(xi, { training: true }) as tf.Tensor, w));
      });
      // gamma and beta are variables: their gradients through variableGrads.
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x, { training: true }) as tf.Tensor, w)) as tf.Scalar, [gamma!, beta!]);
      layer.setWeights(start);
      const [dx] = g([x, gamma!, beta!]);
      out = { y: layer.apply(x, { training: true }) as tf.Tensor, grads: [dx!, grads[gamma!.name]!, grads[beta!.name]!] };
    });
    const weights = layer.getWeights().map((t) => tf.clone(t));
    return { ...out!, moving: weights.slice(2), kernels: info.kernels.length };
  };

  uninstallFusedBatchNorm();
  const theirs = await run();
  expect(installFusedBatchNorm()).toBe(true);
  const ours = await run();

  expect(await maxRelDiff(theirs.y, ours.y), 'output').toBeLessThan(tol.y);
  for (let i = 0; i < 3; i++) expect(await maxRelDiff(theirs.grads[i]!, ours.grads[i]!), `gradient ${i}`).toBeLessThan(tol.grads);
  for (let i = 0; i < 2; i++) expect(await maxRelDiff(theirs.moving[i]!, ours.moving[i]!), `moving ${i}`).toBeLessThan(tol.moving);

  // Inference mode is tfjs-layers' own; and repeated training calls leak nothing.
  layer.setWeights(start);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x, { training: true }) as tf.Tensor, w)) as tf.Scalar, [gamma!, beta!]);
    tf.dispose([value, ...Object.values(grads)]);
  }
  expect(tf.memory().numTensors).toBe(before);
  tf.dispose([x, w, ...start, theirs.y, ours.y, ...theirs.grads, ...ours.grads, ...theirs.moving, ...ours.moving]);
  return { theirs: theirs.kernels, ours: ours.kernels };
}

/** compareWithTfjsLayers at the tolerances both backends meet, and ours running fewer kernels. */
export async function expectFusedMatches(shape: number[]): Promise<void> {
  const kernels = await compareWithTfjsLayers(shape, { y: 1e-5, grads: 1e-4, moving: 1e-5 });
  expect(kernels.ours).toBeLessThan(kernels.theirs);
  console.log(`kernels for three training calls and two backward passes: tfjs-layers ${kernels.theirs}, ours ${kernels.ours}`);
}

export type Activation = { activation: 'relu' } | { activation: 'leakyRelu'; alpha: number };

/** The fused layer, and batch norm then the activation as two layers, with the same weights. */
export function layerPair(shape: number[], act: Activation): { fused: tfl.layers.Layer; separate: tfl.layers.Layer[]; reset: () => void; dispose: () => void } {
  const C = shape[shape.length - 1]!;
  const args = { momentum: 0.9, epsilon: 1e-5 };
  const fused = batchNormActivation({ ...args, ...act });
  const bn = tfl.layers.batchNormalization(args);
  const activation = act.activation === 'relu' ? tfl.layers.reLU() : tfl.layers.leakyReLU({ alpha: act.alpha });
  const weights = [
    tf.randomNormal([C], 1, 0.2, 'float32', 3), // gamma
    tf.randomNormal([C], 0, 0.2, 'float32', 4), // beta
    tf.randomNormal([C], 0, 0.5, 'float32', 5), // moving mean
    tf.randomUniform([C], 0.5, 2, 'float32', 6), // moving variance
  ];
  for (const layer of [fused, bn]) {
    layer.apply(tf.zeros(shape), { training: false }); // builds the weights
    layer.setWeights(weights);
  }
  const reset = () => {
    for (const layer of [fused, bn]) layer.setWeights(weights);
  };
  return { fused, separate: [bn, activation], reset, dispose: () => tf.dispose(weights) };
}

/** A training pass and its backward pass: y, dx, dgamma, dbeta, the moving averages after, the dispatches. */
function train(layers: tfl.layers.Layer[], x: tf.Tensor, w: tf.Tensor) {
  const [gamma, beta] = layers[0]!.trainableWeights.map((v) => v.read() as tf.Variable);
  const forward = (xi: tf.Tensor) => layers.reduce((t, layer) => layer.apply(t, { training: true }) as tf.Tensor, xi);
  const before = fastDispatchStats()?.dispatches ?? 0;
  let y: tf.Tensor | null = null;
  const dx = tf.grad((xi: tf.Tensor) => {
    y = tf.keep(forward(xi));
    return tf.sum(tf.mul(y, w));
  })(x);
  const dispatches = (fastDispatchStats()?.dispatches ?? 0) - before;
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(forward(x), w)) as tf.Scalar, [gamma!, beta!]);
  value.dispose();
  const moving = layers[0]!.getWeights().slice(2).map((t) => tf.clone(t));
  return { y: y!, grads: [dx, grads[gamma!.name]!, grads[beta!.name]!], moving, dispatches };
}

/**
 * BatchNormActivation against batch norm and the activation as two layers, trained from the same
 * weights on x: the same bits (outputs, gradients, moving averages); with `fewer` (WebGPU), that many
 * dispatches fewer for a forward and backward pass.
 */
export async function expectSameAsSeparate(shape: number[], act: Activation, x: tf.Tensor, fewer: number | null): Promise<void> {
  const w = tf.randomNormal(shape, 0, 1, 'float32', 2); // a loss that weights every output
  const { fused, separate, reset, dispose } = layerPair(shape, act);
  // A first pass uploads x and w (until then tfjs runs some small ops on the processor): counts after it.
  const warm = train(separate, x, w);
  tf.dispose([warm.y, ...warm.grads, ...warm.moving]);
  reset();
  const ours = train([fused], x, w);
  const theirs = train(separate, x, w);
  const what = `${act.activation} ${JSON.stringify(shape)}`;
  await expectSameBits(ours.y, theirs.y, `${what} output`);
  for (const [i, name] of ['dx', 'dgamma', 'dbeta'].entries()) await expectSameBits(ours.grads[i]!, theirs.grads[i]!, `${what} ${name}`);
  for (const [i, name] of ['moving mean', 'moving variance'].entries()) await expectSameBits(ours.moving[i]!, theirs.moving[i]!, `${what} ${name}`);
  if (fewer !== null) expect(ours.dispatches, `${what} dispatches`).toBe(theirs.dispatches - fewer);
  tf.dispose([w, ours.y, theirs.y, ...ours.grads, ...theirs.grads, ...ours.moving, ...theirs.moving]);
  dispose();
  fused.dispose();
  for (const layer of separate) layer.dispose();
}
