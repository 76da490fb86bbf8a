/**
 * Conv2D and FusedConv2D (the forward convolution) for tfjs-backend-wasm through our own SIMD kernel
 * (./simd/gather-gemm.wat), over the backend's XNNPACK convolution:
 *
 *   y[p, co] = sum_k xPad[corner(p) + offset(k)] * w[k, co]
 *
 * for output pixels p = (n, oh, ow) and filter rows k = (kh, kw, ci), with x copied once into a
 * zero-padded image so that every receptive field is whole. The filter is read where tfjs keeps it
 * ([KH, KW, Ci, Co] is [K, Co] row-major), so nothing is packed: XNNPACK packs a convolution's filter
 * again for every new filter tensor, that is at every training step, which on the deep layers costs
 * about as much as their multiply-adds (DCGAN-64 D4 at batch 16: 50 ms for 21 GFLOP/s).
 *
 * The output pixels are cut into slices of even length that the calling thread and our worker threads
 * take (./simd/kernel-threads.ts); each slice sums its pixels over all filter rows in order, so the
 * result is the same bits whatever the slices and threads. The input gradient's stride phases
 * (./conv2d-backprop-input.ts) are forward convolutions too and come here through tf.conv2d.
 *
 * Where it does not apply the backend's own kernel runs: NCHW, dilations, output channels not a
 * multiple of 16 (or none), an odd number of output pixels, negative explicit padding, a fused
 * activation other than 'linear' (the app fuses only the bias), or a backend that is not WebAssembly. Measured with
 * `bench/wasm-conv.bench.ts` (docs/PERFORMANCE.md).
 */
import { tf } from '../tf';
import type { ConvAttrs } from '../kernels/common';
import { type Heap, activeHeap, inPanels, panelFloats, uninitialised, writeConvTables } from './heap';
import { byWinograd, winograd4Applies, winograd4On, winograd4Pays, winogradApplies, winogradOn, winogradPays } from './winograd';

interface Conv2DAttrs extends ConvAttrs {
  dilations?: number | [number, number];
}

interface FusedConv2DAttrs extends Conv2DAttrs {
  activation?: string;
}

/** The forward problem: what the kernel needs to know, in NHWC. */
interface ForwardGeometry {
  n: number; h: number; w: number; ci: number;
  oh: number; ow: number; co: number;
  kh: number; kw: number; sh: number; sw: number;
  padTop: number; padLeft: number;
  /** The padded image's size: every receptive field inside it, and all of x too. */
  hp: number; wp: number;
}

function forwardGeometry(xShape: number[], wShape: number[], attrs: Conv2DAttrs): ForwardGeometry {
  const [n, h, w, ci] = xShape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(
    [n, h, w, ci], wShape as [number, number, number, number], attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast',
  );
  const { outHeight: oh, outWidth: ow, outChannels: co, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  return {
    n, h, w, ci, oh, ow, co, kh, kw, sh, sw, padTop, padLeft,
    hp: Math.max(h + padTop, (oh - 1) * sh + kh),
    wp: Math.max(w + padLeft, (ow - 1) * sw + kw),
  };
}

function dilationsAreOne(d: Conv2DAttrs['dilations']): boolean {
  return d === undefined || (Array.isArray(d) ? d.every((v) => v === 1) : d === 1);
}

/** Whether our kernel computes this convolution (else the backend's own does). */
export function gemmApplies(x: tf.TensorInfo, w: tf.TensorInfo, attrs: Conv2DAttrs): boolean {
  if (x.dtype !== 'float32' || w.dtype !== 'float32' || x.shape.length !== 4 || w.shape.length !== 4) return false;
  if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC' || !dilationsAreOne(attrs.dilations)) return false;
  if (x.shape[3] !== w.shape[2]) return false; // the backend's kernel reports the mismatch
  const g = forwardGeometry(x.shape, w.shape, attrs);
  const pixels = g.n * g.oh * g.ow;
  // Negative explicit padding (tfjs-core allows it) is left to the backend: padImages copies from the
  // top-left padding on.
  if (g.padTop < 0 || g.padLeft < 0) return false;
  return g.co > 0 && g.co % 16 === 0 && pixels > 0 && pixels % 2 === 0 && g.kh * g.kw * g.ci > 0;
}

/**
 * y [N, OH, OW, Co] = conv2d(x, w) (+ bias) by our kernels, `gemmApplies` holding: Winograd where it
 * applies and is on (or asked for), else the direct gather-GEMM and then the bias.
 */
function byOurs(x: tf.TensorInfo, w: tf.TensorInfo, bias: tf.TensorInfo | undefined, attrs: Conv2DAttrs, heap: Heap, method?: ForwardMethod): tf.Tensor4D {
  const g = forwardGeometry(x.shape, w.shape, attrs);
  if (method === 'winograd4' || (method === undefined && winograd4On() && winograd4Pays(g))) return byWinograd(x, w, bias, g, heap, 4);
  if (method === 'winograd' || (method === undefined && winogradOn() && winogradPays(g))) return byWinograd(x, w, bias, g, heap);
  const y = byGatherGemm(x, w, g, heap);
  // The bias is added in the heap, not with tfjs ops: inside a kernel those count references on
  // their inputs, and a bias was freed while its layer still held it.
  if (bias) heap.kernels.helpers.addRowVector(heap.at(y), y.size / y.shape[3]!, heap.at(bias), y.shape[3]!);
  return y;
}

/** y [N, OH, OW, Co] = conv2d(x, w) by our gather-GEMM, directly; `gemmApplies` must hold. */
function byGatherGemm(x: tf.TensorInfo, w: tf.TensorInfo, g: ForwardGeometry, heap: Heap): tf.Tensor4D {
  const { n, h, ci, oh, ow, co, kw, hp, wp } = g;
  const pixels = n * oh * ow;
  const rows = g.kh * kw * ci;
  const { at, backend } = heap;
  const kernels = heap.kernels;
  const padded = hp !== h || wp !== g.w;
  const out = uninitialised<tf.Rank.R4>(heap, [n, oh, ow, co]);
  // Scratch (not zeroed: every byte read is written first): the padded x when x needs padding, the
  // filter rows' offsets, the output pixels' corners, the filter in panels (`inPanels`).
  const xFloats = padded ? n * hp * wp * ci : 0;
  const scratch = backend.makeOutput([xFloats + rows + pixels + panelFloats(rows, co)], 'float32');
  try {
    const base = at(scratch);
    const xPad = padded ? base : at(x);
    const offsets = base + 4 * xFloats;
    const corners = offsets + 4 * rows;
    const panels = corners + 4 * pixels;
    if (padded) kernels.padImages(at(x), xPad, n, h, 4 * g.w * ci, hp, 4 * wp * ci, g.padTop, 4 * g.padLeft * ci);
    // m = output pixel: its corner; k = filter row: its offset.
    writeConvTables(new Int32Array(heap.memory.buffer), g, xPad, corners, offsets, rows);
    const sliceRows = kernels.rowSlice(pixels);
    kernels.gatherGemm({
      table: offsets, mOff: corners, m: pixels, co, kCount: rows, ...inPanels(heap, at(w), rows, co, panels),
      split: 'm', sliceRows, slices: Math.ceil(pixels / sliceRows), out: at(out), partialBytes: 0,
    });
    return out;
  } finally {
    backend.disposeData(scratch.dataId);
  }
}

/** 'gemm': our gather-GEMM directly; 'winograd' (F(2x2, 2x2)), 'winograd4' (F(4x4, 2x2)): ./winograd.ts; 'xnnpack': the backend's own. */
export type ForwardMethod = 'gemm' | 'winograd' | 'winograd4' | 'xnnpack';

/** The backend's own kernels, kept when ours are registered over them (for what ours does not do). */
const originals: { Conv2D?: tf.KernelFunc; FusedConv2D?: tf.KernelFunc } = {};

/**
 * conv2d(x, w) on the WebAssembly backend by `method` (default: ours where it applies), for tests
 * and benchmarks; NHWC, no bias.
 */
export function conv2dForward(x: tf.Tensor4D, w: tf.Tensor4D, attrs: Conv2DAttrs, method?: ForwardMethod): tf.Tensor4D {
  const heap = activeHeap();
  const ours = method === 'gemm' || method === 'winograd' || method === 'winograd4' || (method === undefined && heap !== null && gemmApplies(x, w, attrs));
  if (ours) {
    if (!heap || !gemmApplies(x, w, attrs)) throw new Error(`conv2d: the '${method}' method needs the WebAssembly backend and Co a multiple of 16`);
    if (method === 'winograd' && !winogradApplies(forwardGeometry(x.shape, w.shape, attrs))) {
      throw new Error("conv2d: the 'winograd' method needs a 4x4 filter of stride 2, an even output size and Ci a multiple of 4");
    }
    if (method === 'winograd4' && !winograd4Applies(forwardGeometry(x.shape, w.shape, attrs))) {
      throw new Error("conv2d: the 'winograd4' method needs a 4x4 filter of stride 2, an output size a multiple of 4 and Ci a multiple of 4");
    }
    return tf.tidy(() => byOurs(x, w, undefined, attrs, heap, method));
  }
  const original = originals.Conv2D;
  if (!original) throw new Error('conv2d: the WebAssembly backend is not started');
  return tf.engine().makeTensorFromTensorInfo(original({ inputs: { x, filter: w }, attrs: { dilations: 1, ...attrs } as unknown as tf.NamedAttrMap, backend: tf.backend() }) as tf.TensorInfo) as tf.Tensor4D;
}

/** The Conv2D kernel for 'wasm': ours where it applies, else the backend's own. */
export function conv2dKernel(original: tf.KernelFunc): tf.KernelFunc {
  originals.Conv2D = original;
  return (args) => {
    const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    const attrs = args.attrs as unknown as Conv2DAttrs;
    const heap = activeHeap();
    if (!heap || !gemmApplies(x, filter, attrs)) return original(args);
    return tf.tidy(() => byOurs(x, filter, undefined, attrs, heap));
  };
}

/**
 * The FusedConv2D kernel for 'wasm' (tfjs-layers' Conv2D with a bias): ours and then the bias (a
 * vector of Co), where ours applies and the activation is 'linear'; else the backend's own.
 */
export function fusedConv2dKernel(original: tf.KernelFunc): tf.KernelFunc {
  originals.FusedConv2D = original;
  return (args) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const attrs = args.attrs as unknown as FusedConv2DAttrs;
    const heap = activeHeap();
    if (!heap || !x || !filter || preluActivationWeights || (attrs.activation ?? 'linear') !== 'linear' || !gemmApplies(x, filter, attrs)) {
      return original(args);
    }
    const badBias = bias && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== filter.shape[3]);
    if (badBias) return original(args);
    return tf.tidy(() => byOurs(x, filter, bias, attrs, heap));
  };
}
