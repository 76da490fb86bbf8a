/**
 * Tanh for tfjs-backend-wasm: one SIMD pass in the heap (./simd/gather-gemm.wat `tanh`) in place of
 * 4.22's scalar loop over the C library's tanhf. A generator's [32, 64, 64, 3] output on the build
 * machine: 5-7 ms -> 1.6-1.7 ms (medians of 60 calls).
 *
 * Not the same bits as tanhf: within 2 units in the last place of the correctly rounded tanh, where
 * tanhf is within 1. Of 6 million float32 inputs (every 6e-6 from -12 to 12, and 2 million down to
 * about 4e-9 in size) 97.2% came out exactly rounded, 2.7% 1 unit off, 0.08% 2 units (against Math.tanh
 * rounded to float32; ./wasm.test.ts checks the bound on fewer).
 * Signed zeros, infinities and NaN as tanh gives them. Its gradient (tfjs-core's, dy * (1 - y^2)) is
 * unchanged. float32 only; other dtypes, and every other backend, keep tfjs's kernel.
 */
import { tf } from '../tf';
import { activeHeap } from './heap';

/** The Tanh kernel for 'wasm': the heap's helper for float32, else the backend's own. */
export function tanhKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const heap = activeHeap();
    if (!heap || x.dtype !== 'float32') return original(args);
    const out = heap.backend.makeOutput(x.shape, 'float32');
    heap.kernels.helpers.tanh(heap.at(x), tf.util.sizeFromShape(x.shape), heap.at(out));
    return out;
  };
}
