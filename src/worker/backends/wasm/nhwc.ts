/**
 * Our wasm convolution kernels compute in NHWC; NCHW inputs are transposed first, and their explicit
 * padding ([[0, 0], [0, 0], [top, bottom], [left, right]] in NCHW) reordered to NHWC's.
 */
import { tf } from '../tf';
import type { ConvAttrs } from '../kernels/common';

/** [N, C, H, W] -> [N, H, W, C]. */
export function nchwToNhwc(t: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(t, [0, 2, 3, 1]);
}

/** [N, H, W, C] -> [N, C, H, W]. */
export function nhwcToNchw(t: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(t, [0, 3, 1, 2]);
}

/** The padding attribute as NHWC expects it. */
export function nhwcPad(attrs: Pick<ConvAttrs, 'pad' | 'dataFormat'>): ConvAttrs['pad'] {
  const pad = attrs.pad;
  if (attrs.dataFormat !== 'NCHW' || !Array.isArray(pad)) return pad;
  return [pad[0], pad[2], pad[3], pad[1]] as tf.backend_util.ExplicitPadding;
}
