/**
 * Our own WebAssembly SIMD kernels (./*.wat, compiled into ./binaries.ts), run on tfjs-backend-wasm's
 * heap, on the calling thread and on a pool of worker threads that share the heap.
 *
 * Why a pool of our own: tfjs's threaded module runs XNNPACK's operators on its pthreads, but offers
 * no way to run other code there. A kernel of ours on one thread would lose to XNNPACK's convolutions
 * on any machine with more than two cores. So `KernelThreads` starts (threads - 1) Node worker
 * threads, each instantiating the same kernel module over the same shared WebAssembly.Memory; a call
 * splits its work into slices that the calling thread and the workers take from a shared counter
 * (Atomics), and returns when every slice is done. tfjs's kernels are synchronous, and so is this:
 * the calling thread computes slices itself, then waits (Atomics.wait) for the last ones.
 *
 * The slices do not depend on the number of threads (the caller chooses them from the problem's
 * size), and each slice writes its own partial result: results are bit-identical whichever thread
 * computes which slice, with any number of threads. With tfjs's single-threaded module (its memory is
 * not shared) every slice runs on the calling thread. The pool also runs the helpers that work unit
 * by unit (`bySlices`: padding and rearranging images, packing panels, LeakyReLU, Adam's update, the
 * Winograd transforms, batch norm's passes, column sums, transposes) in slices of units; each unit's
 * result is computed on its own, so their slices may depend on the thread count.
 *
 * Fused multiply-adds: where the JavaScript engine has WebAssembly's relaxed SIMD (Electron's V8
 * does by default; Node 20's V8 behind a flag, which `fusedMultiplyAdds` sets), the gather-GEMM's
 * variant with f32x4.relaxed_madd is used: one FMA instruction per multiply-add where the processor
 * has one, about 20% faster per convolution pass on the build machine's AMD EPYC (which adds and
 * multiplies on separate pipes; processors that share them gain more). A fused multiply-add rounds
 * once, so results differ from the unfused variant's in the last bits, and may differ between
 * processors (relaxed_madd fuses only where the hardware can); on one machine they are the same on
 * every run and any number of threads. GAN_AUGMENT_WASM_FMA=0 asks for the unfused variant.
 *
 * Owner: the WebAssembly module whose memory the workers share (one pool per memory). ../index.ts
 * disposes of it with the module (`disposeKernelThreads`); the workers are unref'd, so an idle pool
 * never keeps the process alive.
 */
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { gatherGemm as gatherGemmBinary } from './binaries';

/** Control block (Int32Array over a SharedArrayBuffer): indices. Addresses are stored as u32 bits. */
const C = {
  GEN: 0, STOP: 1, NEXT: 2, DONE: 3, FAILED: 4,
  TABLE: 5, B: 6, MOFF: 7, M: 8, CO: 9, KC: 10, KCOUNT: 11, SLICE_ROWS: 12, SLICES: 13, OUT: 14, PARTIAL_BYTES: 15,
  SPLIT: 16, OUT_TABLE: 17, B_PANEL_ROWS: 18,
  // A helper job (`SlicedHelper`): which helper, units per slice, units in all, which argument counts
  // them, how many arguments, which are float32 (a bit each), the arguments, and the bytes each
  // argument moves on per unit (0: passed as it is).
  KIND: 19, UNITS_PER_SLICE: 20, UNITS: 21, COUNT_ARG: 22, ARG_COUNT: 23, FLOAT_ARGS: 24, ARGS: 25, STEPS: 25 + 16,
  // A batch of gather-GEMMs of the same shape in one call (`GatherGemmJob.batch`): slices per GEMM (0:
  // no batch), and the bytes table, b, out and mOff move on from one GEMM to the next.
  BATCH_SLICES: 57, TABLE_STEP: 58, B_STEP: 59, OUT_STEP: 60, MOFF_STEP: 61,
  SIZE: 62,
} as const;

/**
 * The helpers (./gather-gemm.wat) that a call can cut into slices (`KernelThreads.bySlices`): each
 * computes unit i of its result (an image, a row, a float) from unit i of its inputs alone, so a
 * slice is the same call on fewer units with its addresses moved on. `count`: the argument that
 * counts the units; `floats`: the arguments that are float32; `weight`: about the bytes a call moves
 * against what its steps count, for the size below which it stays on one thread (MIN_CALL_BYTES).
 * `compute`: its time goes to arithmetic and shuffles more than to memory traffic, so that slices pay
 * from MIN_CALL_BYTES / COMPUTE_SLICE_DIVISOR already (`COMPUTE_SLICE_DIVISOR` has the measurements).
 * `phaseRows` shuffles every four floats, and paid on two threads already at 2 MB (DCGAN-64 D4 at
 * batch 16: 0.45-0.47 ms on one thread, 0.35-0.40 on two; build machine), so its weight 8 slices it
 * from 1 MB (counted as its steps count: x, and one plane's image of dst per image); below that it
 * lost (2026-11-28: 0.21 and 0.84 MB calls, 0.04 and 0.11 ms, 25-40% slower in slices). `always`:
 * sliced whatever GAN_AUGMENT_WASM_SLICE_HELPERS says (`slicedHelpers`). KIND's value is the index in
 * SLICED_HELPER_NAMES plus one (0 is the gather-GEMM).
 */
export const SLICED_HELPERS = {
  phaseRows: { count: 2, floats: [], weight: 8, compute: false, always: true },
  padImages: { count: 2, floats: [], weight: 1, compute: false, always: false },
  packPanels: { count: 1, floats: [], weight: 1, compute: false, always: false },
  leakyMul: { count: 2, floats: [3], weight: 1, compute: false, always: false },
  adamUpdate: { count: 7, floats: [8, 9, 10, 11, 12, 13], weight: 1, compute: false, always: false },
  // By columns (their sums each the same bits in any slice): sumLeading (Sum, Mean, batch norm's
  // mean), batch norm's two column passes, and transposeBlock (a column of src is a row of dst); by
  // rows: batch norm's element-wise passes.
  sumLeading: { count: 2, floats: [4], weight: 1, compute: false, always: false },
  bnVariance: { count: 2, floats: [5], weight: 1, compute: false, always: false },
  bnBackwardSums: { count: 3, floats: [6], weight: 1, compute: true, always: false },
  bnNormalize: { count: 1, floats: [7], weight: 1, compute: false, always: false },
  bnInputGrad: { count: 2, floats: [9, 10], weight: 1, compute: false, always: false },
  transposeBlock: { count: 3, floats: [], weight: 1, compute: false, always: false },
  transposeTaps: { count: 6, floats: [], weight: 1, compute: true, always: false },
  // The Winograd transforms of ../winograd.ts. Their steps count one buffer of each unit, so the
  // weights are the bytes they move against those: winoInput writes nine U rows per tile (about 5x x
  // and one U row), winoOutput reads nine M rows and writes four pixels (about 3x), winoFilter reads
  // a channel's 16 filter rows and writes 36 rows of V (about 40x one row of w).
  winoInput: { count: 6, floats: [], weight: 5, compute: true, always: true },
  winoOutput: { count: 6, floats: [], weight: 3, compute: false, always: true },
  winoFilter: { count: 3, floats: [], weight: 40, compute: true, always: true },
  // The filter gradient's: winoInputT's units are groups of four tiles, whose addresses it computes
  // from the first tile's index (a step of 4), so its call passes the bytes a group moves (`bySlices`'
  // unitBytes); winoDy writes nine V rows per tile from four dy pixels (steps: four pixels, one row of
  // a panel); winoFilterOut reads nine M rows per four taps and writes them (steps: one row of each).
  winoInputT: { count: 7, floats: [], weight: 1, compute: true, always: true },
  winoDy: { count: 5, floats: [], weight: 3, compute: true, always: true },
  winoFilterOut: { count: 4, floats: [], weight: 6, compute: true, always: true },
  // The input gradient's: winoInputS1 as winoInput (of dy), winoOutputPhase as winoOutput (a phase of dx).
  winoInputS1: { count: 8, floats: [], weight: 5, compute: true, always: true },
  winoOutputPhase: { count: 5, floats: [], weight: 3, compute: false, always: true },
  // F(4x4, 2x2)'s (../winograd.ts, tile 4): winoInput4 writes 25 U rows per 16 output pixels
  // (about 3x x), winoOutput4 reads 25 M rows per 16 pixels (about 2x), winoFilter4 100 rows of V per
  // channel (about 100x one row of w).
  winoInput4: { count: 8, floats: [], weight: 3, compute: true, always: true },
  winoOutput4: { count: 5, floats: [], weight: 2, compute: true, always: true },
  winoFilter4: { count: 3, floats: [], weight: 100, compute: true, always: true },
  // its filter gradient's: winoDy4 writes 25 V rows per 16 dy pixels (steps: 16 pixels, one row of a
  // panel), winoFilterOut4 reads 25 M rows per four taps (steps: one row of each). winoFilterOut4's
  // weight is timed rather than counted: its calls took 4-5x the time per counted byte of the other
  // transforms (0.40 ms for DCGAN-32's D2 at batch 16, 0.31 in slices on two threads).
  winoDy4: { count: 5, floats: [], weight: 3, compute: true, always: true },
  winoFilterOut4: { count: 4, floats: [], weight: 28, compute: true, always: true },
  // The input gradient as the forward pass transposed (../winograd.ts, `byWinogradScatter`): each
  // reads 9 (25) U' rows of 4 Ci floats per tile and writes or adds dx's pixels (steps: one U' row per
  // tile and an image of dx).
  winoScatter: { count: 5, floats: [], weight: 3, compute: true, always: true },
  winoScatter4: { count: 5, floats: [], weight: 3, compute: true, always: true },
  // The input gradient of layers with few input channels (../conv2d-backprop-input.ts, byPatches): reads
  // an image's patches and adds them into its dx (steps: both). In slices from 1 MB: DCGAN-64's RGB layer
  // at batch 16 (3.9 MB) 0.46 ms on one thread, 0.31-0.36 in slices on two (2026-11-28 night).
  col2im: { count: 2, floats: [], weight: 1, compute: true, always: false },
} as const satisfies Record<string, { count: number; floats: readonly number[]; weight: number; compute: boolean; always: boolean }>;
export type SlicedHelper = keyof typeof SLICED_HELPERS;
const SLICED_HELPER_NAMES = Object.keys(SLICED_HELPERS) as SlicedHelper[];

/**
 * Bytes a helper call moves at least (its units times the bytes its arguments move on per unit, times
 * the helper's weight) to run in slices: below that it runs on the calling thread alone, since waking
 * a worker costs more than it saves. On the build machine (2 threads, medians of 50 alternated calls)
 * slices paid from about 8 MB a call: Adam over 1M floats (28 MB) 1.45-1.85 -> 0.88-1.14 ms,
 * LeakyReLU (12 MB) 0.44-0.64 -> 0.30-0.41, panels (8 MB) 0.24-0.36 -> 0.18-0.26; at 2-4 MB, where
 * the data stays in the cache, they lost (panels of 1 MB 0.036-0.049 -> 0.053-0.081 ms). Whole steps
 * of separate processes showed no gain from 2 MB or 512 KB (2026-11-28 afternoon, DCGAN-32 at batch
 * 16, 3 rounds, within this machine's drift); steps alternated in one process did (evening: from 1-4
 * MB, 4-8% faster in 11-14 of 15-20 pairs), all of it from the helpers now marked `compute`
 * (COMPUTE_SLICE_DIVISOR). Set only on 2 cores: GAN_AUGMENT_WASM_SLICE_FROM_KB (`minCallBytes`) sets it
 * (and the `compute` helpers' size with it), for measuring where there are more (scripts/gpu/pending.sh part m).
 */
export const MIN_CALL_BYTES = 8 * 1024 * 1024;

/**
 * The helpers marked `compute` in SLICED_HELPERS (the Winograd transforms but the output ones of
 * F(2x2, 2x2), the input gradient's tap transposes, batch norm's backward sums) run in slices from
 * MIN_CALL_BYTES / COMPUTE_SLICE_DIVISOR (1 MB): each call's time, alternated step by step in one
 * process between slices from 8 MB and slices of every call (bench/slice-helpers.bench.ts), showed
 * which gain from 1-8 MB on the build machine's 2 threads: per step, winoFilter 7.4-8.2 -> 6.3-6.6 ms
 * (DCGAN-32, batch 16), winoInputS1 4.6 -> 3.7-4.0, winoInput4 1.23 -> 0.82-0.92, winoFilterOut
 * (DCGAN-64, batch 16) 5.6 -> 4.1-4.4, winoDy4 2.7 -> 1.6-1.7, bnBackwardSums 4.5-4.7 -> 3.7-3.8. The
 * others lost there: the copies, LeakyReLU, Adam, batch norm's element-wise passes, the column sums,
 * the output transforms of F(2x2, 2x2) (winoOutputPhase 1.0-1.2 -> 1.6-1.7 ms in 32 calls of 50
 * us), calls of under 1 MB (winoDy's of 0.8 MB, 0.43 -> 0.46-0.49). Whole steps, 8 MB for all against
 * this (means of alternated steps; docs/bench-results/2026-11-28-evening-compute-slices.jsonl):
 * DCGAN-32 at batch 16 83.1 -> 78.2 ms (faster in 27 of 30 pairs), DCGAN-64 at batch 16 345 -> 332
 * (16 of 20), at batch 64 level (1,070 -> 1,069), the cWGAN-GP 32 449 -> 416 (18 of 20), 64 level.
 */
export const COMPUTE_SLICE_DIVISOR = 8;

/** MIN_CALL_BYTES, or GAN_AUGMENT_WASM_SLICE_FROM_KB KiB where that is set (a whole number from 1 to 1,048,576). */
export function minCallBytes(env: NodeJS.ProcessEnv = process.env): number {
  const setting = env.GAN_AUGMENT_WASM_SLICE_FROM_KB?.trim();
  if (setting === undefined || setting === '') return MIN_CALL_BYTES;
  const kb = Number(setting);
  if (!/^\d+$/.test(setting) || kb < 1 || kb > 1_048_576) {
    throw new Error(`GAN_AUGMENT_WASM_SLICE_FROM_KB is "${setting}"; use a whole number of KiB from 1 to 1048576 (default ${MIN_CALL_BYTES / 1024}).`);
  }
  return kb * 1024;
}

/**
 * A call of `gatherGemm` (./gather-gemm.wat): out[m, co] = sum_k a[table[k] + mOff[m]] * b[k, co],
 * byte addresses in the heap, cut into slices in one of two ways:
 *  - split 'k': slice s sums the k rows [s * sliceRows, ...) into its own partial, M x CO floats at
 *    out + s * partialBytes (the caller adds the partials, in order). For few outputs over many k rows
 *    (the filter gradient of the RGB layer).
 *  - split 'm': slice s computes the output rows [s * sliceRows, ...) of out (M x CO) whole. The
 *    result does not depend on the slices at all; sliceRows must be even.
 */
export interface GatherGemmJob {
  /** int32 per k row: a byte address (or offset) in a. */
  table: number;
  b: number;
  /** int32 per output row (M of them, M even): a byte offset (or address) in a. */
  mOff: number;
  m: number;
  co: number;
  kCount: number;
  split: 'k' | 'm';
  sliceRows: number;
  slices: number;
  out: number;
  /** Split 'k': bytes between two slices' partials (ignored for 'm'). */
  partialBytes: number;
  /** k rows per chunk inside the kernel (kept in the cache while the output blocks pass over it; the outputs are loaded and stored once per chunk). */
  chunkRows: number;
  /**
   * Split 'm' only: int32 per output row, its byte address (then `out` is not used); rows may lie
   * anywhere, as a stride phase's rows of dx do. 0 or absent: out rows are contiguous at `out`.
   */
  outTable?: number;
  /**
   * b's layout: 0 or absent, row-major (kCount rows of CO floats); else in panels of 16 columns, as
   * `packPanels` writes them, of this many rows each (at least kCount). The panels keep the kernel's
   * reads of b contiguous: rows of a row-major b lie a power of two apart, and with CO = 512 a chunk's
   * 64-byte pieces all fall in two sets of the L1 cache and evict each other.
   */
  bPanelRows?: number;
  /**
   * Split 'm' only, no outTable: `count` GEMMs of this shape in one call (its `slices` slices each, all
   * taken from one counter: one wait for the threads instead of `count`), GEMM i's table, b, out and
   * mOff at `tableStep`, `bStep`, `outStep` and `mOffStep` (default 0) bytes times i on from the job's.
   */
  batch?: { count: number; tableStep: number; bStep: number; outStep: number; mOffStep?: number };
}

type GatherGemmFn = (table: number, b: number, kCount: number, mOff: number, m: number, co: number, out: number, kc: number, outTable: number, bPanelRows: number) => void;

/** ./gather-gemm.wat's helpers, run on the calling thread (byte addresses, as there). */
export interface HeapHelpers {
  padImages(src: number, dst: number, images: number, rows: number, rowBytes: number, dstRows: number, dstRowBytes: number, top: number, leftBytes: number): void;
  sumPartials(src: number, count: number, strideBytes: number, dst: number, floats: number): void;
  addRowVector(dst: number, rows: number, vec: number, floats: number): void;
  /** dst[j] = (sum of column j of a row-major [rows, stride] block, in row order) / divisor, for j in [0, cols). */
  sumLeading(src: number, rows: number, cols: number, dst: number, divisor: number, stride: number): void;
  /** Adam's update of one variable of n floats into outW, outM, outV (see the .wat for the formulas). */
  adamUpdate(
    w: number, m: number, v: number, g: number, outW: number, outM: number, outV: number, n: number,
    beta1: number, beta2: number, c1: number, c2: number, negLr: number, eps: number, accBeta1: number, accBeta2: number,
  ): void;
  /**
   * dst = src [rows, cols] in panels of 16 columns (cols a multiple of 16), each panel panelRows rows
   * long (at least rows): b for a gather-GEMM with bPanelRows = panelRows.
   */
  packPanels(src: number, rows: number, cols: number, dst: number, panelRows: number): void;
  /**
   * x [images, h, w, ci] zero-padded to up * sh rows and vp * sw columns (vp a
   * multiple of 4), split by stride phase and channel into rows of vp floats: the filter gradient's
   * phase rows; padded row u * sh + r, column v * sw + t, channel c of image i at byte
   * i * sImg + u * sU + r * sR + (t * ci + c) * sC + 4 * v of dst.
   */
  phaseRows(
    src: number, dst: number, images: number, h: number, w: number, ci: number, sh: number, sw: number, top: number, left: number,
    up: number, vp: number, sImg: number, sU: number, sR: number, sC: number,
  ): void;
  /** dst [cols, rows] = src [rows, cols] transposed, src's rows srcStride floats apart (rows and cols multiples of 4). */
  transposeBlock(src: number, dst: number, rows: number, cols: number, srcStride: number): void;
  /** wT [16, co, ci] = each tap of w [4, 4, ci, co] transposed (flip 2: tap (kh ^ 2, kw ^ 2)), taps tap0 .. tap0 + taps - 1. */
  transposeTaps(w: number, wT: number, ci: number, co: number, flip: number, tap0: number, taps: number): void;
  /**
   * Batch norm's training pass over [rows, stride] (cols of the stride columns, a multiple of 16;
   * ../batchnorm.ts): the biased variance about `mean`.
   */
  bnVariance(x: number, rows: number, cols: number, mean: number, variance: number, n: number, stride: number): void;
  /** dbeta = sum(dy), dgamma = sum(dy * (x - mean)) / sqrt(variance + eps), per column (as bnVariance's). */
  bnBackwardSums(dy: number, x: number, rows: number, cols: number, mean: number, variance: number, eps: number, dbeta: number, dgamma: number, stride: number): void;
  /**
   * y = (x - mean) / sqrt(variance + eps) * gamma + beta (coef: cols floats of scratch, written first
   * unless coefReady is 1).
   */
  bnNormalize(x: number, rows: number, cols: number, mean: number, variance: number, gamma: number, beta: number, eps: number, coef: number, y: number, coefReady: number): void;
  /** The closed-form input gradient (coef: 4 * cols floats of scratch, as bnNormalize's; the formula in the .wat). */
  bnInputGrad(
    dy: number, x: number, rows: number, cols: number, mean: number, variance: number, gamma: number,
    dbeta: number, dgamma: number, n: number, eps: number, coef: number, dx: number, coefReady: number,
  ): void;
  /** out = src * (x > 0 ? 1 : x <= 0 ? alpha : NaN), n floats: LeakyReLU (src = x) and its gradient (src = dy). */
  leakyMul(src: number, x: number, n: number, alpha: number, out: number): void;
  /** Winograd F(2x2, 2x2) over stride phases (../winograd.ts): the input transform of `images` images into U. */
  winoInput(x: number, imgBytes: number, rowBytes: number, ci: number, th: number, tw: number, images: number, u: number, xiBytes: number): void;
  /** The output transform of `images` images' tiles of M into y, plus bias (0: none). */
  winoOutput(m: number, xiBytes: number, co: number, th: number, tw: number, ow: number, images: number, y: number, bias: number): void;
  /** The filter transform of `count` channels of w [4, 4, Ci, Co] into V, in panels. */
  winoFilter(w: number, ci: number, co: number, count: number, v: number, xiBytes: number): void;
  /** winoInput's U for the filter gradient, transposed: U_xi^T [4 Ci, rows], for `groups` groups of four tiles from tile t0. */
  winoInputT(x: number, imgBytes: number, rowBytes: number, ci: number, th: number, tw: number, t0: number, groups: number, tiles: number, u: number, xiBytes: number, rows: number): void;
  /** The filter gradient's transform of dy's tiles of `images` images into V, in panels of panelRows rows. */
  winoDy(dy: number, co: number, th: number, tw: number, ow: number, images: number, v: number, xiBytes: number, panelRows: number): void;
  /** The filter gradient's output transform of `count` channels of M into dw [4, 4, Ci, Co]. */
  winoFilterOut(m: number, xiBytes: number, ci: number, co: number, count: number, dw: number): void;
  /** The input gradient's input transform: U of dy's tiles (stride 1, from row r0 and column c0) of `images` images. */
  winoInputS1(x: number, imgBytes: number, rowBytes: number, ch: number, th: number, tw: number, r0: number, c0: number, images: number, u: number, xiBytes: number): void;
  /** The input gradient's output transform of one stride phase of dx (from pixel (ih0, iw0), every other one). */
  winoOutputPhase(m: number, xiBytes: number, ci: number, th: number, tw: number, images: number, dx: number, h: number, w: number, ih0: number, iw0: number): void;
  /**
   * F(4x4, 2x2)'s input transform: U of the 5x5 tiles of `images` images, step 2 (the forward pass over
   * x padded, four stride phases) or 1 (the input gradient over dy), from row r0 and column c0 (in steps).
   */
  winoInput4(x: number, imgBytes: number, rowBytes: number, ch: number, th: number, tw: number, r0: number, c0: number, images: number, u: number, xiBytes: number, step: number): void;
  /** F(4x4, 2x2)'s filter transform of `count` channels of w [4, 4, Ci, Co] into V (25 of 4 Ci rows), in panels. */
  winoFilter4(w: number, ci: number, co: number, count: number, v: number, xiBytes: number): void;
  /** F(4x4, 2x2)'s output transform of `images` images' tiles of M into y [images, h, w, C] (every `step`-th pixel from (ih0, iw0)), plus bias (0: none). */
  winoOutput4(m: number, xiBytes: number, ch: number, th: number, tw: number, images: number, y: number, h: number, w: number, ih0: number, iw0: number, step: number, bias: number): void;
  /** F(4x4, 2x2)'s filter gradient: V = A dy A^T of the 4x4 tiles of `images` images of dy, in panels of panelRows rows. */
  winoDy4(dy: number, co: number, th: number, tw: number, ow: number, images: number, v: number, xiBytes: number, panelRows: number): void;
  /** F(4x4, 2x2)'s filter gradient: dW's taps of `count` channels = G^T M G from M (25 of [4 Ci, Co]). */
  winoFilterOut4(m: number, xiBytes: number, ci: number, co: number, count: number, dw: number): void;
  /**
   * The input gradient by the forward pass transposed: dx [images, h, w, C] from U' (9 of [tiles, 4 C],
   * columns (c / 16, p, q, c % 16)), each tile's 3x3 patch of every stride phase added in (../winograd.ts).
   */
  winoScatter(m: number, xiBytes: number, ch: number, th: number, tw: number, images: number, dx: number, h: number, w: number, padTop: number, padLeft: number): void;
  /** As winoScatter for F(4x4, 2x2): 25 of U', 5x5 patches. */
  winoScatter4(m: number, xiBytes: number, ch: number, th: number, tw: number, images: number, dx: number, h: number, w: number, padTop: number, padLeft: number): void;
  /**
   * dx [images, h, w, C] = the patches P [images, oh, ow, KH x KW x C] (rowBytes apart) added at their
   * places (kernel row r of patch (oy, ox) into dx row oy * sh + r - padTop from pixel ox * sw - padLeft);
   * tapBytes = 4 KW C, pixBytes = 4 C.
   */
  col2im(
    p: number, rowBytes: number, images: number, oh: number, ow: number, kh: number, tapBytes: number, sh: number, sw: number,
    padTop: number, padLeft: number, dx: number, h: number, w: number, pixBytes: number,
  ): void;
  /** out = tanh(x), n floats, within 2 units in the last place (../tanh.ts). */
  tanh(x: number, n: number, out: number): void;
  /** dx [n, h, w, ci] read out of the input gradient's sub-pixel result z [n, zh, zw, zc] (../conv2d-backprop-input.ts). */
  interleavePhases(
    z: number, zh: number, zw: number, zc: number, dx: number, n: number, h: number, w: number, ci: number,
    sh: number, sw: number, padTop: number, padLeft: number,
  ): void;
}

/**
 * Takes slices of call `gen` from the shared counter until none is left, computing each (the calling
 * thread and every worker run this). NEXT holds the call's generation (low 15 bits) above the next
 * slice's index, and a slice is taken by compare-and-swap: a thread still here from an earlier call
 * (preempted between two slices, say) can take nothing from a later one, whose arguments it has not
 * seen. Self-contained, with literal indices (C above): workers get its source.
 */
function runSlices(ctrl: Int32Array, f: GatherGemmFn, helpers: ((...args: number[]) => void)[], gen: number): void {
  for (;;) {
    const next = Atomics.load(ctrl, 2); // NEXT
    const s = next & 0xffff;
    if (next >>> 16 !== (gen & 0x7fff) || s >= ctrl[13]!) return; // another call's, or none left (SLICES)
    if (Atomics.compareExchange(ctrl, 2, next, next + 1) !== next) continue; // another thread took it
    try {
      const kind = ctrl[19]!; // KIND
      if (kind !== 0) {
        // a helper job: units [first, first + count) (UNITS_PER_SLICE, UNITS, COUNT_ARG; ARGS moved on
        // by STEPS bytes per unit, those flagged in FLOAT_ARGS read as float32)
        const per = ctrl[20]!;
        const first = s * per;
        const floats = new Float32Array(ctrl.buffer, 0, ctrl.length);
        const args: number[] = [];
        for (let i = 0; i < ctrl[23]!; i++) {
          const step = ctrl[41 + i]!;
          args.push(((ctrl[24]! >>> i) & 1) !== 0 ? floats[25 + i]! : step === 0 ? ctrl[25 + i]! : (ctrl[25 + i]! >>> 0) + first * step);
        }
        args[ctrl[22]!] = Math.min(per, ctrl[21]! - first);
        helpers[kind - 1]!(...args);
      } else {
        const rows = ctrl[12]!; // SLICE_ROWS
        const co = ctrl[9]!;
        const r0 = s * rows;
        const panelRows = ctrl[18]!; // B_PANEL_ROWS
        if (ctrl[16] === 0) {
          // split 'k': rows r0.. of table and b, into the slice's own partial
          const count = Math.min(rows, ctrl[11]! - r0);
          const b = (ctrl[6]! >>> 0) + (panelRows === 0 ? 4 * r0 * co : 64 * r0);
          f((ctrl[5]! >>> 0) + 4 * r0, b, count, ctrl[7]! >>> 0, ctrl[8]!, co, (ctrl[14]! >>> 0) + s * ctrl[15]!, ctrl[10]!, 0, panelRows);
        } else {
          // split 'm': output rows r0.. whole (their addresses from OUT_TABLE where it is set); in a
          // batch (BATCH_SLICES), slice s is slice s % BATCH_SLICES of GEMM s / BATCH_SLICES, whose
          // table, b, out and mOff lie TABLE_STEP, B_STEP, OUT_STEP and MOFF_STEP bytes on per GEMM
          const per = ctrl[57]!;
          const item = per === 0 ? 0 : Math.floor(s / per);
          const q0 = (per === 0 ? s : s - item * per) * rows;
          const count = Math.min(rows, ctrl[8]! - q0);
          const outTable = ctrl[17]! >>> 0;
          f((ctrl[5]! >>> 0) + item * ctrl[58]!, (ctrl[6]! >>> 0) + item * ctrl[59]!, ctrl[11]!, (ctrl[7]! >>> 0) + item * ctrl[61]! + 4 * q0, count, co,
            (ctrl[14]! >>> 0) + item * ctrl[60]! + 4 * q0 * co, ctrl[10]!, outTable === 0 ? 0 : outTable + 4 * q0, panelRows);
        }
      }
    } catch {
      Atomics.store(ctrl, 4, 1); // FAILED
    }
    Atomics.add(ctrl, 3, 1); // DONE
    Atomics.notify(ctrl, 3);
  }
}

/** The worker threads' script (CommonJS, evaluated): instantiate the kernel, then serve calls. */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const ctrl = new Int32Array(workerData.control);
const kernel = new WebAssembly.Instance(new WebAssembly.Module(workerData.binary), { env: { memory: workerData.memory } }).exports;
const helpers = ${JSON.stringify(SLICED_HELPER_NAMES)}.map((name) => kernel[name]);
const runSlices = ${runSlices.toString()};
let gen = 0;
for (;;) {
  Atomics.wait(ctrl, ${C.GEN}, gen);
  gen = Atomics.load(ctrl, ${C.GEN});
  if (Atomics.load(ctrl, ${C.STOP}) !== 0) break;
  runSlices(ctrl, kernel.gatherGemm, helpers, gen);
}
`;

/** How long a call waits for the workers' last slices before it gives up (a worker died mid-slice). */
const STALL_MS = 30_000;

export class KernelThreadsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KernelThreadsError';
  }
}

function decode(base64: string): Uint8Array<ArrayBuffer> {
  const bytes = Buffer.from(base64, 'base64');
  const out = new Uint8Array(new ArrayBuffer(bytes.length));
  out.set(bytes);
  return out;
}

/** Whether this thread may block in Atomics.wait (Node's threads may; a browser's main thread may not). */
let fmaAvailable: boolean | null = null;

/**
 * Whether our kernels use fused multiply-adds (see the top of the file): asked for (not
 * GAN_AUGMENT_WASM_FMA=0), and the engine validates the FMA variant, after turning on Node 20's
 * `--experimental-wasm-relaxed-simd` where it does not at first (a V8 flag read when a module is
 * compiled; process-wide, so the workers have it too). Checked once per process.
 */
export function fusedMultiplyAdds(env: NodeJS.ProcessEnv = process.env): boolean {
  const setting = env.GAN_AUGMENT_WASM_FMA?.trim();
  if (setting !== undefined && setting !== '' && setting !== '0' && setting !== '1') {
    throw new Error(`GAN_AUGMENT_WASM_FMA is "${setting}"; use 1 (fused multiply-adds where the processor has them) or 0.`);
  }
  if (setting === '0') return false;
  if (fmaAvailable === null) {
    const probe = decode(gatherGemmBinary.unsharedFma);
    fmaAvailable = WebAssembly.validate(probe);
    if (!fmaAvailable) {
      try {
        setFlagsFromString('--experimental-wasm-relaxed-simd');
        fmaAvailable = WebAssembly.validate(probe);
      } catch {
        fmaAvailable = false;
      }
    }
  }
  return fmaAvailable;
}

/** Threads (the calling one counted) from which every helper runs in slices by default (`slicedHelpers`). */
export const SLICE_ALL_FROM_THREADS = 2;

/**
 * Which helpers run in slices on every thread: every helper in SLICED_HELPERS (copies, LeakyReLU,
 * Adam, batch norm's passes, the column sums, transposes) or only those marked `always`.
 * GAN_AUGMENT_WASM_SLICE_HELPERS=all or `some` says which; unset, every helper from
 * SLICE_ALL_FROM_THREADS threads (that is, wherever there are worker threads). Each helper still runs
 * on the calling thread alone below MIN_CALL_BYTES. History: the copies and element-wise helpers in
 * slices were 1.4-1.6x faster alone at 8 MB and more, but whole training steps on the build machine's
 * 2 threads did not gain (docs/PERFORMANCE.md, "helpers on every thread"), so until 2026-11-28 only
 * from 8 threads; on the device machine's Xeon at 8 threads they took DCGAN-64's step at batch 16
 * from 361 / 390 to 307 / 341 ms, and with our kernels on 16 threads from 267 / 273 to 249 / 237
 * ("NVIDIA H200, fifth visit", part s). With batch norm's passes, the column sums and the transposes
 * sliced too (2026-11-28, afternoon), 2 threads on the build machine: DCGAN-64 at batch 64 faster in
 * 11 of 11 alternated pairs (2-10%), at batch 16 and DCGAN-32 at batch 16 level (faster in 6 of 14
 * pairs, from 12% faster to 6% slower), the same losses ("batch norm on every thread").
 */
export function slicedHelpers(env: NodeJS.ProcessEnv = process.env, threads = 1): 'some' | 'all' {
  const setting = env.GAN_AUGMENT_WASM_SLICE_HELPERS?.trim();
  if (setting === undefined || setting === '') return threads >= SLICE_ALL_FROM_THREADS ? 'all' : 'some';
  if (setting === 'some' || setting === 'all') return setting;
  throw new Error(`GAN_AUGMENT_WASM_SLICE_HELPERS is "${setting}"; use all (every helper on every thread) or some.`);
}

function canWait(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Microseconds the calling thread watches the done count before it sleeps (`awaitSlices`): by
 * default DEFAULT_SPIN_US, GAN_AUGMENT_WASM_SPIN_US when set (0: sleep at once, as before 2026-11-28 23:30 UTC).
 * Read when a pool is made (`KernelThreads.spinUs`; `applyEnvironment` reads it again): read at every
 * call, the environment cost 0.5% of a DCGAN-32 step in a CPU profile (about 5 us a call).
 */
export function spinMicros(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.GAN_AUGMENT_WASM_SPIN_US?.trim();
  if (raw === undefined || raw === '') return DEFAULT_SPIN_US;
  const us = Number(raw);
  if (!Number.isInteger(us) || us < 0 || us > MAX_SPIN_US) {
    throw new Error(`GAN_AUGMENT_WASM_SPIN_US is "${raw}"; use a whole number of microseconds from 0 to ${MAX_SPIN_US}.`);
  }
  return us;
}

/**
 * How long the calling thread spins before it sleeps when its slices are done and a worker's are
 * not. A thread asleep in Atomics.wait is woken by the kernel, and on the build machine (a KVM guest)
 * that took 30-130 us: a DCGAN-32 step at batch 16 makes 106 calls on the threads, and the calling
 * thread waited 6.4 ms of a 98 ms step. Spinning first (the calling thread has nothing else to do
 * while a call runs; its slices are done) took the wait to 4.0 ms (what is left is the workers' last
 * slices), and whole steps 1-7% less time, alternated in one process (bench/switch-ab.bench.ts;
 * docs/bench-results/2026-11-28-late-spin-ab.jsonl). 0 against 1,000 us: DCGAN-32 batch 16 -3.0% and
 * -1.2% of the mean, 39 and 38 of 60 pairs faster; DCGAN-64 batch 16 -3.1% and -1.5%, 21 and 18 of
 * 30; batch 64 -3.7%, 8 of 12; the cWGAN-GP at 32 px -0.7%, 19 of 30. 0 against 200 us: DCGAN-32 -3.4%
 * and -6.9%, 38 and 49 of 60; DCGAN-64 batch 16 -3.0%, 20 of 30; 200 against 1,000 us -0.7%, 33 of 60
 * (level); with another process busy on one of the two cores, 0 against 200 and 1,000 us -3.9% and
 * -2.2%, 18 of 30 each. So 200 us: as fast, and a call whose worker is held up (a busy machine)
 * costs the calling thread at most 0.2 ms of spinning before it sleeps, as before. The workers themselves sleep at once between calls,
 * though waking one costs the calling thread 8-16 us in Atomics.notify and the worker joins a call
 * 30-60 us late there: half the gaps between calls are under 100 us, yet letting the workers spin 150,
 * 300, 400 or 1,000 us for the next call gained 0.5-4.7% in some runs and lost 1.4% in another
 * (DCGAN-32 at batch 16 over 100 pairs: -0.5%, 57 faster; DCGAN-64 at batch 64: +1.4%, 5 of 12), as
 * a spinning worker holds a core that tfjs's own threads may want between our calls. Watching only
 * while the calling thread is inside one of our kernels (55 of a DCGAN-32 step's 106 calls are a
 * kernel's second or later) changed nothing either (-0.2% and -0.3%, 32 of 60 pairs each).
 */
export const DEFAULT_SPIN_US = 200;
const MAX_SPIN_US = 100_000;

/**
 * Waits until `slices` slices are done (ctrl[DONE]): spins for `spinUs` microseconds (`spinMicros`),
 * then sleeps; fails with KernelThreadsError when none finishes for `stallMs` (a worker died holding
 * one). Exported for its test.
 */
export function awaitSlices(ctrl: Int32Array, slices: number, stallMs = STALL_MS, spinUs = DEFAULT_SPIN_US): void {
  if (spinUs > 0 && Atomics.load(ctrl, C.DONE) < slices) {
    const until = performance.now() + spinUs / 1000;
    spin: for (;;) {
      // The clock read once per 128 looks: the loop notices the last slice within about a microsecond.
      for (let i = 0; i < 128; i++) if (Atomics.load(ctrl, C.DONE) >= slices) break spin;
      if (performance.now() >= until) break;
    }
  }
  let done = Atomics.load(ctrl, C.DONE);
  let since = Date.now();
  while (done < slices) {
    Atomics.wait(ctrl, C.DONE, done, Math.min(1000, stallMs));
    const now = Atomics.load(ctrl, C.DONE);
    if (now !== done) {
      done = now;
      since = Date.now();
    } else if (Date.now() - since >= stallMs) {
      throw new KernelThreadsError(`a WebAssembly kernel thread stopped answering (${slices - done} of ${slices} slices unfinished)`);
    }
  }
}

/** `KernelThreads.rowSlice` for a pool of `threads` threads (the calling one counted). */
export function rowSliceFor(rows: number, threads: number): number {
  const target = Math.ceil(rows / (4 * threads));
  return Math.min(128, Math.max(16, target + (target % 2)));
}

export class KernelThreads {
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(C.SIZE * 4));
  private readonly gatherGemmFn: GatherGemmFn;
  private readonly slicedHelpers: ((...args: number[]) => void)[];
  /**
   * Bytes from which a helper call runs in slices (`bySlices`): MIN_CALL_BYTES (or the setting), and
   * for the `compute` helpers that over COMPUTE_SLICE_DIVISOR. Benchmarks change them between steps
   * (bench/slice-helpers.bench.ts); results are the same bits either way.
   */
  minCallBytes: number;
  minComputeCallBytes: number;
  /** Whether every helper in SLICED_HELPERS runs in slices, or only those marked `always`. */
  readonly sliceAll: boolean;
  /** How long the calling thread spins before it sleeps while workers finish a call (`spinMicros`, `applyEnvironment`). */
  spinUs: number;
  readonly helpers: HeapHelpers;
  private workers: Worker[] = [];
  private disposed = false;
  /** A call gave up waiting for a worker (`awaitSlices`): the pool is not used again (`kernelThreadsFor` makes another). */
  broken = false;
  /**
   * Jobs run on the threads, and the calling thread's milliseconds inside them (computing its slices
   * and waiting for the workers'): a step's time outside them is what more threads cannot shorten
   * (bench/train.bench.ts reports both per step).
   */
  readonly stats = { jobs: 0, ms: 0 };

  private readonly stallMs: number;
  /** Whether this pool's gather-GEMM fuses its multiply-adds (the workers run the same module). */
  readonly fma: boolean;

  /**
   * `threads` counts the calling thread: threads - 1 workers; none when the memory is not shared or
   * this thread cannot wait for them.
   */
  constructor(
    readonly memory: WebAssembly.Memory,
    threads: number,
    /**
     * Tests: how long a call waits for a stalled slice, the workers' script (default WORKER_SOURCE),
     * the variant (default: `fusedMultiplyAdds()`), the smallest helper call run in slices (default
     * `minCallBytes()`) and which helpers are sliced (default: `slicedHelpers` for `threads`).
     */
    testing: { stallMs?: number; workerSource?: string; fma?: boolean; minCallBytes?: number; sliceAll?: boolean } = {},
  ) {
    this.stallMs = testing.stallMs ?? STALL_MS;
    this.spinUs = spinMicros();
    this.minCallBytes = testing.minCallBytes ?? minCallBytes();
    this.minComputeCallBytes = this.minCallBytes / COMPUTE_SLICE_DIVISOR;
    this.sliceAll = testing.sliceAll ?? slicedHelpers(process.env, threads) === 'all';
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    this.fma = testing.fma ?? fusedMultiplyAdds();
    const v = gatherGemmBinary;
    const binary = decode(shared ? (this.fma ? v.sharedFma : v.shared) : this.fma ? v.unsharedFma : v.unshared);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(binary), { env: { memory } });
    this.gatherGemmFn = instance.exports.gatherGemm as GatherGemmFn;
    this.helpers = instance.exports as unknown as HeapHelpers;
    this.slicedHelpers = SLICED_HELPER_NAMES.map((name) => this.helpers[name] as (...args: number[]) => void);
    if (!shared || !canWait()) return;
    for (let i = 1; i < threads; i++) {
      const worker = new Worker(testing.workerSource ?? WORKER_SOURCE, { eval: true, workerData: { control: this.ctrl.buffer, binary, memory } });
      worker.unref();
      // A worker that fails takes no more slices, and the calling thread takes the rest; one that
      // died holding a slice makes the call fail after STALL_MS (below). Without a listener its
      // error would end the process.
      worker.on('error', () => {});
      this.workers.push(worker);
    }
  }

  /** Worker threads started (the calling thread not counted). */
  get workerCount(): number {
    return this.workers.length;
  }

  /**
   * Reads again the settings a pool keeps from the environment that may change while it lives
   * (GAN_AUGMENT_WASM_SPIN_US): bench/switch-ab.bench.ts alternates them step by step. A bad value
   * throws and leaves the pool as it was.
   */
  applyEnvironment(env: NodeJS.ProcessEnv = process.env): void {
    this.spinUs = spinMicros(env);
  }

  /**
   * Output rows per slice for a split 'm' call of `rows` rows: about four slices per thread (each
   * row costs the same), even, within [16, 128]; a slice streams all of b once, so not smaller. The
   * result does not depend on it.
   */
  rowSlice(rows: number): number {
    return rowSliceFor(rows, this.workers.length + 1);
  }

  /** Runs a gather-GEMM's slices on every thread; returns when all are done. */
  gatherGemm(job: GatherGemmJob): void {
    if (this.disposed) throw new KernelThreadsError('the WebAssembly kernel threads were stopped');
    // The kernel would loop for ever on chunks of no rows, and compute garbage on an odd M; slices
    // must cover the rows exactly.
    const rows = job.split === 'k' ? job.kCount : job.m;
    const covered = job.sliceRows >= 1 && job.slices >= 1 && job.slices < 0x8000 && (job.slices - 1) * job.sliceRows < rows && job.slices * job.sliceRows >= rows;
    const outTable = job.outTable ?? 0;
    const panelRows = job.bPanelRows ?? 0;
    // Empty problems too: the kernel's loops run at least once, and would write outputs of no size.
    // Panels shorter than the k rows would be read past their ends.
    const badPanels = panelRows !== 0 && !(Number.isInteger(panelRows) && panelRows >= job.kCount);
    const batch = job.batch;
    const badBatch = batch !== undefined && (job.split !== 'm' || outTable !== 0 || !(Number.isInteger(batch.count) && batch.count >= 1) ||
      ![batch.tableStep, batch.bStep, batch.outStep, batch.mOffStep ?? 0].every(Number.isInteger) || batch.count * job.slices >= 0x8000);
    if (badBatch || !(job.chunkRows >= 1) || !(job.m > 0 && job.co > 0 && job.kCount > 0) || job.m % 2 !== 0 || job.co % 16 !== 0 || !covered || (job.split === 'm' && job.sliceRows % 2 !== 0) || (job.split === 'k' && outTable !== 0) || badPanels) {
      throw new KernelThreadsError(
        `bad gather-GEMM call (chunk ${job.chunkRows}, M ${job.m}, Co ${job.co}, ${job.slices} slices of ${job.sliceRows} ${job.split} rows${outTable ? ', an output table' : ''}${panelRows ? `, panels of ${panelRows} rows` : ''}${batch ? `, a batch of ${batch.count}` : ''})`,
      );
    }
    this.run(job.slices * (batch?.count ?? 1), (c) => {
      c[C.KIND] = 0;
      c[C.BATCH_SLICES] = batch ? job.slices : 0; c[C.TABLE_STEP] = batch?.tableStep ?? 0; c[C.B_STEP] = batch?.bStep ?? 0; c[C.OUT_STEP] = batch?.outStep ?? 0; c[C.MOFF_STEP] = batch?.mOffStep ?? 0;
      c[C.TABLE] = job.table; c[C.B] = job.b; c[C.MOFF] = job.mOff; c[C.M] = job.m; c[C.CO] = job.co;
      c[C.KC] = job.chunkRows; c[C.KCOUNT] = job.kCount; c[C.SLICE_ROWS] = job.sliceRows;
      c[C.OUT] = job.out; c[C.PARTIAL_BYTES] = job.partialBytes; c[C.SPLIT] = job.split === 'k' ? 0 : 1; c[C.OUT_TABLE] = outTable; c[C.B_PANEL_ROWS] = panelRows;
    });
  }

  /**
   * `helper` (./gather-gemm.wat; its arguments as there) on every thread, in slices of its units
   * (`SLICED_HELPERS`): `steps[i]` is the bytes argument i moves on per unit (0 for the arguments that
   * are not per-unit addresses). The result is what one call on all the units writes, whatever the
   * slices: each unit is computed on its own. Two slices per thread, each a multiple of `align` units,
   * where the call moves at least MIN_CALL_BYTES, or a `compute` helper's MIN_CALL_BYTES /
   * COMPUTE_SLICE_DIVISOR (the sum of the steps per unit, times the helper's weight; or `unitBytes` per
   * unit, where the steps do not count them); with one thread, less work,
   * too few units, or a helper not sliced (`sliceAll`), the helper runs here.
   */
  bySlices(helper: SlicedHelper, args: readonly number[], steps: readonly number[], align = 1, unitBytes = steps.reduce((a, b) => a + b, 0)): void {
    if (this.disposed) throw new KernelThreadsError('the WebAssembly kernel threads were stopped');
    const { count, floats, weight, compute, always } = SLICED_HELPERS[helper];
    const units = args[count]!;
    if (args.length > 16 || steps.length !== args.length || !Number.isInteger(units) || units < 0 || !(unitBytes >= 0) || steps.some((b) => !Number.isInteger(b) || b < 0) || !(align >= 1)) {
      throw new KernelThreadsError(`bad ${helper} call (${units} units, ${args.length} arguments, ${steps.length} steps)`);
    }
    const slices = Math.min(2 * (this.workers.length + 1), Math.floor(units / align));
    const minBytes = compute ? this.minComputeCallBytes : this.minCallBytes;
    if (this.workers.length === 0 || slices < 2 || units * unitBytes * weight < minBytes || !(always || this.sliceAll)) {
      (this.helpers[helper] as (...a: number[]) => void)(...args);
      return;
    }
    const per = align * Math.ceil(units / slices / align);
    const floatArgs = (floats as readonly number[]).reduce((mask, i) => mask | (1 << i), 0);
    this.run(Math.ceil(units / per), (c) => {
      c[C.KIND] = SLICED_HELPER_NAMES.indexOf(helper) + 1;
      c[C.UNITS_PER_SLICE] = per; c[C.UNITS] = units; c[C.COUNT_ARG] = count; c[C.ARG_COUNT] = args.length; c[C.FLOAT_ARGS] = floatArgs;
      const asFloats = new Float32Array(c.buffer, 0, c.length);
      args.forEach((a, i) => {
        if (((floatArgs >>> i) & 1) !== 0) asFloats[C.ARGS + i] = a;
        else c[C.ARGS + i] = a;
      });
      c.set(steps, C.STEPS);
    });
  }

  /** `phaseRows` (see HeapHelpers) on every thread, in slices of images. */
  phaseRows(
    src: number, dst: number, images: number, h: number, w: number, ci: number, sh: number, sw: number, top: number, left: number,
    up: number, vp: number, sImg: number, sU: number, sR: number, sC: number,
  ): void {
    this.bySlices('phaseRows', [src, dst, images, h, w, ci, sh, sw, top, left, up, vp, sImg, sU, sR, sC], [4 * h * w * ci, sImg, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  }

  /** `padImages` (see HeapHelpers) on every thread, in slices of images. */
  padImages(src: number, dst: number, images: number, rows: number, rowBytes: number, dstRows: number, dstRowBytes: number, top: number, leftBytes: number): void {
    // The kernel zeroes only the padding around the rows: rows outside the padded image would make it
    // write past its end.
    if (![rows, rowBytes, top, leftBytes].every((v) => Number.isInteger(v) && v >= 0) || top + rows > dstRows || leftBytes + rowBytes > dstRowBytes) {
      throw new KernelThreadsError(`bad padImages call (${rows} rows of ${rowBytes} bytes from row ${top} and byte ${leftBytes} of ${dstRows} rows of ${dstRowBytes})`);
    }
    this.bySlices('padImages', [src, dst, images, rows, rowBytes, dstRows, dstRowBytes, top, leftBytes], [rows * rowBytes, dstRows * dstRowBytes, 0, 0, 0, 0, 0, 0, 0]);
  }

  /** `sumLeading` (see HeapHelpers) of whole rows of `cols` floats, on every thread, in slices of 16 columns. */
  sumLeading(src: number, rows: number, cols: number, dst: number, divisor: number): void {
    this.bySlices('sumLeading', [src, rows, cols, dst, divisor, cols], [4, 0, 0, 4, 0, 0], 16, 4 * rows + 4);
  }

  /** `bnVariance` (see HeapHelpers) of whole rows, on every thread, in slices of 16 columns. */
  bnVariance(x: number, rows: number, cols: number, mean: number, variance: number, n: number): void {
    this.bySlices('bnVariance', [x, rows, cols, mean, variance, n, cols], [4, 0, 0, 4, 4, 0, 0], 16, 4 * rows + 8);
  }

  /** `bnBackwardSums` (see HeapHelpers) of whole rows, on every thread, in slices of 16 columns. */
  bnBackwardSums(dy: number, x: number, rows: number, cols: number, mean: number, variance: number, eps: number, dbeta: number, dgamma: number): void {
    this.bySlices('bnBackwardSums', [dy, x, rows, cols, mean, variance, eps, dbeta, dgamma, cols], [4, 4, 0, 0, 4, 4, 0, 4, 4, 0], 16, 8 * rows + 16);
  }

  /**
   * `bnNormalize` (see HeapHelpers) on every thread, in slices of rows, its coefficients written first
   * on this thread (cols floats).
   */
  bnNormalize(x: number, rows: number, cols: number, mean: number, variance: number, gamma: number, beta: number, eps: number, coef: number, y: number): void {
    this.helpers.bnNormalize(x, 0, cols, mean, variance, gamma, beta, eps, coef, y, 0);
    this.bySlices('bnNormalize', [x, rows, cols, mean, variance, gamma, beta, eps, coef, y, 1], [4 * cols, 0, 0, 0, 0, 0, 0, 0, 0, 4 * cols, 0]);
  }

  /** `bnInputGrad` (see HeapHelpers) on every thread, in slices of rows, its coefficients written first on this thread. */
  bnInputGrad(
    dy: number, x: number, rows: number, cols: number, mean: number, variance: number, gamma: number,
    dbeta: number, dgamma: number, n: number, eps: number, coef: number, dx: number,
  ): void {
    this.helpers.bnInputGrad(dy, x, 0, cols, mean, variance, gamma, dbeta, dgamma, n, eps, coef, dx, 0);
    this.bySlices('bnInputGrad', [dy, x, rows, cols, mean, variance, gamma, dbeta, dgamma, n, eps, coef, dx, 1], [4 * cols, 4 * cols, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4 * cols, 0]);
  }

  /** `transposeBlock` (see HeapHelpers) of a whole [rows, cols] block, on every thread, in slices of 4 columns (dst's rows). */
  transposeBlock(src: number, dst: number, rows: number, cols: number): void {
    this.bySlices('transposeBlock', [src, dst, rows, cols, cols], [4, 4 * rows, 0, 0, 0], 4, 8 * rows);
  }

  /**
   * `transposeTaps` (see HeapHelpers) of all 16 taps, on every thread, in slices of taps: a slice's
   * first tap is its first unit (tap0 moves on by one per unit, as an address argument by its bytes).
   */
  transposeTaps(w: number, wT: number, ci: number, co: number, flip: number): void {
    this.bySlices('transposeTaps', [w, wT, ci, co, flip, 0, 16], [0, 0, 0, 0, 0, 1, 0], 1, 8 * ci * co);
  }

  /** `packPanels` (see HeapHelpers) on every thread, in slices of rows; panels of `rows` rows. */
  packPanels(src: number, rows: number, cols: number, dst: number): void {
    this.bySlices('packPanels', [src, rows, cols, dst, rows], [4 * cols, 0, 0, 64, 0]);
  }

  /** `leakyMul` (see HeapHelpers) on every thread, in slices of floats (multiples of 16: whole cache lines). */
  leakyMul(src: number, x: number, n: number, alpha: number, out: number): void {
    this.bySlices('leakyMul', [src, x, n, alpha, out], [4, 4, 0, 0, 4], 16);
  }

  /** `adamUpdate` (see HeapHelpers) on every thread, in slices of floats (multiples of 16). */
  adamUpdate(
    w: number, m: number, v: number, g: number, outW: number, outM: number, outV: number, n: number,
    beta1: number, beta2: number, c1: number, c2: number, negLr: number, eps: number, accBeta1: number, accBeta2: number,
  ): void {
    this.bySlices(
      'adamUpdate',
      [w, m, v, g, outW, outM, outV, n, beta1, beta2, c1, c2, negLr, eps, accBeta1, accBeta2],
      [4, 4, 4, 4, 4, 4, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      16,
    );
  }

  /** `winoInput` (see HeapHelpers) on every thread, in slices of images. */
  winoInput(x: number, imgBytes: number, rowBytes: number, ci: number, th: number, tw: number, images: number, u: number, xiBytes: number): void {
    this.bySlices('winoInput', [x, imgBytes, rowBytes, ci, th, tw, images, u, xiBytes], [imgBytes, 0, 0, 0, 0, 0, 0, th * tw * 16 * ci, 0]);
  }

  /** `winoOutput` (see HeapHelpers) on every thread, in slices of images. */
  winoOutput(m: number, xiBytes: number, co: number, th: number, tw: number, ow: number, images: number, y: number, bias: number): void {
    this.bySlices('winoOutput', [m, xiBytes, co, th, tw, ow, images, y, bias], [th * tw * 4 * co, 0, 0, 0, 0, 0, 0, th * tw * 16 * co, 0]);
  }

  /** `winoFilter` (see HeapHelpers) on every thread, in slices of channels. */
  winoFilter(w: number, ci: number, co: number, v: number, xiBytes: number): void {
    this.bySlices('winoFilter', [w, ci, co, ci, v, xiBytes], [4 * co, 0, 0, 0, 64, 0]);
  }

  /** `winoInputT` (see HeapHelpers) on every thread, in slices of groups of four tiles. */
  winoInputT(x: number, imgBytes: number, rowBytes: number, ci: number, th: number, tw: number, tiles: number, u: number, xiBytes: number, rows: number): void {
    const groups = Math.ceil(tiles / 4);
    // a group reads four tiles' 6 x 6 pixels and writes 36 rows of 4 Ci floats' worth
    this.bySlices('winoInputT', [x, imgBytes, rowBytes, ci, th, tw, 0, groups, tiles, u, xiBytes, rows], [0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0], 1, 4 * (36 + 36) * ci * 4);
  }

  /** `winoInputS1` (see HeapHelpers) on every thread, in slices of images. */
  winoInputS1(x: number, imgBytes: number, rowBytes: number, ch: number, th: number, tw: number, r0: number, c0: number, images: number, u: number, xiBytes: number): void {
    this.bySlices('winoInputS1', [x, imgBytes, rowBytes, ch, th, tw, r0, c0, images, u, xiBytes], [imgBytes, 0, 0, 0, 0, 0, 0, 0, 0, th * tw * 4 * ch, 0]);
  }

  /** `winoOutputPhase` (see HeapHelpers) on every thread, in slices of images. */
  winoOutputPhase(m: number, xiBytes: number, ci: number, th: number, tw: number, images: number, dx: number, h: number, w: number, ih0: number, iw0: number): void {
    this.bySlices('winoOutputPhase', [m, xiBytes, ci, th, tw, images, dx, h, w, ih0, iw0], [th * tw * 4 * ci, 0, 0, 0, 0, 0, h * w * 4 * ci, 0, 0, 0, 0]);
  }

  /** `winoInput4` (see HeapHelpers) on every thread, in slices of images. */
  winoInput4(x: number, imgBytes: number, rowBytes: number, ch: number, th: number, tw: number, r0: number, c0: number, images: number, u: number, xiBytes: number, step: number): void {
    this.bySlices('winoInput4', [x, imgBytes, rowBytes, ch, th, tw, r0, c0, images, u, xiBytes, step], [imgBytes, 0, 0, 0, 0, 0, 0, 0, 0, th * tw * 4 * step * step * ch, 0, 0]);
  }

  /** `winoFilter4` (see HeapHelpers) on every thread, in slices of channels. */
  winoFilter4(w: number, ci: number, co: number, v: number, xiBytes: number): void {
    this.bySlices('winoFilter4', [w, ci, co, ci, v, xiBytes], [4 * co, 0, 0, 0, 64, 0]);
  }

  /** `winoOutput4` (see HeapHelpers) on every thread, in slices of images. */
  winoOutput4(m: number, xiBytes: number, ch: number, th: number, tw: number, images: number, y: number, h: number, w: number, ih0: number, iw0: number, step: number, bias: number): void {
    this.bySlices('winoOutput4', [m, xiBytes, ch, th, tw, images, y, h, w, ih0, iw0, step, bias], [th * tw * 4 * ch, 0, 0, 0, 0, 0, h * w * 4 * ch, 0, 0, 0, 0, 0, 0]);
  }

  /** `winoDy4` (see HeapHelpers) on every thread, in slices of images. */
  winoDy4(dy: number, co: number, th: number, tw: number, ow: number, images: number, v: number, xiBytes: number, panelRows: number): void {
    this.bySlices('winoDy4', [dy, co, th, tw, ow, images, v, xiBytes, panelRows], [th * tw * 64 * co, 0, 0, 0, 0, 0, th * tw * 64, 0, 0]);
  }

  /** `winoFilterOut4` (see HeapHelpers) on every thread, in slices of channels. */
  winoFilterOut4(m: number, xiBytes: number, ci: number, co: number, dw: number): void {
    this.bySlices('winoFilterOut4', [m, xiBytes, ci, co, ci, dw], [4 * co, 0, 0, 0, 0, 4 * co]);
  }

  /** `winoScatter` (see HeapHelpers) on every thread, in slices of images. */
  winoScatter(m: number, xiBytes: number, ch: number, th: number, tw: number, images: number, dx: number, h: number, w: number, padTop: number, padLeft: number): void {
    this.bySlices('winoScatter', [m, xiBytes, ch, th, tw, images, dx, h, w, padTop, padLeft], [th * tw * 16 * ch, 0, 0, 0, 0, 0, h * w * 4 * ch, 0, 0, 0, 0]);
  }

  /** `winoScatter4` (see HeapHelpers) on every thread, in slices of images. */
  winoScatter4(m: number, xiBytes: number, ch: number, th: number, tw: number, images: number, dx: number, h: number, w: number, padTop: number, padLeft: number): void {
    this.bySlices('winoScatter4', [m, xiBytes, ch, th, tw, images, dx, h, w, padTop, padLeft], [th * tw * 16 * ch, 0, 0, 0, 0, 0, h * w * 4 * ch, 0, 0, 0, 0]);
  }

  /** `col2im` (see HeapHelpers) on every thread, in slices of images. */
  col2im(
    p: number, rowBytes: number, images: number, oh: number, ow: number, kh: number, tapBytes: number, sh: number, sw: number,
    padTop: number, padLeft: number, dx: number, h: number, w: number, pixBytes: number,
  ): void {
    this.bySlices(
      'col2im',
      [p, rowBytes, images, oh, ow, kh, tapBytes, sh, sw, padTop, padLeft, dx, h, w, pixBytes],
      [oh * ow * rowBytes, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, h * w * pixBytes, 0, 0, 0],
    );
  }

  /** `winoDy` (see HeapHelpers) on every thread, in slices of images. */
  winoDy(dy: number, co: number, th: number, tw: number, ow: number, images: number, v: number, xiBytes: number, panelRows: number): void {
    this.bySlices('winoDy', [dy, co, th, tw, ow, images, v, xiBytes, panelRows], [th * tw * 16 * co, 0, 0, 0, 0, 0, th * tw * 64, 0, 0]);
  }

  /** `winoFilterOut` (see HeapHelpers) on every thread, in slices of channels. */
  winoFilterOut(m: number, xiBytes: number, ci: number, co: number, dw: number): void {
    this.bySlices('winoFilterOut', [m, xiBytes, ci, co, ci, dw], [4 * co, 0, 0, 0, 0, 4 * co]);
  }

  /** `publishAndRun`, counted in `stats`. */
  private run(slices: number, write: (c: Int32Array) => void): void {
    const started = performance.now();
    try {
      this.publishAndRun(slices, write);
    } finally {
      this.stats.jobs += 1;
      this.stats.ms += performance.now() - started;
    }
  }

  /**
   * Publishes a call of `slices` slices (its arguments written by `write` into the control block),
   * computes slices here, and returns when all are done.
   */
  private publishAndRun(slices: number, write: (c: Int32Array) => void): void {
    const c = this.ctrl;
    const gen = (Atomics.load(c, C.GEN) + 1) | 0;
    // First, no slice can be taken (this call's generation, no index left): a thread still in an
    // earlier call cannot take one while the arguments change.
    Atomics.store(c, C.NEXT, ((gen & 0x7fff) << 16) | 0xffff);
    write(c);
    c[C.SLICES] = slices;
    Atomics.store(c, C.FAILED, 0);
    Atomics.store(c, C.DONE, 0);
    // Last: a thread that takes a slice of this call has seen its arguments.
    Atomics.store(c, C.NEXT, (gen & 0x7fff) << 16);
    Atomics.store(c, C.GEN, gen);
    Atomics.notify(c, C.GEN);
    runSlices(c, this.gatherGemmFn, this.slicedHelpers, gen);
    try {
      awaitSlices(c, slices, this.stallMs, this.spinUs);
    } catch (e) {
      this.broken = true;
      throw e;
    }
    if (Atomics.load(c, C.FAILED) !== 0) throw new KernelThreadsError('a WebAssembly kernel failed (an address outside the heap)');
  }

  /** Stops and ends the workers. */
  dispose(): Promise<void> {
    if (this.disposed) return Promise.resolve();
    this.disposed = true;
    Atomics.store(this.ctrl, C.STOP, 1);
    Atomics.add(this.ctrl, C.GEN, 1);
    Atomics.notify(this.ctrl, C.GEN);
    const ending = this.workers.map((w) => w.terminate().then(() => undefined, () => undefined));
    this.workers = [];
    return Promise.all(ending).then(() => undefined);
  }
}

let current: KernelThreads | null = null;

/**
 * The pool already made for this memory, or null (none yet, another module's, or broken): lets the
 * heap's callers skip working out a thread count that `kernelThreadsFor` would not use. Reading the
 * environment and the processor count on every access took 1% of a DCGAN-32 step (CPU profile,
 * 2026-11-28).
 */
export function currentKernelThreadsFor(memory: WebAssembly.Memory): KernelThreads | null {
  return current && current.memory === memory && !current.broken ? current : null;
}

/**
 * The pool for this memory: made on first use (and again for a new module's memory), with `threads`
 * threads counting the caller.
 */
export function kernelThreadsFor(memory: WebAssembly.Memory, threads: number): KernelThreads {
  if (current && current.memory === memory && !current.broken) return current;
  void current?.dispose();
  current = new KernelThreads(memory, threads);
  return current;
}

/** Ends the current pool (the module goes, or tests). */
export function disposeKernelThreads(): Promise<void> {
  const pool = current;
  current = null;
  return pool ? pool.dispose() : Promise.resolve();
}

/** Tests: the current pool, if any. */
export function currentKernelThreads(): KernelThreads | null {
  return current;
}
