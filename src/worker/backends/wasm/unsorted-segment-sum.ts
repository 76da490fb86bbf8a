/**
 * UnsortedSegmentSum for tfjs-backend-wasm (missing in 4.22). The conditional models need it: it
 * is the gradient of Gather (tfjs-layers' Embedding, the label embeddings of the cWGAN-GP).
 *   out[s, ...] = sum over i with segmentIds[i] == s of x[i, ...]   (ids outside [0, S) dropped)
 * As one matmul: oneHot(segmentIds, S)^T [S, n] . x [n, rest]. OneHot is explicitly transposed
 * (small: n x S) because wasm 4.22's matmul with transposeA=true takes a slow path, and made as
 * int32 then cast: wasm 4.22's OneHot ignores its dtype attribute and always writes int32 values,
 * so oneHot(..., 'float32') holds int bit patterns (1 reads as 1.4e-45).
 */
import { tf } from '../tf';

export function unsortedSegmentSum(x: tf.Tensor, segmentIds: tf.Tensor, numSegments: number): tf.Tensor {
  return tf.tidy(() => {
    const n = segmentIds.size;
    const lead = segmentIds.rank;
    if (x.shape.slice(0, lead).join() !== segmentIds.shape.join()) {
      throw new Error(`UnsortedSegmentSum (wasm): segmentIds ${segmentIds.shape} is not a prefix of x ${x.shape}`);
    }
    const rest = x.shape.slice(lead);
    const restSize = rest.reduce((a, b) => a * b, 1);
    const oneHot = tf.oneHot(tf.reshape(tf.cast(segmentIds, 'int32'), [n]), numSegments, 1, 0, 'int32');
    const selector = tf.transpose(tf.cast(oneHot, 'float32')); // [S, n]
    const xf = x.dtype === 'float32' ? x : tf.cast(x, 'float32');
    const sums = tf.reshape(tf.matMul(selector, tf.reshape(xf, [n, restSize])), [numSegments, ...rest]);
    return x.dtype === 'float32' ? sums : tf.cast(sums, x.dtype);
  });
}

/** The kernel (registered by ./index.ts). */
export const unsortedSegmentSumKernel: tf.KernelFunc = ({ inputs, attrs }) =>
  unsortedSegmentSum(inputs.x as tf.Tensor, inputs.segmentIds as tf.Tensor, (attrs as unknown as { numSegments: number }).numSegments);
