/**
 * The three passes of a 4x4 convolution of stride 2 (every DCGAN critic layer but the RGB one, and the
 * generator's transposed convolutions, whose forward pass is an input gradient) by Winograd's minimal
 * filtering on WebAssembly (issue 5): F(2x2, 2x2), 9/16 of the direct passes' multiply-adds, and on
 * the larger layers F(4x4, 2x2), 25/64 of them.
 *
 * Split by stride phase (p, q), a 4x4 filter of stride 2 is a 2x2 filter of stride 1 over 4 * Ci
 * channels (p, q, ci), and F(2x2, 2x2) computes each 2x2 tile of output pixels from a 3x3 tile of
 * those channels with 9 multiplies instead of 16. The transforms (./simd/gather-gemm.wat, `winoInput`,
 * `winoFilter`, `winoOutput`) only add and subtract (every entry of their matrices is 0 or +-1), and the
 * multiplies are nine GEMMs M_xi [tiles, Co] = U_xi [tiles, 4 Ci] x V_xi [4 Ci, Co], run by our
 * gather-GEMM on every thread as the direct pass is (./conv2d.ts), as one batch (one wait for the
 * threads):
 *
 *   U_xi = B^T d B (per tile and channel),  V_xi = G g G^T (per channel pair),  y tile = A^T M A.
 *
 * F(4x4, 2x2) (`winoInput4`, `winoFilter4`, `winoOutput4`; the filter gradient's `winoDy4`,
 * `winoFilterOut4`) computes 4x4 tiles from 5x5 ones with 25 GEMMs of a quarter of the rows; its
 * transforms have entries 2, 3, 4, 8 and 1/6, so they round: the forward pass and the input gradient
 * 5-6x the direct passes' error, the filter gradient about 1x (about 5e-6 and 2.4e-6 of the largest
 * output on DCGAN-64's D2, ./wasm.test.ts).
 * GAN_AUGMENT_WASM_WINOGRAD=2 keeps to F(2x2, 2x2) (`winogradLevel`).
 *
 * The results are not the direct pass's bits: the sums run in another order (differences of inputs,
 * sums of filter values); F(2x2, 2x2)'s are about as far from the exact result as the direct pass's;
 * the same bits on every run and any number of threads. Measured against the direct pass with
 * `bench/wasm-conv.bench.ts` (docs/PERFORMANCE.md).
 *
 * The filter gradient is the forward pass differentiated, dy's tiles in the filter's place
 * (`byWinogradFilter`); the input gradient the forward pass transposed, one dy transform, one batch of
 * GEMMs and an output transform for all four stride phases at once (`byWinogradScatter`), or where dy
 * is not whole tiles, per stride phase of dx, a 2x2 convolution of stride 1 over dy with the phase's
 * taps flipped (`byWinogradInput`).
 *
 * Applies where the filter is 4x4 with stride 2, the output has an even number of rows and columns
 * (F(4x4, 2x2): a multiple of 4), Ci is a multiple of 4 and Co of 16 (the input gradient: Ci a multiple
 * of 16 and Co of 4, any size; DCGAN-64's D2-D4 and DCGAN-32's D2-D3; not the RGB layer, Ci 3); taken
 * by default where it paid on the build machine (`winogradPays`, `winograd4Pays`, `winogradFilterPays`,
 * `winogradFilter4Pays`, `winogradInputPays`, `winogradInput4Pays`).
 * Scratch: the padded x, V (2.25 times the filter, or dy; F(4x4, 2x2): 6.25 times the filter, 1.56
 * times dy), U (2.25 times the padded x; 1.56) and M (2.25 times y, or the filter; 1.56 times y, 6.25
 * times the filter); the transposed input gradient V, M' (2.25 or 1.56 times dy) and U' (as much, four
 * times Ci columns); freed when the call returns, at most WINOGRAD_MAX_SCRATCH_BYTES by default.
 */
import type { tf } from '../tf';
import { switchOn } from '../switches';
import { type Heap, lineAligned, uninitialised } from './heap';

/**
 * Which Winograd algorithms the three passes of 4x4 convolutions of stride 2 may take where they pay:
 * GAN_AUGMENT_WASM_WINOGRAD unset (or 1, on, true): F(4x4, 2x2) and F(2x2, 2x2) ('all'); 2: F(2x2,
 * 2x2) only, whose transforms are exact ('2x2'); 0, false or off: neither (the direct methods).
 */
export function winogradLevel(env: NodeJS.ProcessEnv = process.env): 'all' | '2x2' | 'off' {
  const v = env.GAN_AUGMENT_WASM_WINOGRAD?.trim().toLowerCase();
  if (v === '2') return '2x2';
  return switchOn(v) ? 'all' : 'off';
}

/** Whether Winograd may run at all (`winogradLevel` not 'off'). */
export function winogradOn(env: NodeJS.ProcessEnv = process.env): boolean {
  return winogradLevel(env) !== 'off';
}

/** Whether F(4x4, 2x2) may run (`winogradLevel` 'all'). */
export function winograd4On(env: NodeJS.ProcessEnv = process.env): boolean {
  return winogradLevel(env) === 'all';
}

/**
 * Whether the input gradient may take the forward pass transposed (`byWinogradScatter`) where it pays:
 * on unless GAN_AUGMENT_WASM_WINOGRAD_SCATTER is 0, false or off (then the per-phase Winograd,
 * `byWinogradInput`, as before 2026-11-28 night); read at every call, for A/B runs
 * (bench/switch-ab.bench.ts).
 */
export function winogradScatterOn(env: NodeJS.ProcessEnv = process.env): boolean {
  return switchOn(env.GAN_AUGMENT_WASM_WINOGRAD_SCATTER);
}

/** What the transforms need of a forward convolution (./conv2d.ts's geometry). */
export interface WinogradGeometry {
  n: number; h: number; w: number; ci: number;
  oh: number; ow: number; co: number;
  kh: number; kw: number; sh: number; sw: number;
  padTop: number; padLeft: number;
  hp: number; wp: number;
}

/**
 * The smallest problems Winograd takes by default (`winogradPays`, `winograd4Pays`): its GEMMs,
 * transforms and V (rewritten every call) cost more than they save on few tiles or few multiply-adds.
 * Build machine, 2 threads, medians of alternated calls after a 32 MB element-wise op
 * (bench/wasm-conv.bench.ts --cold --alternate), direct -> F(2x2, 2x2) [-> F(4x4, 2x2)], ms; since
 * the GEMMs of a call run as one batch on the threads (2026-11-28, afternoon):
 *   DCGAN-64 batch 64: D2 (4,096 tiles, 2^31 multiply-adds of the direct pass) 43.96 -> 31.91 -> 26.50;
 *     D3 (1,024 tiles) 41.85 -> 28.05 -> 24.07; D4 (256 tiles; 64 of 4x4) 44.47 -> 30.54 -> 33.40;
 *   DCGAN-64 batch 16: D2 (1,024 tiles, 2^29; 256 of 4x4) 10.88 -> 8.34 -> 7.42; D3 (256 tiles) 10.76
 *     -> 8.34 -> 9.20; D4 (64 tiles) 12.54 -> 12.61 -> 19.92;
 *   DCGAN-64 batch 8 (2^28): D2 (512 tiles) 6.36 -> 5.24, D3 (128 tiles) 6.59 -> 6.72, D4 9.62 -> 9.40;
 *   DCGAN-32 batch 16 (2^27): D2 (256 tiles) 2.96 -> 2.60 -> 2.74, D3 (64 tiles) 2.97 -> 3.16;
 *   DCGAN-32 batch 32 (2^28): D2 (512 tiles) 5.50 -> 4.24 -> 4.47, D3 (128 tiles) 6.79 -> 6.41, level.
 * Since the filter transforms write whole rows of V's panels in turn (14:20; winoFilter 4.9 -> 1.5 ms
 * and winoFilter4 12.9 -> 5.5 ms on D4 at batch 64):
 *   DCGAN-64 batch 16: D4 (64 tiles, 2^29) 11.63 -> 8.73 -> 12.61, D3 (256) 10.94 -> 7.60 -> 7.72;
 *   DCGAN-64 batch 64: D4 (256 tiles; 64 of 4x4) 52.65 -> 26.98 -> 26.13;
 *   DCGAN-64 batch 8 (2^28): D3 (128 tiles) 5.53 -> 4.49, D4 (32 tiles) 6.13 -> 5.51;
 *   DCGAN-32 batch 16 (2^27): D2 (256 tiles) 2.85 -> 2.30, D3 (64 tiles) 2.93 -> 2.71; batch 32 (2^28)
 *     D2 5.92 -> 4.14, D3 6.63 -> 5.82.
 * So F(2x2, 2x2) from 32 tiles and 2^27 multiply-adds; F(4x4, 2x2) where it has 256 tiles.
 */
export const WINOGRAD_MIN_TILES = 32;
export const WINOGRAD_MIN_MULTIPLY_ADDS = 2 ** 27;
/** F(4x4, 2x2)'s tiles (of 4x4 pixels) from which it is taken over F(2x2, 2x2) (its 25 GEMMs have a quarter of the rows). */
export const WINOGRAD4_MIN_TILES = 256;

/** The output's tiles of tile x tile pixels: th x tw an image, `tiles` in all. */
function tilesOf(g: WinogradGeometry, tile: WinogradTile = 2): { th: number; tw: number; tiles: number } {
  const th = g.oh / tile;
  const tw = g.ow / tile;
  return { th, tw, tiles: g.n * th * tw };
}

/** x into its zero-padded copy at xPad (g.hp x g.wp pixels an image), on every thread. */
function padX(heap: Heap, x: tf.TensorInfo, xPad: number, g: WinogradGeometry): void {
  heap.kernels.padImages(heap.at(x), xPad, g.n, g.h, 4 * g.w * g.ci, g.hp, 4 * g.wp * g.ci, g.padTop, 4 * g.padLeft * g.ci);
}

/**
 * Scratch for regions of these many floats, each from a cache line, and their byte addresses; the
 * caller disposes of the tensor's data.
 */
function scratchRegions<F extends number[]>(heap: Heap, floats: [...F]): { scratch: tf.TensorInfo; at: { [K in keyof F]: number } } {
  const scratch = heap.backend.makeOutput([floats.reduce((a, b) => a + b + 16, 0)], 'float32');
  let next = heap.at(scratch);
  const at = floats.map((f) => {
    const start = lineAligned(next);
    next = start + 4 * f;
    return start;
  });
  return { scratch, at: at as { [K in keyof F]: number } };
}

/** Whether `byWinograd` can compute this convolution. */
export function winogradApplies(g: WinogradGeometry): boolean {
  return g.kh === 4 && g.kw === 4 && g.sh === 2 && g.sw === 2 && g.oh % 2 === 0 && g.ow % 2 === 0 && g.oh > 0 && g.ow > 0 &&
    g.n > 0 && g.ci > 0 && g.ci % 4 === 0 && g.co > 0 && g.co % 16 === 0 && g.padTop >= 0 && g.padLeft >= 0 &&
    // every tile's 6x6 pixels inside the padded image
    g.hp >= 2 * g.oh + 2 && g.wp >= 2 * g.ow + 2;
}

/**
 * The most scratch a Winograd call takes by default: about 2.25 times the direct pass's (U and M or V
 * besides the padded x), 76 MB for DCGAN-64's D2 at batch 64. Beyond this the direct pass runs, so that
 * a large batch does not fill tfjs's WebAssembly heap (4 GB at most) where the direct pass would not.
 */
export const WINOGRAD_MAX_SCRATCH_BYTES = 256 * 1024 * 1024;

/**
 * The floats of scratch `byWinograd` (forward, with `tile`) or `byWinogradFilter` takes, to within a
 * few hundred.
 */
export function winogradScratchFloats(g: WinogradGeometry, pass: 'forward' | 'filter', tile: WinogradTile = 2): number {
  const { tiles } = tilesOf(g, tile);
  const xis = xisOf(tile);
  const c4 = 4 * g.ci;
  const shared = g.n * g.hp * g.wp * g.ci + xis * (tiles + 4) * c4 + xis * c4 * g.co;
  return shared + xis * (tiles + (pass === 'forward' ? 1 : 0)) * g.co + 2 * tiles + xis * c4 + 16;
}

/** The direct pass's multiply-adds (any of the three passes): 16 taps for every output pixel, input and output channel. */
function directMultiplyAdds(g: { n: number; oh: number; ow: number; ci: number; co: number }): number {
  return 16 * g.n * g.oh * g.ow * g.ci * g.co;
}

/** Whether F(2x2, 2x2) applies and is expected to be faster than the direct pass (the sizes above). */
export function winogradPays(g: WinogradGeometry): boolean {
  return winogradApplies(g) && forwardLargeEnough(g) && 4 * winogradScratchFloats(g, 'forward') <= WINOGRAD_MAX_SCRATCH_BYTES;
}

/** The forward pass's size from which Winograd pays (the sizes above; either tile). */
function forwardLargeEnough(g: WinogradGeometry): boolean {
  return tilesOf(g).tiles >= WINOGRAD_MIN_TILES && directMultiplyAdds(g) >= WINOGRAD_MIN_MULTIPLY_ADDS;
}

/**
 * Whether F(4x4, 2x2) applies and is expected to be faster than F(2x2, 2x2) (the sizes above). Its own
 * scratch counts (smaller than F(2x2, 2x2)'s: U and M 1.56 times instead of 2.25).
 */
export function winograd4Pays(g: WinogradGeometry): boolean {
  return winograd4Applies(g) && forwardLargeEnough(g) && tilesOf(g, 4).tiles >= WINOGRAD4_MIN_TILES &&
    4 * winogradScratchFloats(g, 'forward', 4) <= WINOGRAD_MAX_SCRATCH_BYTES;
}

/**
 * Whether the filter gradient by F(2x2, 2x2) applies and is expected to be faster than 'directRows'
 * (../conv2d-backprop-filter.ts): from 2^27 multiply-adds (any number of tiles; until 14:05 on
 * 2026-11-28, 2^29 with Ci under 128: D2 below). Build machine, 2 threads, --cold --alternate, 'directRows' -> Winograd, ms,
 * the morning of 2026-11-28: DCGAN-64 batch 16 D2 (Ci 64, 2^29) 11.4-11.9 -> 10.6-11.8; D3 (Ci 128)
 * 10.9-11.3 -> 8.2-9.5; D4 (Ci 256, 64 tiles) 11.5-12.0 -> 8.7-9.8; batch 64 D2 (2^31) 57.1 -> 38.7,
 * D3 46.5 -> 38.2, D4 51.9 -> 36.9; DCGAN-32 batch 64 D2 (Ci 64, 2^29) 11.37 -> 11.11; D3 12.27 ->
 * 8.45; with its nine GEMMs in one batch (the afternoon): DCGAN-64 batch 16 D2 11.04 -> 10.16; batch 8
 * (2^28) D2 6.22 -> 6.20, D3 6.08 -> 5.30, D4 6.38 -> 5.16; DCGAN-32 batch 16 (2^27) D2 3.05 -> 2.65,
 * D3 3.17 -> 2.42; batch 32 D2 5.77 -> 4.95, D3 6.20 -> 5.29; D2 (Ci 64) again, two runs each
 * (14:05): DCGAN-32 batch 16 (2^27) 3.69 / 3.06 -> 2.81 / 3.04, DCGAN-64 batch 8 (2^28) 5.65 / 5.63
 * -> 5.57 / 4.75, DCGAN-32 batch 8 (2^26) 2.06 / 1.64 -> 1.89 / 1.51 (level).
 */
export function winogradFilterPays(g: WinogradGeometry): boolean {
  return winogradApplies(g) && directMultiplyAdds(g) >= WINOGRAD_MIN_MULTIPLY_ADDS &&
    4 * winogradScratchFloats(g, 'filter') <= WINOGRAD_MAX_SCRATCH_BYTES;
}

/**
 * Whether F(4x4, 2x2) is expected to be faster than F(2x2, 2x2) for the filter gradient: where the
 * latter pays and F(4x4, 2x2) has 256 tiles, or 64 with Ci of 64 or fewer. Build machine, 2 threads,
 * --cold --alternate (2026-11-28, afternoon), F(2x2, 2x2) -> F(4x4, 2x2), ms: DCGAN-64 batch 64 D2
 * (1,024 tiles of 4x4) 36.59 -> 26.58, D3 (256) 31.76 -> 24.72, D4 (64) 27.12 -> 42.26; batch 16 D2
 * (256) 12.68 -> 8.85, D3 (64) 7.75 -> 8.13, D4 (16) 8.23 -> 16.25; batch 8 D2 (Ci 64, 128 tiles) 5.57
 * / 4.75 -> 4.44 / 4.19; DCGAN-32 batch 16 D2 (Ci 64, 64 tiles) 2.81 / 3.04 -> 2.69 / 2.59, batch 8 (32
 * tiles) 1.89 / 1.51 -> 2.17 / 1.71. (Its M, 6.25 times the filter, is what costs on D4.)
 */
export function winogradFilter4Pays(g: WinogradGeometry): boolean {
  const { tiles } = tilesOf(g, 4);
  return winograd4Applies(g) && directMultiplyAdds(g) >= WINOGRAD_MIN_MULTIPLY_ADDS &&
    (tiles >= WINOGRAD4_MIN_TILES || (tiles >= 64 && g.ci <= 64)) && 4 * winogradScratchFloats(g, 'filter', 4) <= WINOGRAD_MAX_SCRATCH_BYTES;
}

/**
 * Winograd's output tile: 2 (F(2x2, 2x2): 9 multiplies per tile and channel, exact transforms) or 4
 * (F(4x4, 2x2): 25 multiplies per 16 pixels, 39% of the direct pass's; transforms with entries 2, 3, 4,
 * 8 and 1/6, so up to 5-6x the direct pass's rounding error; ./simd/gather-gemm.wat `winoInput4`).
 */
export type WinogradTile = 2 | 4;

/** The transformed values a tile has: 9 (3x3) or 25 (5x5). */
function xisOf(tile: WinogradTile): number {
  return (tile + 1) ** 2;
}

/** Whether F(4x4, 2x2) can compute this forward convolution: `winogradApplies` and an output a multiple of 4. */
export function winograd4Applies(g: WinogradGeometry): boolean {
  return winogradApplies(g) && g.oh % 4 === 0 && g.ow % 4 === 0;
}

/**
 * y [N, OH, OW, Co] = conv2d(x, w) (+ bias) by F(2x2, 2x2) (`winogradApplies(g)` must hold) or, with
 * tile 4, F(4x4, 2x2) (`winograd4Applies(g)`).
 */
export function byWinograd(x: tf.TensorInfo, w: tf.TensorInfo, bias: tf.TensorInfo | undefined, g: WinogradGeometry, heap: Heap, tile: WinogradTile = 2): tf.Tensor4D {
  const { n, ci, oh, ow, co, hp, wp } = g;
  const { at, backend } = heap;
  const kernels = heap.kernels;
  const { th, tw, tiles } = tilesOf(g, tile);
  const xis = xisOf(tile);
  // The GEMMs take output rows in pairs: an odd tile count gets one more row (a copy of the last).
  const rows = tiles + (tiles % 2);
  const c4 = 4 * ci;
  const out = uninitialised<tf.Rank.R4>(heap, [n, oh, ow, co]);
  // Scratch, not zeroed (every byte read is written first): x padded, V in panels (xis of 4 Ci rows,
  // from a cache line on), U, M, one table of U's columns per xi and one of U's rows.
  const xFloats = n * hp * wp * ci;
  const vFloats = xis * c4 * co;
  const uFloats = xis * rows * c4;
  const mFloats = xis * rows * co;
  const { scratch, at: [xPad, v, u, m, tables, mOff] } = scratchRegions(heap, [xFloats, vFloats, uFloats, mFloats, xis * c4, rows]);
  try {
    padX(heap, x, xPad, g);
    const [imgBytes, rowBytes] = [4 * hp * wp * ci, 4 * wp * ci];
    if (tile === 4) {
      kernels.winoFilter4(at(w), ci, co, v, 4 * c4 * co);
      kernels.winoInput4(xPad, imgBytes, rowBytes, ci, th, tw, 0, 0, n, u, 4 * rows * c4, 2);
    } else {
      kernels.winoFilter(at(w), ci, co, v, 4 * c4 * co);
      kernels.winoInput(xPad, imgBytes, rowBytes, ci, th, tw, n, u, 4 * rows * c4);
    }
    // a = table[k] + mOff[row]: U_xi's column k, then its row (the last row again for the pad row)
    const i32 = new Int32Array(heap.memory.buffer);
    for (let xi = 0; xi < xis; xi++) {
      const base = tables / 4 + xi * c4;
      const col0 = u + 4 * xi * rows * c4;
      for (let k = 0; k < c4; k++) i32[base + k] = col0 + 4 * k;
    }
    for (let r = 0; r < rows; r++) i32[mOff / 4 + r] = 4 * Math.min(r, tiles - 1) * c4;
    const sliceRows = kernels.rowSlice(rows);
    kernels.gatherGemm({
      table: tables, b: v, bPanelRows: c4, mOff, m: rows, co, kCount: c4, split: 'm', sliceRows, slices: Math.ceil(rows / sliceRows), out: m,
      partialBytes: 0, chunkRows: 4096, batch: { count: xis, tableStep: 4 * c4, bStep: 4 * c4 * co, outStep: 4 * rows * co },
    });
    const b = bias ? at(bias) : 0;
    if (tile === 4) kernels.winoOutput4(m, 4 * rows * co, co, th, tw, n, at(out), oh, ow, 0, 0, 1, b);
    else kernels.winoOutput(m, 4 * rows * co, co, th, tw, ow, n, at(out), b);
    return out;
  } finally {
    backend.disposeData(scratch.dataId);
  }
}

/**
 * How the filter gradient's GEMMs read U: 'transposed' has it written as U_xi^T [4 Ci, tiles]
 * (`winoInputT`), so that the kernel reads each of its rows in order; 'rows' reads U_xi where
 * winoInput wrote it, a float of every row 16 Ci bytes apart.
 */
export type WinogradFilterRead = 'transposed' | 'rows';

/**
 * dW [4, 4, Ci, Co] = the filter gradient of conv2d(x, w) from x and dy [N, OH, OW, Co] by F(2x2, 2x2)
 * or, with tile 4, F(4x4, 2x2) (`winogradApplies(g)`, `winograd4Applies(g)`; g's hp and wp: x's
 * padded size): per xi, M_xi [4 Ci, Co] = the sum over tiles of U_xi's column times V_xi's row (a GEMM
 * over tiles, in slices of M's rows on every thread, all xi in one batch), then dW's taps = A^T M A
 * (F(4x4, 2x2): G^T M G). F(4x4, 2x2) reads U where winoInput4 writes it ('rows').
 */
export function byWinogradFilter(x: tf.TensorInfo, dy: tf.TensorInfo, g: WinogradGeometry, heap: Heap, read: WinogradFilterRead = 'transposed', tile: WinogradTile = 2): tf.Tensor4D {
  const { n, ci, ow, co, hp, wp } = g;
  const { at, backend } = heap;
  const kernels = heap.kernels;
  const { th, tw, tiles } = tilesOf(g, tile);
  const xis = xisOf(tile);
  const transposed = tile === 2 && read === 'transposed';
  // U's rows rounded up to 4 for winoInputT's groups (the extra rows are never summed: the GEMMs run over
  // `tiles` rows)
  const rows = tiles + ((4 - (tiles % 4)) % 4);
  const c4 = 4 * ci;
  const out = uninitialised<tf.Rank.R4>(heap, [4, 4, ci, co]);
  const xFloats = n * hp * wp * ci;
  const uFloats = xis * rows * c4;
  const vFloats = xis * tiles * co;
  const mFloats = xis * c4 * co;
  const { scratch, at: [xPad, u, v, m, table, mOff] } = scratchRegions(heap, [xFloats, uFloats, vFloats, mFloats, tiles, xis * c4]);
  try {
    padX(heap, x, xPad, g);
    const [imgBytes, rowBytes] = [4 * hp * wp * ci, 4 * wp * ci];
    if (tile === 4) {
      kernels.winoInput4(xPad, imgBytes, rowBytes, ci, th, tw, 0, 0, n, u, 4 * rows * c4, 2);
      kernels.winoDy4(at(dy), co, th, tw, ow, n, v, 4 * tiles * co, tiles);
    } else {
      if (transposed) kernels.winoInputT(xPad, imgBytes, rowBytes, ci, th, tw, tiles, u, 4 * rows * c4, rows);
      else kernels.winoInput(xPad, imgBytes, rowBytes, ci, th, tw, n, u, 4 * rows * c4);
      kernels.winoDy(at(dy), co, th, tw, ow, n, v, 4 * tiles * co, tiles);
    }
    // a = table[t] + mOff[xi * 4 Ci + c']: U_xi's value of tile t and channel c'
    const i32 = new Int32Array(heap.memory.buffer);
    if (transposed) {
      for (let t = 0; t < tiles; t++) i32[table / 4 + t] = 4 * t;
      for (let r = 0; r < xis * c4; r++) i32[mOff / 4 + r] = u + 4 * r * rows;
    } else {
      for (let t = 0; t < tiles; t++) i32[table / 4 + t] = 4 * t * c4;
      for (let xi = 0; xi < xis; xi++) for (let c = 0; c < c4; c++) i32[mOff / 4 + xi * c4 + c] = u + 4 * (xi * rows * c4 + c);
    }
    // One slice of M's rows per thread (even), since each slice streams all of V_xi. (Slices of tiles
    // into partials instead, summed after, were slower on D3 and D4: docs/PERFORMANCE.md.) U read in
    // rows ('rows') takes a float of every U row: chunks of 256 tiles keep those rows in the L1 cache.
    const threads = kernels.workerCount + 1;
    const sliceRows = Math.max(2, 2 * Math.ceil(c4 / threads / 2));
    kernels.gatherGemm({
      table, b: v, bPanelRows: tiles, mOff, m: c4, co, kCount: tiles, split: 'm', sliceRows, slices: Math.ceil(c4 / sliceRows), out: m,
      partialBytes: 0, chunkRows: transposed ? 4096 : 256, batch: { count: xis, tableStep: 0, bStep: 4 * tiles * co, outStep: 4 * c4 * co, mOffStep: 4 * c4 },
    });
    if (tile === 4) kernels.winoFilterOut4(m, 4 * c4 * co, ci, co, at(out));
    else kernels.winoFilterOut(m, 4 * c4 * co, ci, co, at(out));
    return out;
  } finally {
    backend.disposeData(scratch.dataId);
  }
}

/** One stride phase (p, q) of dx, as `byWinogradInput` tiles it. */
interface InputPhase {
  p: number; q: number;
  /** First phase row and column (dx's pixel 2 i0 + p - padTop is its first row), and tiles an image. */
  i0: number; j0: number; th: number; tw: number;
}

/**
 * The stride phases of dx that have pixels, in tiles of `tile` phase rows and columns: phase row i (dx
 * row 2i + p - padTop) sums dy rows i - 1 and i, so its tiles read rows i0 + tile * ti .. + tile of dy
 * padded by one row in front.
 */
function inputPhases(g: WinogradInputGeometry, tile: WinogradTile): InputPhase[] {
  const phases: InputPhase[] = [];
  const first = (pad: number, phase: number) => Math.max(0, Math.ceil((pad - phase) / 2));
  const last = (size: number, pad: number, phase: number) => Math.floor((size - 1 + pad - phase) / 2);
  for (let p = 0; p < 2; p++) {
    for (let q = 0; q < 2; q++) {
      const [i0, j0] = [first(g.padTop, p), first(g.padLeft, q)];
      const [rows, cols] = [last(g.h, g.padTop, p) - i0 + 1, last(g.w, g.padLeft, q) - j0 + 1];
      if (rows > 0 && cols > 0) phases.push({ p, q, i0, j0, th: Math.ceil(rows / tile), tw: Math.ceil(cols / tile) });
    }
  }
  return phases;
}

/** The input gradient's geometry: dx's size, no padded copy of it. */
export type WinogradInputGeometry = Omit<WinogradGeometry, 'hp' | 'wp'>;

/** Whether `byWinogradInput` can compute this input gradient (Ci a multiple of 16: the GEMMs' outputs). */
export function winogradInputApplies(g: WinogradInputGeometry): boolean {
  return g.kh === 4 && g.kw === 4 && g.sh === 2 && g.sw === 2 && g.n > 0 && g.ci > 0 && g.ci % 16 === 0 &&
    g.co > 0 && g.co % 4 === 0 && g.oh > 0 && g.ow > 0 && g.padTop >= 0 && g.padLeft >= 0;
}

/**
 * dy padded by a row and a column in front, and behind to the last row and column a tile reads (a
 * tile of `tile` phase rows reads tile + 1 rows of dy from i0 + tile * ti); the most GEMM rows of a phase.
 */
function inputExtent(g: WinogradInputGeometry, phases: InputPhase[], tile: WinogradTile): { dyRows: number; dyCols: number; maxRows: number } {
  return {
    dyRows: Math.max(g.oh + 1, ...phases.map((f) => f.i0 + tile * f.th + 1)),
    dyCols: Math.max(g.ow + 1, ...phases.map((f) => f.j0 + tile * f.tw + 1)),
    maxRows: Math.max(0, ...phases.map((f) => { const t = g.n * f.th * f.tw; return t + (t % 2); })),
  };
}

/** The floats of scratch `byWinogradInput` takes, to within a few hundred. */
export function winogradInputScratchFloats(g: WinogradInputGeometry, tile: WinogradTile = 2): number {
  const { dyRows, dyCols, maxRows } = inputExtent(g, inputPhases(g, tile), tile);
  const xis = xisOf(tile);
  return (16 + 4 * xis) * g.ci * g.co + g.n * dyRows * dyCols * g.co + xis * maxRows * (g.co + g.ci) + xis * g.co + maxRows + 7 * 16;
}

/**
 * Whether the input gradient by F(2x2, 2x2) applies and is expected to be faster than 'phasesInHeap'
 * (../conv2d-backprop-input.ts): from 2^27 multiply-adds. Build machine, 2 threads, --cold
 * --alternate, 'phasesInHeap' -> F(2x2, 2x2) [-> F(4x4, 2x2)], ms, with the GEMMs of each phase in
 * one batch (2026-11-28, afternoon; before it, only Ci of 128 or more paid): DCGAN-64 batch 64 D2 (Ci
 * 64, 2^31) 47.26 -> 42.68 -> 35.28, D3 42.56 -> 30.11 -> 25.84, D4 44.40 -> 31.31 -> 37.79; batch 16
 * D2 (2^29) 11.38 -> 9.03 -> 9.63, D3 11.21 -> 9.23 -> 9.89, D4 14.26 -> 13.54 -> 22.36; batch 8 (2^28)
 * D2 5.81-6.01 -> 5.45-5.53, D3 6.11-6.83 -> 5.86-6.12; DCGAN-32 batch 32 (2^28) D2 5.84-5.86 ->
 * 4.83-4.86, D3 6.08-6.51 -> 5.67-8.17; batch 16 (2^27) D2 3.23 -> 3.14, D3 3.49 -> 3.87; with the
 * filter transform writing whole panel rows (14:20): DCGAN-32 batch 16 D2 3.15 -> 2.94, D3 3.40 ->
 * 3.24; batch 32 D2 6.23 -> 5.21, D3 6.39 -> 7.96 (once); DCGAN-64 batch 8 D3 6.26 -> 5.16, D4 7.30 ->
 * 7.18; batch 16 D4 13.93 -> 10.64.
 */
export function winogradInputPays(g: WinogradInputGeometry): boolean {
  return winogradInputApplies(g) && directMultiplyAdds(g) >= WINOGRAD_MIN_MULTIPLY_ADDS &&
    4 * winogradInputScratchFloats(g) <= WINOGRAD_MAX_SCRATCH_BYTES;
}

/**
 * Whether F(4x4, 2x2) is expected to be faster than F(2x2, 2x2) for the input gradient (the sizes
 * above): from 2^31 multiply-adds, with 256 tiles in its largest phase.
 */
export function winogradInput4Pays(g: WinogradInputGeometry): boolean {
  const tiles = Math.max(0, ...inputPhases(g, 4).map((f) => g.n * f.th * f.tw));
  return winogradInputApplies(g) && directMultiplyAdds(g) >= 16 * WINOGRAD_MIN_MULTIPLY_ADDS && tiles >= WINOGRAD4_MIN_TILES &&
    4 * winogradInputScratchFloats(g, 4) <= WINOGRAD_MAX_SCRATCH_BYTES;
}

/**
 * dx [N, H, W, Ci] = the input gradient of conv2d(x, w) from dy [N, OH, OW, Co] by F(2x2, 2x2), per
 * stride phase of dx: a 2x2 convolution of stride 1 over dy padded by one row and column in front, of
 * the phase's four taps flipped (V = G g G^T of the flipped taps is V of the taps with xi flipped, so
 * winoFilter's V of w transposed serves all four phases), then nine GEMMs [tiles, Co] x [Co, Ci] and
 * the phase's pixels of dx from A^T M A. With tile 4, F(4x4, 2x2): 25 GEMMs of 4x4 tiles, w's taps
 * flipped before the transform. `winogradInputApplies(g)` must hold.
 */
export function byWinogradInput(dy: tf.TensorInfo, w: tf.TensorInfo, g: WinogradInputGeometry, heap: Heap, tile: WinogradTile = 2): tf.Tensor4D {
  const { n, h, ci, oh, ow, co } = g;
  const kernels = heap.kernels;
  const phases = inputPhases(g, tile);
  const xis = xisOf(tile);
  const { dyRows, dyCols, maxRows } = inputExtent(g, phases, tile);
  const out = uninitialised<tf.Rank.R4>(heap, [n, h, g.w, ci]);
  const { scratch, at: [wT, v, dyPad, u, m, tables, mOff] } = scratchRegions(heap, [
    16 * ci * co, xis * 4 * co * ci, n * dyRows * dyCols * co, xis * maxRows * co, xis * maxRows * ci, xis * co, maxRows,
  ]);
  try {
    // w's taps [Ci, Co] transposed to [Co, Ci], then V as the forward pass's filter transform writes it,
    // with Co and Ci in each other's place: V_xi's rows (p * 2 + q) * Co + co, in panels of 16 of Ci.
    // F(2x2, 2x2): V of the flipped taps is V with xi flipped (8 - xi); F(4x4, 2x2)'s V has no such
    // symmetry, so its taps are flipped here (phase (p, q)'s tap (a, b) is w's (1 - a, 1 - b): kh ^ 2, kw ^ 2).
    kernels.transposeTaps(heap.at(w), wT, ci, co, tile === 4 ? 2 : 0);
    if (tile === 4) kernels.winoFilter4(wT, co, ci, v, 4 * 4 * co * ci);
    else kernels.winoFilter(wT, co, ci, v, 4 * 4 * co * ci);
    kernels.padImages(heap.at(dy), dyPad, n, oh, 4 * ow * co, dyRows, 4 * dyCols * co, 1, 4 * co);
    const i32 = new Int32Array(heap.memory.buffer);
    const [imgBytes, rowBytes] = [4 * dyRows * dyCols * co, 4 * dyCols * co];
    for (const f of phases) {
      const tiles = n * f.th * f.tw;
      const rows = tiles + (tiles % 2);
      if (tile === 4) kernels.winoInput4(dyPad, imgBytes, rowBytes, co, f.th, f.tw, f.i0, f.j0, n, u, 4 * rows * co, 1);
      else kernels.winoInputS1(dyPad, imgBytes, rowBytes, co, f.th, f.tw, f.i0, f.j0, n, u, 4 * rows * co);
      for (let xi = 0; xi < xis; xi++) for (let k = 0; k < co; k++) i32[tables / 4 + xi * co + k] = u + 4 * (xi * rows * co + k);
      for (let r = 0; r < rows; r++) i32[mOff / 4 + r] = 4 * Math.min(r, tiles - 1) * co;
      const sliceRows = kernels.rowSlice(rows);
      // the flipped taps' V: F(2x2, 2x2)'s V_(8 - xi), F(4x4, 2x2)'s V_xi (of taps flipped above); the phase's Co rows of it
      const [v0, vStep] = tile === 4 ? [v, 16 * co * ci] : [v + 4 * 8 * 4 * co * ci, -16 * co * ci];
      kernels.gatherGemm({
        table: tables, b: v0 + 64 * (f.p * 2 + f.q) * co, bPanelRows: 4 * co, mOff, m: rows, co: ci, kCount: co, split: 'm', sliceRows,
        slices: Math.ceil(rows / sliceRows), out: m, partialBytes: 0, chunkRows: 4096, batch: { count: xis, tableStep: 4 * co, bStep: vStep, outStep: 4 * rows * ci },
      });
      const [ih0, iw0] = [2 * f.i0 + f.p - g.padTop, 2 * f.j0 + f.q - g.padLeft];
      if (tile === 4) kernels.winoOutput4(m, 4 * rows * ci, ci, f.th, f.tw, n, heap.at(out), h, g.w, ih0, iw0, 2, 0);
      else kernels.winoOutputPhase(m, 4 * rows * ci, ci, f.th, f.tw, n, heap.at(out), h, g.w, ih0, iw0);
    }
    return out;
  } finally {
    heap.backend.disposeData(scratch.dataId);
  }
}

/**
 * Whether `byWinogradScatter` can compute this input gradient with tile `tile`: `winogradInputApplies`,
 * Co a multiple of 16 (dy's transform), dy's size a multiple of the tile, and every pixel of dx inside
 * some tile's patch (phase row u = (row + padTop) / 2 at most tile * th = OH: 'same' padding does it;
 * a pixel that no tap of the forward pass reads would get no value).
 */
export function winogradScatterApplies(g: WinogradInputGeometry, tile: WinogradTile = 2): boolean {
  return winogradInputApplies(g) && g.co % 16 === 0 && g.oh % tile === 0 && g.ow % tile === 0 &&
    (g.h - 1 + g.padTop) >> 1 <= g.oh && (g.w - 1 + g.padLeft) >> 1 <= g.ow;
}

/**
 * Whether `byWinogradScatter` with F(2x2, 2x2) applies and is expected to be faster than
 * 'phasesInHeap' and than `byWinogradInput` (the per-phase Winograd): from 2^27 multiply-adds, as
 * `winogradInputPays`. Build machine, 2 threads, --cold --alternate (2026-11-28, night), per-phase
 * F(2x2, 2x2) -> transposed F(2x2, 2x2) -> transposed F(4x4, 2x2), ms (the forward pass): DCGAN-32
 * batch 16 D2 (2^27) 2.83 -> 2.32 -> 2.33 (2.35), D3 3.41 -> 3.01 -> 3.81 (2.84); batch 64 D2 8.88 ->
 * 7.19 -> 6.55 (6.63), D3 8.16 -> 7.19 -> 7.03 (7.25); DCGAN-64 batch 16 D2 (2^29) 10.31 -> 7.84 ->
 * 7.76 (8.38), D3 8.43 -> 7.41 -> 7.55 (7.42), D4 11.62 -> 11.54 -> 13.80 (10.91); batch 64 (2^31; the
 * per-phase F(4x4, 2x2) there 32.55, 29.19, 29.89) D2 38.69 -> 29.53 -> 24.68 (25.06), D3 32.65 ->
 * 28.81 -> 23.44 (23.19), D4 29.78 -> 30.00 -> 26.90 (27.07).
 */
export function winogradScatterPays(g: WinogradInputGeometry): boolean {
  return winogradScatterApplies(g, 2) && directMultiplyAdds(g) >= WINOGRAD_MIN_MULTIPLY_ADDS &&
    4 * winogradScatterScratchFloats(g, 2) <= WINOGRAD_MAX_SCRATCH_BYTES;
}

/**
 * F(4x4, 2x2)'s tiles (of 4x4 dy pixels) from which `byWinogradScatter` takes it over F(2x2, 2x2): its
 * V, 6.25 times the filter against 2.25 times, costs per filter value what it saves per tile (the sizes
 * above: 16 tiles 20% slower, 64 from 2% slower to 10% faster, 256 level or faster).
 */
export const WINOGRAD4_SCATTER_MIN_TILES = 64;

/** Whether `byWinogradScatter` with F(4x4, 2x2) is expected to be faster than with F(2x2, 2x2) (above). */
export function winogradScatter4Pays(g: WinogradInputGeometry): boolean {
  return winogradScatterApplies(g, 4) && directMultiplyAdds(g) >= WINOGRAD_MIN_MULTIPLY_ADDS &&
    (g.n * g.oh * g.ow) / 16 >= WINOGRAD4_SCATTER_MIN_TILES && 4 * winogradScatterScratchFloats(g, 4) <= WINOGRAD_MAX_SCRATCH_BYTES;
}

/** The floats of scratch `byWinogradScatter` takes, to within a few hundred. */
export function winogradScatterScratchFloats(g: WinogradInputGeometry, tile: WinogradTile = 2): number {
  const tiles = (g.n * g.oh * g.ow) / (tile * tile);
  const rows = tiles + (tiles % 2);
  const xis = xisOf(tile);
  return xis * 4 * g.co * g.ci + xis * rows * g.co + xis * rows * 4 * g.ci + xis * g.co + rows + 5 * 16;
}

/**
 * dx [N, H, W, Ci] = the input gradient of conv2d(x, w) from dy [N, OH, OW, Co], as the forward pass
 * transposed (`winogradScatterApplies(g, tile)` must hold): the forward pass's
 *   y tile = A^T [sum over (p, q, ci) of (B^T d B) . V] A
 * read backwards gives each tile of dy a patch of dx's four stride phases,
 *   d = B [sum over Co of (A dy_tile A^T) . V] B^T,
 * and the patches of neighbouring tiles overlap by a phase row and column, where they are added. So
 * dy is transformed once, for all four phases (winoDy, winoDy4: the filter gradient's transform of
 * dy), one batch of 9 (F(4x4, 2x2): 25) GEMMs computes U'_xi [tiles, 4 Ci] = M'_xi [tiles, Co] x V_xi^T [Co, 4 Ci]
 * (V_xi^T: the forward's V of w's taps transposed, as `byWinogradInput` builds it, read in panels of Co
 * rows, so that its columns come in the order (ci / 16, p, q, ci % 16)), and winoScatter (winoScatter4)
 * adds the patches into dx. `byWinogradInput` instead runs, per stride phase, a transform of dy, a batch
 * of GEMMs of Ci columns and an output transform.
 */
export function byWinogradScatter(dy: tf.TensorInfo, taps: tf.TensorInfo, g: WinogradInputGeometry, heap: Heap, tile: WinogradTile = 2): tf.Tensor4D {
  const { n, h, ci, oh, ow, co } = g;
  const kernels = heap.kernels;
  const xis = xisOf(tile);
  const [th, tw] = [oh / tile, ow / tile];
  const tiles = n * th * tw;
  // The GEMMs take output rows in pairs: an odd tile count gets one more row (a copy of the last).
  const rows = tiles + (tiles % 2);
  const c4 = 4 * ci;
  const out = uninitialised<tf.Rank.R4>(heap, [n, h, g.w, ci]);
  const { scratch, at: [v, mT, u, tables, mOff] } = scratchRegions(heap, [xis * c4 * co, xis * rows * co, xis * rows * c4, xis * co, rows]);
  try {
    // V of w's taps transposed (`taps`, [16, Co, Ci], as transposeTaps writes them; the caller keeps them
    // while the weights live): V_xi's rows (p * 2 + q) * Co + co in panels of 16 of Ci, which read as
    // panels of Co rows are V_xi^T [Co, 4 Ci] with its columns in the order above.
    if (tile === 4) kernels.winoFilter4(heap.at(taps), co, ci, v, 4 * c4 * co);
    else kernels.winoFilter(heap.at(taps), co, ci, v, 4 * c4 * co);
    // M'_xi = A dy A^T [tiles, Co], in panels of 16 columns of `rows` rows
    if (tile === 4) kernels.winoDy4(heap.at(dy), co, th, tw, ow, n, mT, 4 * rows * co, rows);
    else kernels.winoDy(heap.at(dy), co, th, tw, ow, n, mT, 4 * rows * co, rows);
    // a = table_xi[k] + mOff[t]: M'_xi's row t, column k (in its panels)
    const i32 = new Int32Array(heap.memory.buffer);
    for (let xi = 0; xi < xis; xi++) {
      const base = mT + 4 * xi * rows * co;
      for (let k = 0; k < co; k++) i32[tables / 4 + xi * co + k] = base + (k >> 4) * rows * 64 + 4 * (k & 15);
    }
    for (let r = 0; r < rows; r++) i32[mOff / 4 + r] = 64 * Math.min(r, tiles - 1);
    const sliceRows = kernels.rowSlice(rows);
    kernels.gatherGemm({
      table: tables, b: v, bPanelRows: co, mOff, m: rows, co: c4, kCount: co, split: 'm', sliceRows, slices: Math.ceil(rows / sliceRows), out: u,
      partialBytes: 0, chunkRows: 4096, batch: { count: xis, tableStep: 4 * co, bStep: 4 * c4 * co, outStep: 4 * rows * c4 },
    });
    if (tile === 4) kernels.winoScatter4(u, 4 * rows * c4, ci, th, tw, n, heap.at(out), h, g.w, g.padTop, g.padLeft);
    else kernels.winoScatter(u, 4 * rows * c4, ci, th, tw, n, heap.at(out), h, g.w, g.padTop, g.padLeft);
    return out;
  } finally {
    heap.backend.disposeData(scratch.dataId);
  }
}
