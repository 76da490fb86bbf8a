/**
 * A bias and tanh as one program each way on WebGPU (issue 5: fewer dispatches), for the generators'
 * last layer, a transposed convolution with a bias followed by tanh (../../models/conv-transpose-tanh.ts).
 * tfjs runs the bias as an Add and tanh as a unary program, and tanh's gradient, (1 - y^2) dy, as
 * Square, Sub and Multiply: five dispatches where these are two. The arithmetic is tfjs-backend-webgpu
 * 4.22's, each value in the same order: the same bits wherever the device's compiler does not fuse
 * the gradient's multiply and subtract into one rounding (lavapipe does not: tested). The bias's
 * gradient stays tfjs's Sum over the leading axes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ElementwiseProgram, i32Uniform, ourKernelsRequested, runProgram } from './common';

/** Whether biasTanhOnDevice applies: WebGPU, our kernels on, a float32 bias [C] (and float32 `inputs`). */
export function biasTanhOnDeviceAvailable(bias: tf.Tensor, ...inputs: tf.Tensor[]): boolean {
  return (
    tf.getBackend() === 'webgpu' &&
    ourKernelsRequested() &&
    bias.dtype === 'float32' &&
    bias.rank === 1 &&
    inputs.every((t) => t.dtype === 'float32')
  );
}

/** tanh(x + bias) with bias along the last axis: one program (tfjs's Add, then its TANH). */
function biasTanhProgram(shape: number[]): ElementwiseProgram {
  return new ElementwiseProgram(
    'ganAugmentBiasTanh',
    ['x', 'bias'],
    shape,
    `let v = x[index] + bias[index % uniforms.channels];
        let e2x = exp(-2.0 * abs(v));
        result[index] = sign(v) * (1.0 - e2x) / (1.0 + e2x);`,
    'channels : i32,',
  );
}

/** (1 - y^2) dy from tanh's output y: one program (tfjs's Square, Sub and Multiply). */
function tanhGradProgram(shape: number[]): ElementwiseProgram {
  return new ElementwiseProgram('ganAugmentTanhGrad', ['dy', 'y'], shape, `let square = y[index] * y[index];
        let oneMinus = 1.0 - square;
        result[index] = oneMinus * dy[index];`);
}

/**
 * tanh(x + bias), bias [C] along x's last axis, with its gradient: dx = (1 - y^2) dy, dbias its sum
 * over the other axes (first-order only: the generator's output is never differentiated twice). One
 * custom op gives both gradients, so a backward pass that wants dx alone takes the bias's sum too;
 * training always wants both.
 */
export function biasTanhOnDevice(x: tf.Tensor, bias: tf.Tensor): tf.Tensor {
  const channels = bias.size;
  if (x.rank < 1 || x.shape[x.rank - 1] !== channels) throw new Error(`biasTanhOnDevice: a bias of ${channels} for x of shape [${x.shape}].`);
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xi, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const y = runProgram(biasTanhProgram(xi.shape), [xi, b], [i32Uniform(channels)]);
    save([y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const d = runProgram(tanhGradProgram(saved[0]!.shape), [dy as tf.Tensor, saved[0]!]);
        // As tfjs's Add differentiates a broadcast bias: the sum over the axes it was broadcast along
        // (those of length above 1), so the same reduction and the same bits.
        const axes = Array.from({ length: d.rank - 1 }, (_, i) => i).filter((i) => d.shape[i]! > 1);
        return [d, tf.reshape(axes.length > 0 ? tf.sum(d, axes) : d, [channels])];
      },
    };
  });
  return op(x, bias) as tf.Tensor;
}
