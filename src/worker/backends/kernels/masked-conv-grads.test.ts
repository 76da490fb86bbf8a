/**
 * A convolution's gradients through its LeakyReLU with the mask read as the programs load dy
 * (./masked-conv-grads.ts, ../gradients.ts), on WebGPU (lavapipe here): every program that reads a
 * mask gives the same bits as the mask's own program followed by the unmasked program, at every
 * tiling; a critic's loss and its gradient penalty's double backward give the same bits as with
 * GAN_AUGMENT_MASKED_CONV_GRADS=0 (the mask a program of its own), in fewer programs; each op's own
 * gradients (a third derivative) pass a linearity check; no tensors are left behind. Skipped, with
 * the reason printed, without a WebGPU adapter.
 */
import { describe, expect, it } from 'vitest';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../tf';
import { fastDispatchStats } from '../index';
import { COMMON_CONV_CASES, convOutShape, recordPrograms, webgpuSkipReason, withSwitchOff, type ConvCase } from './test-support';
import { expectSameBits } from '../../models/layer-test-support';
import type { ConvAttrs, DyMask, WebGpuBackendLike } from './common';
import {
  DEFAULT_INPUT_TILING,
  GPU_LONG_CO_INPUT_TILING,
  NARROW_INPUT_TILING,
  SOFTWARE_INPUT_TILING,
  STRIDED_INPUT_TILING,
  runInputGrad,
  type DirectBlockTiling,
  type InputGradTiling,
} from './conv2d-backprop-input';
import {
  DEFAULT_TILING,
  GPU_NARROW_TILING,
  GPU_TILING,
  GPU_WIDE_TILING,
  SOFTWARE_LARGE_TILING,
  SOFTWARE_NARROW_TILING,
  kernelTilingFor,
  runFilterGrad,
  type FilterGradTiling,
} from './conv2d-backprop-filter';
import {
  DEFAULT_FORWARD_TILING,
  GPU_DEEP_FORWARD_TILING,
  GPU_WIDE_FORWARD_TILING,
  NARROW_FORWARD_TILING,
  SHORT_K_FORWARD_TILING,
  SOFTWARE_FORWARD_TILING,
  runForward,
  type ForwardTiling,
} from './conv2d-forward';
import { leadingSumOnDevice } from './leading-sum';
import { leakyReluGradOnDevice } from './leaky-relu-grad';
import { maskedInputGradOnDevice } from './masked-conv-grads';
import { registerOurKernels, unregisterOurKernels } from './index';
import { maskedBiasGrad, maskedConv2d, maskedFilterGrad, maskedInputGrad, type MaskedConv } from '../gradients';

const reason = await webgpuSkipReason('masked convolution gradient tests');

type Case = ConvCase<ConvAttrs['pad']>;
const ALPHA = 0.2;

const CASES: readonly Case[] = [
  ...COMMON_CONV_CASES,
  { name: 'stride 3, 10x11, 5/4 channels, k4 same', x: [1, 10, 11, 5], k: 4, co: 4, stride: 3, pad: 'same' },
  { name: 'DCGAN D3 8x8x128 -> 4x4x256, k4 s2 same, batch 2', x: [2, 8, 8, 128], k: 4, co: 256, stride: 2, pad: 'same' },
];

const attrsOf = (c: Case) => ({ strides: [c.stride, c.stride] as [number, number], pad: c.pad, dataFormat: 'NHWC' as const });
const backend = () => tf.engine().backend as unknown as WebGpuBackendLike;
const tensorOf = (info: TensorInfo | null): tf.Tensor => {
  if (!info) throw new Error('the program declined the inputs');
  return tf.engine().makeTensorFromTensorInfo(info);
};

/**
 * A case's tensors: x, the filter, dy and the mask's y (the layer's output: normal values with exact
 * zeros, negative zeros and a NaN among them, where the mask's choice is decided), and dy masked by
 * the mask's own program.
 */
function tensorsOf(c: Case, seed: number) {
  const dyShape = convOutShape(c);
  const y = tf.tidy(() => {
    const v = tf.randomNormal(dyShape, 0, 1, 'float32', seed + 3).dataSync().slice();
    for (let i = 0; i < v.length; i += 7) v[i] = i % 2 === 0 ? 0 : -0;
    v[Math.floor(v.length / 2)] = NaN;
    return tf.tensor(v, dyShape);
  });
  const x = tf.randomNormal(c.x, 0, 1, 'float32', seed);
  const filter = tf.randomNormal([c.k, c.k, c.x[3], c.co], 0, 0.3, 'float32', seed + 1);
  const dy = tf.randomNormal(dyShape, 0, 1, 'float32', seed + 2);
  const mask: DyMask = { y, alpha: ALPHA };
  const masked = leakyReluGradOnDevice(dy, y, ALPHA);
  return { x, filter, dy, y, mask, masked, dispose: () => tf.dispose([x, filter, dy, y, masked]) };
}

/** The cases every tiling runs on: odd sizes and stride 1, explicit pads, stride 3, the RGB layer. */
const SWEPT = [
  'odd 7x9, 3/5 channels, k3 s1 same',
  'explicit pads 1/2, 2/0, 4/8 channels, k3 s2',
  'stride 3, 10x11, 5/4 channels, k4 same',
  'DCGAN D1 / G3 32x32x3 <-> 16x16x64, k4 s2 same, batch 2',
];

const INPUT_TILINGS: ReadonlyArray<[string, InputGradTiling | DirectBlockTiling | undefined]> = [
  ['the registered choice', undefined],
  ['default', DEFAULT_INPUT_TILING],
  ['prefetch', GPU_LONG_CO_INPUT_TILING],
  ['strided loads', STRIDED_INPUT_TILING],
  ['8 x 8 outputs a thread', SOFTWARE_INPUT_TILING],
  ['narrow', NARROW_INPUT_TILING],
  ['stride blocks, 1', { blocksW: 1 }],
  ['stride blocks, 4', { blocksW: 4 }],
];
const FILTER_TILINGS: ReadonlyArray<[string, FilterGradTiling | undefined]> = [
  ['the registered choice', undefined],
  ['default', DEFAULT_TILING],
  ['GPU (vec4 loads, carry, prefetch)', GPU_TILING],
  ['GPU narrow', GPU_NARROW_TILING],
  ['GPU wide', GPU_WIDE_TILING],
  ['software large', SOFTWARE_LARGE_TILING],
  ['software narrow', SOFTWARE_NARROW_TILING],
];
const FORWARD_TILINGS: ReadonlyArray<[string, ForwardTiling | undefined]> = [
  ['the registered choice', undefined],
  ['default', DEFAULT_FORWARD_TILING],
  ['short K', SHORT_K_FORWARD_TILING],
  ['narrow', NARROW_FORWARD_TILING],
  ['8 x 8 outputs a thread', SOFTWARE_FORWARD_TILING],
  ['GPU wide', GPU_WIDE_FORWARD_TILING],
  ['GPU deep (prefetch)', GPU_DEEP_FORWARD_TILING],
];

describe.skipIf(reason !== '')('convolution gradients reading dy through a LeakyReLU mask (WebGPU)', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s: each masked program, the same bits as the mask then the program', async (_, c) => {
    const t = tensorsOf(c, 40);
    const b = backend();
    const attrs = attrsOf(c);
    // Every tiling on a few shapes (each tiling is a shader lavapipe compiles, seconds each); elsewhere the registered ones.
    const sweep = SWEPT.includes(c.name);
    const only = <T>(tilings: ReadonlyArray<[string, T]>) => (sweep ? tilings : tilings.filter(([, t]) => t === undefined));
    for (const [name, tiling] of only(INPUT_TILINGS)) {
      // Stride blocks only for dx of at most 4 channels (as the registered kernel); 'stride 3' takes one block.
      if (tiling && 'blocksW' in tiling && c.x[3] > 4) continue;
      const a = { ...attrs, inputShape: c.x };
      const ours = tensorOf(runInputGrad(b, t.dy, t.filter, a, tiling, t.mask));
      const theirs = tensorOf(runInputGrad(b, t.masked, t.filter, a, tiling));
      await expectSameBits(ours, theirs, `${c.name}: input gradient, ${name}`);
      tf.dispose([ours, theirs]);
    }
    for (const [name, tiling] of only(FILTER_TILINGS)) {
      const a = { ...attrs, filterShape: [c.k, c.k, c.x[3], c.co] as [number, number, number, number] };
      const [B, OH, OW] = t.dy.shape;
      const chosen = tiling ?? kernelTilingFor({ m: c.k * c.k * c.x[3], n: c.co, k: B! * OH! * OW! });
      const ours = tensorOf(runFilterGrad(b, t.x, t.dy, a, chosen, t.mask));
      const theirs = tensorOf(runFilterGrad(b, t.x, t.masked, a, chosen));
      await expectSameBits(ours, theirs, `${c.name}: filter gradient, ${name}`);
      tf.dispose([ours, theirs]);
    }
    for (const [name, tiling] of only(FORWARD_TILINGS)) {
      // mask(conv2d(x, w)): the output has dy's shape, so y masks it.
      const a = { ...attrs, dilations: 1 as const };
      const ours = tensorOf(runForward(b, { x: t.x, filter: t.filter }, a, tiling, t.mask));
      const plain = tensorOf(runForward(b, { x: t.x, filter: t.filter }, a, tiling));
      const theirs = leakyReluGradOnDevice(plain, t.y, ALPHA);
      await expectSameBits(ours, theirs, `${c.name}: forward pass, ${name}`);
      tf.dispose([ours, plain, theirs]);
    }
    const ours = tensorOf(leadingSumOnDevice(b, t.dy, 3, false, t.mask));
    const theirs = tf.sum(t.masked, [0, 1, 2]);
    await expectSameBits(ours, theirs, `${c.name}: bias gradient`);
    tf.dispose([ours, theirs]);
    t.dispose();
  });

  it('sums the bias gradient over many row parts, and declines what it cannot mask', async () => {
    // 64 x 16 x 16 rows: the column sums run in 64 parts and a finishing pass.
    const c: Case = { name: 'many rows', x: [64, 32, 32, 3], k: 4, co: 8, stride: 2, pad: 'same' };
    const t = tensorsOf(c, 50);
    const ours = tensorOf(leadingSumOnDevice(backend(), t.dy, 3, false, t.mask));
    const theirs = tf.sum(t.masked, [0, 1, 2]);
    await expectSameBits(ours, theirs, 'bias gradient in 64 parts');
    tf.dispose([ours, theirs]);
    // The one-pixel direct input gradient reads no mask; a y of another shape is refused.
    expect(runInputGrad(backend(), t.dy, t.filter, { ...attrsOf(c), inputShape: c.x }, 'direct', t.mask)).toBeNull();
    const wrongY = tf.zeros([64, 16, 16, 4]);
    expect(runInputGrad(backend(), t.dy, t.filter, { ...attrsOf(c), inputShape: c.x }, undefined, { y: wrongY, alpha: ALPHA })).toBeNull();
    expect(leadingSumOnDevice(backend(), t.dy, 3, false, { y: wrongY, alpha: ALPHA })).toBeNull();
    // Where a kernel of ours is off, its masked form declines (the gradient then masks dy first).
    await withSwitchOff('GAN_AUGMENT_WGSL_KERNELS', () => {
      expect(maskedInputGradOnDevice(t.dy as tf.Tensor4D, t.filter as tf.Tensor4D, t.mask, { ...attrsOf(c), inputShape: c.x })).toBeNull();
    });
    tf.dispose(wrongY);
    t.dispose();
  });
});

/* ---------------------------------------------------------------------------------------------
 * Through a critic: tf.fused.conv2d with its LeakyReLU, as Conv2DLeakyReLU trains.
 * ------------------------------------------------------------------------------------------- */

interface Layer {
  w: tf.Tensor4D;
  b: tf.Tensor1D;
  stride: number;
}

/** Scores: the last layer's features weighted by `v` (a parameter, as the projection head's weights). */
function critic(x: tf.Tensor4D, layers: readonly Layer[], v: tf.Tensor): tf.Tensor {
  let h = x;
  for (const l of layers) {
    h = tf.fused.conv2d({ x: h, filter: l.w, bias: l.b, strides: l.stride, pad: 'same', activation: 'leakyrelu', leakyreluAlpha: ALPHA });
  }
  return tf.sum(tf.mul(h, v), [1, 2, 3]);
}

/** Layers of these (channels in, channels out, stride), random weights. */
function criticLayers(spec: ReadonlyArray<[number, number, number]>, seed: number): Layer[] {
  return spec.map(([ci, co, stride], i) => ({
    w: tf.randomNormal([4, 4, ci, co], 0, 0.2, 'float32', seed + 2 * i) as tf.Tensor4D,
    b: tf.randomNormal([co], 0, 0.1, 'float32', seed + 2 * i + 1) as tf.Tensor1D,
    stride,
  }));
}

/**
 * A WGAN-GP critic loss on x, mean score plus the penalty on the gradient of the score in x, and its
 * gradients in every weight, bias and the head's `v`.
 */
function criticLossGrads(x: tf.Tensor4D, layers: readonly Layer[], v: tf.Tensor): tf.Tensor[] {
  const params = [...layers.flatMap((l) => [l.w, l.b]), v];
  const loss = (...ps: tf.Tensor[]): tf.Scalar => {
    const ls = layers.map((l, i) => ({ w: ps[2 * i] as tf.Tensor4D, b: ps[2 * i + 1] as tf.Tensor1D, stride: l.stride }));
    const head = ps[ps.length - 1]!;
    const g = tf.grad((xi: tf.Tensor) => tf.sum(critic(xi as tf.Tensor4D, ls, head)))(x);
    const norms = tf.sqrt(tf.add(tf.sum(tf.square(g), [1, 2, 3]), 1e-12));
    return tf.add(tf.mean(critic(x, ls, head)), tf.mul(10, tf.mean(tf.square(tf.sub(norms, 1))))) as tf.Scalar;
  };
  return tf.tidy(() => {
    const { value, grads } = tf.valueAndGrads(loss)(params);
    return [value, ...grads];
  });
}

/** The loss and gradients, the programs dispatched computing them, and how many of those were the mask's own. */
function counted(fn: () => tf.Tensor[]): { out: tf.Tensor[]; programs: number; maskPrograms: number } {
  const count = () => fastDispatchStats()?.dispatches ?? 0;
  const start = count();
  const { result, programs } = recordPrograms(fn);
  return { out: result, programs: count() - start, maskPrograms: programs.filter((p) => p.shaderKey.startsWith('ganAugmentLeakyReluGrad')).length };
}

/** A critic of these layers on an x of this shape: its weights, x and the head's v (the last layer's output shape). */
function criticCase(spec: ReadonlyArray<[number, number, number]>, xShape: [number, number, number, number], seed: number) {
  const layers = criticLayers(spec, seed);
  const x = tf.randomNormal(xShape, 0, 1, 'float32', seed + 100) as tf.Tensor4D;
  let side = xShape[1];
  for (const [, , stride] of spec) side = Math.ceil(side / stride);
  const v = tf.randomNormal([1, side, side, spec[spec.length - 1]![1]], 0, 1, 'float32', seed + 101);
  return { layers, x, v, dispose: () => tf.dispose([x, v, ...layers.flatMap((l) => [l.w, l.b])]) };
}

describe.skipIf(reason !== '')('a critic through the masked gradients (WebGPU)', () => {
  // DCGAN-like layers, then a stride-5 layer whose input gradient has no masked program (it masks first).
  const SPECS: ReadonlyArray<[string, ReadonlyArray<[number, number, number]>, [number, number, number, number]]> = [
    ['three k4 s2 layers, RGB input', [[3, 8, 2], [8, 16, 2], [16, 12, 2]], [3, 16, 16, 3]],
    ['a stride-5 layer (the one-pixel input gradient)', [[3, 8, 5], [8, 8, 2]], [2, 20, 20, 3]],
  ];

  it.each(SPECS)('%s: the loss and its gradients (the penalty differentiated twice) the same bits, in fewer programs', async (name, spec, xShape) => {
    const { layers, x, v, dispose } = criticCase(spec, xShape, 60);
    criticLossGrads(x, layers, v).forEach((t) => t.dispose()); // warm: uploads and pipelines
    const before = tf.memory().numTensors;
    const ours = counted(() => criticLossGrads(x, layers, v));
    const theirs = withSwitchOff('GAN_AUGMENT_MASKED_CONV_GRADS', () => counted(() => criticLossGrads(x, layers, v)));
    expect(ours.out.length).toBe(2 + 2 * spec.length);
    for (let i = 0; i < ours.out.length; i++) await expectSameBits(ours.out[i]!, theirs.out[i]!, `${name}: output ${i}`);
    // Off, a layer's mask is a program of its own in the loss's backward pass, in the penalty's inner
    // gradient and in its outer pass. Here every one is read by the gradient programs, and nothing is
    // added; but the stride-5 layer's input gradient in the inner pass, which has no masked program,
    // masks dy first.
    const fallbacks = spec.some((s) => s[2] === 5) ? 1 : 0;
    console.log(`${name}: ${theirs.programs} -> ${ours.programs} programs, ${theirs.maskPrograms} -> ${ours.maskPrograms} of the mask's own`);
    expect(theirs.maskPrograms).toBe(3 * spec.length);
    expect(ours.maskPrograms).toBe(fallbacks);
    expect(theirs.programs - ours.programs).toBe(theirs.maskPrograms - fallbacks);
    tf.dispose([...ours.out, ...theirs.out]);
    expect(tf.memory().numTensors, 'tensors left behind').toBe(before);
    dispose();
  });

  it('only with all four kernels ours: with our kernels off, or one of them not installed, the path of the masks of their own', async () => {
    const { layers, x, v, dispose } = criticCase(SPECS[0]![1], SPECS[0]![2], 80);
    const compare = async (what: string, run: <T>(fn: () => T) => T, masksOwn: boolean) => {
      const on = run(() => counted(() => criticLossGrads(x, layers, v)));
      const off = run(() => withSwitchOff('GAN_AUGMENT_MASKED_CONV_GRADS', () => counted(() => criticLossGrads(x, layers, v))));
      for (let i = 0; i < on.out.length; i++) await expectSameBits(on.out[i]!, off.out[i]!, `${what}: output ${i}`);
      expect(on.programs, what).toBe(off.programs);
      // With our kernels off the masks are tfjs's ops (no program of ours); with one kernel missing, ours.
      expect(on.maskPrograms, what).toBe(masksOwn ? 3 * SPECS[0]![1].length : 0);
      tf.dispose([...on.out, ...off.out]);
    };
    await compare('our kernels off', (fn) => withSwitchOff('GAN_AUGMENT_WGSL_KERNELS', fn), false);
    unregisterOurKernels(['Sum']);
    try {
      await compare('our Sum not installed', (fn) => fn(), true);
    } finally {
      registerOurKernels({ force: true, only: ['Sum'] });
    }
    dispose();
  });
});

/* ---------------------------------------------------------------------------------------------
 * The four ops' own gradients (what a derivative beyond the penalty's would take).
 * ------------------------------------------------------------------------------------------- */

describe.skipIf(reason !== '')("the masked ops' gradients (WebGPU)", () => {
  // Each op is linear in each argument with the others fixed (the mask is a constant), so for
  // f(a) = sum(op(a, ...) * r) the gradient at any a, dotted with a direction d, is f(d): a check of every
  // gradient function that uses no other gradient. tfjs has none to compare with (no gradient of
  // Conv2DBackpropFilter), and training never takes these (the penalty's is the second derivative).
  const c: Case = { name: 'k4 s2 same', x: [2, 8, 8, 3], k: 4, co: 6, stride: 2, pad: 'same' };
  const OPS: ReadonlyArray<[string, (t: ReturnType<typeof tensorsOf>, m: MaskedConv) => Array<[string, tf.Tensor, (a: tf.Tensor) => tf.Tensor]>]> = [
    [
      'maskedConv2d(x, w)',
      (t, m) => [
        ['x', t.x, (a) => maskedConv2d(a as tf.Tensor4D, t.filter as tf.Tensor4D, m)],
        ['w', t.filter, (a) => maskedConv2d(t.x as tf.Tensor4D, a as tf.Tensor4D, m)],
      ],
    ],
    [
      'maskedInputGrad(dy, w)',
      (t, m) => [
        ['dy', t.dy, (a) => maskedInputGrad(a as tf.Tensor4D, t.filter as tf.Tensor4D, m, c.x)],
        ['w', t.filter, (a) => maskedInputGrad(t.dy as tf.Tensor4D, a as tf.Tensor4D, m, c.x)],
      ],
    ],
    [
      'maskedFilterGrad(x, dy)',
      (t, m) => [
        ['x', t.x, (a) => maskedFilterGrad(a as tf.Tensor4D, t.dy as tf.Tensor4D, m, t.filter.shape)],
        ['dy', t.dy, (a) => maskedFilterGrad(t.x as tf.Tensor4D, a as tf.Tensor4D, m, t.filter.shape)],
      ],
    ],
    ['maskedBiasGrad(dy)', (t, m) => [['dy', t.dy, (a) => maskedBiasGrad(a as tf.Tensor4D, m)]]],
  ];

  it.each(OPS)('%s: the gradient in each argument, dotted with a direction, is the op at that direction', async (name, argsOf) => {
    const t = tensorsOf(c, 90);
    // NaN in y would make every product NaN: a y of finite values, zeros among them, for this check.
    const y = tf.where(tf.isNaN(t.y), tf.zerosLike(t.y), t.y);
    const m: MaskedConv = { y, alpha: ALPHA, strides: [c.stride, c.stride], pad: c.pad };
    const before = tf.memory().numTensors;
    for (const [arg, a0, op] of argsOf(t, m)) {
      const [grad, atD, dot] = tf.tidy(() => {
        const r = tf.randomNormal(op(a0).shape, 0, 1, 'float32', 91);
        const d = tf.randomNormal(a0.shape, 0, 1, 'float32', 92);
        const f = (a: tf.Tensor) => tf.sum(tf.mul(op(a), r));
        const g = tf.grad(f)(a0);
        return [g, f(d), tf.sum(tf.mul(g, d))];
      });
      const [want, got] = [(await atD.data())[0]!, (await dot.data())[0]!];
      expect(Math.abs(got - want), `${name}, in ${arg}: ${got} against ${want}`).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(want)));
      expect(Math.abs(want), `${name}, in ${arg}: not a trivial check`).toBeGreaterThan(1e-3);
      tf.dispose([grad, atD, dot]);
    }
    expect(tf.memory().numTensors, 'tensors left behind').toBe(before);
    y.dispose();
    t.dispose();
  });
});
