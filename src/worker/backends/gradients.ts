/**
 * Gradients that compute only what a backward pass asks for (issue 5: the conditional WGAN-GP step).
 *
 * tfjs prunes a backward pass to the inputs that depend on the variables (getFilteredNodesXToY):
 * a kernel's registered gradient returns one function per input, and only the needed ones run.
 * Two places defeat this, and the WGAN-GP penalty (a gradient of a gradient) meets both:
 *
 * 1. tfjs-core's `fused.conv2d` (what tfjs-layers' Conv2D with a bias calls) records a
 *    `customGrad`, whose gradient function computes the input, filter and bias gradients all at
 *    once. The penalty's inner gradient (with respect to the images only) therefore computed every
 *    critic layer's filter gradient for nothing, and each critic pass on images that are not
 *    trained (real or generated batches) the first layer's input gradient.
 *    Here, in a backward-recording context, `fused.conv2d` with a linear activation runs the
 *    FusedConv2D kernel directly, with a registered gradient of three separate functions. The
 *    values are the same kernels' (bit-identical). The same with a LeakyReLU of positive slope
 *    fused in (tfjs-core has no gradient for that): dy is first masked as LeakyReLU's gradient below
 *    does, the mask read from the output (../models/conv-leaky.ts uses it); on WebGPU the three
 *    gradient programs read dy through the mask instead (`maskedInputGrad` and its kin below).
 * 2. LeakyReLU's gradient, dy * (x > 0 ? 1 : alpha), reads the forward pass's x through a mask.
 *    The mask is piecewise constant, so its derivative is zero, but tfjs still differentiated
 *    through it: the penalty's outer backward pass sent tensors of zeros down the whole forward
 *    pass of the interpolated images (a filter and an input gradient per layer, per critic update).
 *    Here the gradient is a custom op of dy alone, with the mask a constant (its own gradient is the
 *    same op on ddy, so any order works): those zero paths are no longer built. One visible change:
 *    a function that depends on an input only through LeakyReLU's mask (its gradient is piecewise
 *    constant in that input) now has no second derivative in that input on the tape, and tf.grad
 *    throws "Cannot compute gradient" where tfjs returned zeros. Training takes second derivatives
 *    with respect to weights, which stay connected through dy (tested).
 *
 * The same holds for ReLU's and Abs's gradients, dy * step(x): here ops of dy alone too (with the
 * same visible change: no second derivative in an input that reaches the output only through their
 * step), and on WebGPU one program each instead of Step and Multiply.
 * And one gradient does work that changes nothing:
 * 3. GatherV2's gradient along the first axis (the conditional models' label embeddings) transposes
 *    twice by the identity permutation, each a copy; here it skips them (`gatherGrad` below).
 *
 * All change which kernels run, not what they compute: the losses of a training step are
 * bit-identical with and without (tested).
 */
import * as tf from '@tensorflow/tfjs-core';
import { exactAlpha, leakyFactor, leakyMulInHeap } from './wasm/leaky-relu';
import { leakyReluGradOnDevice, leakyReluGradOnDeviceAvailable, stepMulOnDevice } from './kernels/leaky-relu-grad';
import { switchOn } from './switches';
import { maskedBiasGradOnDevice, maskedConv2dOnDevice, maskedConvGradsAvailable, maskedFilterGradOnDevice, maskedInputGradOnDevice } from './kernels/masked-conv-grads';
import type { ForwardAttrs } from './kernels/conv2d-forward';
import type { FilterGradAttrs } from './kernels/conv2d-backprop-filter';
import type { InputGradAttrs } from './kernels/conv2d-backprop-input';

/* ---------------------------------------------------------------------------------------------
 * LeakyReLU: the mask as a constant of the backward pass.
 * ------------------------------------------------------------------------------------------- */

/** dy * (x > 0 ? 1 : alpha), in the form the backend computes fastest (bit-identical). */
function leakyMask(dy: tf.Tensor, x: tf.Tensor, alpha: number): tf.Tensor {
  // One WebGPU program instead of Greater, Multiply and Select (./kernels/leaky-relu-grad).
  if (lazy && leakyReluGradOnDeviceAvailable(dy, x)) return leakyReluGradOnDevice(dy, x, alpha);
  const a = exactAlpha(alpha);
  if (tf.getBackend() === 'wasm' && a !== null && x.dtype === 'float32') {
    // Inside the custom op (lazy): one pass in the heap, off the tape. Otherwise on the tape:
    // tfjs-backend-wasm's Greater and Select are scalar loops; Step and Multiply are fast (./wasm/leaky-relu).
    const inHeap = lazy ? leakyMulInHeap(dy, x, a) : null;
    return inHeap ? tf.engine().makeTensorFromTensorInfo(inHeap) : tf.mul(dy, leakyFactor(x, a));
  }
  return tf.where(tf.greater(x, 0), dy, tf.mul(dy, alpha));
}

/**
 * LeakyReLU's backward pass as an op of dy only: x is captured, not an input, so no gradient flows
 * to it (its true derivative is zero almost everywhere). Differentiable in dy to any order.
 */
export function leakyReluBackward(dy: tf.Tensor, x: tf.Tensor, alpha: number): tf.Tensor {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const d = args[0] as tf.Tensor;
    return { value: leakyMask(d, x, alpha), gradFunc: (dd: tf.Tensor | tf.Tensor[]) => leakyReluBackward(dd as tf.Tensor, x, alpha) };
  });
  return op(dy) as tf.Tensor;
}

/** Whether the gradients here are on (GAN_AUGMENT_LAZY_GRADIENTS=0 turns them off, for A/B runs). */
let lazy = true;

const leakyReluGrad: tf.GradConfig = {
  kernelName: 'LeakyRelu',
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved as [tf.Tensor];
    const { alpha } = attrs as unknown as { alpha: number };
    // Off: the mask on the tape, as tfjs-core's own gradient (in its fastest form on wasm).
    return { x: () => (lazy ? leakyReluBackward(dy as tf.Tensor, x, alpha) : leakyMask(dy as tf.Tensor, x, alpha)) };
  },
};

/* ---------------------------------------------------------------------------------------------
 * ReLU and Abs: dy * step(x, alpha), the step a constant of the backward pass.
 * ------------------------------------------------------------------------------------------- */

/** tfjs-core's mul(dy, step(x, alpha)): one WebGPU program where ours are on, else its two ops (the same bits). */
function stepMask(dy: tf.Tensor, x: tf.Tensor, alpha: number): tf.Tensor {
  if (lazy && leakyReluGradOnDeviceAvailable(dy, x)) return stepMulOnDevice(dy, x, alpha);
  return tf.mul(dy, tf.step(x, alpha));
}

/**
 * ReLU's (alpha 0) and Abs's (alpha -1) backward pass as an op of dy only, as `leakyReluBackward`:
 * the step is piecewise constant in x, so no gradient flows to x (tfjs-core's sent zeros), and the op
 * is its own gradient in dy, to any order. On WebGPU one program instead of Step and Multiply (the
 * generator's ReLUs and the DCGAN loss's relu and abs).
 */
export function stepBackward(dy: tf.Tensor, x: tf.Tensor, alpha: number): tf.Tensor {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const d = args[0] as tf.Tensor;
    return { value: stepMask(d, x, alpha), gradFunc: (dd: tf.Tensor | tf.Tensor[]) => stepBackward(dd as tf.Tensor, x, alpha) };
  });
  return op(dy) as tf.Tensor;
}

/** tfjs-core's gradient for `kernelName` (its formula) where ours are off or x is not float32; else `stepBackward`. */
function stepGrad(kernelName: 'Relu' | 'Abs', alpha: number): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as [tf.Tensor];
      const d = dy as tf.Tensor;
      if (lazy && x.dtype === 'float32') return { x: () => stepBackward(d, x, alpha) };
      // As tfjs-core 4.22's Relu_grad and Abs_grad.
      return { x: () => (kernelName === 'Relu' ? tf.mul(d, tf.cast(tf.step(x), 'float32')) : tf.mul(d, tf.step(tf.cast(x, 'float32'), -1))) };
    },
  };
}

/* ---------------------------------------------------------------------------------------------
 * Fused conv2d: one gradient function per input.
 * ------------------------------------------------------------------------------------------- */

type FusedConv2dFn = typeof tf.fused.conv2d;
type FusedConv2dArgs = Parameters<FusedConv2dFn>[0];

interface FusedConvAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  activation: string;
  leakyreluAlpha?: number;
}

const fusedConv2dGrad: tf.GradConfig = {
  kernelName: 'FusedConv2D',
  inputsToSave: ['x', 'filter'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter, y] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
    const a = attrs as unknown as FusedConvAttrs;
    // Only routedFusedConv2d records this kernel on a tape, with a linear activation or a LeakyReLU of
    // positive slope. The LeakyReLU's mask is read from the output y (y > 0 exactly where the
    // convolution's result is, and NaN exactly where it is): on WebGPU by each gradient program as it
    // loads dy, elsewhere once, by a pass of its own, for all three gradients.
    if (!fusedActivationHasGradient(a)) throw new Error(`No gradient for FusedConv2D with activation ${a.activation}.`);
    if (a.activation === 'leakyrelu' && lazy && maskedConvGradsRequested() && maskedConvGradsAvailable(dy as tf.Tensor, y)) {
      // On WebGPU the three gradients read dy through the mask (below): d is never written.
      const m: MaskedConv = { y, alpha: a.leakyreluAlpha!, strides: a.strides, pad: a.pad, dimRoundingMode: a.dimRoundingMode };
      const d4 = dy as tf.Tensor4D;
      return { x: () => maskedInputGrad(d4, filter, m, x.shape), filter: () => maskedFilterGrad(x, d4, m, filter.shape), bias: () => maskedBiasGrad(d4, m) };
    }
    const d = (a.activation === 'leakyrelu' ? leakyReluBackward(dy as tf.Tensor, y, a.leakyreluAlpha!) : dy) as tf.Tensor4D;
    const common = { strides: a.strides, pad: a.pad, dataFormat: 'NHWC', dimRoundingMode: a.dimRoundingMode } as unknown as tf.NamedAttrMap;
    const engine = tf.engine();
    return {
      // The ops tfjs-core's fused conv2d gradient calls (conv2DBackpropInput / conv2DBackpropFilter),
      // as kernels: those ops are not exported.
      x: () => engine.runKernel('Conv2DBackpropInput', { dy: d, filter }, { ...common, inputShape: x.shape }) as tf.Tensor4D,
      filter: () => engine.runKernel('Conv2DBackpropFilter', { x, dy: d }, { ...common, filterShape: filter.shape }) as tf.Tensor4D,
      // tfjs-core's getFusedBiasGradient for a [CO] bias: the sum over the other axes.
      bias: () => tf.sum(d, [0, 1, 2]),
    };
  },
};

/* ---------------------------------------------------------------------------------------------
 * A convolution's gradients through its LeakyReLU, the mask read as dy is (WebGPU).
 *
 * Four ops with the mask a constant. The three convolution passes (`maskedConv2d`, `maskedInputGrad`,
 * `maskedFilterGrad`, each with the mask on the tensor that has the layer output's shape) are closed
 * under differentiation: each one's gradients are the other two, so the penalty's double backward runs
 * no mask program either. The bias sum's gradient is a broadcast and the mask's own program (no
 * training step takes it). They are tf.customGrad ops, whose gradients tfjs computes for every input
 * at once: in training each is needed (the penalty's outer pass differentiates the critic's weights
 * and its inner chain); a critic whose top layer's upstream gradient depended on no trained weight
 * would compute one unneeded forward pass there.
 * ------------------------------------------------------------------------------------------- */

/**
 * GAN_AUGMENT_MASKED_CONV_GRADS: '0' / 'false' / 'off' -> the mask a program of its own, then the
 * three gradients (for A/B runs and the tests' comparisons); anything else -> the ops below.
 */
export function maskedConvGradsRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return switchOn(env.GAN_AUGMENT_MASKED_CONV_GRADS);
}

/** The LeakyReLU (its output y and slope) and the convolution's attributes, for the ops below. */
export interface MaskedConv {
  y: tf.Tensor;
  alpha: number;
  strides: FusedConvAttrs['strides'];
  pad: FusedConvAttrs['pad'];
  dimRoundingMode?: FusedConvAttrs['dimRoundingMode'];
}

function convAttrs(m: MaskedConv, shape: { inputShape: number[] } | { filterShape: number[] }): tf.NamedAttrMap {
  return { strides: m.strides, pad: m.pad, dataFormat: 'NHWC', dimRoundingMode: m.dimRoundingMode, ...shape } as unknown as tf.NamedAttrMap;
}

/**
 * mask(conv2d(x, w)) as an op of x and w, the convolution as tfjs-core's convolution gradients call
 * it (their gradients' gradients): one program on WebGPU, else Conv2D's and the mask's. Its
 * gradients: in x, Conv2DBackpropInput(mask(g), w); in w, Conv2DBackpropFilter(x, mask(g)).
 */
export function maskedConv2d(x: tf.Tensor4D, w: tf.Tensor4D, m: MaskedConv): tf.Tensor4D {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xv, f, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([xv, f]);
    const attrs = { strides: m.strides, pad: m.pad, dataFormat: 'NHWC', dilations: 1, dimRoundingMode: m.dimRoundingMode } as const;
    const value =
      maskedConv2dOnDevice(xv, f, m, attrs as unknown as ForwardAttrs) ??
      (leakyMask(tf.conv2d(xv, f, m.strides, m.pad as 'same', 'NHWC', 1, m.dimRoundingMode), m.y, m.alpha) as tf.Tensor4D);
    return {
      value,
      gradFunc: (g: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [xs, fs] = saved as [tf.Tensor4D, tf.Tensor4D];
        const gy = g as tf.Tensor4D;
        return [maskedInputGrad(gy, fs, m, xs.shape), maskedFilterGrad(xs, gy, m, fs.shape)];
      },
    };
  });
  return op(x, w) as tf.Tensor4D;
}

/**
 * Conv2DBackpropInput(mask(dy), w) as an op of dy and w (the mask a constant, as in
 * `leakyReluBackward`): one program on WebGPU (./kernels/masked-conv-grads.ts), else the mask's and
 * the kernel's. Its gradients are tfjs-core's for Conv2DBackpropInput followed by the mask's: in dy,
 * mask(conv2d(g, w)) (`maskedConv2d`); in w, Conv2DBackpropFilter(g, mask(dy)). The penalty's outer
 * pass takes both.
 */
export function maskedInputGrad(dy: tf.Tensor4D, w: tf.Tensor4D, m: MaskedConv, inputShape: number[]): tf.Tensor4D {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [d, f, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([d, f]); // an outer pass's gradient reads them after this pass's tensors are gone
    const attrs = convAttrs(m, { inputShape });
    const value =
      maskedInputGradOnDevice(d, f, m, attrs as unknown as InputGradAttrs) ??
      (tf.engine().runKernel('Conv2DBackpropInput', { dy: leakyMask(d, m.y, m.alpha), filter: f }, attrs) as tf.Tensor4D);
    return {
      value,
      gradFunc: (g: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const gx = g as tf.Tensor4D;
        const [ds, fs] = saved as [tf.Tensor4D, tf.Tensor4D];
        return [maskedConv2d(gx, fs, m), maskedFilterGrad(gx, ds, m, fs.shape)];
      },
    };
  });
  return op(dy, w) as tf.Tensor4D;
}

/**
 * Conv2DBackpropFilter(x, mask(dy)) as an op of x and dy; one program on WebGPU (plus the split sum
 * where the tiling splits K). Gradients as tfjs-core's for Conv2DBackpropFilter, then the mask's: in
 * x, Conv2DBackpropInput(mask(dy), g); in dy, mask(conv2d(x, g)).
 */
export function maskedFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, m: MaskedConv, filterShape: number[]): tf.Tensor4D {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xv, d, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([xv, d]);
    const attrs = convAttrs(m, { filterShape });
    const value =
      maskedFilterGradOnDevice(xv, d, m, attrs as unknown as FilterGradAttrs) ??
      (tf.engine().runKernel('Conv2DBackpropFilter', { x: xv, dy: leakyMask(d, m.y, m.alpha) }, attrs) as tf.Tensor4D);
    return {
      value,
      gradFunc: (g: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const gw = g as tf.Tensor4D;
        const [xs, ds] = saved as [tf.Tensor4D, tf.Tensor4D];
        return [maskedInputGrad(ds, gw, m, xs.shape), maskedConv2d(xs, gw, m)];
      },
    };
  });
  return op(x, dy) as tf.Tensor4D;
}

/** sum(mask(dy), [0, 1, 2]) as an op of dy (the bias gradient); its gradient in dy, mask(g broadcast). */
export function maskedBiasGrad(dy: tf.Tensor4D, m: MaskedConv): tf.Tensor1D {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const d = args[0] as tf.Tensor4D;
    const shape = d.shape;
    const value = maskedBiasGradOnDevice(d, m) ?? tf.sum(leakyMask(d, m.y, m.alpha), [0, 1, 2]);
    return {
      value,
      gradFunc: (g: tf.Tensor | tf.Tensor[]) => leakyReluBackward(tf.broadcastTo(tf.reshape(g as tf.Tensor, [1, 1, 1, -1]), shape), m.y, m.alpha),
    };
  });
  return op(dy) as tf.Tensor1D;
}

const isUnit = (v: [number, number] | number | undefined): boolean => v === undefined || (Array.isArray(v) ? v.every((n) => n === 1) : v === 1);
const isFloat32 = (t: unknown, rank: number): t is tf.Tensor => t instanceof tf.Tensor && t.dtype === 'float32' && t.rank === rank;

/** Whether `fusedConv2dGrad` differentiates this activation: none, or a LeakyReLU of positive slope. */
function fusedActivationHasGradient(a: { activation?: string; leakyreluAlpha?: number }): boolean {
  const activation = a.activation ?? 'linear';
  return activation === 'linear' || (activation === 'leakyrelu' && typeof a.leakyreluAlpha === 'number' && a.leakyreluAlpha > 0);
}

/**
 * Whether `tf.fused.conv2d` with a LeakyReLU of this slope can be trained (its gradient is ours:
 * tfjs-core's has none for 'leakyrelu'): ours on, and the slope positive. BatchNorm-free convolution
 * layers followed by LeakyReLU use it (../models/conv-leaky.ts).
 */
export function fusedLeakyReluTrainable(alpha: number): boolean {
  return lazyGradientsOn() && fusedActivationHasGradient({ activation: 'leakyrelu', leakyreluAlpha: alpha });
}

/** Whether the kernel-level path applies: a tape is recording and the op is one our gradient covers. */
function takesLazyPath(args: FusedConv2dArgs): boolean {
  const { x, filter, bias } = args;
  if (tf.engine().state.gradientDepth === 0) return false; // nothing records: tfjs's path is the same kernel
  if (!fusedActivationHasGradient(args) || args.preluActivationWeights != null) return false;
  if ((args.dataFormat ?? 'NHWC') !== 'NHWC' || !isUnit(args.dilations)) return false;
  // tfjs's own gradient ignores dimRoundingMode (and its forward checks it against the padding): keep
  // its behaviour there. tfjs-layers never passes one.
  if (args.dimRoundingMode != null) return false;
  if (!isFloat32(x, 4) || !isFloat32(filter, 4) || filter.shape[2] !== x.shape[3]) return false;
  return bias == null || (isFloat32(bias, 1) && bias.shape[0] === filter.shape[3]);
}

function routedFusedConv2d(args: FusedConv2dArgs): tf.Tensor {
  if (!takesLazyPath(args)) return originalFusedConv2d!(args);
  const inputs: tf.NamedTensorMap = { x: args.x as tf.Tensor, filter: args.filter as tf.Tensor };
  if (args.bias != null) inputs.bias = args.bias as tf.Tensor;
  const attrs = {
    strides: args.strides,
    pad: args.pad,
    dataFormat: 'NHWC',
    dilations: args.dilations ?? [1, 1],
    dimRoundingMode: args.dimRoundingMode,
    activation: args.activation ?? 'linear',
    leakyreluAlpha: args.leakyreluAlpha,
  };
  return tf.engine().runKernel('FusedConv2D', inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/* ---------------------------------------------------------------------------------------------
 * GatherV2 along the first axis: no transposes by the identity.
 * ------------------------------------------------------------------------------------------- */

/** tfjs-core's own GatherV2 gradient (kept when ours is registered over it), for every other case. */
let tfjsGatherGrad: tf.GradConfig | null = null;

/**
 * tfjs-core's GatherV2 gradient moves the gathered axis first with a Transpose, sums segments, and
 * moves it back. Gathering along the first axis (an Embedding layer's lookup: the conditional models'
 * labels) both permutations are the identity, but each still runs a Transpose kernel, a copy (on
 * WebGPU a dispatch): two per embedding per backward pass, 22 of a 32 px cWGAN-GP step's dispatches.
 * Here that case is the segment sum alone (the same values: a copy changes none); any other axis,
 * batchDims 1, or ours off (GAN_AUGMENT_LAZY_GRADIENTS=0) is tfjs's own gradient.
 */
const gatherGrad: tf.GradConfig = {
  kernelName: 'GatherV2',
  inputsToSave: ['x', 'indices'],
  gradFunc: (dy, saved, attrs) => {
    const [x, indices] = saved as [tf.Tensor, tf.Tensor];
    const { axis, batchDims } = attrs as unknown as { axis: number; batchDims: number };
    if (!lazy || batchDims !== 0 || tf.util.parseAxisParam(axis, x.shape)[0] !== 0) return tfjsGatherGrad!.gradFunc(dy, saved, attrs);
    const n = indices.size;
    return {
      x: () => tf.unsortedSegmentSum(tf.reshape(dy as tf.Tensor, [n, ...x.shape.slice(1)]), tf.reshape(indices, [n]), x.shape[0]!),
      // As tfjs-core's (indices take no gradient; it returns them).
      indices: () => indices,
    };
  },
};

/* ---------------------------------------------------------------------------------------------
 * Installing.
 * ------------------------------------------------------------------------------------------- */

/** GAN_AUGMENT_LAZY_GRADIENTS: '0' / 'false' / 'off' -> tfjs's gradients (for A/B runs); anything else -> ours. */
export function lazyGradientsRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return switchOn(env.GAN_AUGMENT_LAZY_GRADIENTS);
}

let originalFusedConv2d: FusedConv2dFn | null = null;

/**
 * Registers our gradients and routes `tf.fused.conv2d` (the object tfjs-layers calls through, so
 * its Conv2D layers take the route), as GAN_AUGMENT_LAZY_GRADIENTS says. The registry is global, so
 * this holds for every backend. Idempotent. Returns whether ours are on.
 */
export function installLazyGradients(env: NodeJS.ProcessEnv = process.env): boolean {
  // Every time (cheap): a later import that registers tfjs-core's gradients again would replace ours.
  tf.registerGradient(leakyReluGrad);
  tf.registerGradient(stepGrad('Relu', 0));
  tf.registerGradient(stepGrad('Abs', -1));
  tf.registerGradient(fusedConv2dGrad);
  const registered = tf.getGradient('GatherV2');
  if (registered && registered !== gatherGrad) tfjsGatherGrad = registered;
  if (tfjsGatherGrad) tf.registerGradient(gatherGrad);
  return setLazyGradients(lazyGradientsRequested(env));
}

/**
 * Turns ours on or off: off is tfjs's own fused conv2d and the LeakyReLU mask on the tape. Returns
 * whether ours are on (false when asked off, or when tfjs's `fused` object cannot be changed).
 */
export function setLazyGradients(enabled: boolean): boolean {
  const fused = tf.fused as { conv2d: FusedConv2dFn };
  if (enabled && !originalFusedConv2d) {
    const theirs = fused.conv2d;
    try {
      fused.conv2d = routedFusedConv2d as FusedConv2dFn;
    } catch {
      // A frozen module object (an ES module build of tfjs): keep tfjs's path.
    }
    if (fused.conv2d === (routedFusedConv2d as FusedConv2dFn)) originalFusedConv2d = theirs;
  } else if (!enabled && originalFusedConv2d) {
    fused.conv2d = originalFusedConv2d;
    originalFusedConv2d = null;
  }
  lazy = originalFusedConv2d !== null;
  return lazy;
}

/** Whether ours are on: `tf.fused.conv2d` routed and the LeakyReLU mask off the tape. */
export function lazyGradientsOn(): boolean {
  return lazy && tf.fused.conv2d === (routedFusedConv2d as FusedConv2dFn);
}
