/**
 * Conv2DBackpropFilter for tfjs-backend-wasm (4.22 has no such kernel, so no conv2d layer could be
 * trained on 'wasm'), built from kernels the wasm backend has: the filter gradient as a convolution
 * over the batch axis. x as [Ci, H, W, N] (Ci is the batch, N the channels) is convolved with dy as a
 * filter [OH, OW, N, Co], stride 1, dilation = the forward stride, explicit padding; the result is
 * cropped to [Ci, KH, KW, Co] and transposed to [KH, KW, Ci, Co]: two transposes in, one XNNPACK
 * convolution with a large dilated filter, one transpose out.
 *
 * One thread, 2-core build machine, DCGAN-32 batch-16 layers (k4 s2 same): x [16,32,32,3] -> 64:
 * 7.7 ms (forward conv 2.0 ms); [16,16,16,64] -> 128: 15.7 ms (13.2); [16,8,8,128] -> 256: 22.9 ms
 * (11.9). An im2col version (strided slices, one matmul) was 10-40x slower on wasm 4.22 (its
 * StridedSlice and its matmul with transposeA are slow paths). Not usable: the backend's own
 * Conv3DBackpropFilterV2 on a depth-1 view, wrong for strides > 1 in 4.22.
 *
 * Math (NHWC, forward y = conv2d(x, w, stride s, pads top/left pT/pL)):
 *   dw[kh, kw, ci, co] = sum_{n, oh, ow} x[n, oh*sH + kh - pT, ow*sW + kw - pL, ci] * dy[n, oh, ow, co]
 * with x = 0 outside the image. Dilations are always 1 here, as in tfjs-core's conv2d gradient.
 * Ops run inside a kernel are not recorded on the gradient tape (the engine's kernelDepth > 0), and
 * tf.tidy frees the intermediates.
 */
import { tf } from '../tf';
import type { ConvAttrs } from '../kernels/common';
import { nchwToNhwc, nhwcPad } from './nhwc';

interface Conv2DBackpropFilterAttrs extends ConvAttrs {
  filterShape: [number, number, number, number];
}

/** The problem in NHWC: sizes, strides and the forward pass's top/left padding. */
interface Geometry {
  n: number; h: number; w: number; ci: number;
  oh: number; ow: number; co: number;
  kh: number; kw: number;
  sh: number; sw: number;
  padTop: number; padLeft: number;
  /** Rows / columns of zero padding after the image so that every (kh, oh) index exists. */
  padBottom: number; padRight: number;
}

function geometry(x: tf.Tensor4D, dy: tf.Tensor4D, attrs: Conv2DBackpropFilterAttrs): Geometry {
  const info = tf.backend_util.computeConv2DInfo(
    x.shape, attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast',
  );
  const [n, h, w, ci] = x.shape;
  const [, oh, ow, co] = dy.shape;
  if (info.outHeight !== oh || info.outWidth !== ow || info.outChannels !== co) {
    throw new Error(`Conv2DBackpropFilter (wasm): dy ${dy.shape} does not match x ${x.shape}, filter ${attrs.filterShape}`);
  }
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  // The last row read is (oh-1)*sh + kh-1 - padTop; pad so that it exists (never negative: rows past
  // that one are simply never read).
  const padBottom = Math.max(0, (oh - 1) * sh + kh - padTop - h);
  const padRight = Math.max(0, (ow - 1) * sw + kw - padLeft - w);
  return { n, h, w, ci, oh, ow, co, kh, kw, sh, sw, padTop, padLeft, padBottom, padRight };
}

/** Convolution over the batch axis: [Ci, H, W, N] (*) [OH, OW, N, Co], dilation = stride. */
function byBatchConv(x: tf.Tensor4D, dy: tf.Tensor4D, g: Geometry): tf.Tensor4D {
  const xt = tf.transpose(x, [3, 1, 2, 0]); // [Ci, H, W, N]
  const dyt = tf.transpose(dy, [1, 2, 0, 3]); // [OH, OW, N, Co]
  // Output row r reads padded rows r + oh*sh, i.e. x row r + oh*sh - padTop: r is the filter tap kh.
  const out = tf.conv2d(
    xt,
    dyt,
    1,
    [[0, 0], [g.padTop, g.padBottom], [g.padLeft, g.padRight], [0, 0]],
    'NHWC',
    [g.sh, g.sw],
  ); // [Ci, >= KH, >= KW, Co]
  const cropped = out.shape[1] === g.kh && out.shape[2] === g.kw ? out : tf.slice(out, [0, 0, 0, 0], [g.ci, g.kh, g.kw, g.co]);
  return tf.transpose(cropped, [1, 2, 0, 3]); // [KH, KW, Ci, Co]
}

/** The filter gradient with tfjs ops on the current backend (also usable directly, for tests). */
export function conv2dBackpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  attrs: Conv2DBackpropFilterAttrs,
): tf.Tensor4D {
  return tf.tidy(() => {
    const nchw = attrs.dataFormat === 'NCHW';
    const xs = nchw ? nchwToNhwc(x) : x;
    const dys = nchw ? nchwToNhwc(dy) : dy;
    return byBatchConv(xs, dys, geometry(xs, dys, { ...attrs, pad: nhwcPad(attrs) }));
  });
}

/** The kernel (registered by ./index.ts). */
export const conv2dBackpropFilterKernel: tf.KernelFunc = ({ inputs, attrs }) =>
  conv2dBackpropFilter(inputs.x as tf.Tensor4D, inputs.dy as tf.Tensor4D, attrs as unknown as Conv2DBackpropFilterAttrs);
