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

export function leakyReluGradOnDevice(dy: Tensor, x: Tensor, alpha: number): Tensor {
  const program = new ElementwiseProgram(
    'ganAugmentLeakyReluGrad',
    ['dy', 'x'],
    x.shape,
    'let d = dy[index];\n        result[index] = select(d * uniforms.alpha, d, x[index] > 0.0);',
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
    'let xi = x[index];\n        var s = select(uniforms.alpha, 1.0, xi > 0.0);\n        if (isnan(xi)) { s = xi; }\n        result[index] = dy[index] * s;',
    'alpha : f32,',
  );
  return runProgram(program, [dy, x], [f32Uniform(alpha)]);
}
