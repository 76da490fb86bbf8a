/**
 * For the fused batch norm's tests on each backend (./batchnorm.webgpu and wasm tests): one
 * BatchNormalization layer trained with tfjs-layers' own call and with ours, from the same weights,
 * compared: outputs, gradients for x / gamma / beta, moving averages, kernels run, and no tensors
 * left behind by repeated training calls.
 */
import { expect } from 'vitest';
import { tf, tfl } from '../backends/tf';
import { maxRelDiff } from '../backends/kernels/test-support';
import { installFusedBatchNorm, uninstallFusedBatchNorm } from './batchnorm';

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
