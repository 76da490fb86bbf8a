/**
 * WGSL programs for batch normalisation's training pass (issue 5), used by
 * ../../models/batchnorm.ts on WebGPU.
 *
 * tfjs reduces over the batch and spatial axes of an NHWC tensor ([R, C] with R = N*H*W rows and
 * C = 64..512 channels) with one workgroup per output channel walking all R rows: at batch 256 and
 * 32x32 that is 64 workgroups each reading 262,144 values one after another, and the Sum and Mean
 * kernels of a DCGAN-64 step took 8.3 of its 53 ms of GPU time on the H200. Here:
 *   - ColumnPartialsProgram splits the rows into at most 64 parts; a 256-thread workgroup covers 16
 *     channels x 16 row lanes of one part (consecutive threads read consecutive channels of a row:
 *     64-byte runs, whole memory sectors), and writes one partial sum per channel and part;
 *   - ColumnFinishProgram adds the parts in a fixed order (deterministic, no atomics) and scales.
 * One pass computes sum(x); sum((x - m)^2); or, for the backward pass, sum(dy) and
 * sum(dy * (x - m)) together. The normalisation, the input gradient and the moving-average update are
 * one element-wise program each. The arithmetic of each value follows tfjs's FusedBatchNorm and
 * ../../models/batchnorm.ts's closed-form gradient.
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import { ElementwiseProgram, f32Uniform, i32Uniform, runProgram, type WebGpuProgramLike } from './common';

const COLS_PER_GROUP = 16;
const ROW_LANES = 16;
/** Most row parts per reduction (the finishing pass adds this many values per channel). */
const MAX_PARTS = 64;
/** Fewest rows per part (below this one part per 256 rows would leave threads idle). */
const MIN_ROWS_PER_PART = 256;

export type PartialsMode = 'sum' | 'sqdev' | 'dotdev';

/** Row split of an [R, C] reduction: parts and rows per part. */
export function rowParts(rows: number): { parts: number; rowsPerPart: number } {
  const parts = Math.max(1, Math.min(MAX_PARTS, Math.ceil(rows / MIN_ROWS_PER_PART)));
  return { parts, rowsPerPart: Math.ceil(rows / parts) };
}

class ColumnPartialsProgram implements WebGpuProgramLike {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [COLS_PER_GROUP * ROW_LANES, 1, 1];
  uniforms = 'rows : i32, cols : i32, rowsPerPart : i32,';
  private readonly mode: PartialsMode;

  constructor(mode: PartialsMode, cols: number, parts: number) {
    this.mode = mode;
    this.variableNames = mode === 'sum' ? ['x'] : mode === 'sqdev' ? ['x', 'm'] : ['dy', 'x', 'm'];
    const sums = mode === 'dotdev' ? 2 : 1;
    this.outputShape = [parts, sums * cols];
    this.dispatchLayout = { x: [0, 1] };
    this.dispatch = [Math.ceil(cols / COLS_PER_GROUP), parts, 1];
    this.shaderKey = `ganAugmentColumnPartials_${mode}`;
  }

  getUserCode(): string {
    const two = this.mode === 'dotdev';
    // One row's contribution to the thread's sums (v: x at (r, c); mc: m[c]).
    const add =
      this.mode === 'sum'
        ? 's0 = s0 + x[at];'
        : this.mode === 'sqdev'
          ? 'let d = x[at] - mc; s0 = s0 + d * d;'
          : 'let g = dy[at]; s0 = s0 + g; s1 = s1 + g * (x[at] - mc);';
    return `
    var<workgroup> ganColSum0 : array<f32, ${COLS_PER_GROUP * ROW_LANES}>;
    ${two ? `var<workgroup> ganColSum1 : array<f32, ${COLS_PER_GROUP * ROW_LANES}>;` : ''}

    fn main(unusedIndex : i32) {
      let tid = i32(localIndex);
      let lane = tid % ${COLS_PER_GROUP};
      let rowLane = tid / ${COLS_PER_GROUP};
      let c = i32(workgroupId.x) * ${COLS_PER_GROUP} + lane;
      let part = i32(workgroupId.y);
      let r0 = part * uniforms.rowsPerPart;
      let r1 = min(uniforms.rows, r0 + uniforms.rowsPerPart);
      var s0 = 0.0;
      var s1 = 0.0;
      if (c < uniforms.cols) {
        ${this.mode === 'sum' ? '' : 'let mc = m[c];'}
        for (var r = r0 + rowLane; r < r1; r = r + ${ROW_LANES}) {
          let at = r * uniforms.cols + c;
          ${add}
        }
      }
      ganColSum0[tid] = s0;
      ${two ? 'ganColSum1[tid] = s1;' : ''}
      workgroupBarrier();
      if (rowLane == 0 && c < uniforms.cols) {
        let out = part * ${two ? 2 : 1} * uniforms.cols + c;
        var t0 = 0.0;
        ${two ? 'var t1 = 0.0;' : ''}
        for (var k = 0; k < ${ROW_LANES}; k = k + 1) {
          t0 = t0 + ganColSum0[lane + k * ${COLS_PER_GROUP}];
          ${two ? `t1 = t1 + ganColSum1[lane + k * ${COLS_PER_GROUP}];` : ''}
        }
        result[out] = t0;
        ${two ? 'result[out + uniforms.cols] = t1;' : ''}
      }
    }
    `;
  }
}

/**
 * out[c] = (sum over parts of partials[p, offset + c]) / divisor, times inverseSqrt(v[c] + eps) when
 * `byRstd` (dgamma = sum(dy * (x - m)) * rstd).
 */
class ColumnFinishProgram implements WebGpuProgramLike {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  uniforms = 'parts : i32, stride : i32, offset : i32, divisor : f32, eps : f32,';
  size = true;
  private readonly byRstd: boolean;

  constructor(cols: number, byRstd: boolean) {
    this.byRstd = byRstd;
    this.variableNames = byRstd ? ['partials', 'v'] : ['partials'];
    this.outputShape = [cols];
    this.dispatchLayout = { x: [0] };
    this.dispatch = [Math.ceil(cols / 64), 1, 1];
    this.shaderKey = `ganAugmentColumnFinish_${byRstd}`;
  }

  getUserCode(): string {
    return `
    fn main(index : i32) {
      if (index < uniforms.size) {
        var s = 0.0;
        for (var p = 0; p < uniforms.parts; p = p + 1) {
          s = s + partials[p * uniforms.stride + uniforms.offset + index];
        }
        ${this.byRstd ? 'result[index] = (s / uniforms.divisor) * inverseSqrt(v[index] + uniforms.eps);' : 'result[index] = s / uniforms.divisor;'}
      }
    }
    `;
  }
}

const f32 = f32Uniform;
const i32 = i32Uniform;
const run = runProgram;

/**
 * Per-channel reductions of x viewed as [R, C] (C = its last axis): 'sum' -> [sum x / divisor];
 * 'sqdev' -> [sum (x - m)^2 / divisor]; 'dotdev' -> [sum dy / divisor, sum(dy * (x - m)) / divisor *
 * inverseSqrt(v + eps)] (with `v` and `eps` given). The caller owns the returned tensors.
 */
export function columnSums(
  mode: PartialsMode,
  inputs: { x: Tensor; m?: Tensor; dy?: Tensor; v?: Tensor; eps?: number },
  divisor: number,
): Tensor[] {
  const cols = inputs.x.shape[inputs.x.rank - 1]!;
  const rows = inputs.x.size / cols;
  const { parts, rowsPerPart } = rowParts(rows);
  const partsInputs = mode === 'sum' ? [inputs.x] : mode === 'sqdev' ? [inputs.x, inputs.m!] : [inputs.dy!, inputs.x, inputs.m!];
  const partials = run(new ColumnPartialsProgram(mode, cols, parts), partsInputs, [i32(rows), i32(cols), i32(rowsPerPart)]);
  const stride = mode === 'dotdev' ? 2 * cols : cols;
  const finish = (offset: number, byRstd: boolean) =>
    run(new ColumnFinishProgram(cols, byRstd), byRstd ? [partials, inputs.v!] : [partials], [
      i32(parts),
      i32(stride),
      i32(offset),
      f32(divisor),
      f32(inputs.eps ?? 0),
    ]);
  const out = mode === 'dotdev' ? [finish(0, false), finish(cols, true)] : [finish(0, false)];
  partials.dispose();
  return out;
}

/** (x - m) * inverseSqrt(v + eps) * gamma + beta over the last axis. */
export function batchNormForward(x: Tensor, m: Tensor, v: Tensor, gamma: Tensor, beta: Tensor, eps: number): Tensor {
  // tfjs's FusedBatchNorm order.
  const program = new ElementwiseProgram(
    'ganAugmentBatchNormForward',
    ['x', 'm', 'v', 'gamma', 'beta'],
    x.shape,
    `let c = index % uniforms.cols;
        result[index] = (x[index] - m[c]) * inverseSqrt(v[c] + uniforms.eps) * gamma[c] + beta[c];`,
    'cols : i32, eps : f32,',
  );
  return run(program, [x, m, v, gamma, beta], [i32(x.shape[x.rank - 1]!), f32(eps)]);
}

/**
 * The closed-form input gradient of batch norm: with r = inverseSqrt(v + eps), xhat = (x - m) * r,
 * dx = ((dy - dbeta / n) - xhat * (dgamma / n)) * (gamma * r).
 */
export function batchNormDx(
  dy: Tensor,
  x: Tensor,
  m: Tensor,
  v: Tensor,
  gamma: Tensor,
  dbeta: Tensor,
  dgamma: Tensor,
  n: number,
  eps: number,
): Tensor {
  const program = new ElementwiseProgram(
    'ganAugmentBatchNormDx',
    ['dy', 'x', 'm', 'v', 'gamma', 'dbeta', 'dgamma'],
    x.shape,
    `let c = index % uniforms.cols;
        let r = inverseSqrt(v[c] + uniforms.eps);
        let xhat = (x[index] - m[c]) * r;
        result[index] = ((dy[index] - dbeta[c] / uniforms.n) - xhat * (dgamma[c] / uniforms.n)) * (gamma[c] * r);`,
    'cols : i32, n : f32, eps : f32,',
  );
  return run(program, [dy, x, m, v, gamma, dbeta, dgamma], [i32(x.shape[x.rank - 1]!), f32(n), f32(eps)]);
}

/** tfjs-layers' moving-average update, element-wise: value - (value - batch) * decay. */
export function movingAverage(value: Tensor, batch: Tensor, decay: number): Tensor {
  const program = new ElementwiseProgram(
    'ganAugmentMovingAverage',
    ['current', 'batch'],
    value.shape,
    'result[index] = current[index] - (current[index] - batch[index]) * uniforms.decay;',
    'decay : f32,',
    64,
  );
  return run(program, [value, batch], [f32(decay)]);
}

/**
 * Batch normalisation's training pass, as ../../models/batchnorm.ts uses it: one implementation per
 * backend (these WGSL programs; ../wasm/batchnorm.ts on WebAssembly), over x viewed as [R, C] with C
 * its last axis and per-channel vectors of C. The caller owns every returned tensor.
 */
export interface BatchNormOps {
  /** The batch mean and biased variance per channel. */
  moments(x: Tensor): [Tensor, Tensor];
  /** (x - m) * inverseSqrt(v + eps) * gamma + beta. */
  normalize(x: Tensor, m: Tensor, v: Tensor, gamma: Tensor, beta: Tensor, eps: number): Tensor;
  /** [dbeta, dgamma] = [sum(dy), sum(dy * (x - m)) * inverseSqrt(v + eps)]. */
  backwardSums(dy: Tensor, x: Tensor, m: Tensor, v: Tensor, eps: number): [Tensor, Tensor];
  /** The closed-form input gradient (`batchNormDx`); n = R. */
  inputGrad(dy: Tensor, x: Tensor, m: Tensor, v: Tensor, gamma: Tensor, dbeta: Tensor, dgamma: Tensor, n: number, eps: number): Tensor;
  /** value - (value - batch) * decay (tfjs-layers' moving average). */
  movingAverage(value: Tensor, batch: Tensor, decay: number): Tensor;
}

/** The WGSL programs above as BatchNormOps. */
export const webgpuBatchNorm: BatchNormOps = {
  moments(x) {
    const rows = x.size / x.shape[x.rank - 1]!;
    const [m] = columnSums('sum', { x }, rows) as [Tensor];
    const [v] = columnSums('sqdev', { x, m }, rows) as [Tensor];
    return [m, v];
  },
  normalize: batchNormForward,
  backwardSums: (dy, x, m, v, eps) => columnSums('dotdev', { dy, x, m, v, eps }, 1) as [Tensor, Tensor],
  inputGrad: batchNormDx,
  movingAverage,
};
