/**
 * For the projection head's tests (./projection-head.test.ts on WebGPU, ./projection-head.cpu.test.ts
 * on the processor's backends): the head and the four layers it stands for, with the same weights, and
 * what a critic's training asks of them.
 */
import { tf, tfl } from '../backends/tf';
import { projectionHead } from './projection-head';
import { expectNoTensorsLeftByTraining } from './layer-test-support';

export interface HeadCase {
  batch: number;
  features: number;
  classes: number;
  /** One label per sample (classes may be missing). */
  labels: number[];
}

export const HEAD_CASES: readonly HeadCase[] = [
  { batch: 1, features: 1, classes: 1, labels: [0] },
  { batch: 5, features: 37, classes: 3, labels: [2, 0, 2, 2, 0] }, // class 1 absent
  { batch: 8, features: 130, classes: 4, labels: [3, 1, 0, 2, 1, 3, 0, 0] },
  { batch: 12, features: 4096, classes: 8, labels: [7, 6, 5, 4, 3, 2, 1, 0, 7, 7, 0, 3] },
];

/** The roles of the head's weights, in the order results list their gradients. */
export const ROLES = ['kernel', 'bias', 'embeddings'] as const;

/** Our head, or tfjs-layers' Dense(1), Embedding + Flatten, Dot(axes 1) and Add, as a model [phi, label] -> score. */
export function headModel(kind: 'ours' | 'four layers', features: number, classes: number): tfl.LayersModel {
  const phi = tfl.input({ shape: [features] });
  const label = tfl.input({ shape: [1], dtype: 'int32' });
  if (kind === 'ours') return tfl.model({ inputs: [phi, label], outputs: projectionHead({ numClasses: classes }).apply([phi, label]) as tfl.SymbolicTensor });
  const linear = tfl.layers.dense({ units: 1 }).apply(phi) as tfl.SymbolicTensor;
  const embedded = tfl.layers.flatten().apply(tfl.layers.embedding({ inputDim: classes, outputDim: features }).apply(label)) as tfl.SymbolicTensor;
  const projection = tfl.layers.dot({ axes: 1 }).apply([embedded, phi]) as tfl.SymbolicTensor;
  return tfl.model({ inputs: [phi, label], outputs: tfl.layers.add().apply([linear, projection]) as tfl.SymbolicTensor });
}

/** The model's weight variable of each role (by the name's last part). */
export function weightsByRole(model: tfl.LayersModel): tf.Variable[] {
  return ROLES.map((role) => {
    const w = model.trainableWeights.find((v) => v.originalName.endsWith(`/${role}`));
    if (!w) throw new Error(`No ${role} weight.`);
    return w.read() as tf.Variable;
  });
}

/** Random weights of every role for a case (bias not 0), set on each model. */
export function setSameWeights(models: tfl.LayersModel[], c: HeadCase, seed: number): void {
  const values = [
    tf.randomNormal([c.features, 1], 0, 0.5, 'float32', seed),
    tf.tensor1d([0.25]),
    tf.randomNormal([c.classes, c.features], 0, 0.5, 'float32', seed + 1),
  ];
  for (const m of models) weightsByRole(m).forEach((v, i) => v.assign(values[i]!));
  tf.dispose(values);
}

export interface HeadResults {
  /** Names of the tensors, in order. */
  names: string[];
  tensors: tf.Tensor[];
}

/**
 * What a critic update asks of the head, on features phi and labels: the scores; the gradient of
 * sum(score * w) with respect to phi and to each weight; each weight's gradient of a penalty-like
 * loss, sum(g^2) + sum(score * w) with g the gradient of sum(score) with respect to phi (the double
 * backward of the WGAN-GP's penalty); and of sum(h^2), h the gradient of sum(score^2), whose inner
 * gradient's upstream depends on the weights (a double backward that also differentiates d phi in
 * dscore, which the penalty does not). The caller disposes of the tensors.
 */
export function headResults(model: tfl.LayersModel, phi: tf.Tensor, labels: tf.Tensor, w: tf.Tensor): HeadResults {
  const vars = weightsByRole(model);
  const score = (x: tf.Tensor) => model.apply([x, labels], { training: true }) as tf.Tensor;
  const scores = score(phi);
  const dphi = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(score(x), w)))(phi);
  const first = tf.variableGrads(() => tf.sum(tf.mul(score(phi), w)) as tf.Scalar, vars);
  const penalty = tf.variableGrads(() => {
    const g = tf.grad((x: tf.Tensor) => tf.sum(score(x)))(phi);
    return tf.add(tf.sum(tf.square(g)), tf.sum(tf.mul(score(phi), w))) as tf.Scalar;
  }, vars);
  const squared = tf.variableGrads(() => {
    const h = tf.grad((x: tf.Tensor) => tf.sum(tf.square(score(x))))(phi);
    return tf.sum(tf.square(h)) as tf.Scalar;
  }, vars);
  const names = [
    'scores',
    'dphi',
    ...ROLES.map((r) => `d${r}`),
    'penalty',
    ...ROLES.map((r) => `penalty d${r}`),
    'squared',
    ...ROLES.map((r) => `squared d${r}`),
  ];
  const tensors = [
    scores,
    dphi,
    ...vars.map((v) => first.grads[v.name]!),
    penalty.value,
    ...vars.map((v) => penalty.grads[v.name]!),
    squared.value,
    ...vars.map((v) => squared.grads[v.name]!),
  ];
  first.value.dispose();
  return { names, tensors };
}

/** A case's inputs: features, labels [B, 1] int32 and the scores' weights w [B, 1]. */
export function headInputs(c: HeadCase, seed: number): { phi: tf.Tensor; labels: tf.Tensor; w: tf.Tensor } {
  return {
    phi: tf.randomNormal([c.batch, c.features], 0, 1, 'float32', seed),
    labels: tf.tensor2d(c.labels, [c.batch, 1], 'int32'),
    w: tf.randomNormal([c.batch, 1], 0, 1, 'float32', seed + 1),
  };
}

/** Three training calls of a fresh head (3 classes, 9 features, batch 4) leave no tensors behind. */
export function expectHeadLeavesNoTensors(): void {
  const layer = projectionHead({ numClasses: 3 });
  const phi = tf.randomNormal([4, 9], 0, 1, 'float32', 47);
  const labels = tf.tensor2d([0, 1, 2, 1], [4, 1], 'int32');
  expectNoTensorsLeftByTraining(layer, [phi, labels]);
  tf.dispose([phi, labels]);
  layer.dispose();
}
