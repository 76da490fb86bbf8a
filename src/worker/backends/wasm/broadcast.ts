/**
 * Binary element-wise kernels (Multiply, Add, Sub, ...) of tfjs-backend-wasm made fast when one
 * operand repeats: 4.22 runs two same-shape operands (or one scalar) through a tight loop, 0.3 ns
 * per element here, but any other broadcast through a loop that computes each element's source
 * indices, 20 ns per element: 1.4 ms to multiply [16, 4, 4, 256] by a per-channel [256]. Batch
 * norm's forward and backward passes do that a few dozen times per training step (about 70 ms of a
 * 490 ms DCGAN-32 step, `bench/profile-step.bench.ts --detail Multiply,Sub`).
 *
 * When the smaller operand repeats as a whole (its shape, less leading 1s, ends the larger's shape:
 * per channel, [C] or [1, 1, 1, C] against [N, H, W, C]) or value by value (its shape is the
 * larger's first axes followed by 1s: per sample, [N, 1, 1, 1], as in the WGAN-GP penalty), it is
 * first expanded to the larger's shape inside the WebAssembly heap (block copies, doubling; or one
 * fill per value), and the backend's own kernel then takes the same-shape path. The arithmetic is the
 * same per element, so the results are bit-identical. Other cases (both operands broadcast, [N, 1, 1,
 * C], other dtypes) use the backend's own path.
 */
import type { tf } from '../tf';

/** What this file reads of tfjs-backend-wasm 4.22's BackendWasm. */
interface WasmBackendInternals {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object): boolean;
}

/** The binary kernels wrapped (their inputs are `a` and `b`). */
export const BROADCAST_KERNELS = ['Add', 'Sub', 'Multiply', 'RealDiv', 'SquaredDifference', 'Maximum', 'Minimum'] as const;

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Whether `small` repeats as a whole inside `big`: without its leading 1s, it is `big`'s last axes,
 * and it is not longer than `big` (so that the result has big's shape).
 */
export function isTrailingBlock(small: readonly number[], big: readonly number[]): boolean {
  let first = 0;
  while (first < small.length && small[first] === 1) first++;
  const core = small.slice(first);
  if (small.length > big.length || core.length === 0) return false;
  const offset = big.length - core.length;
  return core.every((d, i) => d === big[offset + i]);
}

/**
 * Whether each value of `small` repeats over a contiguous block of `big`: `small` (as long as `big`)
 * is `big`'s first axes followed by 1s, e.g. one value per sample, [N, 1, 1, 1] against
 * [N, H, W, C]. Returns the block's length, or 0.
 */
export function leadingBlockLength(small: readonly number[], big: readonly number[]): number {
  if (small.length !== big.length) return 0;
  let k = 0;
  while (k < small.length && small[k] === big[k]) k++;
  if (k === 0 || small.slice(k).some((d) => d !== 1)) return 0;
  return sizeOf(big.slice(k));
}

/** `block` bytes at `from`, repeated to fill `total` bytes at `to` (copyWithin doubling). */
function repeatInHeap(heap: Uint8Array, from: number, block: number, to: number, total: number): void {
  heap.copyWithin(to, from, from + block);
  for (let filled = block; filled < total; filled *= 2) {
    heap.copyWithin(to + filled, to, to + Math.min(filled, total - filled));
  }
}

export function channelBroadcastKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const a = args.inputs.a as tf.TensorInfo;
    const b = args.inputs.b as tf.TensorInfo;
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return original(args);
    const sizeA = sizeOf(a.shape);
    const sizeB = sizeOf(b.shape);
    if (sizeA === sizeB || sizeA <= 1 || sizeB <= 1) return original(args); // same shape, or a scalar: already fast
    const aIsBig = sizeA > sizeB;
    const big = aIsBig ? a : b;
    const small = aIsBig ? b : a;
    const trailing = isTrailingBlock(small.shape, big.shape);
    const inner = trailing ? 0 : leadingBlockLength(small.shape, big.shape);
    if (!trailing && inner === 0) return original(args);

    const backend = args.backend as unknown as WasmBackendInternals;
    let repeated: tf.TensorInfo;
    try {
      repeated = backend.makeOutput(big.shape, 'float32'); // may grow the heap: offsets are read after
    } catch {
      return original(args); // no room for the expanded copy: the backend's own path needs none
    }
    try {
      const heap = backend.wasm.HEAPU8;
      const from = backend.dataIdMap.get(small.dataId).memoryOffset;
      const to = backend.dataIdMap.get(repeated.dataId).memoryOffset;
      const smallSize = sizeOf(small.shape);
      if (trailing) repeatInHeap(heap, from, smallSize * 4, to, sizeOf(big.shape) * 4);
      else {
        const values = new Float32Array(heap.buffer, from, smallSize);
        const out = new Float32Array(heap.buffer, to, smallSize * inner);
        for (let i = 0; i < smallSize; i++) out.fill(values[i]!, i * inner, (i + 1) * inner);
      }
      const inputs = aIsBig ? { a, b: repeated } : { a: repeated, b };
      return original({ ...args, inputs });
    } finally {
      backend.disposeData(repeated.dataId);
    }
  };
}
