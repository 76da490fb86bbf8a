/**
 * BatchMatMul for tfjs-backend-wasm with a transposed operand. 4.22 runs XNNPACK's fast fully
 * connected operator only when neither operand is transposed (and the batch is 1); with
 * transposeA or transposeB it falls back to a plain scalar loop. The gradients of a dense layer are
 * exactly those: DCGAN's first generator layer (latent 100 -> 8,192) at batch 16 took 26.7 ms for
 * x^T dy and 11.1 ms for dy W^T on the build machine, 46 ms of a 1,250 ms DCGAN-64 step. So a
 * transposed operand (batch 1) is transposed first, by the backend's own Transpose kernel, and the
 * fast path runs: 2.2-3.2 and 4.5-7.6 ms (two runs). The sums run in XNNPACK's order, not the loop's, so the results
 * differ from the backend's in the last bits. Batched products (both paths loop anyway) and other
 * dtypes run the backend's own kernel unchanged.
 */
import { tf } from '../tf';

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

/** [..., r, c] as a transposed [1, c, r] by the backend's Transpose kernel (the caller frees it). */
function transposed(x: tf.TensorInfo, transpose: tf.KernelFunc, backend: tf.KernelBackend): tf.TensorInfo {
  const [r, c] = x.shape.slice(-2) as [number, number];
  const view = { dataId: x.dataId, dtype: x.dtype, shape: [1, r, c] };
  return transpose({ inputs: { x: view }, attrs: { perm: [0, 2, 1] }, backend }) as tf.TensorInfo;
}

export function batchMatMulKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const a = args.inputs.a as tf.TensorInfo;
    const b = args.inputs.b as tf.TensorInfo;
    const { transposeA, transposeB } = args.attrs as unknown as MatMulAttrs;
    const single = (t: tf.TensorInfo) => t.shape.length >= 2 && tf.util.sizeFromShape(t.shape.slice(0, -2)) === 1;
    const transpose = tf.getKernel('Transpose', 'wasm')?.kernelFunc;
    if (!(transposeA || transposeB) || a.dtype !== 'float32' || b.dtype !== 'float32' || !single(a) || !single(b) || !transpose) {
      return original(args);
    }
    const backend = args.backend as tf.KernelBackend & { disposeData(dataId: object): boolean };
    const made: tf.TensorInfo[] = [];
    try {
      const aa = transposeA ? transposed(a, transpose, backend) : a;
      if (transposeA) made.push(aa);
      const bb = transposeB ? transposed(b, transpose, backend) : b;
      if (transposeB) made.push(bb);
      const out = original({ ...args, inputs: { a: aa, b: bb }, attrs: { ...args.attrs, transposeA: false, transposeB: false } }) as tf.TensorInfo;
      // The shape the caller expects: the operands' (all 1) batch axes broadcast, then rows and columns.
      const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
      out.shape = [...outer, ...out.shape.slice(-2)];
      return out;
    } finally {
      for (const t of made) backend.disposeData(t.dataId);
    }
  };
}
