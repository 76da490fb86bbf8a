/**
 * Batch normalisation in training mode with a hand-written backward pass (issue 5: fewer GPU
 * dispatches per training step, and fewer passes over memory on WebAssembly).
 *
 * tfjs-layers' BatchNormalization computes tf.moments and tf.batchNorm and lets autodiff go back
 * through both: about 25 dispatches per backward pass (FusedBatchNorm's gradient, then Mean, Sub and
 * Square's), and a DCGAN-64 step has 13 backward BN passes. Once the convolutions were fast, a step on
 * an H200 was bound by the CPU cost of its ~840 dispatches (docs/PERFORMANCE.md), and tfjs's Sum and
 * Mean over N*H*W rows were slow on the GPU too. Here the layer's training branch is one custom op
 * (tf.customGrad) built from our WGSL programs (../backends/kernels/batchnorm-kernels.ts): forward,
 * mean and biased variance (one pass of partials and one finishing pass) and the normalisation (one);
 * backward, the closed form in four dispatches (one pass for both sums, two finishing passes, one for
 * dx). On
 * WebAssembly the same closed form runs as SIMD passes in the heap (../backends/wasm/batchnorm.ts),
 * where tfjs-layers' path costs some 25 mostly single-threaded kernels per backward pass:
 *
 *   xhat = (x - mean) * rstd,  rstd = 1 / sqrt(var + eps)   (mean, biased var over all but the channel axis)
 *   dbeta = sum(dy),  dgamma = sum(dy * xhat)
 *   dx = gamma * rstd * (dy - dbeta / N - xhat * dgamma / N)
 *
 * The moving-average update has tfjs-layers' arithmetic: on WebGPU one in-place dispatch for both
 * statistics where the variables alone hold their data, else one dispatch per statistic. The
 * layer's weights and serialisation are tfjs-layers' own (the class is patched, not replaced, so
 * checkpoints do not change); inference mode is untouched. Used on WebGPU (unless
 * GAN_AUGMENT_WGSL_KERNELS=0) and on WebAssembly (channels a multiple of 16), for channels-last
 * layers with centre and scale; the CPU backend keeps tfjs-layers' path, so its bit-for-bit
 * reproducibility tests are unaffected. First-order only: the WGAN-GP critic, the one network whose
 * gradients are differentiated again, has no batch norm (config: criticNorm 'none' | 'layer').
 * `BatchNormActivation` (below) is batch norm and the ReLU or LeakyReLU after it as one layer, the
 * activation inside these programs on WebGPU.
 */
import { tf, tfl } from '../backends/tf';
import { ourKernelsRequested } from '../backends/kernels/common';
import { type BatchNormOps, type BnActivation, fusableActivation, webgpuBatchNorm } from '../backends/kernels/batchnorm-kernels';
import { wasmBatchNorm, wasmBatchNormApplies } from '../backends/wasm/batchnorm';

interface BatchNormInternals {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: { read(): tf.Tensor };
  beta: { read(): tf.Tensor };
  movingMean: { read(): tf.Tensor; write(v: tf.Tensor): unknown };
  movingVariance: { read(): tf.Tensor; write(v: tf.Tensor): unknown };
}

type CallFn = (this: unknown, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];

/**
 * y = batchNorm(x) over all axes but the last, with the closed-form gradient; also returns the batch
 * mean and variance (kept: the caller disposes them).
 */
export function batchNormTraining(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon: number,
  ops: BatchNormOps,
  act: BnActivation | null = null,
): { y: tf.Tensor; stats: tf.Tensor[] } {
  const n = x.size / x.shape[x.rank - 1]!;
  const fused = act ? ops.withActivation : undefined;
  if (act && !fused) throw new Error('batchNormTraining: this backend cannot fuse an activation.');
  let stats: tf.Tensor[] = [];
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xi, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    // Batch statistics (mean and biased variance, in the backend's form) and the normalisation.
    const s = ops.moments(xi);
    const value = fused && act ? fused.normalize(xi, s, g, b, epsilon, act) : ops.normalize(xi, s, g, b, epsilon);
    stats = s.map((t) => tf.keep(t));
    // With an activation, its output too: the backward pass masks dy by it.
    save([xi, g, ...(fused ? [value] : []), ...s]);
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const d = dy as tf.Tensor;
        if (fused && act) {
          const [xs, gm, y, ...ss] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, ...tf.Tensor[]];
          const [dbeta, dgamma] = fused.backwardSums(d, xs, ss, epsilon, act, y);
          return [fused.inputGrad(d, xs, ss, gm, dbeta, dgamma, n, epsilon, act, y), dgamma, dbeta];
        }
        const [xs, gm, ...ss] = saved as [tf.Tensor, tf.Tensor, ...tf.Tensor[]];
        // dbeta = sum(dy), dgamma = sum(dy * (x - mean)) * rstd: one pass over dy and x.
        const [dbeta, dgamma] = ops.backwardSums(d, xs, ss, epsilon);
        const dx = ops.inputGrad(d, xs, ss, gm, dbeta, dgamma, n, epsilon);
        return [dx, dgamma, dbeta];
      },
    };
  });
  const y = op(x, gamma, beta) as tf.Tensor;
  return { y, stats };
}

let originalCall: CallFn | null = null;

/** The fused training path's implementation for this layer and input now, or null where it does not apply. */
function fusedOps(layer: BatchNormInternals, x: tf.Tensor): BatchNormOps | null {
  const applies = layer.center && layer.scale && (layer.axis === -1 || layer.axis === x.rank - 1) && x.rank >= 2 && x.dtype === 'float32';
  if (!applies) return null;
  const backend = tf.getBackend();
  if (backend === 'webgpu') return ourKernelsRequested() ? webgpuBatchNorm : null;
  if (backend === 'wasm') return wasmBatchNormApplies(x) ? wasmBatchNorm : null;
  return null;
}

/**
 * Patches tfjs-layers' BatchNormalization so that its training branch uses batchNormTraining when
 * fusedApplies (see above). Idempotent; returns whether it is installed.
 */
export function installFusedBatchNorm(): boolean {
  if (originalCall) return true;
  const proto = Object.getPrototypeOf(tfl.layers.batchNormalization({})) as { call: CallFn };
  const original = proto.call;
  originalCall = original;
  proto.call = function (this: unknown, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) {
    const layer = this as BatchNormInternals;
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const ops = kwargs?.training === true ? fusedOps(layer, x) : null;
    if (!ops) return original.call(this, inputs, kwargs);
    return trainingCall(layer, x, ops, null);
  };
  return true;
}

/** The layer's training pass through `ops` (an activation fused where given), moving averages updated. */
function trainingCall(layer: BatchNormInternals, x: tf.Tensor, ops: BatchNormOps, act: BnActivation | null): tf.Tensor {
  return tf.tidy(() => {
    const { y, stats } = batchNormTraining(x, layer.gamma.read(), layer.beta.read(), layer.epsilon, ops, act);
    // tfjs-layers' moving-average update: value - (value - batch) * (1 - momentum).
    const decay = 1 - layer.momentum;
    const [movingMean, movingVariance] = [layer.movingMean.read(), layer.movingVariance.read()];
    if (!ops.movingAveragesInPlace?.(movingMean, movingVariance, stats, decay)) {
      layer.movingMean.write(ops.movingAverage(movingMean, stats, 'mean', decay));
      layer.movingVariance.write(ops.movingAverage(movingVariance, stats, 'variance', decay));
    }
    tf.dispose(stats);
    return y;
  });
}

/** Restores tfjs-layers' own call (tests compare both). */
export function uninstallFusedBatchNorm(): void {
  if (!originalCall) return;
  const proto = Object.getPrototypeOf(tfl.layers.batchNormalization({})) as { call: CallFn };
  proto.call = originalCall;
  originalCall = null;
}

/* ---------------------------------------------------------------------------------------------
 * Batch norm followed by ReLU or LeakyReLU, as one layer.
 * ------------------------------------------------------------------------------------------- */

/** What `BatchNormActivation` takes: tfjs-layers' batch-norm arguments and the activation. */
export interface BatchNormActivationArgs extends NonNullable<Parameters<typeof tfl.layers.batchNormalization>[0]> {
  activation: 'relu' | 'leakyRelu';
  /** LeakyReLU's slope for negative inputs (tfjs-layers' LeakyReLU default, 0.3, where not given). */
  alpha?: number;
}

type BatchNormLayerClass = new (args: NonNullable<Parameters<typeof tfl.layers.batchNormalization>[0]>) => tfl.layers.Layer;
const BatchNormalizationLayer = Object.getPrototypeOf(tfl.layers.batchNormalization({})).constructor as BatchNormLayerClass;

/**
 * tfjs-layers' BatchNormalization followed by ReLU or LeakyReLU, as the networks' blocks are built
 * (./networks.ts): the same weights, arguments and results as the two layers (bit for bit), and one
 * layer so that, in training on WebGPU, the activation runs inside batch norm's programs
 * (`BnActivation` in ../backends/kernels/batchnorm-kernels.ts): one dispatch fewer forward and one
 * backward per block, and the pre-activation tensor is never stored. Elsewhere (WebAssembly, the CPU
 * backend, inference, or with the fused batch norm uninstalled) it is the batch-norm layer's own call
 * and then tfjs's relu or leakyRelu, as the separate layers computed it. Serialised under its own
 * class name (registered below), so checkpoints saved from here on name it; earlier checkpoints keep
 * the separate layers and load as they were.
 */
export class BatchNormActivation extends BatchNormalizationLayer {
  static className = 'GanAugmentBatchNormActivation';
  readonly activation: 'relu' | 'leakyRelu';
  readonly alpha: number;

  constructor(args: BatchNormActivationArgs) {
    const { activation: named, alpha, ...bn } = args;
    super(bn);
    // A saved model spells string values in snake case ('leaky_relu'); loading hands them back so.
    const activation = (named as string) === 'leaky_relu' ? 'leakyRelu' : named;
    if (activation !== 'relu' && activation !== 'leakyRelu') throw new Error(`BatchNormActivation: unknown activation "${String(named)}".`);
    this.activation = activation;
    this.alpha = alpha ?? 0.3;
  }

  private fusedActivation(): BnActivation {
    return this.activation === 'relu' ? { kind: 'relu' } : { kind: 'leakyRelu', alpha: this.alpha };
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const act = this.fusedActivation();
    const ops = originalCall && kwargs?.training === true && fusableActivation(act) ? fusedOps(this as unknown as BatchNormInternals, x) : null;
    if (ops?.withActivation) return trainingCall(this as unknown as BatchNormInternals, x, ops, act);
    return tf.tidy(() => {
      const y = super.call(inputs, kwargs) as tf.Tensor;
      return this.activation === 'relu' ? tf.relu(y) : tf.leakyRelu(y, this.alpha);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), activation: this.activation, alpha: this.alpha };
  }
}
// (tfjs-layers' Layer has the static fromConfig that registerClass asks for; the runtime base class's type does not say so.)
tf.serialization.registerClass(BatchNormActivation as unknown as tf.serialization.SerializableConstructor<BatchNormActivation>);

export function batchNormActivation(args: BatchNormActivationArgs): BatchNormActivation {
  return new BatchNormActivation(args);
}
