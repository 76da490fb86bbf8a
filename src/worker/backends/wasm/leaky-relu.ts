/**
 * LeakyReLU and its gradient for tfjs-backend-wasm from the backend's fast element-wise kernels.
 * 4.22's own LeakyRelu, Greater and Maximum are scalar loops (1.0-3.2 ms per 16x16x16x64 tensor on
 * the build machine) where Step, Multiply and Add take 0.05-0.07 ms; tfjs-core's gradient is
 * where(greater(x, 0), dy, dy * alpha). Both become a multiplication by one factor:
 *   factor(x) = step(x) * (1 - alpha) + alpha       (1 where x > 0, alpha elsewhere)
 *   y = x * factor(x),   dx = dy * factor(x)
 * This is exact, bit for bit the same as tfjs's, when (1 - alpha) + alpha rounds to 1 in float32
 * (alpha 0.2, the DCGAN's, does): x * 1 = x, and x * alpha is the same product. For any other alpha,
 * and on every other backend, tfjs's own kernel runs. The gradient (for every backend, with the
 * factor form on wasm) is in ../gradients.ts, which keeps the mask off the tape.
 * 1.58 -> 0.25 ms forward, 1.52 -> 0.22 ms gradient per 262k values (2 threads, build machine).
 *
 * Where it is not on a tape (the forward kernel, and the gradient inside its custom op), the whole
 * product is one pass of a SIMD helper in the heap instead of Step, Multiply, Add and Multiply
 * (`leakyMulInHeap`, ./simd/gather-gemm.wat leakyMul: the same bits): [16, 32, 32, 64] 1.9 -> 0.4 ms.
 */
import { tf } from '../tf';
import { activeHeap } from './heap';

/** alpha as the float32 it is in tfjs, if the factor form is exact for it, else null. */
export function exactAlpha(alpha: number): number | null {
  const a = Math.fround(alpha);
  const rest = Math.fround(1 - a);
  return a > 0 && a < 1 && Math.fround(rest + a) === 1 ? a : null;
}

/** 1 where x > 0, alpha elsewhere (float32); alpha from exactAlpha. */
export function leakyFactor(x: tf.Tensor, alpha: number): tf.Tensor {
  return tf.add(tf.mul(tf.step(x), 1 - alpha), alpha);
}

/**
 * src * factor(x) (float32 tensors of one size; alpha from exactAlpha) by the heap's helper, as a new
 * tensor's data (the caller owns it); null where the backend is not WebAssembly. Records nothing on
 * a gradient tape.
 */
export function leakyMulInHeap(src: tf.TensorInfo, x: tf.TensorInfo, alpha: number): tf.TensorInfo | null {
  const heap = activeHeap();
  const n = tf.util.sizeFromShape(x.shape);
  if (!heap || src.dtype !== 'float32' || x.dtype !== 'float32' || tf.util.sizeFromShape(src.shape) !== n) return null;
  const out = heap.backend.makeOutput(src.shape, 'float32');
  heap.kernels.leakyMul(heap.at(src), heap.at(x), n, alpha, heap.at(out));
  return out;
}

/** The LeakyRelu kernel for 'wasm': the factor form's bits in one pass when exact, else the backend's own kernel. */
export function leakyReluKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.Tensor;
    const alpha = exactAlpha((args.attrs as unknown as { alpha: number }).alpha);
    if (alpha === null || x.dtype !== 'float32') return original(args);
    return leakyMulInHeap(x, x, alpha) ?? tf.tidy(() => tf.mul(x, leakyFactor(x, alpha)));
  };
}
