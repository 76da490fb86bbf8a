/**
 * Our own WebGPU kernel for Conv2DBackpropInput (the input gradient of conv2d, and the forward pass
 * of conv2dTranspose), replacing tfjs-backend-webgpu 4.22's `Conv2DDerInputMMProgram`.
 *
 *   dx[b, ih, iw, ci] = sum over (kh, kw, co) of dy[b, oh, ow, co] * W[kh, kw, ci, co],
 *     ih = oh * sh - padTop + kh, iw = ow * sw - padLeft + kw (integer oh, ow in range only)
 *
 * tfjs runs it as one implicit GEMM with K = KH * KW * CO for every dx position, so with stride s
 * about (s^2 - 1) / s^2 of its multiply-adds are by zero (taps that land between dy positions).
 * Ours splits dx into the s_h * s_w stride phases (ph, pw) = ((ih + padTop) mod sh, (iw + padLeft)
 * mod sw): within a phase exactly the taps kh = ph + sh * jh, kw = pw + sw * jw land on an integer
 * dy position, oh = (ih + padTop - kh) / sh. Each phase is a dense implicit GEMM, all phases in one
 * dispatch (workgroupId.z = phase):
 *
 *   dx_phase[m, n] = sum_k A[m, k] * B[k, n]
 *     m = (b * IHp + qh) * IWp + qw       ih = ih0 + sh * qh, iw = iw0 + sw * qw  (M = B * IHp * IWp)
 *     n = ci                              N = CI
 *     k = (jh * KWp + jw) * CO + co       K = KHp * KWp * CO, KHp = ceil((KH - ph) / sh)
 *     A[m, k] = dy[b, baseH + qh - jh, baseW + qw - jw, co]   (0 outside dy)
 *     B[k, n] = W[ph + sh * jh, pw + sw * jw, ci, co]
 *   with ih0 = (ph - padTop) mod sh and baseH = (ih0 + padTop - ph) / sh (likewise for w).
 *
 * The GEMM core is the filter gradient's (./common): TM x TN tile per workgroup, 4 x 4 outputs per
 * thread in vec4 registers, TK rows of A and B staged in workgroup memory per step; dy is gathered on
 * the fly (no im2col). K is walked tap by tap, and within a tap co in TK chunks, so that the loads
 * do no integer division (a K row is co = coBase + r; each thread's dy offsets and bounds for its 4
 * rows are computed once per tap). The tap loops run the largest phase's count ceil(KH / sh) x
 * ceil(KW / sw) (uniforms, so the barriers stay in uniform control flow); a phase with fewer taps
 * loads zeros for the others. Workgroups whose rows lie past their phase's M write nothing. Layers with few input channels (an RGB image, N = 3) use a
 * narrow, tall tile so that the threads are not mostly idle.
 *
 * Supported: NHWC, float32, any strides, any padding ('same', 'valid', numbers, explicit), dilation 1
 * (tfjs's Conv2DBackpropInput has no dilation attribute). Anything else (NCHW, other dtypes) goes to
 * tfjs's own kernel. With a `DyMask` (./common.ts) the GEMM and stride-block programs read dy through
 * a LeakyReLU's mask as they load it (./masked-conv-grads.ts). Registered by ./index; on by default
 * everywhere: on an NVIDIA H200 15-20 TFLOP/s on the DCGAN-64 layers, 4.4-5.1x tfjs's; on software drivers with 8 x 8 outputs per thread
 * (SOFTWARE_INPUT_TILING), about 2x tfjs's on lavapipe's middle layers; docs/PERFORMANCE.md,
 * "Convolution kernels".
 */
import type { TensorInfo, backend_util } from '@tensorflow/tfjs-core';
import {
  GEMM_ACC_DECLS,
  gemmAccDeclsBlock,
  MAX_WORKGROUPS_PER_DIM,
  allFloat32Rank4,
  checkGemmTile,
  gemmThreadIds,
  nhwcConvInfo,
  onSoftwareAdapter,
  type ConvAttrs,
  LANES,
  flatDispatch,
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
 * Tiling and geometry.
 * ------------------------------------------------------------------------------------------- */

export interface InputGradTiling {
  /** Output rows (dx positions of one phase) per workgroup; multiple of 4. */
  tileM: number;
  /** Output columns (ci) per workgroup; multiple of 4. */
  tileN: number;
  /** K rows (taps x co) staged in workgroup memory per step. */
  tileK: number;
  /**
   * Coalesced loads (default where the tile allows, see `coalescedLoads`): consecutive threads load
   * consecutive co (k) of the same dy position and of the same filter column, so a warp reads
   * contiguous memory; the tiles get one vec4 of padding per row so that these column-wise stores
   * spread over the shared-memory banks. false: each thread loads 4 consecutive m (or n) of one k,
   * which strides through memory by CO (the first version; kept for comparison).
   */
  coalesced?: boolean;
  /** Outputs per thread, threadBlock x threadBlock: 4 (default) or 8 (e.g. 128x128x16, 256 threads). */
  threadBlock?: 4 | 8;
  /**
   * Coalesced loads only: issue the next co chunk's loads into registers before this chunk's
   * multiply-adds (as the filter gradient's `prefetch`), within each tap.
   */
  prefetch?: boolean;
}

/** Wide layers. */
export const DEFAULT_INPUT_TILING: InputGradTiling = { tileM: 64, tileN: 64, tileK: 16 };
/**
 * On real GPUs, layers whose dy has at least LONG_CO_MIN_CHANNELS channels (16 or more co chunks per
 * tap): the next chunk's loads prefetched. H200 (run 22, 2026-11-27, ms, twice each, without / with):
 * D3 (co 256) batch 64 0.229 / 0.192-0.193, batch 256 0.739 / 0.695; D4 (co 512) 0.198-0.199 / 0.196,
 * 0.742-0.744 / 0.690; but D2 (co 128, 8 chunks) 0.183 / 0.190 and 0.705 / 0.717-0.719.
 */
export const GPU_LONG_CO_INPUT_TILING: InputGradTiling = { ...DEFAULT_INPUT_TILING, prefetch: true };
/** dy channels (co) from which GPUs take GPU_LONG_CO_INPUT_TILING. */
export const LONG_CO_MIN_CHANNELS = 256;
/** The first version's tiling (m-fastest loads), for comparison in benchmarks. */
export const STRIDED_INPUT_TILING: InputGradTiling = { tileM: 64, tileN: 64, tileK: 32, coalesced: false };
/** Layers with at most 4 input channels (the image layer). */
export const NARROW_INPUT_TILING: InputGradTiling = { tileM: 256, tileN: 4, tileK: 8 };

/**
 * Whether `t` gets k-fastest (coalesced) loads: asked for (or not refused), and the threads split
 * evenly into TK rows by whole vec4 columns of both tiles.
 */
export function coalescedLoads(t: InputGradTiling): boolean {
  if (t.coalesced === false) return false;
  const block = t.threadBlock ?? 4;
  const threads = (t.tileM / block) * (t.tileN / block);
  if (threads % t.tileK !== 0) return false;
  const cols = threads / t.tileK; // vec4 columns one load pass covers
  return (t.tileM / 4) % cols === 0 && (t.tileN / 4) % cols === 0;
}

/**
 * On a software adapter (lavapipe): 8 x 8 outputs per thread, 128x64x16 tiles. Measured there
 * (2026-11-26, ms, tfjs's / ours 4 x 4 / ours this, alternated): DCGAN-32 b16 D2 78-96 / 86-87 /
 * 43-45, D3 72-89 / 80-85 / 39-43; DCGAN-64 b4 D2 89-95 / 76-90 / 48-50, D3 82-92 / 74-76 / 38-43,
 * D4 62-87 / 70-79 / 67-69. (dx with at most 4 channels takes the direct program, 3x tfjs's there.)
 */
export const SOFTWARE_INPUT_TILING: InputGradTiling = { tileM: 128, tileN: 64, tileK: 16, threadBlock: 8 };

/** The tiling the registered kernel uses for `inChannels` (N) and dy's `outChannels` (co, K per tap). */
export function chooseInputTiling(inChannels: number, outChannels = 0): InputGradTiling {
  if (inChannels <= 4) return NARROW_INPUT_TILING;
  if (onSoftwareAdapter()) return SOFTWARE_INPUT_TILING;
  return outChannels >= LONG_CO_MIN_CHANNELS ? GPU_LONG_CO_INPUT_TILING : DEFAULT_INPUT_TILING;
}

type ConvDims = Pick<
  backend_util.Conv2DInfo,
  | 'batchSize'
  | 'inHeight'
  | 'inWidth'
  | 'inChannels'
  | 'outHeight'
  | 'outWidth'
  | 'outChannels'
  | 'filterHeight'
  | 'filterWidth'
  | 'strideHeight'
  | 'strideWidth'
> & { padInfo: { top: number; left: number } };

/** One stride phase's GEMM sizes. */
export interface InputGradPhase {
  ph: number;
  pw: number;
  M: number;
  K: number;
}

export interface InputGradGeometry {
  N: number;
  phases: InputGradPhase[];
  /** Workgroup grid: tiles over N, tiles over the largest phase's M, phases. */
  tilesN: number;
  tilesM: number;
  /** Taps per phase, at most (the tap loops of every workgroup). */
  maxKhp: number;
  maxKwp: number;
  /** K steps of every workgroup: maxKhp * maxKwp * ceil(CO / tileK). */
  kTiles: number;
  /** Multiply-adds done (sum over phases of M * N * K), for FLOP counts. */
  macs: number;
}

const mod = (a: number, m: number) => ((a % m) + m) % m;

export function planInputGrad(conv: ConvDims, tiling: InputGradTiling): InputGradGeometry {
  const sh = conv.strideHeight;
  const sw = conv.strideWidth;
  const N = conv.inChannels;
  const phases: InputGradPhase[] = [];
  for (let ph = 0; ph < sh; ph++)
    for (let pw = 0; pw < sw; pw++) {
      const ih0 = mod(ph - conv.padInfo.top, sh);
      const iw0 = mod(pw - conv.padInfo.left, sw);
      const ihp = Math.max(0, Math.ceil((conv.inHeight - ih0) / sh));
      const iwp = Math.max(0, Math.ceil((conv.inWidth - iw0) / sw));
      const khp = Math.max(0, Math.ceil((conv.filterHeight - ph) / sh));
      const kwp = Math.max(0, Math.ceil((conv.filterWidth - pw) / sw));
      phases.push({ ph, pw, M: conv.batchSize * ihp * iwp, K: khp * kwp * conv.outChannels });
    }
  const maxM = Math.max(...phases.map((p) => p.M));
  const maxKhp = Math.ceil(conv.filterHeight / sh);
  const maxKwp = Math.ceil(conv.filterWidth / sw);
  return {
    N,
    phases,
    tilesN: Math.ceil(N / tiling.tileN),
    tilesM: Math.max(1, Math.ceil(maxM / tiling.tileM)),
    maxKhp,
    maxKwp,
    kTiles: maxKhp * maxKwp * Math.ceil(conv.outChannels / tiling.tileK),
    macs: phases.reduce((s, p) => s + p.M * N * p.K, 0),
  };
}

/* ---------------------------------------------------------------------------------------------
 * The program: one dispatch, workgroupId = (n tile, m tile, phase).
 * ------------------------------------------------------------------------------------------- */

/** The convolution's geometry, as both programs below read it (values: geometryUniforms). */
const GEOMETRY_UNIFORMS =
  'inH : i32, inW : i32, outH : i32, outW : i32, outC : i32, filterH : i32, filterW : i32, ' +
  'strideH : i32, strideW : i32, padTop : i32, padLeft : i32,';

function geometryUniforms(conv: ConvDims): ProgramUniform {
  return [
    conv.inHeight,
    conv.inWidth,
    conv.outHeight,
    conv.outWidth,
    conv.outChannels,
    conv.filterHeight,
    conv.filterWidth,
    conv.strideHeight,
    conv.strideWidth,
    conv.padInfo.top,
    conv.padInfo.left,
  ].map(i32Uniform);
}

const UNIFORMS = `gN : i32, maxKhp : i32, maxKwp : i32, batch : i32, ${GEOMETRY_UNIFORMS}`;

export class InputGradGemmProgram implements WebGpuProgramLike {
  variableNames = ['dy', 'W'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms = UNIFORMS;
  private readonly t: InputGradTiling;
  private readonly coalesced: boolean;

  /** `masked`: dy is read through a LeakyReLU mask (a third input y, the uniform alpha; see DyMask). */
  constructor(outputShape: number[], geo: InputGradGeometry, tiling: InputGradTiling, private readonly masked = false) {
    const { tileM, tileN, tileK } = tiling;
    this.coalesced = coalescedLoads(tiling);
    const threads = checkGemmTile(tileM, tileN, tileK, this.coalesced ? 1 : 0, tiling.threadBlock ?? 4);
    // Strided loads: each pass covers threads / (tile / 4) whole K rows of each tile.
    if (!this.coalesced && (threads % (tileM / 4) !== 0 || threads % (tileN / 4) !== 0)) {
      throw new Error('this tile shape does not split into whole K rows per load pass');
    }
    this.t = tiling;
    this.outputShape = outputShape;
    // Flat layout: the prelude then calls main(globalIndex); we use workgroupId / localIndex.
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    this.workgroupSize = [threads, 1, 1];
    this.dispatch = [geo.tilesN, geo.tilesM, geo.phases.length];
    this.shaderKey = `ganAugmentConv2DDerInputGemm_${tileM}_${tileN}_${tileK}_${this.coalesced ? 'c' : 's'}${tiling.threadBlock === 8 ? '_b8' : ''}${tiling.prefetch && this.coalesced ? '_pf' : ''}`;
    if (masked) {
      this.variableNames = [...this.variableNames, 'y'];
      this.uniforms = `${UNIFORMS} alpha : f32,`;
      this.shaderKey += '_mask';
    }
  }

  /** WGSL: dy at flat index `o`, through the mask when there is one. */
  private dyAt(o: string): string {
    return this.masked ? leakyMaskWgsl(`dy[${o}]`, `y[${o}]`) : `dy[${o}]`;
  }

  getUserCode(): string {
    return this.coalesced ? this.coalescedCode() : this.stridedCode();
  }

  /** The shared start: phase geometry of this workgroup. */
  private static readonly PHASE_PRELUDE = `
      // This workgroup's stride phase and its GEMM sizes.
      let phase = i32(workgroupId.z);
      let ph = phase / uniforms.strideW;
      let pw = phase % uniforms.strideW;
      let ih0 = ((ph - uniforms.padTop) % uniforms.strideH + uniforms.strideH) % uniforms.strideH;
      let iw0 = ((pw - uniforms.padLeft) % uniforms.strideW + uniforms.strideW) % uniforms.strideW;
      let ihp = max(0, (uniforms.inH - ih0 + uniforms.strideH - 1) / uniforms.strideH);
      let iwp = max(0, (uniforms.inW - iw0 + uniforms.strideW - 1) / uniforms.strideW);
      let khp = max(0, (uniforms.filterH - ph + uniforms.strideH - 1) / uniforms.strideH);
      let kwp = max(0, (uniforms.filterW - pw + uniforms.strideW - 1) / uniforms.strideW);
      let baseH = (ih0 + uniforms.padTop - ph) / uniforms.strideH;
      let baseW = (iw0 + uniforms.padLeft - pw) / uniforms.strideW;
      let gM = uniforms.batch * ihp * iwp;
      let planeP = ihp * iwp;`;

  /** The shared end: write the thread's block x block outputs to their dx positions. */
  private static writeBlock(block: number): string {
    const acc = (i: number, j: number) => (block === 4 ? `acc${i}[${j}]` : `acc${i}_${Math.floor(j / 4)}[${j % 4}]`);
    return `
      let nOut = n0 + tx * ${block};
      ${Array.from({ length: block }, (_, i) => i)
        .map(
          (i) => `{
        let m = m0 + ty * ${block} + ${i};
        if (m < gM) {
          let b = m / planeP;
          let r = m % planeP;
          let ih = ih0 + uniforms.strideH * (r / iwp);
          let iw = iw0 + uniforms.strideW * (r % iwp);
          let row = ((b * uniforms.inH + ih) * uniforms.inW + iw) * uniforms.gN + nOut;
          ${Array.from({ length: block }, (_, j) => `if (nOut + ${j} < uniforms.gN) { result[row + ${j}] = ${acc(i, j)}; }`).join('\n          ')}
        }
      }`,
        )
        .join('\n      ')}`;
  }

  /**
   * Coalesced loads: thread tid loads K row kr = tid % TK (co = coBase + kr) for the vec4 columns
   * q = tid / TK + p * (threads / TK), p = 0, 1, ... (of A: 4 dx positions; of B: 4 ci). A warp then
   * reads runs of consecutive co, contiguous in both dy (NHWC) and W (HWIO, co innermost).
   */
  private coalescedCode(): string {
    const { tileM: TM, tileN: TN, tileK: TK } = this.t;
    const block = this.t.threadBlock ?? 4;
    const QM = TM / 4;
    const QN = TN / 4;
    const NT = (TM / block) * (TN / block); // threads
    const cols = NT / TK;
    const passesA = Array.from({ length: QM / cols }, (_, p) => p);
    const passesB = Array.from({ length: QN / cols }, (_, p) => p);
    const SA = QM + 1; // padded row strides (vec4)
    const SB = QN + 1;
    // This thread's K row co of the tile into workgroup memory (`regs` false) or into registers
    // aPre<p> / bPre<p> until they are stored (prefetch).
    const loads = (regs: boolean): string => `
            ${passesA
              .map(
                (p) => `{
              var v = vec4<f32>(0.0);
              if (coOk) {
                ${LANES.map((i) => `if (aIn${p}[${i}]) { v[${i}] = ${this.dyAt(`aOff${p}[${i}] + co`)}; }`).join('\n                ')}
              }
              ${regs ? `aPre${p}` : `ganTileA[kr * ${SA} + q0 + ${p * cols}]`} = v;
            }`,
              )
              .join('\n            ')}
            ${passesB
              .map(
                (p) => `{
              var v = vec4<f32>(0.0);
              if (bOk${p} && coOk) {
                let base = wBase${p} + co;
                if (bFull${p}) {
                  v = vec4<f32>(W[base], W[base + uniforms.outC], W[base + 2 * uniforms.outC], W[base + 3 * uniforms.outC]);
                } else {
                  ${LANES.map((i) => `if (nB${p} + ${i} < uniforms.gN) { v[${i}] = W[base + ${i} * uniforms.outC]; }`).join('\n                  ')}
                }
              }
              ${regs ? `bPre${p}` : `ganTileB[kr * ${SB} + q0 + ${p * cols}]`} = v;
            }`,
              )
              .join('\n            ')}`;
    const rank1 = block === 4 ? gemmRank1Updates(TM, TN, TK, 1) : gemmRank1UpdatesBlock(TM, TN, TK, block, 1);
    // prefetch: the next co chunk's loads in flight during this chunk's multiply-adds (within a tap).
    const coLoop = this.t.prefetch
      ? `{
            let co = kr;
            let coOk = co < uniforms.outC;
            ${loads(true)}
          }
          for (var coBase = 0; coBase < uniforms.outC; coBase = coBase + ${TK}) {
            ${passesA.map((p) => `ganTileA[kr * ${SA} + q0 + ${p * cols}] = aPre${p};`).join('\n            ')}
            ${passesB.map((p) => `ganTileB[kr * ${SB} + q0 + ${p * cols}] = bPre${p};`).join('\n            ')}
            {
              let co = coBase + ${TK} + kr;
              let coOk = co < uniforms.outC;
              ${loads(true)}
            }
            ${rank1}
          }`
      : `for (var coBase = 0; coBase < uniforms.outC; coBase = coBase + ${TK}) {
            let co = coBase + kr;
            let coOk = co < uniforms.outC;
            ${loads(false)}
            ${rank1}
          }`;
    return `${gemmTileDecls(TM, TN, TK, 1)}

    fn main(unusedIndex : i32) {
      ${gemmThreadIds(TN, block)}
      let m0 = i32(workgroupId.y) * ${TM};
      let kr = tid % ${TK};
      let q0 = tid / ${TK};
      ${InputGradGemmProgram.PHASE_PRELUDE}
      let safeP = max(planeP, 1);
      let safeW = max(iwp, 1);

      // A: per pass p, the 4 dx positions m = m0 + (q0 + p * ${cols}) * 4 + (0..3), decomposed once.
      ${passesA
        .map(
          (p) => `var aB${p} : vec4<i32>;
      var aH${p} : vec4<i32>;
      var aW${p} : vec4<i32>;
      var aOk${p} : vec4<bool>;
      ${LANES.map(
        (i) => `{
        let m = m0 + (q0 + ${p * cols}) * 4 + ${i};
        let r = m % safeP;
        aB${p}[${i}] = (m / safeP) * uniforms.outH;
        aH${p}[${i}] = baseH + r / safeW;
        aW${p}[${i}] = baseW + r % safeW;
        aOk${p}[${i}] = m < gM;
      }`,
      ).join('\n      ')}`,
        )
        .join('\n      ')}
      ${block === 4 ? GEMM_ACC_DECLS : gemmAccDeclsBlock(block)}
      ${this.t.prefetch ? [...passesA.map((p) => `var aPre${p} = vec4<f32>(0.0);`), ...passesB.map((p) => `var bPre${p} = vec4<f32>(0.0);`)].join(' ') : ''}

      for (var jh = 0; jh < uniforms.maxKhp; jh = jh + 1) {
        for (var jw = 0; jw < uniforms.maxKwp; jw = jw + 1) {
          let tapOk = jh < khp && jw < kwp;
          ${passesA
            .map(
              (p) => `var aOff${p} : vec4<i32>;
          var aIn${p} : vec4<bool>;
          ${LANES.map(
            (i) => `{
            let oh = aH${p}[${i}] - jh;
            let ow = aW${p}[${i}] - jw;
            aIn${p}[${i}] = tapOk && aOk${p}[${i}] && oh >= 0 && oh < uniforms.outH && ow >= 0 && ow < uniforms.outW;
            aOff${p}[${i}] = ((aB${p}[${i}] + oh) * uniforms.outW + ow) * uniforms.outC;
          }`,
          ).join('\n          ')}`,
            )
            .join('\n          ')}
          let kh = ph + uniforms.strideH * jh;
          let kw = pw + uniforms.strideW * jw;
          let tapBase = (kh * uniforms.filterW + kw) * uniforms.gN;
          ${passesB
            .map(
              (p) => `let nB${p} = n0 + (q0 + ${p * cols}) * 4;
          let wBase${p} = (tapBase + nB${p}) * uniforms.outC;
          let bOk${p} = tapOk && nB${p} < uniforms.gN;
          let bFull${p} = nB${p} + 3 < uniforms.gN;`,
            )
            .join('\n          ')}
          ${coLoop}
        }
      }
      ${InputGradGemmProgram.writeBlock(block)}
    }
    `;
  }

  /** Strided loads (the first version): each thread loads 4 consecutive m (or n) of K rows. */
  private stridedCode(): string {
    const { tileM: TM, tileN: TN, tileK: TK } = this.t;
    const block = this.t.threadBlock ?? 4;
    const QM = TM / 4;
    const QN = TN / 4;
    const NT = (TM / block) * (TN / block); // threads
    const aStep = NT / QM; // K rows one A-load pass covers
    const bStep = NT / QN;
    return `${gemmTileDecls(TM, TN, TK)}

    fn main(unusedIndex : i32) {
      ${gemmThreadIds(TN, block)}
      let m0 = i32(workgroupId.y) * ${TM};
      ${InputGradGemmProgram.PHASE_PRELUDE}

      // A loads: this thread gathers m = m0 + aq * 4 + (0..3); decompose m once.
      let aq = tid % ${QM};
      let aRow = tid / ${QM};
      var aB : vec4<i32>;   // b * outH
      var aH : vec4<i32>;   // baseH + qh (oh for jh = 0)
      var aW : vec4<i32>;
      var aOk : vec4<bool>;
      ${LANES.map(
        (i) => `{
        let m = m0 + aq * 4 + ${i};
        let safeP = max(planeP, 1);
        let safeW = max(iwp, 1);
        let r = m % safeP;
        aB[${i}] = (m / safeP) * uniforms.outH;
        aH[${i}] = baseH + r / safeW;
        aW[${i}] = baseW + r % safeW;
        aOk[${i}] = m < gM;
      }`,
      ).join('\n      ')}

      // B loads: this thread reads n = nB + (0..3) of W.
      let bq = tid % ${QN};
      let bRow = tid / ${QN};
      let nB = n0 + bq * 4;
      ${block === 4 ? GEMM_ACC_DECLS : gemmAccDeclsBlock(block)}

      // K in steps of TK: for each tap (jh, jw) of the largest phase, the co range in TK chunks, so
      // that a K row is just co = coBase + r (no divisions in the loads). Uniform loop bounds; a tap
      // outside this phase loads zeros.
      for (var jh = 0; jh < uniforms.maxKhp; jh = jh + 1) {
        for (var jw = 0; jw < uniforms.maxKwp; jw = jw + 1) {
          let tapOk = jh < khp && jw < kwp;
          // Per lane: the dy offset of (oh, ow) = (baseH + qh - jh, baseW + qw - jw), if inside dy.
          var aOff : vec4<i32>;
          var aIn : vec4<bool>;
          ${LANES.map(
            (i) => `{
            let oh = aH[${i}] - jh;
            let ow = aW[${i}] - jw;
            aIn[${i}] = tapOk && aOk[${i}] && oh >= 0 && oh < uniforms.outH && ow >= 0 && ow < uniforms.outW;
            aOff[${i}] = ((aB[${i}] + oh) * uniforms.outW + ow) * uniforms.outC;
          }`,
          ).join('\n          ')}
          let kh = ph + uniforms.strideH * jh;
          let kw = pw + uniforms.strideW * jw;
          let wBase = ((kh * uniforms.filterW + kw) * uniforms.gN + nB) * uniforms.outC;
          let bOk = tapOk && nB < uniforms.gN;
          let bFull = nB + 3 < uniforms.gN;
          for (var coBase = 0; coBase < uniforms.outC; coBase = coBase + ${TK}) {
            for (var r = aRow; r < ${TK}; r = r + ${aStep}) {
              let co = coBase + r;
              var v = vec4<f32>(0.0);
              if (co < uniforms.outC) {
                ${LANES.map((i) => `if (aIn[${i}]) { v[${i}] = ${this.dyAt(`aOff[${i}] + co`)}; }`).join('\n                ')}
              }
              ganTileA[r * ${QM} + aq] = v;
            }
            for (var r = bRow; r < ${TK}; r = r + ${bStep}) {
              let co = coBase + r;
              var v = vec4<f32>(0.0);
              if (bOk && co < uniforms.outC) {
                let base = wBase + co;
                if (bFull) {
                  v = vec4<f32>(W[base], W[base + uniforms.outC], W[base + 2 * uniforms.outC], W[base + 3 * uniforms.outC]);
                } else {
                  ${LANES.map((i) => `if (nB + ${i} < uniforms.gN) { v[${i}] = W[base + ${i} * uniforms.outC]; }`).join('\n                  ')}
                }
              }
              ganTileB[r * ${QN} + bq] = v;
            }
            ${block === 4 ? gemmRank1Updates(TM, TN, TK) : gemmRank1UpdatesBlock(TM, TN, TK, block)}
          }
        }
      }

      ${InputGradGemmProgram.writeBlock(block)}
    }
    `;
  }
}

/* ---------------------------------------------------------------------------------------------
 * The kernel function.
 * ------------------------------------------------------------------------------------------- */

/* ---------------------------------------------------------------------------------------------
 * Narrow outputs (dx with at most 4 channels: the RGB image layer of G and of D's input gradient).
 * A GEMM with N <= 4 leaves most of a tile idle (256x4x8 reached 1.1 TFLOP/s on the H200). The
 * direct programs compute dx pixels from the taps that land on them, all ci of a pixel in one vec4.
 * ------------------------------------------------------------------------------------------- */

/** dx channels up to which the direct programs run. */
export const DIRECT_MAX_CHANNELS = 4;

const DIRECT_UNIFORMS = `pixels : i32, inC : i32, ${GEOMETRY_UNIFORMS}`;

/**
 * One thread per dx pixel, dy and W read one float at a time (the first direct program: 2.1 TFLOP/s
 * on D1 at batch 256 on the H200, where its loads, 16 per 12 multiply-adds, set the pace).
 */
export class InputGradDirectProgram implements WebGpuProgramLike {
  variableNames = ['dy', 'w'];
  outputShape: number[];
  shaderKey = 'ganAugmentInputGradDirect';
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [128, 1, 1];
  uniforms = DIRECT_UNIFORMS;

  constructor(outputShape: number[]) {
    this.outputShape = outputShape;
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    this.dispatch = flatDispatch([outputShape[0]! * outputShape[1]! * outputShape[2]!], 128);
  }

  getUserCode(): string {
    // acc[ci] += dy[b, oh, ow, co] * w[kh, kw, ci, co] over the taps (kh, kw) with
    // ih + padTop = oh * strideH + kh (and likewise for columns), four co at a time.
    const dot = (vec: boolean) =>
      LANES.map(
        (ci) =>
          `if (${ci} < uniforms.inC) { acc[${ci}] = acc[${ci}] + ${
            vec
              ? `dot(d, vec4<f32>(w[wBase + ${ci} * uniforms.outC + co], w[wBase + ${ci} * uniforms.outC + co + 1], w[wBase + ${ci} * uniforms.outC + co + 2], w[wBase + ${ci} * uniforms.outC + co + 3]))`
              : `dy[dyBase + co] * w[wBase + ${ci} * uniforms.outC + co]`
          }; }`,
      ).join('\n              ');
    return `
    fn main(index : i32) {
      if (index >= uniforms.pixels) { return; }
      let iw = index % uniforms.inW;
      let rest = index / uniforms.inW;
      let ih = rest % uniforms.inH;
      let b = rest / uniforms.inH;
      let hPad = ih + uniforms.padTop;
      let wPad = iw + uniforms.padLeft;
      var acc = vec4<f32>(0.0);
      for (var kh = hPad % uniforms.strideH; kh < uniforms.filterH && kh <= hPad; kh = kh + uniforms.strideH) {
        let oh = (hPad - kh) / uniforms.strideH;
        if (oh >= uniforms.outH) { continue; }
        for (var kw = wPad % uniforms.strideW; kw < uniforms.filterW && kw <= wPad; kw = kw + uniforms.strideW) {
          let ow = (wPad - kw) / uniforms.strideW;
          if (ow >= uniforms.outW) { continue; }
          let dyBase = ((b * uniforms.outH + oh) * uniforms.outW + ow) * uniforms.outC;
          let wBase = (kh * uniforms.filterW + kw) * uniforms.inC * uniforms.outC;
          var co = 0;
          for (; co + 3 < uniforms.outC; co = co + 4) {
            let d = vec4<f32>(dy[dyBase + co], dy[dyBase + co + 1], dy[dyBase + co + 2], dy[dyBase + co + 3]);
              ${dot(true)}
          }
          for (; co < uniforms.outC; co = co + 1) {
              ${dot(false)}
          }
        }
      }
      let out = index * uniforms.inC;
      ${LANES.map((ci) => `if (${ci} < uniforms.inC) { result[out + ${ci}] = acc[${ci}]; }`).join('\n      ')}
    }
    `;
  }
}

/** How the stride-block direct program (InputGradBlockProgram) splits dx over threads. */
export interface DirectBlockTiling {
  /** Stride blocks per thread along w: 1, 2 or 4. */
  blocksW: 1 | 2 | 4;
}

/**
 * The direct program the registered kernel runs for dx with at most 4 channels. D1's input gradient
 * (DCGAN-64), ms, one pixel per thread / 1 / 2 / 4 stride blocks per thread: on an H200 (run 16, twice
 * each) batch 64 0.209 / 0.075-0.077 / 0.051-0.062 / 0.057-0.069, batch 256 0.755 / 0.249 / 0.150-0.152 /
 * 0.191-0.194; on lavapipe (2026-11-26, alternated) DCGAN-32 batch 16 10.2-12.5 / 18.3-19.4 / 11.0 /
 * 7.8-8.6, DCGAN-64 batch 4 12.3-12.8 / - / 9.6-9.9 / 6.7-7.2.
 */
export function chooseDirectTiling(): 'direct' | DirectBlockTiling {
  return onSoftwareAdapter() ? { blocksW: 4 } : { blocksW: 2 };
}

/** The stride-block program's geometry: blocks cover the padded input, (inH + padTop) / sh rows of them. */
export function planDirectBlocks(conv: ConvDims & Pick<backend_util.Conv2DInfo, 'batchSize'>, t: DirectBlockTiling) {
  const blocksH = Math.ceil((conv.inHeight + conv.padInfo.top) / conv.strideHeight);
  const blocksW = Math.ceil((conv.inWidth + conv.padInfo.left) / conv.strideWidth);
  const groupsW = Math.ceil(blocksW / t.blocksW);
  return { blocksH, blocksW, groupsW, threads: conv.batchSize * blocksH * groupsW };
}

/** Accumulators (sh * sw pixels, one vec4 each, times blocksW) above which a thread would hold too many. */
const MAX_BLOCK_ACCUMULATORS = 16;

/**
 * `t` with fewer blocks per thread where a stride's blocks would need more than MAX_BLOCK_ACCUMULATORS
 * accumulators (stride 3: 1 block, 9 accumulators); null where even one block would (strides whose
 * sh * sw passes 16), for which InputGradDirectProgram runs.
 */
export function fitStrideBlocks(t: DirectBlockTiling, strideH: number, strideW: number): DirectBlockTiling | null {
  let blocksW = t.blocksW;
  while (blocksW > 1 && strideH * strideW * blocksW > MAX_BLOCK_ACCUMULATORS) blocksW /= 2;
  return strideH * strideW * blocksW <= MAX_BLOCK_ACCUMULATORS ? { blocksW: blocksW as DirectBlockTiling['blocksW'] } : null;
}

/**
 * The stride-block direct program: one thread computes a stride block of dx, the sh x sw pixels whose
 * padded coordinates are (bh * sh + r, bw * sw + c), r < sh, c < sw (one pixel of each stride phase),
 * for `blocksW` neighbouring blocks along w. The tap (kh, kw) = (r + sh * jh, c + sw * jw) of pixel
 * (r, c) lands on dy[oh = bh - jh, ow = bw - jw] for every (r, c), so the block reads each of its
 * ceil(KH / sh) x ceil(KW / sw) dy pixels once, and each (dy pixel, tap) pair feeds exactly one of
 * its pixels: for DCGAN's k4 s2 layers, 4 dy pixels for 4 dx pixels, where one thread per pixel reads
 * 4 dy pixels for each. Neighbouring blocks along w share all but one dy column. KH, KW, sh, sw and
 * CI are compiled in (the loops unroll); dy and W are read as vec4 over co when CO % 4 == 0. Large
 * strides take fewer blocks per thread (fitStrideBlocks).
 */
export class InputGradBlockProgram implements WebGpuProgramLike {
  variableNames = ['dy', 'w'];
  variableComponents: number[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  uniforms = `threads : i32, blocksH : i32, groupsW : i32, ${GEOMETRY_UNIFORMS}`;
  private readonly vec: boolean;

  constructor(
    outputShape: number[],
    threads: number,
    private readonly g: { filterH: number; filterW: number; strideH: number; strideW: number; inC: number; outC: number },
    private readonly t: DirectBlockTiling,
    /** dy read through a LeakyReLU mask (a third input y, the uniform alpha; see DyMask). */
    private readonly masked = false,
  ) {
    this.outputShape = outputShape;
    this.vec = g.outC % 4 === 0;
    this.variableComponents = this.vec ? [4, 4] : [1, 1];
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    this.dispatch = flatDispatch([threads], 64);
    this.shaderKey = `ganAugmentInputGradBlock_${g.filterH}_${g.filterW}_${g.strideH}_${g.strideW}_${g.inC}_${this.vec ? 'v' : 's'}_${t.blocksW}`;
    if (masked) {
      this.variableNames = [...this.variableNames, 'y'];
      this.variableComponents = [...this.variableComponents, this.variableComponents[0]!];
      this.uniforms += ' alpha : f32,';
      this.shaderKey += '_mask';
    }
  }

  getUserCode(): string {
    const { filterH: KH, filterW: KW, strideH: SH, strideW: SW, inC: CI } = this.g;
    const BW = this.t.blocksW;
    const JH = Math.ceil(KH / SH);
    const JW = Math.ceil(KW / SW);
    const U = BW + JW - 1; // dy columns a thread reads: ow = bw0 + u - (JW - 1)
    const range = (n: number) => Array.from({ length: n }, (_, i) => i);
    const acc = (t: number, r: number, c: number) => `acc_${t}_${r}_${c}`;
    // The dy value at (jh, u) for this co step: a vec4 (vec) or one float (scalar path).
    const at = (jh: number, u: number) => `base_${jh}_${u} + c4`;
    const dyAt = (jh: number, u: number) =>
      !this.masked ? `dy[${at(jh, u)}]` : (this.vec ? leakyMaskWgsl4 : leakyMaskWgsl)(`dy[${at(jh, u)}]`, `y[${at(jh, u)}]`);
    const load = (jh: number, u: number) =>
      `let d_${jh}_${u} = select(${this.vec ? 'vec4<f32>(0.0)' : '0.0'}, ${dyAt(jh, u)}, ok_${jh}_${u});`;
    // W[kh, kw, ci, co4] for ci < CI, as the row index of the (vec4 or float) filter array.
    const wRow = (kh: number, kw: number, ci: number) => `${(kh * KW + kw) * CI + ci} * cSteps + c4`;
    const term = (jh: number, u: number, kh: number, kw: number) => {
      const lanes = range(4).map((ci) =>
        ci < CI ? (this.vec ? `dot(d_${jh}_${u}, w[${wRow(kh, kw, ci)}])` : `d_${jh}_${u} * w[${wRow(kh, kw, ci)}]`) : '0.0',
      );
      return `vec4<f32>(${lanes.join(', ')})`;
    };
    const updates: string[] = [];
    for (const jh of range(JH))
      for (const u of range(U)) {
        updates.push(load(jh, u));
        for (const t of range(BW)) {
          const jw = t + JW - 1 - u; // block t reads column u through tap column jw
          if (jw < 0 || jw >= JW) continue;
          for (const r of range(SH))
            for (const c of range(SW)) {
              const kh = r + SH * jh;
              const kw = c + SW * jw;
              if (kh >= KH || kw >= KW) continue;
              updates.push(`${acc(t, r, c)} = ${acc(t, r, c)} + ${term(jh, u, kh, kw)};`);
            }
        }
      }
    const setup: string[] = [];
    for (const jh of range(JH))
      for (const u of range(U))
        setup.push(`
      let oh_${jh}_${u} = bh - ${jh};
      let ow_${jh}_${u} = bw0 + ${u - (JW - 1)};
      let ok_${jh}_${u} = oh_${jh}_${u} >= 0 && oh_${jh}_${u} < uniforms.outH && ow_${jh}_${u} >= 0 && ow_${jh}_${u} < uniforms.outW;
      let base_${jh}_${u} = select(0, ((b * uniforms.outH + oh_${jh}_${u}) * uniforms.outW + ow_${jh}_${u}) * cSteps, ok_${jh}_${u});`);
    const stores: string[] = [];
    for (const t of range(BW))
      for (const r of range(SH))
        for (const c of range(SW))
          stores.push(`{
        let ih = bh * ${SH} + ${r} - uniforms.padTop;
        let iw = (bw0 + ${t}) * ${SW} + ${c} - uniforms.padLeft;
        if (ih >= 0 && ih < uniforms.inH && iw >= 0 && iw < uniforms.inW) {
          let o = ((b * uniforms.inH + ih) * uniforms.inW + iw) * ${CI};
          ${range(CI).map((ci) => `result[o + ${ci}] = ${acc(t, r, c)}[${ci}];`).join(' ')}
        }
      }`);
    return `
    fn main(index : i32) {
      if (index >= uniforms.threads) { return; }
      let gw = index % uniforms.groupsW;
      let rest = index / uniforms.groupsW;
      let bh = rest % uniforms.blocksH;
      let b = rest / uniforms.blocksH;
      let bw0 = gw * ${BW};
      let cSteps = ${this.vec ? 'uniforms.outC / 4' : 'uniforms.outC'};
      ${range(BW)
        .flatMap((t) => range(SH).flatMap((r) => range(SW).map((c) => `var ${acc(t, r, c)} = vec4<f32>(0.0);`)))
        .join('\n      ')}
      ${setup.join('')}
      for (var c4 = 0; c4 < cSteps; c4 = c4 + 1) {
        ${updates.join('\n        ')}
      }
      ${stores.join('\n      ')}
    }
    `;
  }
}

export interface InputGradAttrs extends ConvAttrs {
  inputShape: [number, number, number, number];
}

/** True when our kernel handles these inputs (else use tfjs's). */
export function supportsInputGrad(dy: TensorInfo, filter: TensorInfo, attrs: InputGradAttrs): boolean {
  return attrs.dataFormat !== 'NCHW' && allFloat32Rank4(dy, filter) && attrs.inputShape.length === 4;
}

/** The direct programs (dx with at most 4 channels): stride blocks where they fit, else one pixel per thread. */
function runDirectInputGrad(
  backend: WebGpuBackendLike,
  dy: TensorInfo,
  filter: TensorInfo,
  attrs: InputGradAttrs,
  conv: backend_util.Conv2DInfo,
  t: 'direct' | DirectBlockTiling,
  mask?: DyMask,
): TensorInfo | null {
  if (conv.inChannels > DIRECT_MAX_CHANNELS) return null;
  const uniforms = geometryUniforms(conv);
  const blocks = t === 'direct' ? null : fitStrideBlocks(t, conv.strideHeight, conv.strideWidth);
  // The one-pixel-per-thread program (strides over 4 x 4) reads no mask: the caller masks dy first.
  if (mask && !blocks) return null;
  if (blocks) {
    const plan = planDirectBlocks(conv, blocks);
    const g = {
      filterH: conv.filterHeight,
      filterW: conv.filterWidth,
      strideH: conv.strideHeight,
      strideW: conv.strideWidth,
      inC: conv.inChannels,
      outC: conv.outChannels,
    };
    const program = new InputGradBlockProgram([...attrs.inputShape], plan.threads, g, blocks, mask !== undefined);
    if (program.dispatch[1] > MAX_WORKGROUPS_PER_DIM) return null;
    return backend.runWebGPUProgram(program, withMask([dy, filter], mask), 'float32', [
      ...[plan.threads, plan.blocksH, plan.groupsW].map(i32Uniform),
      ...uniforms,
      ...maskUniforms(mask),
    ]);
  }
  const program = new InputGradDirectProgram([...attrs.inputShape]);
  if (program.dispatch[1] > MAX_WORKGROUPS_PER_DIM) return null;
  const pixels = conv.batchSize * conv.inHeight * conv.inWidth;
  return backend.runWebGPUProgram(program, [dy, filter], 'float32', [i32Uniform(pixels), i32Uniform(conv.inChannels), ...uniforms]);
}

/**
 * Runs our input gradient. Returns null when unsupported (the caller falls back). `tiling` is for
 * benchmarks and tests; the registered kernel runs a direct program (chooseDirectTiling) for dx with
 * at most 4 channels and the phase GEMM with chooseInputTiling(CI) otherwise. With `mask`, dy is
 * read through that LeakyReLU mask (the same bits as masking it first); null where the program
 * chosen cannot (the one-pixel direct program).
 */
export function runInputGrad(
  backend: WebGpuBackendLike,
  dy: TensorInfo,
  filter: TensorInfo,
  attrs: InputGradAttrs,
  tiling?: InputGradTiling | 'direct' | DirectBlockTiling,
  mask?: DyMask,
): TensorInfo | null {
  if (!supportsInputGrad(dy, filter, attrs) || !maskFits(dy.shape, mask)) return null;
  const conv = nhwcConvInfo(attrs.inputShape, filter.shape, attrs);
  if (!conv) return null;
  if (conv.outHeight !== dy.shape[1] || conv.outWidth !== dy.shape[2] || conv.outChannels !== dy.shape[3]) return null;
  const t = tiling ?? (conv.inChannels <= DIRECT_MAX_CHANNELS ? chooseDirectTiling() : chooseInputTiling(conv.inChannels, conv.outChannels));
  if (t === 'direct' || 'blocksW' in t) return runDirectInputGrad(backend, dy, filter, attrs, conv, t, mask);
  const geo = planInputGrad(conv, t);
  // WebGPU allows 65535 workgroups per dimension: larger grids (over 4M dx positions per phase at
  // tile 64) go to tfjs's kernel rather than fail validation.
  if (geo.tilesM > MAX_WORKGROUPS_PER_DIM || geo.tilesN > MAX_WORKGROUPS_PER_DIM) return null;
  const program = new InputGradGemmProgram([...attrs.inputShape], geo, t, mask !== undefined);
  return backend.runWebGPUProgram(program, withMask([dy, filter], mask), 'float32', [
    ...[conv.inChannels, geo.maxKhp, geo.maxKwp, conv.batchSize].map(i32Uniform),
    ...geometryUniforms(conv),
    ...maskUniforms(mask),
  ]);
}

/** The kernel function installed over tfjs's Conv2DBackpropInput by ./index (null: tfjs's runs). */
export const inputGradKernel: OurKernelRun = (args) => {
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  return runInputGrad(args.backend as unknown as WebGpuBackendLike, dy, filter, args.attrs as unknown as InputGradAttrs);
};
