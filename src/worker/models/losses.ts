/**
 * Losses of both families. All functions take and return tensors and create only intermediate
 * tensors: call them inside tf.tidy / tf.variableGrads.
 */
import { tf } from '../backends/tf';
import {
  bceGradOnDevice,
  bceMeanOnDevice,
  interpolateOnDevice,
  lossProgramsAvailable,
  meanDifferenceGradOnDevice,
  meanDifferenceOnDevice,
  normPenaltyFromSumsOnDevice,
  normPenaltyGradOnDevice,
  sumSquaresOnDevice,
} from '../backends/kernels/loss-programs';

/**
 * BCE with logits, mean over the batch: labels 1 for "real", 0 for "fake". logits [B, 1]. On WebGPU
 * one program each way (../backends/kernels/loss-programs.ts); elsewhere tfjs's sigmoidCrossEntropy.
 */
export function bceWithLogits(logits: tf.Tensor, target: 0 | 1): tf.Scalar {
  if (lossProgramsAvailable(logits)) {
    const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const x = args[0] as tf.Tensor;
      (args[1] as tf.GradSaveFunc)([x]);
      return {
        value: bceMeanOnDevice(x, target),
        gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => bceGradOnDevice(saved[0]!, dy as tf.Tensor, target),
      };
    });
    return op(logits) as tf.Scalar;
  }
  const labels = target === 1 ? tf.onesLike(logits) : tf.zerosLike(logits);
  return tf.losses.sigmoidCrossEntropy(labels, logits) as tf.Scalar;
}

/**
 * scale * (mean(scores[0 .. split)) - mean(scores[split ..))) over the first axis of scores [N, 1];
 * split 0 gives -scale * mean(scores) (the WGAN generator's loss). One program each way on WebGPU.
 */
export function meanDifference(scores: tf.Tensor, split: number, scale = 1): tf.Scalar {
  const n = scores.shape[0]!;
  if (!(split >= 0 && split < n)) throw new Error(`meanDifference: split ${split} outside [0, ${n}).`);
  if (lossProgramsAvailable(scores)) {
    const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const s = args[0] as tf.Tensor;
      const at = split * (s.size / n);
      return {
        value: meanDifferenceOnDevice(s, at, scale),
        gradFunc: (dy: tf.Tensor | tf.Tensor[]) => meanDifferenceGradOnDevice(s, dy as tf.Tensor, at, scale),
      };
    });
    return op(scores) as tf.Scalar;
  }
  let value: tf.Scalar;
  if (split === 0) value = tf.neg(tf.mean(scores)) as tf.Scalar;
  else {
    const [first, rest] = tf.split(scores, [split, n - split]);
    value = tf.sub(tf.mean(first!), tf.mean(rest!));
  }
  return scale === 1 ? value : tf.mul(scale, value);
}

/**
 * WGAN-GP gradient penalty (Gulrajani et al. 2017):
 *   x_hat = eps * real + (1 - eps) * fake, eps ~ U[0, 1] with ONE weight per sample ([B, 1, 1, 1]);
 *   GP = mean_b (|| d critic(x_hat)_b / d x_hat_b ||_2 - 1)^2.
 * `critic` maps images [B, R, R, C] to scores [B, 1] with samples independent of each other (no
 * batch norm), so the gradient of sum_b score_b is the per-sample gradient. Differentiable w.r.t.
 * the critic's weights (double backward); `eps` is [B, 1, 1, 1]. Times `weight` (see `normPenalty`).
 */
export function gradientPenalty(
  critic: (images: tf.Tensor4D) => tf.Tensor,
  real: tf.Tensor4D,
  fake: tf.Tensor4D,
  eps: tf.Tensor4D,
  weight = 1,
): tf.Scalar {
  const xHat = interpolate(real, fake, eps);
  const grad = tf.grad((x: tf.Tensor) => tf.sum(critic(x as tf.Tensor4D)))(xHat) as tf.Tensor4D;
  return normPenalty(grad, weight);
}

/**
 * eps * real + (1 - eps) * fake with one weight per sample, eps [B, 1, 1, 1]: one program on WebGPU,
 * whose gradient is tfjs's ops (training takes none: real and fake are constants of the critic's step).
 */
export function interpolate(real: tf.Tensor4D, fake: tf.Tensor4D, eps: tf.Tensor4D): tf.Tensor4D {
  if (!lossProgramsAvailable(real, fake, eps) || eps.size !== real.shape[0]) {
    return tf.add(tf.mul(eps, real), tf.mul(tf.sub(1, eps), fake)) as tf.Tensor4D;
  }
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [r, f, e, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([r, f, e]);
    return {
      value: interpolateOnDevice(r, f, e),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [rs, fs, es] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
        const d = dy as tf.Tensor4D;
        return [tf.mul(d, es), tf.mul(d, tf.sub(1, es)), tf.sum(tf.mul(d, tf.sub(rs, fs)), [1, 2, 3], true)];
      },
    };
  });
  return op(real, fake, eps) as tf.Tensor4D;
}

/**
 * weight * mean_b (||g_b||_2 - 1)^2 over a batch of per-sample gradients g [B, H, W, C], with its
 * gradient in closed form: d/dg_b = 2 weight (n_b - 1) / (B n_b) g_b, n_b = sqrt(sum g_b^2 + 1e-12)
 * (1e-12 keeps it finite where a gradient is exactly zero). The same value as the ops written out,
 * in fewer kernels; on WebGPU three programs (sums of squares, value, gradient). A cWGAN-GP step runs
 * this once per critic update.
 */
export function normPenalty(grad: tf.Tensor4D, weight = 1): tf.Scalar {
  if (lossProgramsAvailable(grad)) {
    // One program for the sums of squares, one for the value, one for the gradient.
    const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const g = args[0] as tf.Tensor4D;
      const sumSquares = sumSquaresOnDevice(g); // [B]
      (args[1] as tf.GradSaveFunc)([g, sumSquares]);
      return {
        value: normPenaltyFromSumsOnDevice(sumSquares, weight),
        gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => normPenaltyGradOnDevice(saved[0]!, saved[1]!, dy as tf.Tensor, weight),
      };
    });
    return op(grad) as tf.Scalar;
  }
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const g = args[0] as tf.Tensor4D;
    const save = args[1] as tf.GradSaveFunc;
    const norm = tf.sqrt(tf.add(tf.sum(tf.square(g), [1, 2, 3]), 1e-12)); // [B]
    save([g, norm]);
    const value = tf.mean(tf.square(tf.sub(norm, 1)));
    return {
      value: weight === 1 ? value : tf.mul(weight, value),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [gs, n] = saved as [tf.Tensor4D, tf.Tensor1D];
        const perSample = tf.mul(tf.div(tf.sub(n, 1), n), tf.mul(dy as tf.Tensor, (2 * weight) / gs.shape[0]));
        return tf.mul(gs, tf.reshape(perSample, [gs.shape[0], 1, 1, 1]));
      },
    };
  });
  return op(grad) as tf.Scalar;
}

/**
 * The critic's Wasserstein estimate mean_b critic(real)_b - mean_b critic(fake)_b, with real and fake
 * scored as one batch of 2B. The critic scores each sample on its own (no batch norm), so this is the
 * same function as two passes, with half the passes to dispatch and one weight gradient per layer
 * instead of two added together (on WebGPU a cWGAN-GP step dispatched 16% fewer programs). Times
 * `scale` (see `meanDifference`). `pairLabels`, where the caller has it: the labels twice, [2B, 1],
 * made on the processor (on WebGPU a concatenation of the labels is a program of its own).
 */
export function wassersteinEstimate(
  critic: (images: tf.Tensor4D, labels: tf.Tensor2D) => tf.Tensor,
  real: tf.Tensor4D,
  fake: tf.Tensor4D,
  labels: tf.Tensor2D,
  scale = 1,
  pairLabels?: tf.Tensor2D,
): tf.Scalar {
  const scores = critic(tf.concat([real, fake]) as tf.Tensor4D, pairLabels ?? (tf.concat([labels, labels]) as tf.Tensor2D));
  return meanDifference(scores, real.shape[0], scale);
}

/** The WGAN-GP critic's loss, and (when asked) its two parts for the loss charts. */
export interface CriticLoss {
  /** -W + lambda * GP: what the critic's update minimises. */
  loss: tf.Scalar;
  /** W, the Wasserstein estimate (`wassersteinEstimate`); null unless `report`. */
  wasserstein: tf.Scalar | null;
  /** GP, the gradient penalty without lambda (`gradientPenalty`); null unless `report`. */
  penalty: tf.Scalar | null;
}

/**
 * The critic's loss -W + lambda * GP (Gulrajani et al. 2017), with W and GP as above. Where the loss
 * programs run, the sign and lambda are applied inside them (W's program with scale -1, the penalty's
 * with weight lambda), so the loss is one Add: four dispatches fewer per critic update than negating,
 * multiplying and differentiating both (a cWGAN-GP step has n_critic of these). Then the parts, when
 * `report` asks for them, are recovered by a negation (exact) and a division by lambda (the penalty to
 * within a rounding). Elsewhere, and with lambda 0 (whose penalty could not be divided back out), the
 * loss is tfjs's ops on the two parts, as before. `pairLabels`: as `wassersteinEstimate`'s.
 */
export function criticLoss(
  critic: (images: tf.Tensor4D, labels: tf.Tensor2D) => tf.Tensor,
  real: tf.Tensor4D,
  fake: tf.Tensor4D,
  labels: tf.Tensor2D,
  eps: tf.Tensor4D,
  lambda: number,
  report: boolean,
  pairLabels?: tf.Tensor2D,
): CriticLoss {
  if (lossProgramsAvailable(real, fake, eps) && lambda !== 0) {
    const negW = wassersteinEstimate(critic, real, fake, labels, -1, pairLabels);
    const weighted = gradientPenalty((x) => critic(x, labels), real, fake, eps, lambda);
    const loss = tf.add(negW, weighted) as tf.Scalar;
    if (!report) return { loss, wasserstein: null, penalty: null };
    return { loss, wasserstein: tf.neg(negW) as tf.Scalar, penalty: tf.div(weighted, lambda) as tf.Scalar };
  }
  const w = wassersteinEstimate(critic, real, fake, labels, 1, pairLabels);
  const gp = gradientPenalty((x) => critic(x, labels), real, fake, eps);
  const loss = tf.add(tf.neg(w), tf.mul(lambda, gp)) as tf.Scalar;
  return { loss, wasserstein: report ? w : null, penalty: report ? gp : null };
}
