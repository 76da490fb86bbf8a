/**
 * The projection critic's head (Miyato & Koyama 2018) as kernels of ours on WebGPU (issue 5: fewer
 * dispatches in a cWGAN-GP step). The head scores features phi [B, F] with class labels y [B, 1]:
 *
 *   score_b = sum_f phi[b, f] * (w[f] + E[y_b, f]) + bias
 *
 * w [F, 1] the linear weights, bias [1], E [K, F] the class embeddings. As tfjs-layers' Dense,
 * Embedding, Dot and Add layers it was about 27 programs per critic update (a gather, a matMul, a
 * Multiply, a Sum and an Add forward for each of the two critic passes; then tiles, products, sums and
 * additions in the backward passes and in the penalty's double backward): a quarter of the step's
 * programs at 32 px. Here:
 *   - 'GanAugmentProjection': the score, one workgroup per sample (fixed order, deterministic);
 *   - 'GanAugmentProjectionInputGrad': d phi = dscore_b * (w + E[y_b]), element-wise;
 *   - 'GanAugmentProjectionWeightGrad': sum_b dscore_b * a[b, :] ([F, 1], w's gradient);
 *   - 'GanAugmentProjectionEmbeddingGrad': sum over the samples of class k of dscore_b * a[b, :]
 *     ([K, F], E's gradient; no atomics, so deterministic).
 * Each is a registered kernel. The score and the input gradient have registered gradients that
 * return one function per input, so a backward pass computes only the gradients it needs (the
 * penalty's inner gradient only d phi). The input gradient's own gradient, in dscore, w and E, is what
 * the penalty's double backward takes. The weight and embedding gradients have none: they
 * are first-order only, and nothing in training differentiates them. The sums run in another order
 * than tfjs's operations, so values agree to float32 rounding. Labels outside [0, K) score with a
 * zero embedding and take no embedding gradient.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import { ElementwiseProgram, i32Uniform, ourKernelsRequested, PerSampleSumProgram, runProgramInfo, WEBGPU_BACKEND } from './common';

export const PROJECTION = 'GanAugmentProjection';
export const PROJECTION_INPUT_GRAD = 'GanAugmentProjectionInputGrad';
export const PROJECTION_WEIGHT_GRAD = 'GanAugmentProjectionWeightGrad';
export const PROJECTION_EMBEDDING_GRAD = 'GanAugmentProjectionEmbeddingGrad';

/** The WGSL of E[y_b, f], zero where the label is outside [0, K). `b`, `f` and `features` (F) are WGSL expressions. */
function embeddingAt(b: string, f: string, features = 'uniforms.features'): string {
  return `select(0.0, embeddings[clamp(labels[${b}], 0, uniforms.classes - 1) * ${features} + ${f}], labels[${b}] >= 0 && labels[${b}] < uniforms.classes)`;
}

/**
 * score_b = sum_f a[b, f] * (w[f] + E[y_b, f]) (+ bias): a workgroup per sample, the features added in a
 * fixed order (`PerSampleSumProgram`).
 */
function scoreProgram(batch: number, withBias: boolean): PerSampleSumProgram {
  return new PerSampleSumProgram(
    `ganAugmentProjectionScore_${withBias}`,
    withBias ? ['a', 'kernel', 'embeddings', 'labels', 'bias'] : ['a', 'kernel', 'embeddings', 'labels'],
    [batch, 1],
    `return a[sample * uniforms.perSample + i] * (kernel[i] + ${embeddingAt('sample', 'i', 'uniforms.perSample')});`,
    'perSample : i32, classes : i32,',
    withBias ? 't + bias[0]' : 't',
  );
}

/** d a = dscore_b * (w[f] + E[y_b, f]), [B, F]. */
function inputGradProgram(batch: number, features: number): ElementwiseProgram {
  return new ElementwiseProgram(
    'ganAugmentProjectionInputGrad',
    ['dscore', 'kernel', 'embeddings', 'labels'],
    [batch, features],
    `let b = index / uniforms.features;
        let f = index % uniforms.features;
        result[index] = dscore[b] * (kernel[f] + ${embeddingAt('b', 'f')});`,
    'features : i32, classes : i32,',
  );
}

/** Features per workgroup of the weight gradient, and row lanes per feature. */
const WEIGHT_GRAD_FEATURES = 64;
const WEIGHT_GRAD_LANES = 4;

/**
 * sum_b dscore_b * a[b, f] ([F, 1]): a workgroup per 64 features, 4 threads per feature each adding
 * every 4th sample in order, then the first adding the 4 partial sums in order (deterministic). A
 * thread per feature alone would leave a GPU with F threads, each reading B values one after another.
 */
class WeightGradProgram extends ElementwiseProgram {
  constructor(features: number) {
    super('ganAugmentProjectionWeightGrad', ['dscore', 'a'], [features, 1], '', 'features : i32, batch : i32,', WEIGHT_GRAD_FEATURES * WEIGHT_GRAD_LANES);
    this.size = false;
    this.dispatch = [Math.ceil(features / WEIGHT_GRAD_FEATURES), 1, 1];
  }

  override getUserCode(): string {
    const [F, L] = [WEIGHT_GRAD_FEATURES, WEIGHT_GRAD_LANES];
    return `
    var<workgroup> ganLaneSums : array<f32, ${F * L}>;

    fn main(unusedIndex : i32) {
      let tid = i32(localIndex);
      let lane = tid / ${F};
      let f = i32(workgroupId.x) * ${F} + tid % ${F};
      var s = 0.0;
      if (f < uniforms.features) {
        for (var b = lane; b < uniforms.batch; b = b + ${L}) {
          s = s + dscore[b] * a[b * uniforms.features + f];
        }
      }
      ganLaneSums[tid] = s;
      workgroupBarrier();
      if (lane == 0 && f < uniforms.features) {
        var t = 0.0;
        for (var l = 0; l < ${L}; l = l + 1) { t = t + ganLaneSums[l * ${F} + tid]; }
        result[f] = t;
      }
    }
    `;
  }
}

/** sum over samples b of class k of dscore_b * a[b, f] ([K, F]): a thread per (k, f), the samples in order. */
function embeddingGradProgram(classes: number, features: number): ElementwiseProgram {
  return new ElementwiseProgram(
    'ganAugmentProjectionEmbeddingGrad',
    ['dscore', 'a', 'labels'],
    [classes, features],
    `let k = index / uniforms.features;
        let f = index % uniforms.features;
        var s = 0.0;
        for (var b = 0; b < uniforms.batch; b = b + 1) {
          if (labels[b] == k) { s = s + dscore[b] * a[b * uniforms.features + f]; }
        }
        result[index] = s;`,
    'features : i32, batch : i32,',
    64,
  );
}

type Inputs = NamedTensorInfoMap;

const run = (backend: unknown, program: ElementwiseProgram, inputs: TensorInfo[], uniforms: number[]): TensorInfo =>
  runProgramInfo(backend, program, inputs, uniforms.map(i32Uniform));

/** The shape of a kernel's input `name`, which must be given. */
function shapeOf(kernelName: string, t: TensorInfo | undefined, name: string): number[] {
  if (!t) throw new Error(`${kernelName}: no ${name}.`);
  return t.shape;
}

const projectionKernel: KernelFunc = ({ inputs, backend }) => {
  const { a, kernel, embeddings, labels, bias } = inputs as Inputs;
  const [batch, features] = shapeOf(PROJECTION, a, 'a');
  const classes = shapeOf(PROJECTION, embeddings, 'embeddings')[0]!;
  const program = scoreProgram(batch!, bias !== undefined);
  return run(backend, program, bias ? [a!, kernel!, embeddings!, labels!, bias] : [a!, kernel!, embeddings!, labels!], [features!, classes]);
};

const inputGradKernel: KernelFunc = ({ inputs, backend }) => {
  const { dscore, kernel, embeddings, labels } = inputs as Inputs;
  const [classes, features] = shapeOf(PROJECTION_INPUT_GRAD, embeddings, 'embeddings');
  const batch = shapeOf(PROJECTION_INPUT_GRAD, dscore, 'dscore')[0]!;
  return run(backend, inputGradProgram(batch, features!), [dscore!, kernel!, embeddings!, labels!], [features!, classes!]);
};

const weightGradKernel: KernelFunc = ({ inputs, backend }) => {
  const { dscore, a } = inputs as Inputs;
  const [batch, features] = shapeOf(PROJECTION_WEIGHT_GRAD, a, 'a');
  return run(backend, new WeightGradProgram(features!), [dscore!, a!], [features!, batch!]);
};

const embeddingGradKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dscore, a, labels } = inputs as Inputs;
  const [batch, features] = shapeOf(PROJECTION_EMBEDDING_GRAD, a, 'a');
  const classes = (attrs as { classes: number }).classes;
  return run(backend, embeddingGradProgram(classes, features!), [dscore!, a!, labels!], [features!, batch!]);
};

const engine = () => tf.engine();

/** w + E[y] scored against a [B, F]: [B, 1], plus the bias where given. */
function score(a: tf.Tensor, kernel: tf.Tensor, embeddings: tf.Tensor, labels: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  const inputs: tf.NamedTensorMap = { a, kernel, embeddings, labels };
  if (bias) inputs.bias = bias;
  return engine().runKernel(PROJECTION, inputs) as tf.Tensor;
}

function inputGrad(dscore: tf.Tensor, kernel: tf.Tensor, embeddings: tf.Tensor, labels: tf.Tensor): tf.Tensor {
  return engine().runKernel(PROJECTION_INPUT_GRAD, { dscore, kernel, embeddings, labels }) as tf.Tensor;
}

function weightGrad(dscore: tf.Tensor, a: tf.Tensor): tf.Tensor {
  return engine().runKernel(PROJECTION_WEIGHT_GRAD, { dscore, a }) as tf.Tensor;
}

function embeddingGrad(dscore: tf.Tensor, a: tf.Tensor, labels: tf.Tensor, classes: number): tf.Tensor {
  return engine().runKernel(PROJECTION_EMBEDDING_GRAD, { dscore, a, labels }, { classes } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/**
 * A label input takes no gradient: zeros (float32, as the tape requires of any gradient). Labels never
 * depend on what a backward pass differentiates, so tfjs never calls this.
 */
const noGradient = (labels: tf.Tensor) => () => tf.zeros(labels.shape, 'float32');

const projectionGrad: tf.GradConfig = {
  kernelName: PROJECTION,
  inputsToSave: ['a', 'kernel', 'embeddings', 'labels'],
  gradFunc: (dy, saved) => {
    const [a, kernel, embeddings, labels] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const d = dy as tf.Tensor;
    return {
      a: () => inputGrad(d, kernel, embeddings, labels),
      kernel: () => weightGrad(d, a),
      embeddings: () => embeddingGrad(d, a, labels, embeddings.shape[0]!),
      labels: noGradient(labels),
      bias: () => tf.reshape(tf.sum(d), [1]),
    };
  },
};

/** The input gradient's own: linear in dscore and in (w, E). */
const inputGradGrad: tf.GradConfig = {
  kernelName: PROJECTION_INPUT_GRAD,
  inputsToSave: ['dscore', 'kernel', 'embeddings', 'labels'],
  gradFunc: (dy, saved) => {
    const [dscore, kernel, embeddings, labels] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const g = dy as tf.Tensor;
    return {
      dscore: () => score(g, kernel, embeddings, labels),
      kernel: () => weightGrad(dscore, g),
      embeddings: () => embeddingGrad(dscore, g, labels, embeddings.shape[0]!),
      labels: noGradient(labels),
    };
  },
};

let registered = false;

/** Registers the four kernels for WebGPU and the two gradients (global, idempotent). */
function register(): void {
  if (registered) return;
  registered = true;
  const kernels: Array<[string, KernelFunc]> = [
    [PROJECTION, projectionKernel],
    [PROJECTION_INPUT_GRAD, inputGradKernel],
    [PROJECTION_WEIGHT_GRAD, weightGradKernel],
    [PROJECTION_EMBEDDING_GRAD, embeddingGradKernel],
  ];
  for (const [kernelName, kernelFunc] of kernels) {
    if (!tf.getKernel(kernelName, WEBGPU_BACKEND)) tf.registerKernel({ kernelName, backendName: WEBGPU_BACKEND, kernelFunc });
  }
  tf.registerGradient(projectionGrad);
  tf.registerGradient(inputGradGrad);
}

/**
 * Whether the head's kernels apply: WebGPU active, our kernels not turned off, float32 features and
 * weights, int32 labels, one per sample.
 */
export function projectionOnDeviceAvailable(a: tf.Tensor, labels: tf.Tensor, ...weights: tf.Tensor[]): boolean {
  return (
    tf.getBackend() === WEBGPU_BACKEND &&
    ourKernelsRequested() &&
    a.rank === 2 &&
    a.dtype === 'float32' &&
    labels.dtype === 'int32' &&
    labels.size === a.shape[0] &&
    weights.every((w) => w.dtype === 'float32')
  );
}

/**
 * The head on WebGPU: a [B, F], kernel [F, 1], bias [1], embeddings [K, F], labels int32 with one per
 * sample -> scores [B, 1], recorded on the tape with the gradients above.
 */
export function projectionOnDevice(a: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor, embeddings: tf.Tensor, labels: tf.Tensor): tf.Tensor {
  register();
  return tf.tidy(() => score(a, kernel, embeddings, tf.reshape(labels, [a.shape[0]!]), bias));
}
