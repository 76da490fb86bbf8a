/**
 * Conv2DBackpropFilter for tfjs-backend-wasm (4.22 has no such kernel, so no conv2d layer could be
 * trained on 'wasm'), in one of three ways:
 *  - 'direct' and 'directRows' (Co a multiple of 16): our own SIMD kernel sums x * dy in the heap
 *    on every thread (`byDirectSum` below, ./simd/), in slices of dy rows or of filter rows, with x
 *    in phase rows (`byPhaseRows`).
 *  - 'dyFilter': one XNNPACK convolution over the batch axis. x as [Ci, H, W, N] (Ci is the batch, N
 *    the channels) is convolved with dy as a filter [OH, OW, N, Co], stride 1, dilation = the forward
 *    stride; the result is cropped to [Ci, KH, KW, Co] and transposed to [KH, KW, Ci, Co].
 *  - 'xFilter': the roles swapped, x's stride phases as the filter and dy as the image (below).
 * XNNPACK packs a convolution's filter on every call with a new filter tensor, at about the cost of
 * the multiply-adds on these layers, so `chooseFilterGradMethod` packs the smaller of the two.
 *
 * As a multiple of the forward pass (2-core build machine, 2 threads, batch 16, fresh tensors,
 * `bench/wasm-conv.bench.ts`, docs/PERFORMANCE.md): before 'direct', the RGB layers 2.4-5x and
 * 16x16x64 -> 128 1.2-1.7x; the deeper layers 0.6-1.1x with 'dyFilter'. An im2col version (strided
 * slices, one matmul) was 10-40x slower on wasm 4.22 (its StridedSlice and its matmul with transposeA
 * are slow paths). Not usable: the backend's own Conv3DBackpropFilterV2 on a depth-1 view, wrong for
 * strides > 1 in 4.22.
 *
 * Math (NHWC, forward y = conv2d(x, w, stride s, pads top/left pT/pL)):
 *   dw[kh, kw, ci, co] = sum_{n, oh, ow} x[n, oh*sH + kh - pT, ow*sW + kw - pL, ci] * dy[n, oh, ow, co]
 * with x = 0 outside the image. Dilations are always 1 here, as in tfjs-core's conv2d gradient.
 * Ops run inside a kernel are not recorded on the gradient tape (the engine's kernelDepth > 0), and
 * tf.tidy frees the intermediates.
 */
import { tf } from '../tf';
import type { ConvAttrs } from '../kernels/common';
import { type ConvGeometry, convGeometry, cropOfNegativePadding, croppedShape, nchwToNhwc, nhwcPad } from './nhwc';
import { type Heap, activeHeap, inPanels, lineAligned, panelFloats, uninitialised, writeConvTables } from './heap';
import { type WinogradGeometry, byWinogradFilter, winograd4Applies, winograd4On, winogradApplies, winogradFilter4Pays, winogradFilterPays, winogradOn } from './winograd';

export interface Conv2DBackpropFilterAttrs extends ConvAttrs {
  filterShape: [number, number, number, number];
}

/** The problem, with the zero padding after the image that the 'dyFilter' convolution needs. */
export interface Geometry extends ConvGeometry {
  /** Rows / columns of zero padding after the image so that every (kh, oh) index exists. */
  padBottom: number; padRight: number;
}

/** The problem's geometry, from the shapes (exported, like the helpers below, for bench/gemm-kernel.bench.ts). */
export function filterGradGeometry(xShape: [number, number, number, number], dyShape: readonly number[], attrs: Conv2DBackpropFilterAttrs): Geometry {
  const g = convGeometry('Conv2DBackpropFilter', xShape, attrs.filterShape, dyShape, attrs);
  // The last row read is (oh-1)*sh + kh-1 - padTop; pad so that it exists (never negative: rows past
  // that one are simply never read).
  const padBottom = Math.max(0, (g.oh - 1) * g.sh + g.kh - g.padTop - g.h);
  const padRight = Math.max(0, (g.ow - 1) * g.sw + g.kw - g.padLeft - g.w);
  return { ...g, padBottom, padRight };
}

/**
 * 'dyFilter': a convolution over the batch axis, [Ci, H, W, N] (*) [OH, OW, N, Co], dilation = stride.
 * XNNPACK packs its filter, dy, anew on every call (a new tensor each step): that packing is most of
 * the time when dy is large and the layer's multiply-adds are few (the RGB layers).
 */
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

/** Taps per stride phase, A = ceil(KH / sh) and B = ceil(KW / sw), and the phase images' size. */
function phaseSizes(g: Geometry): { a: number; b: number; p: number; q: number } {
  const a = Math.ceil(g.kh / g.sh);
  const b = Math.ceil(g.kw / g.sw);
  return { a, b, p: g.oh + a - 1, q: g.ow + b - 1 };
}

/**
 * 'xFilter': the roles swapped, so that x (not dy) is the packed filter. Split the taps by stride
 * phase, kh = a*sh + r: then the padded x row oh*sh + kh = (oh + a)*sh + r, so with the phase image
 * X_rt[n, u, v, ci] = xpad[n, u*sh + r, v*sw + t, ci] (u < P = OH + A - 1, v < Q = OW + B - 1),
 *   dw[a*sh + r, b*sw + t, ci, co] = sum_{n, oh, ow} X_rt[n, oh + a, ow + b, ci] * dy[n, oh, ow, co],
 * a stride-1 correlation. As one convolution: the image is dy as [Co, OH, OW, N] padded by A-1 / B-1,
 * the filter F[u, v, n, (r, t, ci)] = X_rt[n, u, v, ci] holds every phase in its output channels, and
 *   out[co, A-1-a, B-1-b, (r, t, ci)] = dw[a*sh + r, b*sw + t, ci, co]      (out is [Co, A, B, sh*sw*Ci]).
 * F is about the size of x, and the result is rearranged into dw [KH, KW, Ci, Co] (taps past the
 * kernel dropped), both by JavaScript loops over copies of the values.
 */
function byPhaseConv(x: tf.Tensor4D, dy: tf.Tensor4D, g: Geometry): tf.Tensor4D {
  const { a, b, p, q } = phaseSizes(g);
  const { n, h, w, ci, co, sh, sw } = g;
  const phases = sh * sw;
  const src = x.dataSync() as Float32Array;
  const f = new Float32Array(p * q * n * phases * ci); // zero where the padded x is padding
  let dst = 0;
  for (let u = 0; u < p; u++) {
    for (let v = 0; v < q; v++) {
      for (let img = 0; img < n; img++) {
        for (let r = 0; r < sh; r++) {
          const row = u * sh + r - g.padTop;
          for (let t = 0; t < sw; t++, dst += ci) {
            const col = v * sw + t - g.padLeft;
            if (row < 0 || row >= h || col < 0 || col >= w) continue;
            const from = ((img * h + row) * w + col) * ci;
            for (let c = 0; c < ci; c++) f[dst + c] = src[from + c]!;
          }
        }
      }
    }
  }
  const dyt = tf.transpose(dy, [3, 1, 2, 0]); // [Co, OH, OW, N]
  const out = tf.conv2d(dyt, tf.tensor4d(f, [p, q, n, phases * ci]), 1, [[0, 0], [a - 1, a - 1], [b - 1, b - 1], [0, 0]]);
  const o = out.dataSync() as Float32Array; // [Co, A, B, phases * Ci]
  const dw = new Float32Array(g.kh * g.kw * ci * co);
  for (let kh = 0; kh < g.kh; kh++) {
    const ia = a - 1 - Math.floor(kh / sh);
    const r = kh % sh;
    for (let kw = 0; kw < g.kw; kw++) {
      const ib = b - 1 - Math.floor(kw / sw);
      const from = (ia * b + ib) * phases * ci + (r * sw + (kw % sw)) * ci;
      const to = (kh * g.kw + kw) * ci * co;
      for (let c = 0; c < ci; c++) {
        for (let k = 0; k < co; k++) dw[to + c * co + k] = o[k * a * b * phases * ci + from + c]!;
      }
    }
  }
  return tf.tensor4d(dw, [g.kh, g.kw, ci, co]);
}

/**
 * Filter rows (KH * KW * Ci) from which `byDirectSum` cuts the work into slices of filter rows
 * ('directRows') rather than of dy rows ('direct'). Slices of dy rows each sum into a partial of the
 * whole filter (M x Co floats), added afterwards: cheap for the RGB layer (48 rows), but on D3 (2,048
 * rows x 256) the partials no longer stay in the cache and 'direct' lost to XNNPACK. A slice of
 * filter rows sums all dy rows into its own rows of the result: no partials, and its rows of the
 * result stay in the L2 cache. Measured with `bench/wasm-conv.bench.ts` (docs/PERFORMANCE.md).
 */
export const ROW_SLICES_FROM = 1024;
/**
 * dy channels up to which the NHWC methods read dy row-major, where tfjs keeps it, rather than
 * copying it into panels (`inPanels`): their chunks are 32-64 dy rows, and 64 rows of 256 bytes (Co 64)
 * spread over 16 of the L1 cache's sets, room for them all (not so for `inPanels`' chunks of 4,096 rows,
 * which is why this is not its rule), and the copy cost the RGB layer's filter gradient (DCGAN-64, whose dy is
 * the largest) 18-23%: 1.97 -> 1.62 ms at batch 16, 9.60 -> 7.42 ms at batch 64 (build machine, 2
 * threads, medians of 40 alternated calls; the 32 x 32 layers within noise).
 */
export const ROW_MAJOR_MAX_CO = 64;
/** dy rows per slice of 'direct' at least, and slices at most (their number depends on the problem only). */
const MIN_SLICE_ROWS = 256;
const MAX_SLICES = 24;

/** dy rows per slice of 'direct' (the slices depend on the problem only, so the partials and their sum do too). */
export function dyRowSlice(kCount: number): number {
  return Math.ceil(kCount / Math.min(MAX_SLICES, Math.ceil(kCount / MIN_SLICE_ROWS)));
}

/**
 * dy rows per chunk of 'direct' (the kernel's k chunks, `chunkRows`): with many filter rows the
 * receptive fields a chunk reads fill the L1 cache sooner (measured with dy in panels: chunks of 32,
 * 64 and 256 rows within noise on D2-D4).
 */
export function dyChunkRows(filterRows: number): number {
  return filterRows <= 64 ? 64 : 32;
}

/**
 * 'direct' and 'directRows': our own WebAssembly SIMD kernel (./simd/gather-gemm.wat) sums x * dy
 * straight from the heap, on every thread (./simd/kernel-threads.ts). XNNPACK's convolutions are
 * badly shaped for the gradient (the RGB layer: 16,384 dy rows summed into 48 x 64 outputs) and pack
 * a new filter on every call. dy is read where it lies (in panels, `inPanels`); x is copied once into
 * a zero-padded image so that every receptive field is whole. Needs Co a multiple of 16.
 *  - 'direct': the dy rows are cut into slices (at most MAX_SLICES, fixed by the problem's size, not
 *    by the thread count), each summed into its own partial; the partials are added in order.
 *  - 'directRows' (an even number of filter rows): slices of filter rows, each summed over every dy
 *    row in order into its own rows of the result.
 * Both gather x from phase rows (`byPhaseRows`); 'directNhwc' and 'directRowsNhwc' gather it from
 * the padded NHWC image instead (the layout before phase rows, kept for comparison). Either way the
 * result is the same bits on any number of threads, and in either layout.
 */
function byDirectSum(x: tf.Tensor4D, dy: tf.Tensor4D, g: Geometry, heap: Heap, split: 'k' | 'm', nhwc = false): tf.Tensor4D {
  const { n, h, w, ci, co, kh, kw, oh, ow } = g;
  const m = kh * kw * ci;
  if (split === 'm' && m % 2 !== 0) throw new Error("Conv2DBackpropFilter: 'directRows' needs an even number of filter rows");
  const { kernels, at, backend } = heap;
  const out = uninitialised<tf.Rank.R4>(heap, [kh, kw, ci, co]);
  const kCount = n * oh * ow;
  if (!nhwc) return byPhaseRows(x, dy, g, heap, out, split);
  const hp = h + g.padTop + g.padBottom;
  const wp = w + g.padLeft + g.padRight;
  const mPad = m + (m % 2); // the kernel adds two filter rows at a time
  const sliceRows = split === 'k' ? dyRowSlice(kCount) : heap.kernels.rowSlice(m);
  const slices = Math.ceil((split === 'k' ? kCount : m) / sliceRows);
  // Scratch (not zeroed: every byte the kernels read is written first): the padded x, the row table,
  // the filter-row offsets, the partials ('direct' only), dy in panels (`inPanels`).
  const xFloats = n * hp * wp * ci;
  const partialFloats = split === 'k' ? mPad * co : 0;
  // dy in panels, except with at most ROW_MAJOR_MAX_CO channels (`ROW_MAJOR_MAX_CO` says why).
  const panelled = co > ROW_MAJOR_MAX_CO;
  const scratch = backend.makeOutput([xFloats + kCount + mPad + slices * partialFloats + (panelled ? panelFloats(kCount, co) : 0)], 'float32');
  try {
    const xPad = at(scratch);
    const table = xPad + 4 * xFloats;
    const mOff = table + 4 * kCount;
    const partials = mOff + 4 * mPad;
    const panels = partials + 4 * slices * partialFloats;
    kernels.padImages(at(x), xPad, n, h, 4 * w * ci, hp, 4 * wp * ci, g.padTop, 4 * g.padLeft * ci);
    // k = dy row: its corner; m = filter row: its offset (the padding row's sums are dropped).
    writeConvTables(new Int32Array(heap.memory.buffer), { ...g, hp, wp }, xPad, table, mOff, m, mPad);
    const dyRows = panelled ? inPanels(heap, at(dy), kCount, co, panels) : { b: at(dy), bPanelRows: 0 };
    const job = { table, mOff, m: mPad, co, kCount, sliceRows, slices, ...dyRows, chunkRows: dyChunkRows(m) };
    if (split === 'm') {
      kernels.gatherGemm({ ...job, split, out: at(out), partialBytes: 0 });
    } else {
      kernels.gatherGemm({ ...job, split, out: partials, partialBytes: 4 * partialFloats });
      kernels.helpers.sumPartials(partials, slices, 4 * partialFloats, at(out), m * co);
    }
    return out;
  } finally {
    backend.disposeData(scratch.dataId);
  }
}

/**
 * 'direct' and 'directRows' with x in phase rows (`PhasePlanes`), written in one pass by the
 * `phaseRows` helper, in slices of images on every thread.
 *  - 'directRows' (split 'm'): dy in panels, whose chunks of PANEL_CHUNK_ROWS rows the kernel keeps;
 *    each filter row's sums go straight to its row of dw (`outTable`).
 *  - 'direct' (split 'k'): dy read as 'direct' reads it (row-major up to ROW_MAJOR_MAX_CO channels);
 *    the partials are summed in the tables' filter-row order, then each row copied to its row of dw.
 *    On the RGB layer (Ci = 3, `phaseRows`' scalar path), where consecutive dy rows in the NHWC
 *    image lie Sw * Ci floats apart, the kernel alone took 1-7% less than with 'directNhwc' in every
 *    run (DCGAN-64 D1 at batch 16: 1.10-1.22 against 1.15-1.28 ms; build machine, 2 threads, medians
 *    of 80 alternated calls; the same bits). The whole call, each after a 32 MB element-wise op as in
 *    a step, is level at batch 16 (from 1% faster to 4% slower) and 3.5% faster at batch 64: writing
 *    the phase rows costs about what the padded copy did (docs/PERFORMANCE.md).
 */
function byPhaseRows(x: tf.Tensor4D, dy: tf.Tensor4D, g: Geometry, heap: Heap, out: tf.Tensor4D, split: 'k' | 'm'): tf.Tensor4D {
  const { n, h, w, ci, co, oh, ow, sh, sw } = g;
  const m = g.kh * g.kw * ci;
  const mPad = m + (m % 2); // the kernel adds two filter rows at a time ('directRows' has m even)
  const kCount = n * oh * ow;
  const planes = phasePlanes(g);
  const byRows = split === 'm';
  const { kernels, at, backend } = heap;
  const sliceRows = byRows ? kernels.rowSlice(m) : dyRowSlice(kCount);
  const slices = Math.ceil((byRows ? m : kCount) / sliceRows);
  // 'direct': each slice's partial, and their sum, in the tables' filter-row order.
  const partialFloats = byRows ? 0 : mPad * co;
  const panelled = byRows || co > ROW_MAJOR_MAX_CO;
  // Scratch (not zeroed: every byte the kernels read is written first): x in phase rows (from a cache
  // line), the dy-row table, the filter-row offsets and their rows of dw, the partials and their sum
  // ('direct'), dy in panels.
  const scratch = backend.makeOutput(
    [planes.floats + 16 + kCount + 2 * mPad + (byRows ? 0 : (slices + 1) * partialFloats) + (panelled ? panelFloats(kCount, co) : 0)],
    'float32',
  );
  try {
    const rows = lineAligned(at(scratch));
    const table = rows + 4 * planes.floats;
    const mOff = table + 4 * kCount;
    const outTable = mOff + 4 * mPad;
    const partials = outTable + 4 * mPad;
    const summed = partials + 4 * slices * partialFloats;
    const panels = summed + 4 * partialFloats;
    const { up, vp, sImg, sU, sR, sC } = planes;
    kernels.phaseRows(at(x), rows, n, h, w, ci, sh, sw, g.padTop, g.padLeft, up, vp, sImg, sU, sR, sC);
    phaseRowTables(new Int32Array(heap.memory.buffer), g, planes, rows, table, mOff, outTable, at(out), mPad);
    if (byRows) {
      const dyPanels = inPanels(heap, at(dy), kCount, co, panels);
      kernels.gatherGemm({ table, mOff, m, co, kCount, sliceRows, slices, ...dyPanels, split: 'm', out: 0, outTable, partialBytes: 0 });
      return out;
    }
    const dyRows = panelled ? inPanels(heap, at(dy), kCount, co, panels) : { b: at(dy), bPanelRows: 0 };
    kernels.gatherGemm({ table, mOff, m: mPad, co, kCount, sliceRows, slices, ...dyRows, chunkRows: dyChunkRows(m), split: 'k', out: partials, partialBytes: 4 * partialFloats });
    kernels.helpers.sumPartials(partials, slices, 4 * partialFloats, summed, mPad * co);
    // Views made after every allocation and call (the heap may have grown).
    const i32 = new Int32Array(heap.memory.buffer);
    const f32 = new Float32Array(heap.memory.buffer);
    for (let r = 0; r < m; r++) {
      const from = summed / 4 + r * co;
      f32.copyWithin(i32[outTable / 4 + r]! / 4, from, from + co);
    }
    return out;
  } finally {
    backend.disposeData(scratch.dataId);
  }
}

/**
 * x in phase rows, for 'direct' and 'directRows': x zero-padded to whole stride blocks (UP x Sh rows, VP x Sw
 * columns, VP a multiple of 4), then padded row u * Sh + r, column v * Sw + t, channel c in plane
 * (r, t, c) of image n, at row u, column v: a [Sh, Sw, Ci, N, UP, VP] array (byte strides below).
 * For dy row (n, oh, ow) and filter tap (kh, kw) = (a * Sh + r, b * Sw + t), x's value lies at row
 * oh + a, column ow + b of that plane: the address splits into a part of the dy row (the table) and
 * one of the filter row (mOff), and consecutive dy rows read consecutive floats, as the forward pass
 * reads consecutive channels. In the NHWC image they lie Sw * Ci floats apart, each in its own cache
 * line: there the kernel alone took 12-23% longer on D2-D4 at batch 16 (build machine,
 * docs/PERFORMANCE.md). The planes of all images lie together, so a chunk's dy rows, image after
 * image, read one run of memory (a first layout, [N, UP, Sh, Sw, Ci, VP], put a dy row's next output
 * row 4 x Sh x Sw x Ci x VP bytes further, at stride 2 with Ci a multiple of 64 a multiple of 4 KiB:
 * all in one set of the L1 cache; on a Xeon at 2 threads D4 took 27% longer than with NHWC).
 */
export interface PhasePlanes {
  up: number; vp: number; floats: number;
  /** Byte strides: image, plane row (u), row phase (r), plane (t * Ci + c); a plane's columns are floats. */
  sImg: number; sU: number; sR: number; sC: number;
}

export function phasePlanes(g: Geometry): PhasePlanes {
  const { a, b } = phaseSizes(g);
  // Whole stride blocks, enough for every tap and the whole image.
  const up = Math.max(g.oh + a - 1, Math.ceil((g.padTop + g.h) / g.sh));
  const vp = 4 * Math.ceil(Math.max(g.ow + b - 1, Math.ceil((g.padLeft + g.w) / g.sw)) / 4);
  const sU = 4 * vp;
  const sImg = up * sU;
  const sC = g.n * sImg;
  const sR = g.sw * g.ci * sC;
  return { up, vp, floats: (g.sh * sR) / 4, sImg, sU, sR, sC };
}

/**
 * The tables of 'direct' and 'directRows' over x in phase rows (`PhasePlanes`) at byte address `rows`: each dy
 * row's address, and each filter row's offset and its row of dw (`outTable`). The filter rows are taken
 * in the order (r, t, c, a, b), so that the taps reading the same plane follow each other.
 */
export function phaseRowTables(i32: Int32Array, g: Geometry, p: PhasePlanes, rows: number, table: number, mOff: number, outTable: number, out: number, count: number): void {
  const { n, oh: ohs, ow: ows, ci, co, sh, sw } = g;
  const { a: taps, b: tapCols } = phaseSizes(g);
  // In locals, not read in the loop: 0.09 -> 0.03 ms on DCGAN-64's D1 at batch 16 (`writeConvTables`).
  const { sImg, sU } = p;
  let k = table / 4;
  for (let img = 0; img < n; img++) {
    for (let oh = 0; oh < ohs; oh++) {
      const start = rows + img * sImg + oh * sU;
      for (let ow = 0; ow < ows; ow++) i32[k++] = start + 4 * ow;
    }
  }
  let m = 0;
  for (let r = 0; r < sh; r++) {
    for (let t = 0; t < sw; t++) {
      for (let c = 0; c < ci; c++) {
        for (let a = 0; a < taps; a++) {
          for (let b = 0; b < tapCols; b++) {
            const kh = a * sh + r;
            const kw = b * sw + t;
            if (kh >= g.kh || kw >= g.kw) continue;
            i32[mOff / 4 + m] = r * p.sR + (t * ci + c) * p.sC + a * p.sU + 4 * b;
            i32[outTable / 4 + m] = out + 4 * ((kh * g.kw + kw) * ci + c) * co;
            m++;
          }
        }
      }
    }
  }
  // Rows past the filter's (an odd count made even) repeat the last; their sums are dropped.
  for (; m < count; m++) {
    i32[mOff / 4 + m] = i32[mOff / 4 + m - 1]!;
    i32[outTable / 4 + m] = i32[outTable / 4 + m - 1]!;
  }
}

export type FilterGradMethod = 'dyFilter' | 'xFilter' | 'direct' | 'directNhwc' | 'directRows' | 'directRowsNhwc' | 'winograd' | 'winogradRows' | 'winograd4';

/** The geometry as ./winograd.ts reads it: x padded to the rows and columns every tap reads. */
function winogradGeometry(g: Geometry): WinogradGeometry {
  return { ...g, hp: g.h + g.padTop + g.padBottom, wp: g.w + g.padLeft + g.padRight };
}

/**
 * Our kernel where it applies (`direct`: the backend is WebAssembly): Winograd's F(4x4, 2x2) or F(2x2,
 * 2x2) for 4x4 filters of stride 2 where they pay (./winograd.ts, `winogradFilter4Pays`,
 * `winogradFilterPays`; 'winogradRows' is the latter's slower variant, for comparison), else 'directRows' from
 * ROW_SLICES_FROM filter rows (an even number), 'direct' below. Otherwise: XNNPACK packs the
 * convolution's filter on every call, about as costly per value as the multiply-adds are per output,
 * so pack the smaller of dy and (about) x. Measured on the build machine (docs/PERFORMANCE.md,
 * `bench/wasm-conv.bench.ts`).
 */
export function chooseFilterGradMethod(g: Geometry, direct = true): FilterGradMethod {
  if (direct && winograd4On() && winogradFilter4Pays(winogradGeometry(g))) return 'winograd4';
  if (direct && winogradOn() && winogradFilterPays(winogradGeometry(g))) return 'winograd';
  const rows = g.kh * g.kw * g.ci;
  if (direct && g.co % 16 === 0) return rows >= ROW_SLICES_FROM && rows % 2 === 0 ? 'directRows' : 'direct';
  const { p, q } = phaseSizes(g);
  const xFilterValues = p * q * g.n * g.sh * g.sw * g.ci;
  const dyFilterValues = g.n * g.oh * g.ow * g.co;
  return 2 * xFilterValues < dyFilterValues ? 'xFilter' : 'dyFilter';
}

/** The filter gradient with tfjs ops on the current backend (also usable directly, for tests). */
export function conv2dBackpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  attrs: Conv2DBackpropFilterAttrs,
  method?: FilterGradMethod,
): tf.Tensor4D {
  return tf.tidy(() => {
    const nchw = attrs.dataFormat === 'NCHW';
    const xs = nchw ? nchwToNhwc(x) : x;
    const dys = nchw ? nchwToNhwc(dy) : dy;
    // Negative padding (tfjs-core allows it) is a crop of x: the rows and columns it cuts off meet no weight.
    const pad = nhwcPad(attrs);
    const negative = cropOfNegativePadding(pad);
    const xc = negative ? tf.slice(xs, [0, negative.crop.top, negative.crop.left, 0], croppedShape('Conv2DBackpropFilter', xs.shape, negative.crop)) : xs;
    const g = filterGradGeometry(xc.shape, dys.shape, { ...attrs, pad: negative ? negative.pad : pad });
    // Nothing to sum over (XNNPACK refuses empty convolutions): the gradient is zero.
    if (xc.size === 0 || dys.size === 0) return tf.zeros<tf.Rank.R4>(attrs.filterShape);
    const heap = activeHeap();
    const chosen = method ?? chooseFilterGradMethod(g, heap !== null);
    if (chosen === 'winograd' || chosen === 'winogradRows' || chosen === 'winograd4') {
      const wg = winogradGeometry(g);
      if (!heap || !(chosen === 'winograd4' ? winograd4Applies(wg) : winogradApplies(wg))) {
        const size = chosen === 'winograd4' ? 'an output size a multiple of 4' : 'an even output size';
        throw new Error(`Conv2DBackpropFilter: the '${chosen}' method needs the WebAssembly backend, a 4x4 filter of stride 2, ${size}, Ci a multiple of 4 and Co of 16`);
      }
      return byWinogradFilter(xc, dys, wg, heap, chosen === 'winogradRows' ? 'rows' : 'transposed', chosen === 'winograd4' ? 4 : 2);
    }
    if (chosen === 'direct' || chosen === 'directNhwc' || chosen === 'directRows' || chosen === 'directRowsNhwc') {
      if (!heap) throw new Error(`Conv2DBackpropFilter: the '${chosen}' method needs the WebAssembly backend`);
      const split = chosen === 'direct' || chosen === 'directNhwc' ? 'k' : 'm';
      return byDirectSum(xc, dys, g, heap, split, chosen.endsWith('Nhwc'));
    }
    return chosen === 'xFilter' ? byPhaseConv(xc, dys, g) : byBatchConv(xc, dys, g);
  });
}

/** The kernel (registered by ./index.ts). */
export const conv2dBackpropFilterKernel: tf.KernelFunc = ({ inputs, attrs }) =>
  conv2dBackpropFilter(inputs.x as tf.Tensor4D, inputs.dy as tf.Tensor4D, attrs as unknown as Conv2DBackpropFilterAttrs);
