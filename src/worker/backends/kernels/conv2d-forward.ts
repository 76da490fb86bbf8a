/**
 * Our own WebGPU kernel for the forward convolution, Conv2D and FusedConv2D (bias and activation
 * fused), replacing tfjs-backend-webgpu 4.22's `Conv2DMMProgram` for NHWC float32.
 *
 * The convolution as an implicit GEMM (x is never materialised as im2col):
 *
 *   y[m, n] = act(sum_k A[m, k] * B[k, n] + bias[n])
 *     m = (b * OH + oh) * OW + ow         M = B * OH * OW    (output pixels; y is row-major [M, N])
 *     n = co                              N = CO
 *     k = (kh * KW + kw) * CI + ci        K = KH * KW * CI   (the filter, HWIO, is row-major [K, N])
 *     A[m, k] = x[b, oh * sh - padTop + kh, ow * sw - padLeft + kw, ci]   (0 outside the image)
 *
 * So the output and B (the filter) are contiguous over n: B rows are read as vec4 over co, and each
 * thread writes its 4 x 4 block as 4 vec4 stores (CO % 4 == 0). A (the im2col operand) is gathered
 * 4 pixels (m) at a time into the A tile (vec4 over m, the layout of the shared GEMM core). When
 * CI % 4 == 0, x is read as vec4 over ci: a load unit is 4 pixels x 4 consecutive k (same tap),
 * 4 vec4 loads transposed in registers into 4 vec4 tile rows; adjacent threads take adjacent k
 * groups of the same pixels (coalesced). Otherwise (the RGB layer, odd channel counts) a load unit is
 * 4 pixels x 1 k, scalar loads.
 *
 * The GEMM core is ./common's (TM x TN tile per workgroup, 4 x 4 outputs per thread in vec4
 * registers, TK rows of A and B staged in workgroup memory per step). K is walked flat in TK steps
 * (no padding of K per tap, so CI = 3 wastes nothing): k -> (kh, kw, ci) divides by CI and KW, which
 * are compile-time constants of the shader (a multiply-high and shift each, once per load unit, not
 * per multiply-add). Each thread's pixel coordinates are decomposed once, before the K loop. Loop
 * bounds are uniforms or constants, so the barriers stay in uniform control flow; rows and columns
 * past M, N, K load zeros and write nothing. Bias and activation (linear, relu, relu6, leakyrelu,
 * sigmoid, elu) are applied to the accumulators before the store; or, with a `DyMask` (./common.ts)
 * and neither, a LeakyReLU's mask read from y (./masked-conv-grads.ts). The workgroup grid is
 * (N tiles, M tiles): neighbouring workgroups share their x rows (in cache), the filter is small.
 *
 * Supported: NHWC, float32, any strides, any padding ('same', 'valid', numbers, explicit),
 * dilation 1, bias of CO values. Anything else (NCHW, dilation > 1, prelu, other activations,
 * broadcast biases, other dtypes) returns null: tfjs's kernel runs.
 *
 * Registered by ./index for both Conv2D and FusedConv2D; on by default everywhere: on an H200
 * (Dawn/Vulkan) 1.3-3.2x tfjs's on the DCGAN-64 layers, 17-22 TFLOP/s on the k4 s2 layers at batch
 * 64/256; on software drivers with 8 x 8 outputs per thread (SOFTWARE_FORWARD_TILING), faster than
 * tfjs's on every layer on lavapipe (docs/PERFORMANCE.md, "Convolution kernels").
 */
import type { TensorInfo, backend_util } from '@tensorflow/tfjs-core';
import {
  GEMM_ACC_DECLS,
  gemmAccDeclsBlock,
  MAX_WORKGROUPS_PER_DIM,
  allFloat32Rank4,
  checkGemmTile,
  gemmThreadIds,
  gemmTileBytes,
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
  workgroupStorageLimit,
  type DyMask,
  maskFits,
  withMask,
} from './common';
import { leakyMaskWgsl4 } from './leaky-relu-grad';

/* ---------------------------------------------------------------------------------------------
 * Tiling and geometry.
 * ------------------------------------------------------------------------------------------- */

export interface ForwardTiling {
  /** Output rows (pixels) per workgroup; multiple of 4. */
  tileM: number;
  /** Output columns (co) per workgroup; multiple of 4. */
  tileN: number;
  /** K rows (kh, kw, ci) staged in workgroup memory per step; multiple of 4. */
  tileK: number;
  /** Outputs per thread, threadBlock x threadBlock: 4 (default) or 8 (e.g. 128x128x16, 256 threads). */
  threadBlock?: 4 | 8;
  /**
   * Issue the next K tile's loads into registers before this tile's multiply-adds (as the filter
   * gradient's `prefetch`), instead of loading and storing each slot in turn.
   */
  prefetch?: boolean;
}

/** Wide layers. */
export const DEFAULT_FORWARD_TILING: ForwardTiling = { tileM: 64, tileN: 64, tileK: 32 };
/** Small K (the image layer, K = KH * KW * 3): fewer zero rows in the last K step. */
export const SHORT_K_FORWARD_TILING: ForwardTiling = { tileM: 64, tileN: 64, tileK: 16 };
/** At most 4 output channels (a critic's last layer). */
export const NARROW_FORWARD_TILING: ForwardTiling = { tileM: 256, tileN: 4, tileK: 8 };

/**
 * On a software adapter (lavapipe): 8 x 8 outputs per thread. Measured there (2026-11-26, DCGAN-32
 * batch 16 and DCGAN-64 batch 4, ms, tfjs's / ours with DEFAULT_FORWARD_TILING / ours with this):
 * D2 66-71 / 77-84 / 38-45, D3 72-131 / 73-80 / 40-43, DCGAN-64 D4 136-144 / 87 / 79-91, the image
 * layer 11-18 / 10-18 / 10-13: faster than tfjs's on every layer, where the 4 x 4 block was only
 * level with it.
 */
export const SOFTWARE_FORWARD_TILING: ForwardTiling = { tileM: 128, tileN: 128, tileK: 16, threadBlock: 8 };

/**
 * On real GPUs, for wide layers with enough work: 8 x 8 outputs per thread. On an H100 (run 11,
 * DCGAN-64 critic at batch 256, ms, DEFAULT_FORWARD_TILING / this, Conv2D and FusedConv2D): D2 1.007
 * / 0.916 and 0.977 / 0.862, D3 0.775 / 0.622 and 0.783 / 0.682; the image layer is slower with it
 * (0.63 / 0.72). It needs GPU_WIDE_MIN_WORKGROUPS of its 128x128 tiles to fill the GPU.
 */
export const GPU_WIDE_FORWARD_TILING: ForwardTiling = { tileM: 128, tileN: 128, tileK: 16, threadBlock: 8 };
/** Fewer 128x128 tiles than this (about two per streaming multiprocessor of an H100) keep 64x64 tiles. */
export const GPU_WIDE_MIN_WORKGROUPS = 256;

/**
 * On real GPUs with 32 KiB of workgroup memory, for deep layers (K of at least GPU_DEEP_MIN_K) with
 * 128 to 255 of the 128x128 tiles: 32-row stages, half the barriers of GPU_WIDE_FORWARD_TILING. H200
 * (runs 18 and 19, 2026-11-26/27, D4 of DCGAN-64 at batch 256, K = 4096, 128 tiles, ms, 64x64x32 / this):
 * Conv2D 0.739-0.747 / 0.651-0.655, FusedConv2D 0.740 / 0.633. On D2 and D3 (K 1024 and 2048, 512 and
 * 256 tiles) it is slower than GPU_WIDE_FORWARD_TILING (0.656-0.679 against 0.565-0.576), and on the
 * image layer far slower (0.22 against 0.088). With the next K tile's loads prefetched (run 22, twice
 * each): Conv2D 0.650-0.652 -> 0.619, FusedConv2D 0.634-0.635 -> 0.632. Prefetching made every other
 * forward tiling slower there: the image layer 0.087 -> 0.092 ms at batch 256, D2-D4 with 64x64x32 at
 * batch 64 by 5-12%, and Conv2D with GPU_WIDE_FORWARD_TILING 0.57 -> 0.72 (FusedConv2D level): so
 * only this tiling has it.
 */
export const GPU_DEEP_FORWARD_TILING: ForwardTiling = { tileM: 128, tileN: 128, tileK: 32, threadBlock: 8, prefetch: true };
/** K rows (KH * KW * CI) from which GPU_DEEP_FORWARD_TILING is taken. */
export const GPU_DEEP_MIN_K = 4096;
/** Fewer 128x128 tiles than this (about one per streaming multiprocessor) keep 64x64 tiles. */
export const GPU_DEEP_MIN_WORKGROUPS = 128;

/** The tiling the registered kernel uses for a layer, on the adapter registerOurKernels was told of. */
export function chooseForwardTiling(
  conv: Pick<backend_util.Conv2DInfo, 'filterHeight' | 'filterWidth' | 'inChannels' | 'outChannels' | 'batchSize' | 'outHeight' | 'outWidth'>,
): ForwardTiling {
  if (conv.outChannels <= 4) return NARROW_FORWARD_TILING;
  if (onSoftwareAdapter()) return SOFTWARE_FORWARD_TILING;
  if (conv.filterHeight * conv.filterWidth * conv.inChannels <= 64) return SHORT_K_FORWARD_TILING;
  const wideTiles = Math.ceil((conv.batchSize * conv.outHeight * conv.outWidth) / 128) * Math.ceil(conv.outChannels / 128);
  if (conv.outChannels >= 128 && wideTiles >= GPU_WIDE_MIN_WORKGROUPS) return GPU_WIDE_FORWARD_TILING;
  const deep =
    conv.outChannels >= 128 &&
    wideTiles >= GPU_DEEP_MIN_WORKGROUPS &&
    conv.filterHeight * conv.filterWidth * conv.inChannels >= GPU_DEEP_MIN_K &&
    gemmTileBytes(GPU_DEEP_FORWARD_TILING.tileM, GPU_DEEP_FORWARD_TILING.tileN, GPU_DEEP_FORWARD_TILING.tileK) <= workgroupStorageLimit();
  return deep ? GPU_DEEP_FORWARD_TILING : DEFAULT_FORWARD_TILING;
}

export interface ForwardGeometry {
  M: number;
  N: number;
  K: number;
  tilesM: number;
  tilesN: number;
  /** Workgroup grid (x: N tiles, y and z: M tiles, z only past 65535 of them). */
  dispatch: [number, number, number];
}


export function planForward(
  conv: Pick<
    backend_util.Conv2DInfo,
    'batchSize' | 'outHeight' | 'outWidth' | 'outChannels' | 'filterHeight' | 'filterWidth' | 'inChannels'
  >,
  tiling: ForwardTiling,
): ForwardGeometry {
  const M = conv.batchSize * conv.outHeight * conv.outWidth;
  const N = conv.outChannels;
  const K = conv.filterHeight * conv.filterWidth * conv.inChannels;
  const tilesM = Math.max(1, Math.ceil(M / tiling.tileM));
  const tilesN = Math.max(1, Math.ceil(N / tiling.tileN));
  const y = Math.min(tilesM, MAX_WORKGROUPS_PER_DIM);
  return { M, N, K, tilesM, tilesN, dispatch: [tilesN, y, Math.ceil(tilesM / y)] };
}

/* ---------------------------------------------------------------------------------------------
 * Fused activations.
 * ------------------------------------------------------------------------------------------- */

export type ForwardActivation = 'linear' | 'relu' | 'relu6' | 'leakyrelu' | 'sigmoid' | 'elu';

/** WGSL of each activation on a vec4 (tfjs's definitions; leakyrelu's alpha is a uniform). */
const ACTIVATIONS: Record<ForwardActivation, string> = {
  linear: 'return v;',
  relu: 'return select(v, vec4<f32>(0.0), v < vec4<f32>(0.0));',
  relu6: 'return clamp(v, vec4<f32>(0.0), vec4<f32>(6.0));',
  leakyrelu: 'return select(v, v * uniforms.alpha, v < vec4<f32>(0.0));',
  sigmoid: 'return 1.0 / (1.0 + exp(-v));',
  elu: 'return select(v, exp(v) - 1.0, v < vec4<f32>(0.0));',
};

export function isForwardActivation(a: unknown): a is ForwardActivation {
  return typeof a === 'string' && Object.prototype.hasOwnProperty.call(ACTIVATIONS, a);
}

/* ---------------------------------------------------------------------------------------------
 * The program: one dispatch, workgroupId = (n tile, m tile (low), m tile (high)).
 * ------------------------------------------------------------------------------------------- */

const UNIFORMS =
  'gM : i32, gN : i32, gK : i32, tilesY : i32, inH : i32, inW : i32, outH : i32, outW : i32, ' +
  'strideH : i32, strideW : i32, padTop : i32, padLeft : i32, alpha : f32,';

export interface ForwardShaderOptions {
  /** Compile-time constants (k -> kh, kw, ci divides by them). */
  inC: number;
  filterW: number;
  hasBias: boolean;
  activation: ForwardActivation;
  /**
   * The result read through a LeakyReLU mask before it is written (a last input y of the output's
   * shape, alpha the uniform): mask(conv2d(g, w)), the gradient of a masked input gradient in its dy
   * (../gradients.ts). Linear activation and no bias only.
   */
  masked?: boolean;
}

export class ForwardGemmProgram implements WebGpuProgramLike {
  variableNames: string[];
  variableComponents: number[];
  outputComponent: number;
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms = UNIFORMS;
  private readonly t: ForwardTiling;
  private readonly o: ForwardShaderOptions;
  /** x read as vec4 over ci (CI % 4 == 0). */
  private readonly vecX: boolean;
  /** Filter, bias and output as vec4 over co (CO % 4 == 0). */
  private readonly vecN: boolean;

  constructor(outputShape: number[], geo: ForwardGeometry, tiling: ForwardTiling, options: ForwardShaderOptions) {
    const { tileM, tileN, tileK } = tiling;
    if (tileK % 4 !== 0 || tileK <= 0) throw new Error('tileK must be a positive multiple of 4');
    const threads = checkGemmTile(tileM, tileN, tileK, 0, tiling.threadBlock ?? 4);
    this.t = tiling;
    this.o = options;
    this.vecX = options.inC % 4 === 0;
    this.vecN = geo.N % 4 === 0;
    this.outputShape = outputShape;
    this.variableNames = options.hasBias ? ['x', 'W', 'bias'] : ['x', 'W'];
    const n = this.vecN ? 4 : 1;
    this.variableComponents = options.hasBias ? [this.vecX ? 4 : 1, n, n] : [this.vecX ? 4 : 1, n];
    if (options.masked) {
      if (options.hasBias || options.activation !== 'linear') throw new Error('a masked forward pass has no bias or activation');
      this.variableNames = [...this.variableNames, 'y'];
      this.variableComponents = [...this.variableComponents, n];
    }
    this.outputComponent = n;
    // Flat layout: the prelude then calls main(globalIndex); we use workgroupId / localIndex.
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    this.workgroupSize = [threads, 1, 1];
    this.dispatch = geo.dispatch;
    this.shaderKey =
      `ganAugmentConv2DForwardGemm_${tileM}_${tileN}_${tileK}_c${options.inC}_kw${options.filterW}_` +
      `${this.vecN ? 'v' : 's'}_${options.hasBias ? 'b' : 'nb'}_${options.activation}${tiling.threadBlock === 8 ? '_b8' : ''}${tiling.prefetch ? '_pf' : ''}` +
      `${options.masked ? '_mask' : ''}`;
  }

  getUserCode(): string {
    const { tileM: TM, tileN: TN, tileK: TK } = this.t;
    const { inC: CI, filterW: KW, hasBias, activation } = this.o;
    const block = this.t.threadBlock ?? 4;
    const QM = TM / 4;
    const QN = TN / 4;
    const NT = (TM / block) * (TN / block); // threads
    const vecX = this.vecX;
    const vecN = this.vecN;

    // A load units: vecX: 4 pixels x 4 k (kq fastest: adjacent threads, adjacent ci); else 4 pixels
    // x 1 k (mq fastest: conflict-free tile writes).
    const KU = vecX ? TK / 4 : TK; // units along k
    const aUnits = QM * KU;
    const aSlots = Math.ceil(aUnits / NT);
    // B load units: one vec4 (4 co) of one K row, bq fastest (coalesced).
    const bUnits = QN * TK;
    const bSlots = Math.ceil(bUnits / NT);

    const slot = (s: number, units: number) => (s * NT + NT > units ? `if (${s * NT} + tid < ${units}) ` : '');

    const aSetup = Array.from({ length: aSlots }, (_, s) => {
      const mq = vecX ? `(tid + ${s * NT}) / ${KU}` : `(tid + ${s * NT}) % ${QM}`;
      const kr = vecX ? `((tid + ${s * NT}) % ${KU}) * 4` : `(tid + ${s * NT}) / ${QM}`;
      return `
      let aMq${s} = ${mq};
      let aKr${s} = ${kr};
      var aRowB${s} : vec4<i32>;  // b * inH
      var aIh${s} : vec4<i32>;    // oh * sh - padTop
      var aIw${s} : vec4<i32>;    // ow * sw - padLeft
      var aOk${s} : vec4<bool>;
      ${LANES.map(
        (l) => `{
        let m = mTile0 + aMq${s} * 4 + ${l};
        let ow = m % uniforms.outW;
        let bh = m / uniforms.outW;
        let oh = bh % uniforms.outH;
        aRowB${s}[${l}] = (bh / uniforms.outH) * uniforms.inH;
        aIh${s}[${l}] = oh * uniforms.strideH - uniforms.padTop;
        aIw${s}[${l}] = ow * uniforms.strideW - uniforms.padLeft;
        aOk${s}[${l}] = m < uniforms.gM;
      }`,
      ).join('\n      ')}`;
    }).join('\n');

    // Loads of the tile from K row `k0`, each slot's values stored into workgroup memory (`regs` false)
    // or kept in registers aPre<s> / bPre<s> until storeRegs (prefetch).
    const aLoads = (k0: string, regs: boolean): string => Array.from({ length: aSlots }, (_, s) => {
      const loadLane = (l: number) => `{
              let ih = aIh${s}[${l}] + kh;
              let iw = aIw${s}[${l}] + kw;
              if (kOk && aOk${s}[${l}] && u32(ih) < u32(uniforms.inH) && u32(iw) < u32(uniforms.inW)) {
                let idx = ((aRowB${s}[${l}] + ih) * uniforms.inW + iw) * ${CI} + ci;
                ${vecX ? `v${l} = x[idx >> 2u];` : `v[${l}] = x[idx];`}
              }
            }`;
      const body = vecX
        ? `
            var v0 = vec4<f32>(0.0);
            var v1 = vec4<f32>(0.0);
            var v2 = vec4<f32>(0.0);
            var v3 = vec4<f32>(0.0);
            ${LANES.map(loadLane).join('\n            ')}
            ${LANES.map((j) => (regs ? `aPre${s}_${j} = ` : `ganTileA[(aKr${s} + ${j}) * ${QM} + aMq${s}] = `) + `vec4<f32>(v0[${j}], v1[${j}], v2[${j}], v3[${j}]);`).join('\n            ')}`
        : `
            var v = vec4<f32>(0.0);
            ${LANES.map(loadLane).join('\n            ')}
            ${regs ? `aPre${s}` : `ganTileA[aKr${s} * ${QM} + aMq${s}]`} = v;`;
      return `
          ${slot(s, aUnits)}{
            let k = ${k0} + aKr${s};
            let kOk = k < uniforms.gK;
            let tap = k / ${CI};
            let ci = k - tap * ${CI};
            let kh = tap / ${KW};
            let kw = tap - kh * ${KW};${body}
          }`;
    }).join('');

    const bLoads = (k0: string, regs: boolean): string => Array.from({ length: bSlots }, (_, s) => {
      const u = `(tid + ${s * NT})`;
      const load = vecN
        ? `if (k < uniforms.gK && n < uniforms.gN) { v = W[(k * uniforms.gN + n) >> 2u]; }`
        : `if (k < uniforms.gK) {
              let base = k * uniforms.gN + n;
              ${LANES.map((j) => `if (n + ${j} < uniforms.gN) { v[${j}] = W[base + ${j}]; }`).join('\n              ')}
            }`;
      return `
          ${slot(s, bUnits)}{
            let bq = ${u} % ${QN};
            let r = ${u} / ${QN};
            let k = ${k0} + r;
            let n = n0 + bq * 4;
            var v = vec4<f32>(0.0);
            ${load}
            ${regs ? `bPre${s}` : `ganTileB[r * ${QN} + bq]`} = v;
          }`;
    }).join('');
    const aPre = Array.from({ length: aSlots }, (_, s) => (vecX ? LANES.map((j) => `aPre${s}_${j}`) : [`aPre${s}`])).flat();
    const bPre = Array.from({ length: bSlots }, (_, s) => `bPre${s}`);
    const storeRegs = [
      ...Array.from({ length: aSlots }, (_, s) =>
        vecX
          ? `${slot(s, aUnits)}{ let kr = aKr${s}; ${LANES.map((j) => `ganTileA[(kr + ${j}) * ${QM} + aMq${s}] = aPre${s}_${j};`).join(' ')} }`
          : `${slot(s, aUnits)}{ ganTileA[aKr${s} * ${QM} + aMq${s}] = aPre${s}; }`,
      ),
      ...Array.from({ length: bSlots }, (_, s) => `${slot(s, bUnits)}{ let u = tid + ${s * NT}; ganTileB[(u / ${QN}) * ${QN} + u % ${QN}] = bPre${s}; }`),
    ].join('\n        ');
    const rank1 = block === 4 ? gemmRank1Updates(TM, TN, TK) : gemmRank1UpdatesBlock(TM, TN, TK, block);
    const kLoop = this.t.prefetch
      ? `${[...aPre, ...bPre].map((r) => `var ${r} = vec4<f32>(0.0);`).join(' ')}
      {${aLoads('0', true)}${bLoads('0', true)}
      }
      for (var k0 = 0; k0 < uniforms.gK; k0 = k0 + ${TK}) {
        ${storeRegs}
        {
          let kNext = k0 + ${TK};${aLoads('kNext', true)}${bLoads('kNext', true)}
        }
        ${rank1}
      }`
      : `for (var k0 = 0; k0 < uniforms.gK; k0 = k0 + ${TK}) {${aLoads('k0', false)}${bLoads('k0', false)}
        ${rank1}
      }`;

    // The thread's output columns: `block / 4` vec4 groups, nOut<c> = n0 + tx * block + 4c.
    const groups = Array.from({ length: block / 4 }, (_, c) => c);
    const nOuts = groups.map((c) => `let nOut${c} = n0 + tx * ${block} + ${4 * c};`).join('\n      ');
    const biasLoad = !hasBias
      ? ''
      : groups
          .map((c) =>
            vecN
              ? `var bv${c} = vec4<f32>(0.0);
        if (nOut${c} < uniforms.gN) { bv${c} = bias[nOut${c} >> 2u]; }`
              : `var bv${c} = vec4<f32>(0.0);
        ${LANES.map((j) => `if (nOut${c} + ${j} < uniforms.gN) { bv${c}[${j}] = bias[nOut${c} + ${j}]; }`).join('\n        ')}`,
          )
          .join('\n      ');

    const acc = (i: number, c: number) => (block === 4 ? `acc${i}` : `acc${i}_${c}`);
    // The mask's y at the output's row (a vec4 over co; lanes past N read as zero, their outputs unwritten).
    const masked = this.o.masked === true;
    const maskLoad = (c: number) =>
      vecN
        ? 'y[row >> 2u]'
        : `vec4<f32>(${LANES.map((j) => `select(0.0, y[min(row + ${j}, uniforms.gM * uniforms.gN - 1)], nOut${c} + ${j} < uniforms.gN)`).join(', ')})`;
    const store = (i: number) =>
      groups
        .map(
          (c) => `{
        let m = mTile0 + ty * ${block} + ${i};
        if (m < uniforms.gM && nOut${c} < uniforms.gN) {
          let row = m * uniforms.gN + nOut${c};
          ${masked ? `let v = ${leakyMaskWgsl4(acc(i, c), maskLoad(c))};` : `let v = ganAct(${acc(i, c)}${hasBias ? ` + bv${c}` : ''});`}
          ${
            vecN
              ? 'result[row >> 2u] = v;'
              : LANES.map((j) => `if (nOut${c} + ${j} < uniforms.gN) { result[row + ${j}] = v[${j}]; }`).join('\n          ')
          }
        }
      }`,
        )
        .join('\n      ');

    return `${gemmTileDecls(TM, TN, TK)}

    fn ganAct(v : vec4<f32>) -> vec4<f32> {
      ${ACTIVATIONS[activation]}
    }

    fn main(unusedIndex : i32) {
      ${gemmThreadIds(TN, block)}
      let mTile0 = (i32(workgroupId.z) * uniforms.tilesY + i32(workgroupId.y)) * ${TM};

      // Each A-load slot's 4 pixels, decomposed once.
      ${aSetup}
      ${block === 4 ? GEMM_ACC_DECLS : gemmAccDeclsBlock(block)}

      ${kLoop}

      ${nOuts}
      ${biasLoad}
      ${Array.from({ length: block }, (_, i) => store(i)).join('\n      ')}
    }
    `;
  }
}

/* ---------------------------------------------------------------------------------------------
 * The kernel functions.
 * ------------------------------------------------------------------------------------------- */

export interface ForwardAttrs extends ConvAttrs {
  dilations: [number, number] | number;
  /** FusedConv2D only. */
  activation?: string;
  leakyreluAlpha?: number;
}

export interface ForwardInputs {
  x: TensorInfo;
  filter: TensorInfo;
  bias?: TensorInfo;
  preluActivationWeights?: TensorInfo;
}

/** True when our kernel handles these inputs (else use tfjs's). */
export function supportsForward(inputs: ForwardInputs, attrs: ForwardAttrs): boolean {
  const { x, filter, bias, preluActivationWeights } = inputs;
  if (attrs.dataFormat === 'NCHW' || preluActivationWeights != null) return false;
  if (attrs.activation != null && !isForwardActivation(attrs.activation)) return false;
  if (!allFloat32Rank4(x, filter)) return false;
  if (bias != null) {
    const co = filter.shape[3]!;
    // Bias of exactly CO values along the last axis (tfjs also allows broadcast shapes: not ours).
    if (bias.dtype !== 'float32' || bias.shape.length === 0 || bias.shape[bias.shape.length - 1] !== co) return false;
    if (bias.shape.reduce((a, b) => a * b, 1) !== co) return false;
  }
  return true;
}

/**
 * Runs our forward convolution (with optional bias and activation). Returns null when unsupported
 * (the caller falls back). `tiling` is for benchmarks and tests; the registered kernel uses
 * chooseForwardTiling.
 */
export function runForward(
  backend: WebGpuBackendLike,
  inputs: ForwardInputs,
  attrs: ForwardAttrs,
  tiling?: ForwardTiling,
  mask?: DyMask,
): TensorInfo | null {
  if (!supportsForward(inputs, attrs)) return null;
  const { x, filter, bias } = inputs;
  if (mask && (bias != null || (attrs.activation ?? 'linear') !== 'linear')) return null;
  const conv = nhwcConvInfo(x.shape, filter.shape, attrs, attrs.dilations ?? 1);
  if (!conv) return null;
  if (conv.inChannels !== x.shape[3]) return null;
  const t = tiling ?? chooseForwardTiling(conv);
  const geo = planForward(conv, t);
  if (geo.M === 0 || geo.N === 0 || geo.K === 0) return null;
  if (mask && !maskFits(conv.outShape, mask)) return null;
  const activation: ForwardActivation = isForwardActivation(attrs.activation) ? attrs.activation : 'linear';
  const program = new ForwardGemmProgram([...conv.outShape], geo, t, {
    inC: conv.inChannels,
    filterW: conv.filterWidth,
    hasBias: bias != null,
    activation,
    masked: mask !== undefined,
  });
  const i32 = i32Uniform;
  const uniforms: ProgramUniform = [
    i32(geo.M),
    i32(geo.N),
    i32(geo.K),
    i32(geo.dispatch[1]),
    i32(conv.inHeight),
    i32(conv.inWidth),
    i32(conv.outHeight),
    i32(conv.outWidth),
    i32(conv.strideHeight),
    i32(conv.strideWidth),
    i32(conv.padInfo.top),
    i32(conv.padInfo.left),
    { type: 'float32', data: [mask ? mask.alpha : activation === 'leakyrelu' ? (attrs.leakyreluAlpha ?? 0.2) : 0] },
  ];
  return backend.runWebGPUProgram(program, withMask(bias ? [x, filter, bias] : [x, filter], mask), 'float32', uniforms);
}

/** The kernel function installed over tfjs's Conv2D by ./index (null: tfjs's runs). */
export const conv2dKernel: OurKernelRun = (args) => {
  const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs as unknown as ForwardAttrs;
  return runForward(args.backend as unknown as WebGpuBackendLike, { x, filter }, { ...attrs, activation: undefined });
};

/** The kernel function installed over tfjs's FusedConv2D by ./index (null: tfjs's runs). */
export const fusedConv2dKernel: OurKernelRun = (args) =>
  runForward(args.backend as unknown as WebGpuBackendLike, args.inputs as unknown as ForwardInputs, args.attrs as unknown as ForwardAttrs);
