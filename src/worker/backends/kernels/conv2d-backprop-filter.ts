/**
 * Our own WebGPU kernel for Conv2DBackpropFilter (the filter gradient), replacing tfjs's
 * one-thread-per-weight loop (tfjs-backend-webgpu 4.22 `Conv2DDerFilterProgram`).
 *
 * The filter gradient as a GEMM (implicit: x is never materialised as im2col):
 *
 *   dW[m, n] = sum_k A[k, m] * dy[k, n]
 *     m = (kh * KW + kw) * CI + ci        M = KH * KW * CI   (rows of dW, filter layout HWIO)
 *     n = co                              N = CO
 *     k = (b * OH + oh) * OW + ow         K = B * OH * OW    (dy viewed as a [K, N] matrix)
 *     A[k, m] = x[b, oh * sh - padTop + kh, ow * sw - padLeft + kw, ci]   (0 outside the image)
 *
 * For GAN layers K is large and M * N small, so the K range is split over `splits` workgroups per
 * output tile (split-K). Pass 1 writes one partial [M, N] per split; pass 2 sums the partials in a
 * fixed order (deterministic, no atomics). With one split, pass 1 writes dW directly.
 *
 * Pass 1 tiling: a workgroup computes a TM x TN tile of one split's partial; (TN/4) x (TM/4)
 * threads, each a 4 x 4 block of outputs held in 4 vec4 registers. K advances TK at a time: each
 * thread gathers 4 consecutive m (one vec4) of A and 4 consecutive n of dy into workgroup memory,
 * then every thread does TK rank-1 updates of its 4 x 4 block from vec4 reads of the two tiles.
 * Loop bounds depend on uniforms only (uniform control flow around the barriers); the rows of a
 * split's last tile beyond its K range load zeros.
 *
 * Supported: NHWC, float32, any strides, any padding ('same', 'valid', numbers, explicit), dilation
 * 1 (tfjs's Conv2DBackpropFilter has no dilation attribute). Anything else (NCHW) goes to tfjs's
 * own kernel. With a `DyMask` (./common.ts) the GEMM reads dy through a LeakyReLU's mask as it loads
 * it (./masked-conv-grads.ts).
 *
 * `registerOurKernels()` (./index, called by initBackend once WebGPU is up) installs it for the
 * 'webgpu' backend unless GAN_AUGMENT_WGSL_KERNELS=0: on by default, since on lavapipe it is 2-6x faster per
 * layer and a DCGAN-32 step 1.5x faster, within tolerance of a float64 reference; on an NVIDIA H200
 * 17-18 TFLOP/s on the DCGAN-64 layers at batch 256, 11-365x tfjs's (docs/PERFORMANCE.md,
 * "Convolution kernels").
 */
import type { TensorInfo, backend_util } from '@tensorflow/tfjs-core';
import {
  GEMM_ACC_DECLS,
  gemmAccDeclsBlock,
  allFloat32Rank4,
  checkGemmTile,
  flatDispatch,
  gemmThreadIds,
  nhwcConvInfo,
  onSoftwareAdapter,
  type ConvAttrs,
  LANES,
  gemmRank1Updates,
  gemmRank1UpdatesBlock,
  gemmTileDecls,
  i32Uniform,
  type OurKernelRun,
  type ProgramUniform,
  type WebGpuBackendLike,
  type WebGpuProgramLike,
  type DyMask,
  maskFits,
  maskUniforms,
  withMask,
} from './common';
import { leakyMaskWgsl, leakyMaskWgsl4 } from './leaky-relu-grad';


/* ---------------------------------------------------------------------------------------------
 * Tiling parameters and split-K choice.
 * ------------------------------------------------------------------------------------------- */

export interface FilterGradTiling {
  /** Output rows (m = kh, kw, ci) per workgroup; multiple of 4. */
  tileM: number;
  /** Output columns (n = co) per workgroup; multiple of 4. */
  tileN: number;
  /** K rows staged in workgroup memory per step. */
  tileK: number;
  /** Aim for about this many workgroups in all (tiles x splits) when K allows. */
  targetWorkgroups: number;
  /** Each split covers at least this many K-tiles. */
  minKTilesPerSplit: number;
  /**
   * Walk k -> (b, oh, ow) of the x gather by carrying adds instead of dividing per K row (4 integer
   * divisions per row, for 16-32 rank-1 updates). On for GPUs, which have no integer divider: on an
   * H100 the filter gradient's D2-D4 took 11-15% less time with it (docs/PERFORMANCE.md, runs 11 and 13). Off on
   * lavapipe, where it is within noise of dividing (DCGAN-32 layers, 2026-11-26).
   */
  carryK?: boolean;
  /** Outputs per thread, threadBlock x threadBlock (4, the default, or 8: e.g. 128x128x16 tiles with 256 threads). */
  threadBlock?: 4 | 8;
  /**
   * Read x as vec4 where CI % 4 == 0 and dy where CO % 4 == 0, instead of one float at a time (as the
   * forward pass reads x). On for lavapipe's 8 x 8 tiles (SOFTWARE_LARGE_TILING) and for GPU_TILING and
   * GPU_WIDE_TILING, measured on each (see there).
   */
  vecLoads?: boolean;
  /**
   * How the K splits' partial sums are added: SplitSumProgram, one thread per output ('serial', the
   * default), or SplitSumTreeProgram, 16 threads per output and a fixed tree ('tree'). On lavapipe the
   * tree is no faster (2026-11-26, D1 of DCGAN-64 at batch 16, 114 splits: 38.9-46.9 against 33.6-43.7
   * ms); on the H200 it halves the image layer's filter gradient at batch 64 (GPU_NARROW_TILING).
   */
  splitSum?: 'serial' | 'tree';
  /**
   * Issue the next K tile's global loads into registers before this tile's multiply-adds (the loads of
   * a tile unrolled, all issued before any is used), instead of loading and storing each row in turn:
   * a GPU issues a warp's instructions in order, so a store waiting for its load holds up the next load.
   * Same sums in the same order (same bits). On for the three GPU tilings (H200, run 21, 2026-11-27,
   * ms, twice each, without / with): the image layer at batch 256 0.173 / 0.114-0.115 (9.3 -> 14.1
   * TFLOP/s), at batch 64 0.048 / 0.044; D2-D4 6-12% faster at both batches (e.g. D2 at batch 256 with
   * GPU_WIDE_TILING 0.670-0.671 / 0.589-0.590, D4 at batch 64 with GPU_TILING 0.178-0.179 / 0.165-0.166).
   */
  prefetch?: boolean;
}

export const DEFAULT_TILING: FilterGradTiling = {
  tileM: 64,
  tileN: 64,
  tileK: 32,
  targetWorkgroups: 256,
  minKTilesPerSplit: 4,
};

/**
 * On real GPUs: 16 K-rows per stage, twice the workgroups (more K splits), and the x gather walked
 * by carrying adds. Swept on the H200 (docs/bench-results/2026-11-26-h200-run8-filter-sweep.jsonl),
 * DCGAN-64 critic layers at batch 256, TFLOP/s without carryK / DEFAULT_TILING / our forward pass:
 * D1 7.0 / 7.7 / 3.6, D2 20.1 / 17.5 / 18.7, D3 20.1 / 17.4 / 21.3, D4 19.7 / 17.9 / 22.5. carryK on
 * an H100 (runs 11 and 13, ms with / without, twice each, alternated): batch 64 D2 0.206 / 0.238, D3
 * 0.210 / 0.238, D4 0.219 / 0.246; batch 256 D2 0.75 / 0.86-0.96, D3 0.76 / 0.86, D4 0.77 / 0.88;
 * D1 level. 8 x 8 blocks (128x128x16) were 3-5% faster again at batch 256 but 25% slower at batch 64
 * and twice as slow on D1: GPU_WIDE_TILING takes them where the K splits are long (batch 256).
 *
 * x and dy read as vec4 (`vecLoads`; H200, run 19, 2026-11-27, ms, twice each, scalar / vec4 / the forward
 * pass): batch 64 D2 0.203-0.207 / 0.191-0.194 / 0.192, D3 0.206-0.207 / 0.192 / 0.193-0.194, D4 0.194 /
 * 0.179 / 0.233. With them the filter gradient is level with the forward pass at batch 64, or faster;
 * with `prefetch` too (run 21) 6-7% faster than it on D2 and D3 (0.179-0.181 against 0.192-0.194).
 */
export const GPU_TILING: FilterGradTiling = { ...DEFAULT_TILING, tileK: 16, targetWorkgroups: 512, carryK: true, vecLoads: true, prefetch: true };

/**
 * On a software adapter (lavapipe), for layers with at least 128 weight rows (M = KH * KW * CI): 8 x 8
 * outputs per thread in 128x128x16 tiles. Measured there (2026-11-26, DCGAN-32 batch 16 and
 * DCGAN-64 batch 4, alternated with DEFAULT_TILING): D2 80-87 -> 37-47 ms, D3 84-102 -> 49-61 ms,
 * D4 103-106 -> 44-77 ms; the image layer (M = 48) is slower with them (13 -> 17-23 ms) and takes
 * SOFTWARE_NARROW_TILING, heads of at most 4 columns DEFAULT_TILING.
 * About 8 workgroups, so K is split only where a layer has fewer tiles than that: each split costs a
 * partial [M, N] written and read again, and a CPU has few cores to share them. DCGAN-64 batch 4 D2
 * (8 tiles; 2026-11-26 20:10 UTC, ms, three alternated runs): 8 splits 46-57, 4 splits 45-48, one
 * split 41.6-43.2, the forward pass 38-39; D3 (32 tiles) one split 41-44.5 against 44-50 with two,
 * the forward pass 43-48. A machine with more cores than the forward pass has tiles gets no more
 * from either pass.
 * x and dy read as vec4 (`vecLoads`): medians of 10 interleaved calls in one process (2026-11-26 20:20
 * UTC, ms, scalar / vec4 / the forward pass): DCGAN-64 batch 4 D2 51.8 / 46.0 / 51.1, D3 64.8 / 50.8 /
 * 49.3, D4 (6 calls) 74.1 / 63.2 / 85.6; DCGAN-32 batch 16 D2 46.7 / 47.0 / 49.6, D3 52.4 / 49.0 /
 * 47.3. With them the filter gradient is within 4% of the forward pass on D2 and D3 (medians).
 */
export const SOFTWARE_LARGE_TILING: FilterGradTiling = {
  tileM: 128,
  tileN: 128,
  tileK: 16,
  targetWorkgroups: 8,
  minKTilesPerSplit: 4,
  threadBlock: 8,
  vecLoads: true,
};

/**
 * On a software adapter, layers with at most 48 weight rows (the RGB image layer, M = 4 * 4 * 3):
 * 48-row tiles (64-row ones compute a quarter padding) with 8 x 8 outputs per thread (48 threads), as
 * the forward pass has there, and about 32 workgroups. Lavapipe (2026-11-26, D1, ms, best of 5 runs of
 * 2 calls, alternated twice): DCGAN-64 batch 4, 48x32x24 with 4 x 4 blocks at 256 workgroups (the
 * previous choice) 11.7-15.0, this 5.9-8.3, the forward pass 8.3-11.3; DCGAN-32 batch 16 12.0-13.4
 * against 7.7-7.9. 8 to 128 workgroups and 48-row stages were all within 6-8 ms; vec4 loads of dy
 * made no difference (medians of 10 calls 6.3 / 6.3 and 6.6 / 6.8 ms). Before that, 48-row tiles had
 * taken 10-20% off 64-row ones (DCGAN-64 batch 4 16.1-18.4 -> 13.0-16.3).
 */
export const SOFTWARE_NARROW_TILING: FilterGradTiling = { tileM: 48, tileN: 64, tileK: 24, targetWorkgroups: 32, minKTilesPerSplit: 4, threadBlock: 8 };

/**
 * 48x32x24 tiles (4 x 4 outputs per thread) on real GPUs for the image layer, aiming at 512
 * workgroups, x gather by carrying adds. H200 (run 16, D1
 * of DCGAN-64, ms, GPU_TILING / this): batch 64 0.150 / 0.094-0.096, batch 256 0.223-0.227 /
 * 0.216-0.219; 16x64x16 tiles were as fast at batch 64 but 0.31 ms at batch 256. Run 18: 256 workgroups
 * instead of 512 took 0.083-0.091 ms at batch 64 but 0.30 at batch 256, 1024 took 0.14 / 0.27; 48x64x48
 * tiles 0.12 / 0.27. Run 19 (2026-11-27, kernel GPU time, twice each): the K splits added by a tree
 * (`splitSum: 'tree'`) instead of one thread per output: batch 64 0.095 -> 0.048-0.049 ms (4.2 -> 8.3
 * TFLOP/s), batch 256 0.218-0.219 -> 0.171 (7.4 -> 9.4); with the tree, 1,024 and 2,048 workgroups gave
 * 0.056-0.058 at batch 64 and 0.166-0.181 at batch 256. Lavapipe's 8 x 8 blocks (48x64x24) were slower
 * on the GPU: 0.069 / 0.232 with the tree, 0.156 / 0.326 without.
 */
export const GPU_NARROW_TILING: FilterGradTiling = {
  tileM: 48,
  tileN: 32,
  tileK: 24,
  targetWorkgroups: 512,
  minKTilesPerSplit: 4,
  carryK: true,
  splitSum: 'tree',
  prefetch: true,
};

/**
 * On real GPUs, layers whose K splits are long (at least WIDE_MIN_K_PER_SPLIT rows each with these
 * tiles): 8 x 8 outputs per thread in 128x128x16 tiles, aiming at 256 workgroups. H200 (runs 16 and 18,
 * ms, twice each): at batch 256 GPU_TILING / 8 x 8 at 512 workgroups / at 256: D2 0.749-0.750 /
 * 0.711-0.715 / 0.672-0.673, D3 0.747-0.748 / 0.698-0.706 / 0.664-0.666, D4 (8 x 8 at 512: 0.694-0.698)
 * / 0.665-0.666; 128x128x32 tiles (32 KiB) took 0.96-1.03 ms. At batch 64, where the splits are short,
 * 8 x 8 blocks are slower: D2 0.203 / 0.261-0.266, D3 0.204 / 0.255-0.257 (the H100 agreed, runs 11
 * and 13, D4 included), and GPU_TILING at 256 workgroups or with 32-row stages was slower too (0.234-0.252).
 * vec4 loads (from GPU_TILING; run 19, batch 256, scalar / vec4): D2 0.672-0.675 / 0.657-0.666, D3
 * 0.665-0.666 / 0.653-0.658, D4 0.665-0.667 / 0.654.
 */
export const GPU_WIDE_TILING: FilterGradTiling = { ...GPU_TILING, tileM: 128, tileN: 128, threadBlock: 8, targetWorkgroups: 256 };

/** K rows per split from which GPUs take GPU_WIDE_TILING. */
export const WIDE_MIN_K_PER_SPLIT = 1024;

/** The filter gradient's GEMM size: M = KH * KW * CI weight rows, N = CO columns, K = B * OH * OW. */
export interface FilterGradSize {
  m: number;
  n: number;
  k: number;
}

/**
 * The tiling the registered kernel uses for a layer of `size`, on the adapter registerOurKernels was
 * told of (./common onSoftwareAdapter).
 */
export function kernelTilingFor({ m, n, k }: FilterGradSize): FilterGradTiling {
  const narrow = m <= SOFTWARE_NARROW_TILING.tileM;
  if (onSoftwareAdapter()) return narrow ? SOFTWARE_NARROW_TILING : m >= 128 && n > 4 ? SOFTWARE_LARGE_TILING : DEFAULT_TILING;
  if (narrow) return GPU_NARROW_TILING;
  // The plan needs only M, N and K: a 1 x 1 "layer" with those sizes.
  const wide = planFilterGrad({ filterHeight: 1, filterWidth: 1, inChannels: m, outChannels: n, batchSize: k, outHeight: 1, outWidth: 1 }, GPU_WIDE_TILING);
  return wide.kPerSplit >= WIDE_MIN_K_PER_SPLIT ? GPU_WIDE_TILING : GPU_TILING;
}

/** The problem as a GEMM, from tfjs's conv info. */
export interface FilterGradGeometry {
  M: number;
  N: number;
  K: number;
  tilesM: number;
  tilesN: number;
  splits: number;
  /** K per split, a multiple of tileK. */
  kPerSplit: number;
}

export function planFilterGrad(
  conv: Pick<backend_util.Conv2DInfo, 'filterHeight' | 'filterWidth' | 'inChannels' | 'outChannels' | 'batchSize' | 'outHeight' | 'outWidth'>,
  tiling: FilterGradTiling = DEFAULT_TILING,
): FilterGradGeometry {
  const M = conv.filterHeight * conv.filterWidth * conv.inChannels;
  const N = conv.outChannels;
  const K = conv.batchSize * conv.outHeight * conv.outWidth;
  const tilesM = Math.ceil(M / tiling.tileM);
  const tilesN = Math.ceil(N / tiling.tileN);
  const kTiles = Math.max(1, Math.ceil(K / tiling.tileK));
  const wanted = Math.max(1, Math.ceil(tiling.targetWorkgroups / (tilesM * tilesN)));
  const allowed = Math.max(1, Math.floor(kTiles / tiling.minKTilesPerSplit));
  let splits = Math.min(wanted, allowed);
  const kTilesPerSplit = Math.ceil(kTiles / splits);
  splits = Math.ceil(kTiles / kTilesPerSplit); // no empty splits
  return { M, N, K, tilesM, tilesN, splits, kPerSplit: kTilesPerSplit * tiling.tileK };
}

/* ---------------------------------------------------------------------------------------------
 * Pass 1: tiled implicit GEMM over one K split.
 * ------------------------------------------------------------------------------------------- */

const GEMM_UNIFORMS =
  'gM : i32, gN : i32, gK : i32, kPerSplit : i32, kTilesPerSplit : i32, inH : i32, inW : i32, inC : i32, ' +
  'outH : i32, outW : i32, filterW : i32, strideH : i32, strideW : i32, padTop : i32, padLeft : i32, ' +
  'rowOw : i32, rowOh : i32, rowB : i32, tileOw : i32, tileOh : i32, tileB : i32,';

/** k = (b * outH + oh) * outW + ow: a step of `d` in k as a step in (b, oh, ow), for carrying adds. */
export function kStep(d: number, outH: number, outW: number): [number, number, number] {
  return [d % outW, Math.floor(d / outW) % outH, Math.floor(d / (outW * outH))];
}

/**
 * WGSL: adds the step (uniforms d<Ow>, d<Oh>, d<B>, `dk` in k) to a position (k, b, oh, ow) with two
 * carries, no division (integer division is slow on GPUs, and a per-lane loop on lavapipe).
 */
function advanceK(v: { k: string; b: string; oh: string; ow: string }, step: 'row' | 'tile', dk: number): string {
  return `${v.k} = ${v.k} + ${dk};
          ${v.ow} = ${v.ow} + uniforms.${step}Ow;
          if (${v.ow} >= uniforms.outW) { ${v.ow} = ${v.ow} - uniforms.outW; ${v.oh} = ${v.oh} + 1; }
          ${v.oh} = ${v.oh} + uniforms.${step}Oh;
          if (${v.oh} >= uniforms.outH) { ${v.oh} = ${v.oh} - uniforms.outH; ${v.b} = ${v.b} + 1; }
          ${v.b} = ${v.b} + uniforms.${step}B;`;
}

export class FilterGradGemmProgram implements WebGpuProgramLike {
  variableNames = ['x', 'dy'];
  variableComponents: number[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms = GEMM_UNIFORMS;
  /** K rows between a thread's A rows in one tile (the A-load pass's height). */
  readonly rowsPerLoad: number;
  private readonly t: FilterGradTiling;
  /** x read as vec4 over ci (vecLoads and CI % 4 == 0: a thread's 4 rows m are 4 ci of one tap). */
  private readonly vecX: boolean;
  /** dy read as vec4 over co (vecLoads and CO % 4 == 0). */
  private readonly vecDy: boolean;

  /** `masked`: dy is read through a LeakyReLU mask (a third input y, the uniform alpha; see DyMask). */
  constructor(outputShape: number[], geo: FilterGradGeometry, tiling: FilterGradTiling, inC: number, private readonly masked = false) {
    const { tileM, tileN, tileK } = tiling;
    const threads = checkGemmTile(tileM, tileN, tileK, 0, tiling.threadBlock ?? 4);
    if (threads % (tileM / 4) !== 0 || threads % (tileN / 4) !== 0) throw new Error('bad tile shape');
    if (tileK % (threads / (tileM / 4)) !== 0 || tileK % (threads / (tileN / 4)) !== 0) {
      throw new Error('tileK must be a multiple of the rows each load pass covers');
    }
    this.t = tiling;
    this.vecX = tiling.vecLoads === true && inC % 4 === 0;
    this.vecDy = tiling.vecLoads === true && geo.N % 4 === 0;
    this.variableComponents = [this.vecX ? 4 : 1, this.vecDy ? 4 : 1];
    this.rowsPerLoad = threads / (tileM / 4);
    this.outputShape = outputShape;
    // Flat layout: the prelude then calls main(globalIndex); we use workgroupId / localIndex.
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    this.workgroupSize = [threads, 1, 1];
    this.dispatch = [geo.tilesN, geo.tilesM, geo.splits];
    this.shaderKey =
      `ganAugmentConv2DDerFilterGemm_${tileM}_${tileN}_${tileK}${tiling.carryK ? '_carry' : ''}${tiling.threadBlock === 8 ? '_b8' : ''}` +
      `_${this.vecX ? 'vx' : 'sx'}_${this.vecDy ? 'vd' : 'sd'}${tiling.prefetch ? '_pf' : ''}`;
    if (masked) {
      this.variableNames = [...this.variableNames, 'y'];
      this.variableComponents = [...this.variableComponents, this.variableComponents[1]!];
      this.uniforms = `${GEMM_UNIFORMS} alpha : f32,`;
      this.shaderKey += '_mask';
    }
  }

  getUserCode(): string {
    const { tileM: TM, tileN: TN, tileK: TK } = this.t;
    const carry = this.t.carryK === true;
    const block = this.t.threadBlock ?? 4;
    const QM = TM / 4; // vec4 columns of the A tile
    const QN = TN / 4;
    const NT = (TM / block) * (TN / block); // threads
    const aStep = NT / QM; // K rows one A-load pass covers
    const bStep = NT / QN;
    const lanes = LANES;
    return `${gemmTileDecls(TM, TN, TK)}

    fn main(unusedIndex : i32) {
      ${gemmThreadIds(TN, block)}
      let m0 = i32(workgroupId.y) * ${TM};
      let split = i32(workgroupId.z);
      let kStart = split * uniforms.kPerSplit;
      let kEnd = min(uniforms.gK, kStart + uniforms.kPerSplit);

      // A loads: this thread gathers m = m0 + aq * 4 + (0..3); decompose m once.
      let aq = tid % ${QM};
      let aRow = tid / ${QM};
      var aOffH : vec4<i32>;
      var aOffW : vec4<i32>;
      var aCi : vec4<i32>;
      var aOk : vec4<bool>;
      ${lanes
        .map(
          (i) => `{
        let m = m0 + aq * 4 + ${i};
        let ci = m % uniforms.inC;
        let hw = m / uniforms.inC;
        aOffH[${i}] = hw / uniforms.filterW - uniforms.padTop;
        aOffW[${i}] = hw % uniforms.filterW - uniforms.padLeft;
        aCi[${i}] = ci;
        aOk[${i}] = m < uniforms.gM;
      }`,
        )
        .join('\n      ')}

      // B loads: this thread reads n = nB + (0..3) of dy rows.
      let bq = tid % ${QN};
      let bRow = tid / ${QN};
      let nB = n0 + bq * 4;

      ${block === 4 ? GEMM_ACC_DECLS : gemmAccDeclsBlock(block)}

      ${
        carry
          ? `// The thread's first A row of the current tile, k = kt + aRow, as (b, oh, ow): divided out once,
      // then advanced by carrying adds (by ${aStep} rows within a tile, by ${TK} between tiles).
      var kTile = kStart + aRow;
      var owTile = kTile % uniforms.outW;
      var ohTile = (kTile / uniforms.outW) % uniforms.outH;
      var bTile = kTile / (uniforms.outW * uniforms.outH);`
          : ''
      }
      ${this.t.prefetch ? this.prefetchedLoop(aStep, bStep) : this.stagedLoop(aStep, bStep)}

      let nOut = n0 + tx * ${block};
      let outBase = split * uniforms.gM;
      ${Array.from({ length: block }, (_, i) => i)
        .map(
          (i) => `{
        let m = m0 + ty * ${block} + ${i};
        if (m < uniforms.gM) {
          let row = (outBase + m) * uniforms.gN + nOut;
          ${Array.from({ length: block }, (_, j) => j)
            .map((j) => `if (nOut + ${j} < uniforms.gN) { result[row + ${j}] = ${block === 4 ? `acc${i}` : `acc${i}_${Math.floor(j / 4)}`}[${j % 4}]; }`)
            .join('\n          ')}
        }
      }`,
        )
        .join('\n      ')}
    }
    `;
  }

  /**
   * WGSL, inside `if (k < kEnd)`: this thread's 4 x values of K row k (rows m = m0 + aq * 4 + 0..3) into
   * `v`; (b, oh, ow) carried along (carryK) or divided out of k here.
   */
  private xGather(): string {
    const decompose = this.t.carryK
      ? ''
      : `let ow = k % uniforms.outW;
            let bh = k / uniforms.outW;
            let oh = bh % uniforms.outH;
            let b = bh / uniforms.outH;`;
    const loads = this.vecX
      ? `// The 4 rows are 4 ci of one tap: one vec4 of x (CI and so M are multiples of 4).
            let ih = ihBase + aOffH[0];
            let iw = iwBase + aOffW[0];
            if (aOk[0] && ih >= 0 && ih < uniforms.inH && iw >= 0 && iw < uniforms.inW) {
              v = x[(((b * uniforms.inH + ih) * uniforms.inW + iw) * uniforms.inC + aCi[0]) / 4];
            }`
      : LANES.map(
          (i) => `{
              let ih = ihBase + aOffH[${i}];
              let iw = iwBase + aOffW[${i}];
              if (aOk[${i}] && ih >= 0 && ih < uniforms.inH && iw >= 0 && iw < uniforms.inW) {
                v[${i}] = x[((b * uniforms.inH + ih) * uniforms.inW + iw) * uniforms.inC + aCi[${i}]];
              }
            }`,
        ).join('\n            ');
    return `${decompose}
            let ihBase = oh * uniforms.strideH;
            let iwBase = ow * uniforms.strideW;
            ${loads}`;
  }

  /** WGSL: this thread's 4 dy values of K row k (columns nB + 0..3) into `v`, zeros past kEnd or N. */
  private dyGather(): string {
    // dy at flat index o (of vec4s where vecDy), through the mask when there is one.
    const at = (o: string) => (!this.masked ? `dy[${o}]` : (this.vecDy ? leakyMaskWgsl4 : leakyMaskWgsl)(`dy[${o}]`, `y[${o}]`));
    if (this.vecDy) return `if (k < kEnd && nB < uniforms.gN) { v = ${at('(k * uniforms.gN + nB) / 4')}; }`;
    return `if (k < kEnd) {
            let base = k * uniforms.gN + nB;
            if (nB + 3 < uniforms.gN) {
              v = vec4<f32>(${LANES.map((i) => at(`base + ${i}`)).join(', ')});
            } else {
              ${LANES.map((i) => `if (nB + ${i} < uniforms.gN) { v[${i}] = ${at(`base + ${i}`)}; }`).join('\n              ')}
            }
          }`;
  }

  /** The rank-1 updates between two barriers, for the thread block. */
  private rank1(): string {
    const { tileM: TM, tileN: TN, tileK: TK } = this.t;
    const block = this.t.threadBlock ?? 4;
    return block === 4 ? gemmRank1Updates(TM, TN, TK) : gemmRank1UpdatesBlock(TM, TN, TK, block);
  }

  /** The K loop: each tile's rows gathered from x and dy and stored into workgroup memory one after another, then multiplied. */
  private stagedLoop(aStep: number, bStep: number): string {
    const { tileM: TM, tileN: TN, tileK: TK } = this.t;
    const carry = this.t.carryK === true;
    return `for (var t = 0; t < uniforms.kTilesPerSplit; t = t + 1) {
        let kt = kStart + t * ${TK};
        ${carry ? 'var k = kTile; var ow = owTile; var oh = ohTile; var b = bTile;' : ''}
        for (var r = aRow; r < ${TK}; r = r + ${aStep}) {
          ${carry ? '' : 'let k = kt + r;'}
          var v = vec4<f32>(0.0);
          if (k < kEnd) {
            ${this.xGather()}
          }
          ganTileA[r * ${TM / 4} + aq] = v;
          ${carry ? advanceK({ k: 'k', b: 'b', oh: 'oh', ow: 'ow' }, 'row', aStep) : ''}
        }
        ${carry ? advanceK({ k: 'kTile', b: 'bTile', oh: 'ohTile', ow: 'owTile' }, 'tile', TK) : ''}
        for (var r = bRow; r < ${TK}; r = r + ${bStep}) {
          let k = kt + r;
          var v = vec4<f32>(0.0);
          ${this.dyGather()}
          ganTileB[r * ${TN / 4} + bq] = v;
        }
        ${this.rank1()}
      }`;
  }

  /**
   * The K loop with the next tile's loads in flight during this tile's multiply-adds (`prefetch`): a
   * thread's rows of a tile (TK / aStep of x, TK / bStep of dy, unrolled) go to registers first, all
   * loads issued before any result is used; the loop stores them into workgroup memory, issues the next
   * tile's loads, and multiplies while they arrive.
   */
  private prefetchedLoop(aStep: number, bStep: number): string {
    const { tileM: TM, tileN: TN, tileK: TK } = this.t;
    const carry = this.t.carryK === true;
    const passesA = Array.from({ length: TK / aStep }, (_, p) => p);
    const passesB = Array.from({ length: TK / bStep }, (_, p) => p);
    const load = (kt: string): string => `{
          ${carry ? 'var k = kTile; var ow = owTile; var oh = ohTile; var b = bTile;' : ''}
          ${passesA
            .map(
              (p) => `{
            ${carry ? '' : `let k = ${kt} + aRow + ${p * aStep};`}
            var v = vec4<f32>(0.0);
            if (k < kEnd) {
              ${this.xGather()}
            }
            aReg${p} = v;
          }
          ${carry && p < passesA.length - 1 ? advanceK({ k: 'k', b: 'b', oh: 'oh', ow: 'ow' }, 'row', aStep) : ''}`,
            )
            .join('\n          ')}
          ${passesB
            .map(
              (p) => `{
            let k = ${kt} + bRow + ${p * bStep};
            var v = vec4<f32>(0.0);
            ${this.dyGather()}
            bReg${p} = v;
          }`,
            )
            .join('\n          ')}
        }
        ${carry ? advanceK({ k: 'kTile', b: 'bTile', oh: 'ohTile', ow: 'owTile' }, 'tile', TK) : ''}`;
    return `${passesA.map((p) => `var aReg${p} = vec4<f32>(0.0);`).join(' ')}
      ${passesB.map((p) => `var bReg${p} = vec4<f32>(0.0);`).join(' ')}
      ${load('kStart')}
      for (var t = 0; t < uniforms.kTilesPerSplit; t = t + 1) {
        let kt = kStart + t * ${TK};
        ${passesA.map((p) => `ganTileA[(aRow + ${p * aStep}) * ${TM / 4} + aq] = aReg${p};`).join('\n        ')}
        ${passesB.map((p) => `ganTileB[(bRow + ${p * bStep}) * ${TN / 4} + bq] = bReg${p};`).join('\n        ')}
        ${load(`kt + ${TK}`)}
        ${this.rank1()}
      }`;
  }
}

/* ---------------------------------------------------------------------------------------------
 * Pass 2: sum the split partials [S, M * N] -> [M * N] (fixed order).
 * ------------------------------------------------------------------------------------------- */

export class SplitSumProgram implements WebGpuProgramLike {
  variableNames = ['partials'];
  outputShape: number[];
  shaderKey = 'ganAugmentSplitSum';
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  uniforms = 'numSplits : i32, splitStride : i32,';
  size = true;

  constructor(outputShape: number[]) {
    this.outputShape = outputShape;
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    const size = outputShape.reduce((a, b) => a * b, 1);
    this.dispatch = [Math.ceil(size / this.workgroupSize[0]), 1, 1];
  }

  getUserCode(): string {
    return `
    fn main(index : i32) {
      if (index < uniforms.size) {
        var s = 0.0;
        for (var i = 0; i < uniforms.numSplits; i = i + 1) {
          s = s + partials[i * uniforms.splitStride + index];
        }
        result[index] = s;
      }
    }
    `;
  }
}

/** Split-sum lanes per output, and outputs per workgroup, of SplitSumTreeProgram (16 x 16 = 256 threads). */
const TREE_LANES = 16;

/**
 * Pass 2 for many splits and few outputs (the image layer: 3,072 weights, 256 splits at batch 256 on
 * GPUs). With one thread per output, a few thousand threads each add hundreds of partials one after
 * another, a chain of loads that a GPU with 96 such warps cannot hide; here 16 threads share an output,
 * each adding every 16th split in order, and the 16 sums meet in a fixed tree in workgroup memory
 * (deterministic, like the serial order). Consecutive threads read consecutive outputs of one split.
 * Fitting runs 16 and 18's D1 timings to "GEMM time falls with the splits, the serial sum grows with
 * them" put the serial sum at about 0.085 of D1's 0.214 ms at batch 256; the tree took it to 0.171 on
 * the H200 (run 19), and halved it at batch 64 (GPU_NARROW_TILING).
 */
export class SplitSumTreeProgram implements WebGpuProgramLike {
  variableNames = ['partials'];
  outputShape: number[];
  shaderKey = 'ganAugmentSplitSumTree';
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [TREE_LANES * TREE_LANES, 1, 1];
  uniforms = 'numSplits : i32, splitStride : i32,';

  constructor(outputShape: number[]) {
    this.outputShape = outputShape;
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    this.dispatch = flatDispatch([outputShape.reduce((a, b) => a * b, 1)], TREE_LANES);
  }

  getUserCode(): string {
    const L = TREE_LANES;
    const steps: number[] = [];
    for (let h = L / 2; h >= 1; h /= 2) steps.push(h);
    return `
    var<workgroup> ganSplitSums : array<f32, ${L * L}>;

    fn main(unusedIndex : i32) {
      let tid = i32(localIndex);
      let col = tid % ${L};
      let lane = tid / ${L};
      let o = (i32(workgroupId.y) * i32(numWorkgroups.x) + i32(workgroupId.x)) * ${L} + col;
      var s = 0.0;
      if (o < uniforms.splitStride) {
        for (var i = lane; i < uniforms.numSplits; i = i + ${L}) {
          s = s + partials[i * uniforms.splitStride + o];
        }
      }
      ganSplitSums[tid] = s;
      workgroupBarrier();
      ${steps
        .map(
          (h) => `if (lane < ${h}) { ganSplitSums[tid] = ganSplitSums[tid] + ganSplitSums[tid + ${h * L}]; }
      workgroupBarrier();`,
        )
        .join('\n      ')}
      if (lane == 0 && o < uniforms.splitStride) { result[o] = ganSplitSums[col]; }
    }
    `;
  }
}

/* ---------------------------------------------------------------------------------------------
 * The kernel function.
 * ------------------------------------------------------------------------------------------- */

export interface FilterGradAttrs extends ConvAttrs {
  filterShape: [number, number, number, number];
}

/** True when our kernel handles these inputs (else use tfjs's). */
export function supportsFilterGrad(x: TensorInfo, dy: TensorInfo, attrs: FilterGradAttrs): boolean {
  return attrs.dataFormat !== 'NCHW' && allFloat32Rank4(x, dy);
}

/**
 * Runs our filter gradient. Returns null when unsupported (the caller falls back). `tiling` is for
 * benchmarks and tests; the registered kernel uses kernelTilingFor (GPU_NARROW_TILING, GPU_TILING or
 * GPU_WIDE_TILING on real GPUs; SOFTWARE_NARROW_TILING, DEFAULT_TILING or SOFTWARE_LARGE_TILING on a
 * software adapter).
 */
export function runFilterGrad(
  backend: WebGpuBackendLike,
  x: TensorInfo,
  dy: TensorInfo,
  attrs: FilterGradAttrs,
  tiling: FilterGradTiling = DEFAULT_TILING,
  mask?: DyMask,
): TensorInfo | null {
  if (!supportsFilterGrad(x, dy, attrs) || !maskFits(dy.shape, mask)) return null;
  const conv = nhwcConvInfo(x.shape, attrs.filterShape, attrs);
  if (!conv) return null;
  const geo = planFilterGrad(conv, tiling);
  const filterShape = [conv.filterHeight, conv.filterWidth, conv.inChannels, conv.outChannels];
  const gemmShape = geo.splits === 1 ? filterShape : [geo.splits, geo.M, geo.N];
  const gemm = new FilterGradGemmProgram(gemmShape, geo, tiling, conv.inChannels, mask !== undefined);
  const i32 = i32Uniform;
  const uniforms: ProgramUniform = [
    i32(geo.M),
    i32(geo.N),
    i32(geo.K),
    i32(geo.kPerSplit),
    i32(geo.kPerSplit / tiling.tileK),
    i32(conv.inHeight),
    i32(conv.inWidth),
    i32(conv.inChannels),
    i32(conv.outHeight),
    i32(conv.outWidth),
    i32(conv.filterWidth),
    i32(conv.strideHeight),
    i32(conv.strideWidth),
    i32(conv.padInfo.top),
    i32(conv.padInfo.left),
    ...kStep(gemm.rowsPerLoad, conv.outHeight, conv.outWidth).map(i32),
    ...kStep(tiling.tileK, conv.outHeight, conv.outWidth).map(i32),
    ...maskUniforms(mask),
  ];
  const partial = backend.runWebGPUProgram(gemm, withMask([x, dy], mask), 'float32', uniforms);
  if (geo.splits === 1) return partial;
  const sum = tiling.splitSum === 'tree' ? new SplitSumTreeProgram(filterShape) : new SplitSumProgram(filterShape);
  const out = backend.runWebGPUProgram(sum, [partial], 'float32', [i32(geo.splits), i32(geo.M * geo.N)]);
  backend.disposeData(partial.dataId);
  return out;
}

/**
 * The registered kernel's filter gradient: runFilterGrad with the tiling kernelTilingFor picks for
 * this GEMM's size (and with `mask`, dy read through it: the same tiling, so the same sums).
 */
export function filterGradOnDevice(backend: WebGpuBackendLike, x: TensorInfo, dy: TensorInfo, attrs: FilterGradAttrs, mask?: DyMask): TensorInfo | null {
  const [kh, kw, ci, co] = attrs.filterShape;
  const [b, oh, ow] = dy.shape;
  return runFilterGrad(backend, x, dy, attrs, kernelTilingFor({ m: kh * kw * ci, n: co, k: b! * oh! * ow! }), mask);
}

/** The kernel function installed over tfjs's Conv2DBackpropFilter by ./index (null: tfjs's runs). */
export const filterGradKernel: OurKernelRun = (args) => {
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  return filterGradOnDevice(args.backend as unknown as WebGpuBackendLike, x, dy, args.attrs as unknown as FilterGradAttrs);
};
