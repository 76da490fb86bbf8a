/**
 * A convolution's gradients through the LeakyReLU after it, without the mask's own program (issue 5).
 *
 * A convolution followed by a LeakyReLU (../../models/conv-leaky.ts: every layer of the cWGAN-GP's
 * critic, and each discriminator's image layer) has the backward pass d = mask(dy), then dx, dW and
 * db from d. On WebGPU the mask was a program of its own (./leaky-relu-grad.ts) writing d, which the
 * three gradient programs then read: 48 of a 32 px cWGAN-GP step's 443 programs (the critic's three
 * layers, in the loss's backward pass, the penalty's inner gradient and its outer pass, in each of
 * the five critic updates, and in the generator's update).
 * Here the three gradient programs read dy and y and apply the mask as they load dy (`DyMask`,
 * ./common.ts): the same float32 product and the same choice, then the same sums in the same order,
 * so the same bits (tested on lavapipe; a GPU's compiler may fuse the mask's multiply into a following
 * add, which Vulkan allows, and move a last bit), and d is never written. The penalty's outer pass
 * differentiates these again; there the gradient of a masked input gradient in its dy,
 * mask(conv2d(g, w)), is one forward program that masks what it writes (`maskedConv2dOnDevice`). The
 * programs and tilings are the registered kernels', so each function here returns null (the caller
 * masks dy first and runs the kernel) wherever that kernel is not ours or its program cannot read a
 * mask (the one-pixel direct input gradient, for strides over 4 x 4).
 *
 * ../gradients.ts wraps these in differentiable ops (the penalty differentiates them again).
 */
import { engine, getBackend, type Tensor, type Tensor1D, type Tensor4D, type TensorInfo } from '@tensorflow/tfjs-core';
import { kernelInstalled, maskFits, ourKernelsRequested, type DyMask, type WebGpuBackendLike } from './common';
import { filterGradOnDevice, type FilterGradAttrs } from './conv2d-backprop-filter';
import { runInputGrad, type InputGradAttrs } from './conv2d-backprop-input';
import { runForward, type ForwardAttrs } from './conv2d-forward';
import { leadingSumOnDevice } from './leading-sum';

/** The kernels whose programs read a mask here: the gradients' and the forward pass's. */
const MASKED_KERNELS = ['Conv2DBackpropInput', 'Conv2DBackpropFilter', 'Sum', 'Conv2D'] as const;

/**
 * Whether a convolution's gradients through its LeakyReLU take the masked programs: WebGPU, our
 * kernels requested and all four of those installed (with only some, each gradient would mask dy on
 * its own: the same values in more programs than one mask), dy and y float32 of one shape.
 */
export function maskedConvGradsAvailable(dy: Tensor, y: Tensor): boolean {
  if (getBackend() !== 'webgpu' || !ourKernelsRequested() || !MASKED_KERNELS.every((k) => kernelInstalled(k))) return false;
  return dy.dtype === 'float32' && dy.rank === 4 && maskFits(dy.shape, { y, alpha: 0 });
}

/** The WebGPU backend, where our registered `kernelName` runs (else null: the caller's path then). */
function ourBackendFor(kernelName: string): WebGpuBackendLike | null {
  if (getBackend() !== 'webgpu' || !ourKernelsRequested() || !kernelInstalled(kernelName)) return null;
  return engine().backend as unknown as WebGpuBackendLike;
}

const asTensor = <T extends Tensor>(info: TensorInfo | null): T | null => (info ? (engine().makeTensorFromTensorInfo(info) as T) : null);

/** dx = Conv2DBackpropInput(mask(dy), filter), as the registered kernel computes it; null where it cannot. */
export function maskedInputGradOnDevice(dy: Tensor4D, filter: Tensor4D, mask: DyMask, attrs: InputGradAttrs): Tensor4D | null {
  const backend = ourBackendFor('Conv2DBackpropInput');
  return backend && asTensor(runInputGrad(backend, dy, filter, attrs, undefined, mask));
}

/** dW = Conv2DBackpropFilter(x, mask(dy)), as the registered kernel computes it; null where it cannot. */
export function maskedFilterGradOnDevice(x: Tensor4D, dy: Tensor4D, mask: DyMask, attrs: FilterGradAttrs): Tensor4D | null {
  const backend = ourBackendFor('Conv2DBackpropFilter');
  return backend && asTensor(filterGradOnDevice(backend, x, dy, attrs, mask));
}

/** db = sum(mask(dy), [0, 1, 2]), as the registered Sum kernel computes it; null where it cannot. */
export function maskedBiasGradOnDevice(dy: Tensor4D, mask: DyMask): Tensor1D | null {
  const backend = ourBackendFor('Sum');
  return backend && asTensor(leadingSumOnDevice(backend, dy, 3, false, mask));
}

/**
 * mask(conv2d(x, w)), as the registered Conv2D kernel computes the convolution, the mask applied as
 * it writes (the gradient of a masked input gradient in its dy); null where it cannot.
 */
export function maskedConv2dOnDevice(x: Tensor4D, filter: Tensor4D, mask: DyMask, attrs: ForwardAttrs): Tensor4D | null {
  const backend = ourBackendFor('Conv2D');
  return backend && asTensor(runForward(backend, { x, filter }, { ...attrs, activation: undefined }, undefined, mask));
}
