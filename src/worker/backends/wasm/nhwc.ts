/**
 * Our wasm convolution kernels compute in NHWC; NCHW inputs are transposed first, and their explicit
 * padding ([[0, 0], [0, 0], [top, bottom], [left, right]] in NCHW) reordered to NHWC's. Both gradient
 * kernels describe their problem with `convGeometry`.
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

/** Rows and columns cut off an NHWC image's sides. */
export interface Crop {
  top: number; bottom: number; left: number; right: number;
}

/**
 * Explicit NHWC padding with negative entries, which tfjs-core allows (its CPU backend reads them as a
 * crop of the image), split into that crop and the padding left (all of it zero or more), which our
 * kernels take; null for padding that needs no crop.
 */
export function cropOfNegativePadding(pad: ConvAttrs['pad']): { crop: Crop; pad: tf.backend_util.ExplicitPadding } | null {
  if (!Array.isArray(pad)) return null;
  const [top, bottom] = pad[1]!;
  const [left, right] = pad[2]!;
  if (Math.min(top, bottom, left, right) >= 0) return null;
  const kept = (v: number) => Math.max(v, 0);
  return {
    crop: { top: kept(-top), bottom: kept(-bottom), left: kept(-left), right: kept(-right) },
    pad: [[0, 0], [kept(top), kept(bottom)], [kept(left), kept(right)], [0, 0]],
  };
}

/** The shape of an NHWC image of `shape` less `crop`; an error in words where nothing is left. */
export function croppedShape(kernel: string, shape: readonly [number, number, number, number], crop: Crop): [number, number, number, number] {
  const [n, h, w, c] = shape;
  const rows = h - crop.top - crop.bottom;
  const cols = w - crop.left - crop.right;
  if (rows <= 0 || cols <= 0) throw new Error(`${kernel} (wasm): negative padding crops all of a ${h} x ${w} image`);
  return [n, rows, cols, c];
}

/** A convolution in NHWC: x [N, H, W, Ci] -> dy [N, OH, OW, Co], kernel KH x KW, strides, top/left padding. */
export interface ConvGeometry {
  n: number; h: number; w: number; ci: number;
  oh: number; ow: number; co: number;
  kh: number; kw: number;
  sh: number; sw: number;
  padTop: number; padLeft: number;
}

/**
 * The forward convolution's geometry from x's and dy's shapes (NHWC), checked against each other:
 * a mismatch is an error naming `kernel` and the shapes. Dilations are 1, as in tfjs-core's
 * convolution gradients.
 */
export function convGeometry(
  kernel: string,
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  dyShape: readonly number[],
  attrs: Pick<ConvAttrs, 'strides' | 'pad' | 'dimRoundingMode'>,
): ConvGeometry {
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  const [n, h, w, ci] = xShape;
  const [, oh, ow, co] = dyShape as [number, number, number, number];
  if (dyShape[0] !== n || filterShape[2] !== ci || info.outHeight !== oh || info.outWidth !== ow || info.outChannels !== co) {
    throw new Error(`${kernel} (wasm): dy ${dyShape} does not match x ${xShape}, filter ${filterShape} (NHWC)`);
  }
  // Our kernels copy the image into a padded one from its top-left padding on, which must not be
  // negative: the gradients take a crop of the image first (`cropOfNegativePadding`).
  if (info.padInfo.top < 0 || info.padInfo.left < 0) {
    throw new Error(`${kernel} (wasm): negative padding (top ${info.padInfo.top}, left ${info.padInfo.left}) is not supported`);
  }
  return {
    n, h, w, ci, oh, ow, co,
    kh: info.filterHeight, kw: info.filterWidth,
    sh: info.strideHeight, sw: info.strideWidth,
    padTop: info.padInfo.top, padLeft: info.padInfo.left,
  };
}
