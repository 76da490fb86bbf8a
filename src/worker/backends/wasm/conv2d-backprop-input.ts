/**
 * A faster Conv2DBackpropInput (conv2dTranspose, and conv2d's input gradient) for tfjs-backend-wasm.
 * The backend's own kernel is a plain C++ loop: on DCGAN-32 batch 16 it took ~60% of a training
 * step (e.g. 118 ms for dy [16,8,8,128] -> dx [16,16,16,64], k4 s2, where the forward conv2d
 * through XNNPACK takes 13 ms). This one splits dx by stride phase, so that no multiply-add is spent
 * on the zeros a transposed convolution inserts, in one of two ways (`chooseInputGradMethod`):
 *  - 'subPixel': ONE conv2d with all s*s phases in its output channels, then one pass that
 *    interleaves the phases and crops (below);
 *  - 'phases': one conv2d per phase, each exactly its phase's rows and columns (`byPhases`);
 *  - 'phasesInHeap': the same sums by our gather-GEMM, each phase written straight into dx
 *    (`byPhasesInHeap`; WebAssembly, Ci a multiple of 16);
 *  - 'patches' (col2im): every dy pixel's patch of dx by one call of our gather-GEMM, the patches
 *    then added at their places (`byPatches`; WebAssembly, any shape; taken below 16 input channels);
 *  - 'winograd': each phase's 2x2 convolution by Winograd's F(2x2, 2x2), 9/16 of the multiply-adds
 *    (./winograd.ts `byWinogradInput`; WebAssembly, 4x4 filters of stride 2, Ci a multiple of 16);
 *    'winograd4' by F(4x4, 2x2), 25/64 of them (its transforms round: 5-6x the error);
 *  - 'winogradScatter' and 'winograd4Scatter': the same multiply-adds as the forward pass's Winograd
 *    transposed, for all four phases at once (./winograd.ts `byWinogradScatter`; dy whole tiles,
 *    Co a multiple of 16, padding whose tiles cover dx): 6-28% faster per call than what ran before and
 *    within 0.93-1.06x of the forward pass on the DCGAN layers (build machine), so taken first.
 * The rearranged filters are kept for weights that come back (`rearrangedFilters`; not Winograd's V,
 * whose keeping did not pay in whole steps: docs/PERFORMANCE.md).
 *
 * Math of 'subPixel' (NHWC, forward y = conv2d(x, w, stride s, pad top pT); w [KH, KW, Ci, Co],
 * dy [N, OH, OW, Co]):
 *   dx[ih] = sum over (oh, kh) with oh*s + kh - pT = ih of dy[oh] . w[kh]     (per row; columns alike)
 * Write ih + pT = q*s + r (0 <= r < s). Then kh = (q - oh)*s + r = m*s + r with m = q - oh in
 * [0, M), M = ceil(KH / s), so
 *   dx[ih] = sum_m dy[q - m] . w[m*s + r]      = sum_j dyPad[q + j] . g_r[j],
 * a stride-1 correlation over dy padded with M-1 rows on top, with the phase-r sub-filter
 * g_r[j] = w[(M-1-j)*s + r] (zero past KH: when s does not divide KH, some taps are zeros). All s*s
 * phases (rows x columns) go into the output channels of one filter G [M, M, Co, s*s*Ci]; the conv
 * gives Z [N, Q, Q', s*s*Ci] with Z[q, q', (rh, rw, ci)] = dx at (q*s + rh - pT, q'*s + rw - pL);
 * dx is read out of Z by one pass (in the heap on WebAssembly, else a JavaScript loop). Dilations
 * are 1, as for tfjs-core's Conv2DBackpropInput. Ops run inside the kernel are not taped (engine
 * kernelDepth > 0).
 */
import { tf } from '../tf';
import type { ConvAttrs } from '../kernels/common';
import { type ConvGeometry, convGeometry, cropOfNegativePadding, croppedShape, nchwToNhwc, nhwcPad, nhwcToNchw } from './nhwc';
import { type Heap, PANEL_CHUNK_ROWS, activeHeap, inPanels, lineAligned, panelFloats, uninitialised, writeConvTables } from './heap';
import { byWinogradInput, byWinogradScatter, winogradScatter4Pays, winogradScatterApplies, winogradScatterOn, winogradScatterPays, winograd4On, winogradInput4Pays, winogradInputApplies, winogradInputPays, winogradOn } from './winograd';

interface Conv2DBackpropInputAttrs extends ConvAttrs {
  /** dx's shape, in dataFormat's layout. */
  inputShape: [number, number, number, number];
}

/**
 * The sub-pixel filter G [M_h, M_w, Co, sh*sw*Ci] from w [KH, KW, Ci, Co]:
 *   G[jh, jw, co, (rh*sw + rw)*Ci + ci] = w[(M_h-1-jh)*sh + rh, (M_w-1-jw)*sw + rw, ci, co]  (0 past KH/KW)
 * Built with a JavaScript loop on the filter's values: on wasm 4.22 the same with tfjs ops
 * (pad, reshape to 6-D, Reverse, Transpose) took ~75 ms for a [4,4,128,256] filter (its Reverse
 * and 6-D Transpose are slow); reading the filter back is a copy out of the wasm heap.
 */
function subPixelFilter(w: tf.Tensor4D, sh: number, sw: number, outCh = sh * sw * w.shape[2]): tf.Tensor4D {
  const [kh, kw, ci, co] = w.shape;
  const mh = Math.ceil(kh / sh);
  const mw = Math.ceil(kw / sw);
  const src = w.dataSync() as Float32Array;
  const out = new Float32Array(mh * mw * co * outCh); // zero where the tap is past the kernel, and in padding channels
  for (let jh = 0; jh < mh; jh++) {
    for (let rh = 0; rh < sh; rh++) {
      const th = (mh - 1 - jh) * sh + rh;
      if (th >= kh) continue;
      for (let jw = 0; jw < mw; jw++) {
        for (let rw = 0; rw < sw; rw++) {
          const tw = (mw - 1 - jw) * sw + rw;
          if (tw >= kw) continue;
          const srcBase = (th * kw + tw) * ci * co;
          const dstBase = (jh * mw + jw) * co * outCh + (rh * sw + rw) * ci;
          // w[th, tw] is [ci][co]; G[jh, jw] is [co][phase][ci]: a ci <-> co transpose.
          for (let c = 0; c < ci; c++) {
            const s0 = srcBase + c * co;
            const d0 = dstBase + c;
            for (let o = 0; o < co; o++) out[d0 + o * outCh] = src[s0 + o]!;
          }
        }
      }
    }
  }
  return tf.tensor4d(out, [mh, mw, co, outCh]);
}

export type InputGradMethod = 'subPixel' | 'phases' | 'phasesInHeap' | 'patches' | 'winograd' | 'winograd4' | 'winogradScatter' | 'winograd4Scatter';

type Geometry = ConvGeometry;

function geometry(
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  dxShape: [number, number, number, number],
  strides: Conv2DBackpropInputAttrs['strides'],
  pad: Conv2DBackpropInputAttrs['pad'],
  dimRoundingMode?: Conv2DBackpropInputAttrs['dimRoundingMode'],
): Geometry {
  return convGeometry('Conv2DBackpropInput', dxShape, filterShape, dy.shape, { strides, pad, dimRoundingMode });
}

/**
 * 'subPixel' (see the top of the file): one convolution for all phases. Its result Z has
 * Q = ceil((H + pT) / s) rows, so with pT > 0 it computes up to a row and a column that the crop
 * drops: (Q / (H / s))^2 more multiply-adds, 1.13x on a 32x32 dx, 1.56x on an 8x8 one. Z is
 * interleaved and cropped into dx in one pass (wasm 4.22's 6-D Transpose and strided Slice took
 * about 2.4 ms of D1's 3.8 ms). On the WebAssembly backend Z's channels are padded with zero filters
 * to a multiple of 16 where that at most doubles them (RGB at stride 2: 12 -> 16), so that our
 * forward kernel computes it (./conv2d.ts; XNNPACK's took 2.5x as long on the RGB layer), and the
 * pass is the heap's `interleavePhases` (./simd/gather-gemm.wat), writing dx where it will stay: the
 * JavaScript loop it replaced, with Z copied out of the heap and dx into it, took about 1.8 ms of
 * DCGAN-64 G4's 3.8-4.6 ms at batch 16 (now 2.3 ms, of which the convolution 1.9-2.0; medians of
 * 200 calls, build machine). Elsewhere a JavaScript loop over Z's values.
 */
function bySubPixel(dy: tf.Tensor4D, w: tf.Tensor4D, g: Geometry): tf.Tensor4D {
  const { n, h, ci, oh, ow, sh, sw } = g;
  const phaseCh = sh * sw * ci;
  const padded = Math.ceil(phaseCh / 16) * 16;
  const outCh = activeHeap() !== null && padded <= 2 * phaseCh ? padded : phaseCh;
  const mh = Math.ceil(g.kh / sh);
  const mw = Math.ceil(g.kw / sw);
  // Q = rows of Z needed so that Q*s covers (pT + H); dy padded with M-1 on top and enough below.
  const qh = Math.ceil((h + g.padTop) / sh);
  const qw = Math.ceil((g.w + g.padLeft) / sw);
  const z = tf.conv2d(
    dy,
    rearrangedFilters(w, `subPixel s${sh}x${sw} c${outCh}`, () => [subPixelFilter(w, sh, sw, outCh)])[0]!,
    1,
    [[0, 0], [mh - 1, Math.max(0, qh - oh)], [mw - 1, Math.max(0, qw - ow)], [0, 0]],
  ); // [N, >= Q, >= Q', outCh]: Z[q, q', (rh, rw, ci)] = dx at (q*sh + rh - pT, q'*sw + rw - pL)
  const [, zh, zw, zc] = z.shape;
  const heap = activeHeap();
  if (heap) {
    // In the heap: no copy of Z out of it, no dx built in JavaScript and copied in.
    const dx = uninitialised<tf.Rank.R4>(heap, [n, h, g.w, ci]);
    heap.kernels.helpers.interleavePhases(heap.at(z), zh, zw, zc, heap.at(dx), n, h, g.w, ci, sh, sw, g.padTop, g.padLeft);
    return dx;
  }
  const zv = z.dataSync() as Float32Array;
  const dx = new Float32Array(n * h * g.w * ci);
  let to = 0;
  for (let img = 0; img < n; img++) {
    for (let ih = 0; ih < h; ih++) {
      const q = Math.floor((ih + g.padTop) / sh);
      const rh = (ih + g.padTop) % sh;
      const zRow = (img * zh + q) * zw;
      for (let iw = 0; iw < g.w; iw++, to += ci) {
        const from = (zRow + Math.floor((iw + g.padLeft) / sw)) * zc + (rh * sw + ((iw + g.padLeft) % sw)) * ci;
        copyChannels(zv, from, dx, to, ci);
      }
    }
  }
  return tf.tensor4d(dx, [n, h, g.w, ci]);
}

/** dst[to .. to+count) = src[from .. from+count): a typed-array copy for long runs, a loop for short. */
function copyChannels(src: Float32Array, from: number, dst: Float32Array, to: number, count: number): void {
  if (count >= 16) dst.set(src.subarray(from, from + count), to);
  else for (let c = 0; c < count; c++) dst[to + c] = src[from + c]!;
}

/**
 * W^T [Co, M] (M = KH * KW * Ci, the filter's rows) in panels of 16 columns, Co rows each, the columns
 * past M zero up to `mPad`: b of the patches' GEMM (`byPatches`). Built by a JavaScript loop over the
 * filter's values: the layers that take it have few input channels (the RGB layer: 3,072 values).
 */
function patchFilter(w: tf.Tensor4D, mPad: number): tf.Tensor1D {
  const [kh, kw, ci, co] = w.shape;
  const m = kh * kw * ci;
  const src = w.dataSync() as Float32Array; // [M, Co]
  const out = new Float32Array(mPad * co);
  for (let panel = 0; panel < mPad / 16; panel++) {
    for (let o = 0; o < co; o++) {
      const to = (panel * co + o) * 16;
      for (let t = 0; t < 16; t++) {
        const row = panel * 16 + t;
        if (row < m) out[to + t] = src[row * co + o]!;
      }
    }
  }
  return tf.tensor1d(out);
}

/** The patches' columns: the filter's rows (KH * KW * Ci) rounded up to 16. */
function patchColumns(g: Geometry): number {
  return Math.ceil((g.kh * g.kw * g.ci) / 16) * 16;
}

/**
 * The most scratch 'patches' takes by default (P, 4 KH KW / (sh sw) times dx's floats: three times
 * 'subPixel''s result on the RGB layer): 256 MB, as Winograd's (./winograd.ts); DCGAN-128's RGB layer
 * at batch 256 needs 201 MB. Beyond it 'subPixel' runs.
 */
export const PATCHES_MAX_SCRATCH_BYTES = 256 * 1024 * 1024;

/** Whether 'patches' fits PATCHES_MAX_SCRATCH_BYTES. */
export function patchesFit(g: Geometry): boolean {
  const rows = g.n * g.oh * g.ow;
  return 4 * (rows + 1) * patchColumns(g) <= PATCHES_MAX_SCRATCH_BYTES;
}

/**
 * 'patches' (WebAssembly): col2im. Each dy pixel's patch of dx, P [N * OH * OW, KH * KW * Ci] = dy [N *
 * OH * OW, Co] x W^T [Co, KH * KW * Ci], one call of our gather-GEMM reading dy where it lies, then the
 * patches added at their places by the heap's `col2im` (./simd/gather-gemm.wat; a patch's kernel row
 * is KW pixels side by side in dx's row, one run of floats). As many multiply-adds as the forward
 * pass, none spent on zeros: for the RGB layer (Ci = 3) 'subPixel' computed 1.5 times as many (a
 * phase image one row and column larger than dx's, its 12 channels padded to 16 for our kernel).
 * W^T is kept while the weights live (`rearrangedFilters`).
 */
function byPatches(dy: tf.Tensor4D, w: tf.Tensor4D, g: Geometry, heap: Heap): tf.Tensor4D {
  const { n, h, ci, co, oh, ow } = g;
  const mPad = patchColumns(g);
  const filter = rearrangedFilters(w, `patches m${mPad}`, () => [patchFilter(w, mPad)])[0]!;
  const rows = n * oh * ow;
  const rowsEven = rows + (rows % 2); // the GEMM takes output rows in pairs (the last row again)
  const dx = uninitialised<tf.Rank.R4>(heap, [n, h, g.w, ci]);
  const scratch = heap.backend.makeOutput([rowsEven * mPad + co + rowsEven + 16], 'float32');
  try {
    const p = lineAligned(heap.at(scratch));
    const table = p + 4 * rowsEven * mPad;
    const mOff = table + 4 * co;
    const i32 = new Int32Array(heap.memory.buffer);
    const dyAt = heap.at(dy);
    for (let k = 0; k < co; k++) i32[table / 4 + k] = dyAt + 4 * k;
    for (let r = 0; r < rowsEven; r++) i32[mOff / 4 + r] = 4 * co * Math.min(r, rows - 1);
    const sliceRows = heap.kernels.rowSlice(rowsEven);
    heap.kernels.gatherGemm({
      table, b: heap.at(filter), bPanelRows: co, mOff, m: rowsEven, co: mPad, kCount: co, split: 'm', sliceRows,
      slices: Math.ceil(rowsEven / sliceRows), out: p, partialBytes: 0, chunkRows: 4096,
    });
    heap.kernels.col2im(p, 4 * mPad, n, oh, ow, g.kh, 4 * g.kw * ci, g.sh, g.sw, g.padTop, g.padLeft, heap.at(dx), h, g.w, 4 * ci);
    return dx;
  } finally {
    heap.backend.disposeData(scratch.dataId);
  }
}

/** One output phase along one axis: which taps reach it and which dy rows it reads. */
interface AxisPhase {
  /** dx rows of the phase: r, r + s, ... below the size. */
  count: number;
  /** The phase's taps are k = j*s + first (j < taps). */
  first: number;
  taps: number;
  /** dy rows [lo, hi) feed it (may run past dy: zero padding). */
  lo: number;
  hi: number;
}

/**
 * dx rows i = q*s + r read dy rows oh = q + c - j with taps k = j*s + e, where e = (r + pT) mod s and
 * c = floor((r + pT) / s): a stride-1 correlation with the flipped taps over dy rows from c - (taps - 1).
 */
function axisPhase(r: number, size: number, s: number, k: number, pad: number): AxisPhase {
  const count = Math.max(0, Math.ceil((size - r) / s));
  const first = (r + pad) % s;
  const c = Math.floor((r + pad) / s);
  const taps = Math.max(0, Math.ceil((k - first) / s));
  const lo = c - (taps - 1);
  return { count, first, taps, lo, hi: lo + count + taps - 1 };
}

/**
 * The phase filters [taps_h, taps_w, Co, Ci] of w, index rh*sw + rw (null where no tap reaches the
 * phase): flipped taps, ci <-> co transposed. The weights are new tensors after every update, so this
 * runs about once per layer and step. On WebAssembly (Ci and Co multiples of 4) each tap's [Ci, Co]
 * block is transposed in the heap by our SIMD helper (`transposeBlock`): 1.0-2.1 ms for DCGAN-64's
 * [4, 4, 256, 512] filter, where a JavaScript loop over a copy of the values took 9.8 ms (and tfjs's
 * Transpose plus Slice and Concat 29 ms). Elsewhere, that JavaScript loop.
 */
function buildPhaseFilters(w: tf.Tensor4D, g: Geometry): Array<tf.Tensor4D | null> {
  const { ci, co, sh, sw } = g;
  const heap = activeHeap();
  const inHeap = heap !== null && ci % 4 === 0 && co % 4 === 0;
  const wv = inHeap ? null : (w.dataSync() as Float32Array); // [KH, KW, Ci, Co]
  const filters: Array<tf.Tensor4D | null> = [];
  for (let rh = 0; rh < sh; rh++) {
    const ph = axisPhase(rh, g.h, sh, g.kh, g.padTop);
    for (let rw = 0; rw < sw; rw++) {
      const pw = axisPhase(rw, g.w, sw, g.kw, g.padLeft);
      if (ph.taps === 0 || pw.taps === 0) {
        filters.push(null);
        continue;
      }
      const shape: [number, number, number, number] = [ph.taps, pw.taps, co, ci];
      const f = heap && inHeap ? uninitialised<tf.Rank.R4>(heap, shape) : null;
      const values = f ? null : new Float32Array(ph.taps * pw.taps * co * ci);
      for (let jh = 0; jh < ph.taps; jh++) {
        const th = (ph.taps - 1 - jh) * sh + ph.first;
        for (let jw = 0; jw < pw.taps; jw++) {
          const tw = (pw.taps - 1 - jw) * sw + pw.first;
          const src = (th * g.kw + tw) * ci * co;
          const dst = (jh * pw.taps + jw) * co * ci;
          if (heap && f) {
            heap.kernels.transposeBlock(heap.at(w) + 4 * src, heap.at(f) + 4 * dst, ci, co);
            continue;
          }
          // w[th, tw] is [ci][co]; the phase filter's block is [co][ci].
          for (let c = 0; c < ci; c++) {
            for (let o = 0; o < co; o++) values![dst + o * ci + c] = wv![src + c * co + o]!;
          }
        }
      }
      filters.push(f ?? tf.tensor4d(values!, shape));
    }
  }
  return filters;
}

/**
 * 'phases': one convolution per stride phase (s*s of them), each computing exactly its own dx rows
 * and columns from its own taps, so no multiply-add is wasted; the phases are interleaved into dx by
 * one JavaScript loop. Each convolution has Ci output channels: for the RGB layers (Ci = 3) that
 * wastes most of XNNPACK's 8-wide output tiles, so 'subPixel' is chosen there.
 */
function byPhases(dy: tf.Tensor4D, w: tf.Tensor4D, g: Geometry): tf.Tensor4D {
  const { n, h, ci, co, sh, sw } = g;
  const filters = rearrangedFilters(w, `phases s${sh}x${sw} p${g.padTop},${g.padLeft}`, () => buildPhaseFilters(w, g));
  const dx = new Float32Array(n * h * g.w * ci); // phases with no taps stay zero
  for (let rh = 0; rh < sh; rh++) {
    const ph = axisPhase(rh, h, sh, g.kh, g.padTop);
    for (let rw = 0; rw < sw; rw++) {
      const pw = axisPhase(rw, g.w, sw, g.kw, g.padLeft);
      const filter = filters[rh * sw + rw];
      if (ph.count === 0 || pw.count === 0 || !filter) continue;
      // dy rows [lo, hi) and columns likewise: slice what exists, zero-pad the rest.
      const r0 = Math.max(0, ph.lo);
      const r1 = Math.min(g.oh, ph.hi);
      const c0 = Math.max(0, pw.lo);
      const c1 = Math.min(g.ow, pw.hi);
      if (r1 <= r0 || c1 <= c0) continue; // reads only padding: this phase of dx is zero
      const out = tf.tidy(() => {
        const part = r0 === 0 && c0 === 0 && r1 === g.oh && c1 === g.ow ? dy : tf.slice(dy, [0, r0, c0, 0], [n, r1 - r0, c1 - c0, co]);
        const pads: [[number, number], [number, number], [number, number], [number, number]] = [
          [0, 0], [r0 - ph.lo, ph.hi - r1], [c0 - pw.lo, pw.hi - c1], [0, 0],
        ];
        return tf.conv2d(part, filter, 1, pads); // [N, count_h, count_w, Ci]
      });
      const ov = out.dataSync() as Float32Array;
      out.dispose();
      let from = 0;
      for (let img = 0; img < n; img++) {
        for (let q = 0; q < ph.count; q++) {
          const row = (img * h + q * sh + rh) * g.w;
          for (let qw = 0; qw < pw.count; qw++, from += ci) copyChannels(ov, from, dx, (row + qw * sw + rw) * ci, ci);
        }
      }
    }
  }
  return tf.tensor4d(dx, [n, h, g.w, ci]);
}

/**
 * 'phasesInHeap' (WebAssembly, Ci a multiple of 16): each phase is one call of our gather-GEMM
 * (./simd/gather-gemm.wat) over one zero-padded copy of dy shared by all phases, reading the phase
 * filter where it lies and writing the phase's rows straight into dx through a table of row
 * addresses: no slices of dy, no copies of the phase results out of the heap, no interleaving loop,
 * no dx built in JavaScript and copied back (what 'phases' does around its convolutions). For
 * output pixel (n, q, q') of phase (rh, rw) and k = (jh, jw, co):
 *   dx[n, q*sh + rh, q'*sw + rw, ci] = sum_k dyPad[n, q + lo_h + jh, q' + lo_w + jw, co] * F[jh, jw, co, ci]
 * (lo from `axisPhase`, shifted by dyPad's padding), the same sum in the same order as 'phases'.
 */
function byPhasesInHeap(dy: tf.Tensor4D, w: tf.Tensor4D, g: Geometry, heap: Heap): tf.Tensor4D {
  const { n, h, ci, co, sh, sw, oh, ow } = g;
  // The phase filters [taps, Ci] in panels of 16 columns (`inPanels`), cached in that layout (flat,
  // with room to start on a cache line).
  const packed = ci !== 16;
  const filters = rearrangedFilters(w, `phases in panels s${sh}x${sw} p${g.padTop},${g.padLeft}`, () =>
    buildPhaseFilters(w, g).map((f): tf.Tensor | null => {
      if (!f || !packed) return f;
      const panels = uninitialised<tf.Rank.R1>(heap, [panelFloats(f.size / ci, ci)]);
      inPanels(heap, heap.at(f), f.size / ci, ci, heap.at(panels)); // at lineAligned(heap.at(panels)), read below
      f.dispose();
      return panels;
    }));
  const phases: Array<{ rh: number; rw: number; ph: AxisPhase; pw: AxisPhase; filter: tf.Tensor | null }> = [];
  for (let rh = 0; rh < sh; rh++) {
    for (let rw = 0; rw < sw; rw++) {
      phases.push({ rh, rw, ph: axisPhase(rh, h, sh, g.kh, g.padTop), pw: axisPhase(rw, g.w, sw, g.kw, g.padLeft), filter: filters[rh * sw + rw]! });
    }
  }
  const live = phases.filter((p) => p.filter && p.ph.count > 0 && p.pw.count > 0);
  // dy padded so that every phase's rows [lo, hi) and columns exist.
  const top = Math.max(0, ...live.map((p) => -p.ph.lo));
  const left = Math.max(0, ...live.map((p) => -p.pw.lo));
  const hp = Math.max(oh + top, ...live.map((p) => p.ph.hi + top));
  const wp = Math.max(ow + left, ...live.map((p) => p.pw.hi + left));
  const rowsMax = Math.max(0, ...live.map((p) => n * p.ph.count * p.pw.count + 1));
  const kMax = Math.max(0, ...live.map((p) => p.ph.taps * p.pw.taps * co));
  const dx = uninitialised<tf.Rank.R4>(heap, [n, h, g.w, ci]);
  const dyFloats = n * hp * wp * co;
  const scratch = heap.backend.makeOutput([dyFloats + 2 * rowsMax + kMax], 'float32');
  try {
    // Pixels of phases that no tap reaches are zero (when the stride exceeds the kernel).
    if (live.length < phases.length) new Uint8Array(heap.memory.buffer, heap.at(dx), dx.size * 4).fill(0);
    const dyPad = heap.at(scratch);
    const corners = dyPad + 4 * dyFloats;
    const outRows = corners + 4 * rowsMax;
    const offsets = outRows + 4 * rowsMax;
    heap.kernels.padImages(heap.at(dy), dyPad, n, oh, 4 * ow * co, hp, 4 * wp * co, top, 4 * left * co);
    const i32 = new Int32Array(heap.memory.buffer);
    const dxAt = heap.at(dx);
    for (const { rh, rw, ph, pw, filter } of live) {
      // A stride-1 convolution over dyPad from the phase's first row and column (lo), with the
      // phase filter's taps x Co rows: the same tables as the forward pass's.
      const origin = dyPad + 4 * ((ph.lo + top) * wp + pw.lo + left) * co;
      const k = ph.taps * pw.taps * co;
      writeConvTables(i32, { n, ci: co, oh: ph.count, ow: pw.count, kw: pw.taps, sh: 1, sw: 1, hp, wp }, origin, corners, offsets, k);
      let m = 0;
      // Fields and invariants in locals, not read in the loops (`writeConvTables` says why).
      const rowsAt = outRows / 4;
      const qs = ph.count;
      const qws = pw.count;
      const colBytes = 4 * sw * ci;
      for (let img = 0; img < n; img++) {
        for (let q = 0; q < qs; q++) {
          const start = dxAt + 4 * ((img * h + q * sh + rh) * g.w + rw) * ci;
          for (let qw = 0; qw < qws; qw++, m++) i32[rowsAt + m] = start + qw * colBytes;
        }
      }
      if (m % 2 === 1) {
        // The kernel computes rows in pairs: the last row once more, into the same place.
        i32[corners / 4 + m] = i32[corners / 4 + m - 1]!;
        i32[outRows / 4 + m] = i32[outRows / 4 + m - 1]!;
        m++;
      }
      const sliceRows = heap.kernels.rowSlice(m);
      heap.kernels.gatherGemm({
        table: offsets, b: packed ? lineAligned(heap.at(filter!)) : heap.at(filter!), bPanelRows: packed ? k : 0, mOff: corners, m, co: ci, kCount: k,
        split: 'm', sliceRows, slices: Math.ceil(m / sliceRows), out: dxAt, outTable: outRows, partialBytes: 0, chunkRows: PANEL_CHUNK_ROWS,
      });
    }
    return dx;
  } finally {
    heap.backend.disposeData(scratch.dataId);
  }
}

/*
 * Rearranged filters of the weights seen last, by the weight tensor's data id. The conditional
 * WGAN-GP's critic takes about five input gradients per layer with the same weights in each critic
 * update (its gradient penalty differentiates twice), and XNNPACK keeps the packed form of a filter
 * tensor it has seen: on the 8x8x128 -> 4x4x256 layer a call that finds its filters here takes
 * 10 ms, one that builds and packs them 28-33 ms. The weights reach the kernel as the variable's own
 * tensor or as the copies tfjs saves for the backward pass, which share its data id (./identity.ts).
 * A data id's values never change, so an entry is never stale; it goes when no tensor with its data
 * id is alive any more (checked on every call), oldest first past FILTER_CACHE_SIZE entries or
 * FILTER_CACHE_BYTES of weights (each entry holds about twice its weights: the rearranged filters
 * and XNNPACK's packed copy; a wasm32 heap cannot pass 4 GiB), and all at once with
 * `clearInputGradFilterCache` (Trainer.dispose).
 */
const FILTER_CACHE_SIZE = 16;
const FILTER_CACHE_BYTES = 96 * 2 ** 20;

interface FilterCacheEntry {
  dataId: object;
  /** The method and geometry the filters were built for, with w's shape. */
  key: string;
  bytes: number;
  filters: Array<tf.Tensor | null>;
}

/** Least recently used first. */
const filterCache: FilterCacheEntry[] = [];

function dropEntry(entry: FilterCacheEntry): void {
  for (const f of entry.filters) f?.dispose();
  filterCache.splice(filterCache.indexOf(entry), 1);
}

/**
 * Drops every cached filter (Trainer.dispose, tests). Returns how many entries there were. With
 * `moduleBroken`, a failure to free one (a WebAssembly module whose heap ran out) does not stop the
 * others: the module and its memory are being replaced anyway.
 */
export function clearInputGradFilterCache(moduleBroken = false): number {
  const n = filterCache.length;
  for (const entry of filterCache.splice(0)) {
    for (const f of entry.filters) {
      try {
        f?.dispose();
      } catch (e) {
        if (!moduleBroken) throw e;
      }
    }
  }
  return n;
}

/** How many weights have cached filters, once those of dead tensors are dropped (tests). */
export function inputGradFilterCacheSize(): number {
  dropEntriesOfDeadTensors();
  return filterCache.length;
}

function dropEntriesOfDeadTensors(): void {
  const alive = tf.engine().state.tensorInfo;
  for (const entry of [...filterCache]) if (!alive.has(entry.dataId)) dropEntry(entry);
}

function rearrangedFilters<T extends tf.Tensor>(w: tf.Tensor4D, method: string, build: () => Array<T | null>): Array<T | null> {
  dropEntriesOfDeadTensors();
  const dataId = w.dataId as object;
  const key = `${method} ${w.shape.join('x')}`;
  let entry = filterCache.find((e) => e.dataId === dataId && e.key === key);
  if (entry) {
    filterCache.splice(filterCache.indexOf(entry), 1); // most recently used last
  } else {
    const bytes = w.size * 4;
    // Weights larger than the whole budget are rearranged for this call only (the kernel's tidy frees them).
    if (bytes > FILTER_CACHE_BYTES) return build();
    const cached = () => filterCache.reduce((sum, e) => sum + e.bytes, 0);
    while (filterCache.length >= FILTER_CACHE_SIZE || cached() + bytes > FILTER_CACHE_BYTES) dropEntry(filterCache[0]!);
    const filters = build();
    for (const f of filters) if (f) tf.keep(f); // outlives the kernel's tidy
    entry = { dataId, key, bytes, filters };
  }
  filterCache.push(entry);
  return entry.filters as Array<T | null>; // built by this `build` (the key names the method)
}

/**
 * 'phases' wastes no multiply-adds but runs s*s convolutions with Ci output channels each; below 8
 * channels (XNNPACK's output tile width) 'subPixel' is faster. On WebAssembly below 16 channels (the
 * RGB layer) 'patches' beats both: DCGAN-64's D1 at batch 16 1.80-1.82 ms against 'subPixel''s
 * 2.60-2.83 (the forward pass 1.40-1.49), at batch 64 6.46-7.23 against 8.89-10.21, DCGAN-32's at
 * batch 16 0.58-0.62 against 0.90-0.97 (build machine, 2 threads, medians of 40 calls after a 32 MB
 * element-wise op; 4 to 15 channels, which no layer of ours has, unmeasured). With Ci a multiple of
 * 16, 'phasesInHeap' does the same sums without the copies around them, and for 4x4 filters of
 * stride 2 where it pays the forward pass's Winograd transposed ('winogradScatter', from 2^27
 * multiply-adds, `winogradScatterPays`; 'winograd4Scatter' from 64 tiles of 4x4,
 * `winogradScatter4Pays`), else where it cannot (dy not whole tiles) the per-phase 'winograd'
 * (`winogradInputPays`) 9/16 of them, and on the larger layers 'winograd4' (`winogradInput4Pays`)
 * 25/64 of them. Measured on
 * the build machine with `bench/wasm-conv.bench.ts` (docs/PERFORMANCE.md).
 */
export function chooseInputGradMethod(g: Geometry): InputGradMethod {
  if (g.sh * g.sw === 1) return 'subPixel';
  const inHeap = activeHeap() !== null;
  if (g.ci < 16 && inHeap && patchesFit(g)) return 'patches';
  if (g.ci < 8) return 'subPixel';
  const scatter = inHeap && winogradScatterOn();
  if (scatter && winograd4On() && winogradScatter4Pays(g)) return 'winograd4Scatter';
  if (scatter && winogradOn() && winogradScatterPays(g)) return 'winogradScatter';
  if (inHeap && winograd4On() && winogradInput4Pays(g)) return 'winograd4';
  if (inHeap && winogradOn() && winogradInputPays(g)) return 'winograd';
  return inHeap && g.ci % 16 === 0 ? 'phasesInHeap' : 'phases';
}

/** dx [N, H, W, Ci] from dy [N, OH, OW, Co] (NHWC). */
export function conv2dBackpropInputNhwc(
  dy: tf.Tensor4D,
  w: tf.Tensor4D,
  dxShape: [number, number, number, number],
  strides: Conv2DBackpropInputAttrs['strides'],
  pad: Conv2DBackpropInputAttrs['pad'],
  dimRoundingMode?: Conv2DBackpropInputAttrs['dimRoundingMode'],
  method?: InputGradMethod,
): tf.Tensor4D {
  // Negative padding (tfjs-core allows it) is a crop of x: the gradient of the cropped image, and
  // zero for the rows and columns cut off.
  const negative = cropOfNegativePadding(pad);
  if (negative) {
    const { top, bottom, left, right } = negative.crop;
    const inner = conv2dBackpropInputNhwc(dy, w, croppedShape('Conv2DBackpropInput', dxShape, negative.crop), strides, negative.pad, dimRoundingMode, method);
    return tf.pad(inner, [[0, 0], [top, bottom], [left, right], [0, 0]]);
  }
  const g = geometry(dy, w.shape, dxShape, strides, pad, dimRoundingMode);
  // Nothing to sum (XNNPACK refuses empty convolutions): dx is zero.
  if (dy.size === 0 || w.size === 0) return tf.zeros<tf.Rank.R4>(dxShape);
  const chosen = method ?? chooseInputGradMethod(g);
  if (chosen === 'winogradScatter' || chosen === 'winograd4Scatter') {
    const heap = activeHeap();
    const tile = chosen === 'winograd4Scatter' ? 4 : 2;
    if (!heap || !winogradScatterApplies(g, tile)) {
      throw new Error(`Conv2DBackpropInput: '${chosen}' needs the WebAssembly backend, a 4x4 filter of stride 2, input channels a multiple of 16, output channels of 16, dy's size a multiple of ${tile} and padding that covers dx`);
    }
    // w's taps transposed, kept while the weights live: a step runs several passes with the same weights
    // (the generator's forward pass twice, the cWGAN-GP's critic about five input gradients per update)
    const taps = rearrangedFilters(w, 'taps transposed', () => {
      const t = uninitialised<tf.Rank.R3>(heap, [16, g.co, g.ci]);
      heap.kernels.transposeTaps(heap.at(w), heap.at(t), g.ci, g.co, 0);
      return [t];
    })[0]!;
    return byWinogradScatter(dy, taps, g, heap, tile);
  }
  if (chosen === 'winograd' || chosen === 'winograd4') {
    const heap = activeHeap();
    if (!heap || !winogradInputApplies(g)) throw new Error(`Conv2DBackpropInput: '${chosen}' needs the WebAssembly backend, a 4x4 filter of stride 2, input channels a multiple of 16 and output channels of 4`);
    return byWinogradInput(dy, w, g, heap, chosen === 'winograd4' ? 4 : 2);
  }
  if (chosen === 'patches') {
    const heap = activeHeap();
    if (!heap) throw new Error("Conv2DBackpropInput: 'patches' needs the WebAssembly backend");
    return byPatches(dy, w, g, heap);
  }
  if (chosen === 'phasesInHeap') {
    const heap = activeHeap();
    if (!heap || g.ci % 16 !== 0) throw new Error("Conv2DBackpropInput: 'phasesInHeap' needs the WebAssembly backend and input channels a multiple of 16");
    return byPhasesInHeap(dy, w, g, heap);
  }
  return chosen === 'phases' ? byPhases(dy, w, g) : bySubPixel(dy, w, g);
}

/** The kernel's computation with tfjs ops on the current backend (also usable directly, for tests). */
export function conv2dBackpropInput(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  attrs: Conv2DBackpropInputAttrs,
  method?: InputGradMethod,
): tf.Tensor4D {
  return tf.tidy(() => {
    if (attrs.dataFormat === 'NCHW') {
      const [n, c, h, w] = attrs.inputShape;
      return nhwcToNchw(conv2dBackpropInputNhwc(nchwToNhwc(dy), filter, [n, h, w, c], attrs.strides, nhwcPad(attrs), attrs.dimRoundingMode, method));
    }
    return conv2dBackpropInputNhwc(dy, filter, attrs.inputShape, attrs.strides, attrs.pad, attrs.dimRoundingMode, method);
  });
}

/** The kernel (registered by ./index.ts over the backend's own). */
export const conv2dBackpropInputKernel: tf.KernelFunc = ({ inputs, attrs }) =>
  conv2dBackpropInput(inputs.dy as tf.Tensor4D, inputs.filter as tf.Tensor4D, attrs as unknown as Conv2DBackpropInputAttrs);
