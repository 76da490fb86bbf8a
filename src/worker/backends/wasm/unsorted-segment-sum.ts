/**
 * UnsortedSegmentSum for tfjs-backend-wasm (missing in 4.22). The conditional models need it: it
 * is the gradient of Gather (tfjs-layers' Embedding, the label embeddings of the cWGAN-GP).
 *   out[s, ...] = sum over i with segmentIds[i] == s of x[i, ...]   (ids outside [0, S) dropped)
 * As one matmul: selector [S, n] . x [n, rest], selector[s, i] = (segmentIds[i] == s), made by one
 * broadcast comparison already in the [S, n] layout (wasm 4.22's matmul with transposeA=true takes a
 * slow path). Not tf.oneHot: it refuses a depth of 1 (a conditional model of one class), and wasm
 * 4.22's OneHot ignores its dtype attribute (always int32 values).
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
    const segments = tf.tensor2d(Int32Array.from({ length: numSegments }, (_, i) => i), [numSegments, 1], 'int32');
    const selector = tf.cast(tf.equal(tf.reshape(tf.cast(segmentIds, 'int32'), [1, n]), segments), 'float32'); // [S, n]
    const xf = x.dtype === 'float32' ? x : tf.cast(x, 'float32');
    const sums = tf.reshape(tf.matMul(selector, tf.reshape(xf, [n, restSize])), [numSegments, ...rest]);
    return x.dtype === 'float32' ? sums : tf.cast(sums, x.dtype);
  });
}

/** The kernel (registered by ./index.ts). */
export const unsortedSegmentSumKernel: tf.KernelFunc = ({ inputs, attrs }) =>
  unsortedSegmentSum(inputs.x as tf.Tensor, inputs.segmentIds as tf.Tensor, (attrs as unknown as { numSegments: number }).numSegments);
