/**
 * Sum and Mean for tfjs-backend-wasm over a tensor's leading axes: per channel over [N, H, W] of an
 * NHWC activation, as a bias's gradient and batch norm's statistics and gradients reduce, several
 * dozen times per training step. 4.22 reduces only innermost axes, so it first transposes the tensor
 * ([N, H, W, C] to [C, N, H, W], a copy through its general Transpose), then sums each row: 1.15 ms
 * for [16, 16, 16, 128] on the build machine, where the sum itself takes 0.28 ms (Sum and Mean were 86
 * ms of a 1,250 ms DCGAN-64 step at batch 16, `bench/profile-step.bench.ts --backend wasm`). Ours
 * sums the columns where they lie (./simd/gather-gemm.wat `sumLeading`), each column's values added
 * in the same order as the backend's after its transpose (in slices of columns on every thread where
 * the tensor is large: ./simd/kernel-threads.ts), and Mean divides by the count as it does: the same
 * bits. Anything else (other axes, all axes, int32, empty tensors) runs the backend's own.
 */
import { tf } from '../tf';
import { activeHeap } from './heap';

interface ReduceAttrs {
  axis: number | number[];
  keepDims: boolean;
}

/** The number of leading axes that `axis` names when it names exactly axes 0..k-1 (k < rank), else 0. */
export function leadingAxes(axis: number | number[], shape: readonly number[]): number {
  const axes = [...new Set(tf.util.parseAxisParam(axis, shape as number[]))].sort((a, b) => a - b);
  if (axes.length === 0 || axes.length >= shape.length) return 0;
  return axes.every((a, i) => a === i) ? axes.length : 0;
}

function leadingReduceKernel(original: tf.KernelFunc, mean: boolean): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const { axis, keepDims } = args.attrs as unknown as ReduceAttrs;
    const heap = activeHeap();
    const k = heap && x.dtype === 'float32' ? leadingAxes(axis, x.shape) : 0;
    const rows = tf.util.sizeFromShape(x.shape.slice(0, k));
    const cols = tf.util.sizeFromShape(x.shape.slice(k));
    if (!heap || k === 0 || rows === 0 || cols === 0) return original(args);
    const shape = keepDims ? x.shape.map((d, i) => (i < k ? 1 : d)) : x.shape.slice(k);
    const out = heap.backend.makeOutput(shape, 'float32'); // may grow the heap: addresses are read after
    heap.kernels.sumLeading(heap.at(x), rows, cols, heap.at(out), mean ? rows : 1);
    return out;
  };
}

/** The Sum kernel for 'wasm': ours over leading axes, else the backend's own. */
export const sumKernel = (original: tf.KernelFunc): tf.KernelFunc => leadingReduceKernel(original, false);
/** The Mean kernel for 'wasm': ours over leading axes, else the backend's own. */
export const meanKernel = (original: tf.KernelFunc): tf.KernelFunc => leadingReduceKernel(original, true);
