/**
 * The losses' own arithmetic on WebGPU, one program each way. A training step's losses work on
 * tensors of one score per sample ([B, 1]), yet tfjs-core builds them from many small ops: its
 * sigmoid cross-entropy is eleven kernels forward (fill of the labels, ReLU, Multiply, Abs, Neg, Exp,
 * Log1p, Sub, Add, Sum, RealDiv) and about as many backward; the Wasserstein estimate's split, two
 * means and difference, and the gradient penalty's norm arithmetic, likewise. Each is one dispatch
 * of a few microseconds of GPU work, but on a fast GPU a step is bound by enqueueing dispatches
 * (docs/PERFORMANCE.md), and at batch 64 these were about a third of a DCGAN step's.
 *
 * Here each loss value is one program (one thread sums the B terms in index order: B is at most a
 * few hundred, and the order is fixed, so the sum is deterministic) and each gradient one elementwise
 * program. ../../models/losses.ts uses them through tf.customGrad where `lossProgramsAvailable`; on
 * the other backends, and with GAN_AUGMENT_LOSS_PROGRAMS=0, the losses are tfjs's ops as before.
 *
 * The values are the same functions, not the same bits: sums in another order, and the cross-entropy's
 * gradient is written in closed form, sigmoid(x) - target (PyTorch's form), where tfjs differentiates
 * its stable formula term by term (the two differ only at x = 0 exactly, where tfjs takes the ReLU's
 * and Abs's one-sided derivatives 0: -target against 1/2 - target). Tested against tfjs's ops.
 *
 * First-order only: a gradient program runs outside tfjs's kernels, so no tape records it, and a
 * second derivative through one of these losses would miss its contribution. Training takes none: the
 * WGAN-GP penalty differentiates the critic's gradient, not these losses' (the penalty's own gradient
 * is the outermost step).
 */
import { getBackend, type Tensor } from '@tensorflow/tfjs-core';
import { ElementwiseProgram, f32Uniform, i32Uniform, ourKernelsRequested, PerSampleSumProgram, runProgram } from './common';
import { switchOn } from '../switches';

/** Whether the loss programs are wanted (GAN_AUGMENT_LOSS_PROGRAMS=0 / false / off turns them off). */
export function lossProgramsRequested(value = process.env.GAN_AUGMENT_LOSS_PROGRAMS): boolean {
  return switchOn(value);
}

/** Whether the losses run as our programs: WebGPU active, our kernels and these not turned off, float32 inputs. */
export function lossProgramsAvailable(...inputs: Tensor[]): boolean {
  return (
    getBackend() === 'webgpu' &&
    ourKernelsRequested() &&
    lossProgramsRequested() &&
    inputs.every((t) => t.dtype === 'float32' && t.size > 0)
  );
}

/** One thread computes a scalar from the inputs; `body` sets result[0]. */
function scalarProgram(key: string, inputs: string[], body: string, uniforms: string): ElementwiseProgram {
  return new ElementwiseProgram(key, inputs, [], body, uniforms, 1);
}

/**
 * mean_i [max(x_i, 0) - x_i t + log(1 + exp(-|x_i|))], tfjs's stable form of the binary cross-entropy
 * of logits x against the label t (0 or 1), as a scalar. NaN in x gives NaN: said explicitly, since WGSL
 * leaves max() of a NaN to the implementation (lavapipe propagates it, so the test there cannot tell).
 */
export function bceMeanOnDevice(logits: Tensor, target: 0 | 1): Tensor {
  const program = scalarProgram(
    'ganAugmentBceMean',
    ['x'],
    `var s = 0.0;
        var bad = false;
        var nanValue = 0.0;
        for (var i = 0; i < uniforms.n; i = i + 1) {
          let v = x[i];
          if (isnan(v)) { bad = true; nanValue = v; }
          s = s + ((max(v, 0.0) - v * uniforms.t) + log(1.0 + exp(-abs(v))));
        }
        result[0] = select(s / f32(uniforms.n), nanValue, bad);`,
    'n : i32, t : f32,',
  );
  return runProgram(program, [logits], [i32Uniform(logits.size), f32Uniform(target)]);
}

/** The gradient of bceMeanOnDevice: (dy / n) (sigmoid(x) - t), shaped as x; dy a scalar. */
export function bceGradOnDevice(logits: Tensor, dy: Tensor, target: 0 | 1): Tensor {
  const program = new ElementwiseProgram(
    'ganAugmentBceGrad',
    ['x', 'dy'],
    logits.shape,
    'result[index] = (dy[0] / f32(uniforms.size)) * (1.0 / (1.0 + exp(-x[index])) - uniforms.t);',
    't : f32,',
  );
  return runProgram(program, [logits, dy], [f32Uniform(target)]);
}

/**
 * scale * (mean(s[0 .. split)) - mean(s[split .. n))) over the flat values of `scores`; a part with no
 * values counts 0 (split 0 gives -scale * mean(s)). The Wasserstein estimate (real scores first, then
 * fake; the critic's loss takes it with scale -1) and the WGAN generator's loss.
 */
export function meanDifferenceOnDevice(scores: Tensor, split: number, scale = 1): Tensor {
  const program = scalarProgram(
    'ganAugmentMeanDifference',
    ['s'],
    `var a = 0.0;
        var b = 0.0;
        for (var i = 0; i < uniforms.split; i = i + 1) { a = a + s[i]; }
        for (var i = uniforms.split; i < uniforms.n; i = i + 1) { b = b + s[i]; }
        var first = 0.0;
        var rest = 0.0;
        if (uniforms.split > 0) { first = a / f32(uniforms.split); }
        if (uniforms.n > uniforms.split) { rest = b / f32(uniforms.n - uniforms.split); }
        result[0] = uniforms.scale * (first - rest);`,
    'n : i32, split : i32, scale : f32,',
  );
  return runProgram(program, [scores], [i32Uniform(scores.size), i32Uniform(split), f32Uniform(scale)]);
}

/** The gradient of meanDifferenceOnDevice: scale * dy / split before `split`, -scale * dy / (n - split) from it, shaped as scores. */
export function meanDifferenceGradOnDevice(scores: Tensor, dy: Tensor, split: number, scale = 1): Tensor {
  const program = new ElementwiseProgram(
    'ganAugmentMeanDifferenceGrad',
    ['dy'],
    scores.shape,
    `let g = uniforms.scale * dy[0];
        if (index < uniforms.split) {
          result[index] = g / f32(uniforms.split);
        } else {
          result[index] = -(g / f32(uniforms.size - uniforms.split));
        }`,
    'split : i32, scale : f32,',
  );
  return runProgram(program, [dy], [i32Uniform(split), f32Uniform(scale)]);
}

/** Per-sample sums of squares of g [B, ...], as [B] (the penalty's first step). */
export function sumSquaresOnDevice(g: Tensor): Tensor {
  // A workgroup per sample (`PerSampleSumProgram`): one dispatch where tfjs's ops took two (Square,
  // then Sum over the inner axes).
  const batch = g.shape[0]!;
  const program = new PerSampleSumProgram(
    'ganAugmentSumSquares',
    ['g'],
    [batch],
    `let v = g[sample * uniforms.perSample + i];
      return v * v;`,
    'perSample : i32,',
  );
  return runProgram(program, [g], [i32Uniform(g.size / batch)]);
}

/**
 * weight * mean_b (n_b - 1)^2 with n_b = sqrt(ss_b + 1e-12), from the per-sample sums of squares ss
 * [B]: the WGAN-GP penalty's value once the sums are taken (the critic's loss takes it with weight
 * lambda).
 */
export function normPenaltyFromSumsOnDevice(sumSquares: Tensor, weight = 1): Tensor {
  const program = scalarProgram(
    'ganAugmentNormPenalty',
    ['ss'],
    `var s = 0.0;
        for (var i = 0; i < uniforms.n; i = i + 1) {
          let d = sqrt(ss[i] + 1e-12) - 1.0;
          s = s + d * d;
        }
        result[0] = uniforms.weight * (s / f32(uniforms.n));`,
    'n : i32, weight : f32,',
  );
  return runProgram(program, [sumSquares], [i32Uniform(sumSquares.size), f32Uniform(weight)]);
}

/**
 * The penalty's gradient with respect to the per-sample gradients g [B, ...]:
 * g_b ((n_b - 1) / n_b) (2 weight dy / B), n_b = sqrt(ss_b + 1e-12); dy a scalar, ss [B].
 */
export function normPenaltyGradOnDevice(g: Tensor, sumSquares: Tensor, dy: Tensor, weight = 1): Tensor {
  const batch = g.shape[0]!;
  const program = new ElementwiseProgram(
    'ganAugmentNormPenaltyGrad',
    ['g', 'ss', 'dy'],
    g.shape,
    `let n = sqrt(ss[index / uniforms.perSample] + 1e-12);
        result[index] = g[index] * (((n - 1.0) / n) * ((uniforms.weight * dy[0]) * uniforms.twoOverB));`,
    'perSample : i32, twoOverB : f32, weight : f32,',
  );
  return runProgram(program, [g, sumSquares, dy], [i32Uniform(g.size / batch), f32Uniform(2 / batch), f32Uniform(weight)]);
}

/**
 * The WGAN-GP penalty's interpolated images eps_b * real + (1 - eps_b) * fake, eps [B, 1, 1, 1], in one
 * program (tfjs's ops: Multiply, Sub, Multiply, Add).
 */
export function interpolateOnDevice(real: Tensor, fake: Tensor, eps: Tensor): Tensor {
  const program = new ElementwiseProgram(
    'ganAugmentInterpolate',
    ['real', 'fake', 'eps'],
    real.shape,
    `let e = eps[index / uniforms.perSample];
        result[index] = e * real[index] + (1.0 - e) * fake[index];`,
    'perSample : i32,',
  );
  return runProgram(program, [real, fake, eps], [i32Uniform(real.size / real.shape[0]!)]);
}
