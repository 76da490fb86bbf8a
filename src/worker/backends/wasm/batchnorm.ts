/**
 * Batch normalisation's training pass on WebAssembly (issue 5), for ../../models/batchnorm.ts: the
 * same closed form as the WebGPU programs (../kernels/batchnorm-kernels.ts), each pass one call of a
 * SIMD helper in the heap (./simd/gather-gemm.wat: sumLeading for the mean, as ./reduce.ts's Mean;
 * bnVariance, bnNormalize, bnBackwardSums, bnInputGrad).
 *
 * tfjs-layers' BatchNormalization computes tf.moments and tf.batchNorm and lets autodiff go back
 * through both: on this backend dozens of kernels per layer and step, most of them single-threaded
 * element-wise passes over the whole activation (Multiply, Sub, Add, Tile), and 4.22's FusedBatchNorm
 * itself (2.7 ms for [16, 16, 16, 128] on the build machine). A DCGAN-64 step has 13 training batch
 * norms and their 13 backward passes; with this file it runs 800 kernels instead of 1,614. Here:
 * forward, two column passes (mean, then variance) and one element-wise pass; backward, one column
 * pass for both sums and one element-wise pass for dx ([16, 32, 32, 64]: 1.0 ms forward, 1.8 ms
 * backward).
 *
 * Applies to float32 tensors whose channels (last axis) are a multiple of 16; anything else keeps
 * tfjs-layers' path. The sums add each column's values in row order, in slices of columns on every
 * thread (./simd/kernel-threads.ts), and the element-wise passes run in slices of rows: the same bits
 * on any number of threads.
 */
import { tf } from '../tf';
import type { BatchNormOps } from '../kernels/batchnorm-kernels';
import { type Heap, activeHeap, uninitialised } from './heap';

/** Whether our batch norm applies to x on the current backend. */
export function wasmBatchNormApplies(x: tf.Tensor): boolean {
  const cols = x.shape[x.rank - 1] ?? 0;
  return activeHeap() !== null && x.dtype === 'float32' && x.rank >= 2 && x.size > 0 && cols % 16 === 0;
}

function heapOrThrow(): Heap {
  const heap = activeHeap();
  if (!heap) throw new Error('batch norm: the WebAssembly backend is not active');
  return heap;
}

/**
 * Runs `f` with `floats` floats of scratch at a byte address (freed afterwards). Allocate every output
 * before calling: an allocation may grow the heap, and addresses are read inside `f`.
 */
function withScratch<T>(heap: Heap, floats: number, f: (scratch: number) => T): T {
  const scratch = heap.backend.makeOutput([floats], 'float32');
  try {
    return f(heap.at(scratch));
  } finally {
    heap.backend.disposeData(scratch.dataId);
  }
}

function dims(x: tf.Tensor): { rows: number; cols: number } {
  const cols = x.shape[x.rank - 1]!;
  return { rows: x.size / cols, cols };
}

export const wasmBatchNorm: BatchNormOps<[tf.Tensor, tf.Tensor]> = {
  moments(x) {
    const heap = heapOrThrow();
    const { rows, cols } = dims(x);
    const m = uninitialised<tf.Rank.R1>(heap, [cols]);
    const v = uninitialised<tf.Rank.R1>(heap, [cols]);
    const { kernels } = heap;
    kernels.sumLeading(heap.at(x), rows, cols, heap.at(m), rows);
    kernels.bnVariance(heap.at(x), rows, cols, heap.at(m), heap.at(v), rows);
    return [m, v];
  },

  normalize(x, [m, v], gamma, beta, eps) {
    const heap = heapOrThrow();
    const { rows, cols } = dims(x);
    const y = uninitialised(heap, x.shape);
    withScratch(heap, cols, (coef) =>
      heap.kernels.bnNormalize(heap.at(x), rows, cols, heap.at(m), heap.at(v), heap.at(gamma), heap.at(beta), eps, coef, heap.at(y)),
    );
    return y;
  },

  backwardSums(dy, x, [m, v], eps) {
    const heap = heapOrThrow();
    const { rows, cols } = dims(x);
    const dbeta = uninitialised<tf.Rank.R1>(heap, [cols]);
    const dgamma = uninitialised<tf.Rank.R1>(heap, [cols]);
    heap.kernels.bnBackwardSums(heap.at(dy), heap.at(x), rows, cols, heap.at(m), heap.at(v), eps, heap.at(dbeta), heap.at(dgamma));
    return [dbeta, dgamma];
  },

  inputGrad(dy, x, [m, v], gamma, dbeta, dgamma, n, eps) {
    const heap = heapOrThrow();
    const { rows, cols } = dims(x);
    const dx = uninitialised(heap, x.shape);
    withScratch(heap, 4 * cols, (coef) =>
      heap.kernels.bnInputGrad(
        heap.at(dy), heap.at(x), rows, cols, heap.at(m), heap.at(v), heap.at(gamma), heap.at(dbeta), heap.at(dgamma), n, eps, coef, heap.at(dx),
      ),
    );
    return dx;
  },

  /**
   * tfjs-layers' update, value - (value - batch) * decay: a few hundred values, so one JavaScript pass
   * over the heap rather than three tfjs kernels (Sub, Multiply, Sub: 78 of a DCGAN-64 step's kernels,
   * each costing more to dispatch than to compute). Each operation rounded to float32 in the same
   * order, decay too (tfjs's scalar is a float32): the same bits as the three kernels.
   */
  movingAverage(value, [mean, variance], which, decay) {
    const heap = heapOrThrow();
    const batch = which === 'mean' ? mean : variance;
    if (value.dtype !== 'float32' || batch.dtype !== 'float32' || value.size !== batch.size) {
      return tf.tidy(() => tf.sub(value, tf.mul(tf.sub(value, batch), decay)));
    }
    const out = uninitialised(heap, value.shape); // may grow the heap: addresses and the view after
    const f32 = new Float32Array(heap.memory.buffer);
    const [v, b, o] = [heap.at(value) / 4, heap.at(batch) / 4, heap.at(out) / 4];
    const d = Math.fround(decay);
    for (let i = 0; i < value.size; i++) {
      f32[o + i] = f32[v + i]! - Math.fround(Math.fround(f32[v + i]! - f32[b + i]!) * d);
    }
    return out;
  },
};

/**
 * The FusedBatchNorm kernel for 'wasm' (batch norm with given statistics: inference, as when a
 * generator makes images): bnNormalize in one pass where x's channels are a multiple of 16 and every
 * statistic, scale and offset is a float32 vector of C; else the backend's own (4.22's: 2.7 ms for
 * [16, 16, 16, 128], ours 0.25). Not bit-identical to it: within float32 rounding (tested).
 */
export function fusedBatchNormKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x, mean, variance, offset, scale } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const { varianceEpsilon } = args.attrs as unknown as { varianceEpsilon: number };
    const heap = activeHeap();
    if (!heap || !x || x.dtype !== 'float32' || x.shape.length < 2) return original(args);
    const cols = x.shape[x.shape.length - 1]!;
    const vector = (t: tf.TensorInfo | undefined) => t !== undefined && t.dtype === 'float32' && tf.util.sizeFromShape(t.shape) === cols;
    const size = tf.util.sizeFromShape(x.shape);
    if (size === 0 || cols % 16 !== 0 || ![mean, variance, offset, scale].every(vector)) return original(args);
    const y = heap.backend.makeOutput(x.shape, 'float32');
    withScratch(heap, cols, (coef) =>
      heap.kernels.bnNormalize(
        heap.at(x), size / cols, cols, heap.at(mean!), heap.at(variance!), heap.at(scale!), heap.at(offset!), varianceEpsilon, coef, heap.at(y),
      ),
    );
    return y;
  };
}
