/**
 * LeakyReLU's backward pass on WebGPU as one program: dy where x > 0, dy * alpha elsewhere. Also
 * dy * step(x, alpha), ReLU's (alpha 0) and Abs's (alpha -1) backward pass (`stepMulOnDevice`).
 * tfjs-core's form, where(greater(x, 0), dy, mul(dy, alpha)), is three dispatches (Greater, Multiply,
 * Select) and two temporary tensors; a conditional WGAN-GP step applies it about 60 times (each
 * LeakyReLU of the critic, in the backward passes and in the penalty's). Same float32 product and
 * the same choice, so the same bits (tested against tfjs's form). Used by ../gradients.ts.
 */
import { getBackend, type Tensor } from '@tensorflow/tfjs-core';
import { ElementwiseProgram, f32Uniform, ourKernelsRequested, runProgram } from './common';

/** Whether leakyReluGradOnDevice applies: WebGPU active, our kernels not turned off, float32. */
export function leakyReluGradOnDeviceAvailable(dy: Tensor, x: Tensor): boolean {
  return getBackend() === 'webgpu' && ourKernelsRequested() && dy.dtype === 'float32' && x.dtype === 'float32' && dy.size === x.size;
}

/**
 * WGSL expressions of the two masks, for every program that applies one (here, and batch norm's with
 * its activation, ./batchnorm-kernels.ts, which must give the same bits): `d` the gradient, `x` the
 * value whose sign decides (an activation's input, or its output where that has the same sign), both
 * expressions without side effects; `alpha` a WGSL expression.
 *  - LeakyReLU's: d where x > 0, alpha d elsewhere (NaN x included); `zero` a WGSL zero of x's type
 *    (vec4<f32>(0.0) for vectors: WGSL compares only values of one type).
 *  - tfjs's step times d: 1 where x > 0, alpha elsewhere, and x itself where x is NaN.
 */
export function leakyMaskWgsl(d: string, x: string, alpha = 'uniforms.alpha', zero = '0.0'): string {
  return `select(${d} * ${alpha}, ${d}, ${x} > ${zero})`;
}

/** leakyMaskWgsl for vec4<f32> d and x, lane by lane. */
export function leakyMaskWgsl4(d: string, x: string): string {
  return leakyMaskWgsl(d, x, 'uniforms.alpha', 'vec4<f32>(0.0)');
}

export function stepMaskWgsl(d: string, x: string, alpha = 'uniforms.alpha'): string {
  return `(${d} * select(select(${alpha}, 1.0, ${x} > 0.0), ${x}, isnan(${x})))`;
}

export function leakyReluGradOnDevice(dy: Tensor, x: Tensor, alpha: number): Tensor {
  const program = new ElementwiseProgram(
    'ganAugmentLeakyReluGrad',
    ['dy', 'x'],
    x.shape,
    `result[index] = ${leakyMaskWgsl('dy[index]', 'x[index]')};`,
    'alpha : f32,',
  );
  return runProgram(program, [dy, x], [f32Uniform(alpha)]);
}

/**
 * dy * step(x, alpha) in one program, tfjs-core's ReLU (alpha 0) and Abs (alpha -1) gradients, which
 * it computes as a Step program and a Multiply program: step is 1 where x > 0, alpha elsewhere, and x
 * itself where x is NaN (tfjs-backend-webgpu's STEP), then one float32 product, so the same bits.
 */
export function stepMulOnDevice(dy: Tensor, x: Tensor, alpha: number): Tensor {
  const program = new ElementwiseProgram(
    'ganAugmentStepMul',
    ['dy', 'x'],
    x.shape,
    `result[index] = ${stepMaskWgsl('dy[index]', 'x[index]')};`,
    'alpha : f32,',
  );
  return runProgram(program, [dy, x], [f32Uniform(alpha)]);
}
