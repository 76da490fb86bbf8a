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
 * The forward pass takes both statistics in one pass of partials: each part's sum and its sum of
 * squared deviations from its own mean (its rows read twice, as the two passes before did), combined
 * by the finishing pass as Chan, Golub and LeVeque's parallel variance into one [2, C] tensor of
 * mean and biased variance ("stats", which every later program reads). So the moments take two
 * dispatches, not the four of a sum and then a squared deviation from the finished mean. The backward
 * pass takes sum(dy) and sum(dy * (x - m)) together. The normalisation, the input gradient and each
 * moving-average update are one element-wise program each. The arithmetic of each value follows
 * tfjs's FusedBatchNorm and ../../models/batchnorm.ts's closed-form gradient.
 */
import { engine, type Tensor } from '@tensorflow/tfjs-core';
import { ElementwiseProgram, f32Uniform, i32Uniform, runProgram, type WebGpuProgramLike } from './common';
import { InPlaceProgram, type InPlaceBackendInternals, inPlaceRequested } from './in-place';
import { leakyMaskWgsl, stepMaskWgsl } from './leaky-relu-grad';

const COLS_PER_GROUP = 16;
const ROW_LANES = 16;
/** Most row parts per reduction (the finishing pass adds this many values per channel). */
const MAX_PARTS = 64;
/** Fewest rows per part (below this one part per 256 rows would leave threads idle). */
const MIN_ROWS_PER_PART = 256;

/**
 * Per part and channel, 'sum': sum(x) (./leading-sum.ts); 'moments': sum(x) and the sum of squared
 * deviations from the part's own mean; 'dotdev': sum(dy) and sum(dy * (x - m)), m read from row 0 of
 * the stats.
 */
export type PartialsMode = 'sum' | 'moments' | 'dotdev';

/**
 * An activation applied to batch norm's output in the same programs (a batch-norm layer followed by
 * ReLU or LeakyReLU, ../../models/batchnorm.ts): forward, y = act(bn(x)) as tfjs-backend-webgpu's
 * RELU / LEAKYRELU write it; backward, dy masked as our ReLU and LeakyReLU gradient programs do
 * (./leaky-relu-grad.ts), the mask read from y, the activation's output, instead of its input:
 * y > 0 exactly where the input is (alpha > 0 for LeakyReLU), and y is NaN exactly where it is. The
 * same bits as the separate programs, one dispatch fewer each way and no pre-activation tensor.
 */
export type BnActivation = { kind: 'relu' } | { kind: 'leakyRelu'; alpha: number };

/** Whether `act` can be fused (LeakyReLU's mask is read from y only for alpha > 0). */
export function fusableActivation(act: BnActivation): boolean {
  return act.kind === 'relu' || act.alpha > 0;
}

/** WGSL: `v` (a var) replaced by act(v); LeakyReLU reads uniforms.alpha. */
function activateSnippet(act: BnActivation, v: string): string {
  return act.kind === 'relu' ? `${v} = select(${v}, 0.0, ${v} < 0.0);` : `if (${v} < 0.0) { ${v} = uniforms.alpha * ${v}; }`;
}

/** WGSL expression: the gradient d masked by the activation's output yv, as our ReLU and LeakyReLU gradient programs mask it. */
function maskSnippet(act: BnActivation, d: string, yv: string): string {
  return act.kind === 'relu' ? stepMaskWgsl(d, yv, '0.0') : leakyMaskWgsl(d, yv);
}

function activationKey(act: BnActivation | null): string {
  return act ? `_${act.kind}` : '';
}

/** Row split of an [R, C] reduction: parts and rows per part. */
export function rowParts(rows: number): { parts: number; rowsPerPart: number } {
  const parts = Math.max(1, Math.min(MAX_PARTS, Math.ceil(rows / MIN_ROWS_PER_PART)));
  return { parts, rowsPerPart: Math.ceil(rows / parts) };
}

/** Partial column sums of x viewed as [R, C]: [parts, C] ('sum') or [parts, 2 * C] (see PartialsMode). */
export class ColumnPartialsProgram implements WebGpuProgramLike {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [COLS_PER_GROUP * ROW_LANES, 1, 1];
  uniforms = 'rows : i32, cols : i32, rowsPerPart : i32,';
  private readonly mode: PartialsMode;

  /**
   * 'dotdev': dy masked by this activation, whose output y is a fourth input. 'sum': x masked by it
   * (x is then a gradient: a bias gradient through a LeakyReLU, ../gradients.ts), y a second input.
   */
  private readonly act: BnActivation | null;

  constructor(mode: PartialsMode, cols: number, parts: number, act: BnActivation | null = null) {
    this.mode = mode;
    this.act = mode === 'moments' ? null : act;
    const masked = this.act ? ['y'] : [];
    this.variableNames = mode === 'dotdev' ? ['dy', 'x', 'm', ...masked] : ['x', ...(mode === 'sum' ? masked : [])];
    if (this.act?.kind === 'leakyRelu') this.uniforms += ' alpha : f32,';
    this.outputShape = [parts, (mode === 'sum' ? 1 : 2) * cols];
    this.dispatchLayout = { x: [0, 1] };
    this.dispatch = [Math.ceil(cols / COLS_PER_GROUP), parts, 1];
    this.shaderKey = `ganAugmentColumnPartials_${mode}${activationKey(this.act)}`;
  }

  getUserCode(): string {
    // One row's contribution to the thread's sums (x at (r, c); mc: m[c]).
    const g = this.act ? maskSnippet(this.act, 'dy[at]', 'y[at]') : 'dy[at]';
    const xv = this.act && this.mode === 'sum' ? maskSnippet(this.act, 'x[at]', 'y[at]') : 'x[at]';
    const add = this.mode === 'dotdev' ? `let g = ${g}; s0 = s0 + g; s1 = s1 + g * (x[at] - mc);` : `s0 = s0 + ${xv};`;
    const width = this.mode === 'sum' ? 1 : 2;
    const rowLoop = (body: string) => `
      if (c < uniforms.cols) {
        ${this.mode === 'dotdev' ? 'let mc = m[c];' : ''}
        for (var r = r0 + rowLane; r < r1; r = r + ${ROW_LANES}) {
          let at = r * uniforms.cols + c;
          ${body}
        }
      }`;
    // 'moments': every thread adds up its column's part sum, then sums squared deviations from the
    // part's mean in a second pass over the same rows.
    const secondPass =
      this.mode === 'moments'
        ? `
      ganColSum0[tid] = s0;
      workgroupBarrier();
      var partSum = 0.0;
      for (var k = 0; k < ${ROW_LANES}; k = k + 1) {
        partSum = partSum + ganColSum0[lane + k * ${COLS_PER_GROUP}];
      }
      let partMean = partSum / f32(max(r1 - r0, 1));
      ${rowLoop('let d = x[at] - partMean; s1 = s1 + d * d;')}
      workgroupBarrier();`
        : '';
    return `
    var<workgroup> ganColSum0 : array<f32, ${COLS_PER_GROUP * ROW_LANES}>;
    var<workgroup> ganColSum1 : array<f32, ${COLS_PER_GROUP * ROW_LANES}>;

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
      ${rowLoop(add)}
      ${secondPass}
      ganColSum0[tid] = s0;
      ganColSum1[tid] = s1;
      workgroupBarrier();
      if (rowLane == 0 && c < uniforms.cols) {
        let out = part * ${width} * uniforms.cols + c;
        var t0 = 0.0;
        var t1 = 0.0;
        for (var k = 0; k < ${ROW_LANES}; k = k + 1) {
          t0 = t0 + ganColSum0[lane + k * ${COLS_PER_GROUP}];
          t1 = t1 + ganColSum1[lane + k * ${COLS_PER_GROUP}];
        }
        result[out] = t0;
        ${width === 2 ? 'result[out + uniforms.cols] = t1;' : ''}
      }
    }
    `;
  }
}

/**
 * Partials finished: out[c] = (sum over parts of partials[p, offset + c]) / divisor, times
 * inverseSqrt(stats[C + c] + eps) when `byRstd` (dgamma = sum(dy * (x - m)) * rstd).
 */
export class ColumnFinishProgram implements WebGpuProgramLike {
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
    this.variableNames = byRstd ? ['partials', 'stats'] : ['partials'];
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
        ${this.byRstd ? 'result[index] = (s / uniforms.divisor) * inverseSqrt(stats[uniforms.size + index] + uniforms.eps);' : 'result[index] = s / uniforms.divisor;'}
      }
    }
    `;
  }
}

/**
 * The moments partials finished into stats [2, C]: row 0 the mean sum(x) / R, row 1 the biased
 * variance, the parts' squared deviations combined as Chan et al.: M2 = sum_p M2_p + n_p (mean_p -
 * mean)^2, both sums over the parts in order.
 */
class MomentsFinishProgram implements WebGpuProgramLike {
  variableNames = ['partials'];
  outputShape: number[];
  shaderKey = 'ganAugmentMomentsFinish';
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  uniforms = 'parts : i32, cols : i32, rows : i32, rowsPerPart : i32,';

  constructor(cols: number) {
    this.outputShape = [2, cols];
    this.dispatchLayout = { x: [0, 1] };
    this.dispatch = [Math.ceil(cols / 64), 1, 1];
  }

  getUserCode(): string {
    return `
    fn main(index : i32) {
      let c = index;
      if (c < uniforms.cols) {
        let stride = 2 * uniforms.cols;
        var s = 0.0;
        for (var p = 0; p < uniforms.parts; p = p + 1) {
          s = s + partials[p * stride + c];
        }
        let mean = s / f32(uniforms.rows);
        var m2 = 0.0;
        for (var p = 0; p < uniforms.parts; p = p + 1) {
          let n = f32(min(uniforms.rows, (p + 1) * uniforms.rowsPerPart) - p * uniforms.rowsPerPart);
          let d = partials[p * stride + c] / n - mean;
          m2 = m2 + (partials[p * stride + uniforms.cols + c] + n * d * d);
        }
        result[c] = mean;
        result[uniforms.cols + c] = m2 / f32(uniforms.rows);
      }
    }
    `;
  }
}

const f32 = f32Uniform;
const i32 = i32Uniform;
const run = runProgram;

function partialsOf(
  mode: PartialsMode,
  x: Tensor,
  inputs: Tensor[],
  act: BnActivation | null = null,
): { partials: Tensor; rows: number; cols: number; parts: number; rowsPerPart: number } {
  const cols = x.shape[x.rank - 1]!;
  const rows = x.size / cols;
  const { parts, rowsPerPart } = rowParts(rows);
  const uniforms = [i32(rows), i32(cols), i32(rowsPerPart), ...(act?.kind === 'leakyRelu' ? [f32(act.alpha)] : [])];
  const partials = run(new ColumnPartialsProgram(mode, cols, parts, act), inputs, uniforms);
  return { partials, rows, cols, parts, rowsPerPart };
}

/**
 * The batch statistics of x viewed as [R, C] (C = its last axis) in two dispatches: stats [2, C], the
 * mean and the biased variance per channel. The caller owns it.
 */
export function batchMoments(x: Tensor): Tensor {
  const { partials, rows, cols, parts, rowsPerPart } = partialsOf('moments', x, [x]);
  const stats = run(new MomentsFinishProgram(cols), [partials], [i32(parts), i32(cols), i32(rows), i32(rowsPerPart)]);
  partials.dispose();
  return stats;
}

/**
 * Batch norm's backward sums over x and dy viewed as [R, C]: [dbeta, dgamma] = [sum(dy),
 * sum(dy * (x - m)) * inverseSqrt(v + eps)], m and v from stats [2, C]. With an activation, dy is the
 * gradient of its output y (which `fused` gives) and is masked first. The caller owns both.
 */
export function batchNormBackwardSums(dy: Tensor, x: Tensor, stats: Tensor, eps: number, fused?: { act: BnActivation; y: Tensor }): [Tensor, Tensor] {
  const act = fused?.act ?? null;
  const { partials, cols, parts } = partialsOf('dotdev', x, fused ? [dy, x, stats, fused.y] : [dy, x, stats], act);
  const finish = (offset: number, byRstd: boolean) =>
    run(new ColumnFinishProgram(cols, byRstd), byRstd ? [partials, stats] : [partials], [
      i32(parts),
      i32(2 * cols),
      i32(offset),
      f32(1),
      f32(eps),
    ]);
  const out: [Tensor, Tensor] = [finish(0, false), finish(cols, true)];
  partials.dispose();
  return out;
}

/**
 * (x - m) * inverseSqrt(v + eps) * gamma + beta over the last axis, m and v from stats [2, C]; then
 * `act` where given.
 */
export function batchNormForward(x: Tensor, stats: Tensor, gamma: Tensor, beta: Tensor, eps: number, act: BnActivation | null = null): Tensor {
  // tfjs's FusedBatchNorm order.
  const program = new ElementwiseProgram(
    `ganAugmentBatchNormForward${activationKey(act)}`,
    ['x', 'stats', 'gamma', 'beta'],
    x.shape,
    `let c = index % uniforms.cols;
        var v = (x[index] - stats[c]) * inverseSqrt(stats[uniforms.cols + c] + uniforms.eps) * gamma[c] + beta[c];
        ${act ? activateSnippet(act, 'v') : ''}
        result[index] = v;`,
    `cols : i32, eps : f32,${act?.kind === 'leakyRelu' ? ' alpha : f32,' : ''}`,
  );
  const uniforms = [i32(x.shape[x.rank - 1]!), f32(eps), ...(act?.kind === 'leakyRelu' ? [f32(act.alpha)] : [])];
  return run(program, [x, stats, gamma, beta], uniforms);
}

/**
 * The closed-form input gradient of batch norm: with r = inverseSqrt(v + eps), xhat = (x - m) * r,
 * dx = ((dy - dbeta / n) - xhat * (dgamma / n)) * (gamma * r); m and v from stats [2, C]. With an
 * activation, dy is the gradient of its output y (which `fused` gives) and is masked first.
 */
export function batchNormDx(
  dy: Tensor,
  x: Tensor,
  stats: Tensor,
  gamma: Tensor,
  dbeta: Tensor,
  dgamma: Tensor,
  n: number,
  eps: number,
  fused?: { act: BnActivation; y: Tensor },
): Tensor {
  const act = fused?.act ?? null;
  const d = act ? maskSnippet(act, 'dy[index]', 'y[index]') : 'dy[index]';
  const program = new ElementwiseProgram(
    `ganAugmentBatchNormDx${activationKey(act)}`,
    ['dy', 'x', 'stats', 'gamma', 'dbeta', 'dgamma', ...(act ? ['y'] : [])],
    x.shape,
    `let c = index % uniforms.cols;
        let r = inverseSqrt(stats[uniforms.cols + c] + uniforms.eps);
        let xhat = (x[index] - stats[c]) * r;
        let d = ${d};
        result[index] = ((d - dbeta[c] / uniforms.n) - xhat * (dgamma[c] / uniforms.n)) * (gamma[c] * r);`,
    `cols : i32, n : f32, eps : f32,${act?.kind === 'leakyRelu' ? ' alpha : f32,' : ''}`,
  );
  const uniforms = [i32(x.shape[x.rank - 1]!), f32(n), f32(eps), ...(act?.kind === 'leakyRelu' ? [f32(act.alpha)] : [])];
  return run(program, fused ? [dy, x, stats, gamma, dbeta, dgamma, fused.y] : [dy, x, stats, gamma, dbeta, dgamma], uniforms);
}

/**
 * tfjs-layers' moving-average update, element-wise: value - (value - batch) * decay, with batch the
 * values of `batch` from `offset` on (a row of the stats).
 */
export function movingAverage(value: Tensor, batch: Tensor, decay: number, offset = 0): Tensor {
  const program = new ElementwiseProgram(
    'ganAugmentMovingAverage',
    ['current', 'batch'],
    value.shape,
    'result[index] = current[index] - (current[index] - batch[uniforms.offset + index]) * uniforms.decay;',
    'decay : f32, offset : i32,',
    64,
  );
  return run(program, [value, batch], [f32(decay), i32(offset)]);
}

/** Both moving averages of a layer, rewritten where they lie: the arithmetic of `movingAverage`. */
const MOVING_AVERAGES_SHADER = `
struct Constants { decay : f32, cols : u32, unused0 : u32, unused1 : u32 };
@group(0) @binding(0) var<storage, read_write> movingMean : array<f32>;
@group(0) @binding(1) var<storage, read_write> movingVariance : array<f32>;
@group(0) @binding(2) var<storage, read> stats : array<f32>;
@group(0) @binding(3) var<uniform> k : Constants;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id : vec3<u32>) {
  let c = id.x;
  if (c < k.cols) {
    movingMean[c] = movingMean[c] - (movingMean[c] - stats[c]) * k.decay;
    movingVariance[c] = movingVariance[c] - (movingVariance[c] - stats[k.cols + c]) * k.decay;
  }
}
`;

/** One in-place updater per backend (a replaced backend gets its own); released by `releaseMovingAverageUpdaters`. */
let movingAverageUpdater: InPlaceProgram | null = null;

/**
 * Both moving averages updated in place from stats [2, C] in one dispatch (./in-place.ts says when
 * that is allowed); false, with nothing done, where it is not (the caller then runs `movingAverage`
 * twice).
 */
export function movingAveragesInPlace(movingMean: Tensor, movingVariance: Tensor, stats: Tensor, decay: number): boolean {
  const cols = movingMean.size;
  if (movingVariance.size !== cols || stats.size !== 2 * cols) return false;
  const backend = engine().backend as unknown as InPlaceBackendInternals;
  if (movingAverageUpdater && movingAverageUpdater.backend !== backend) releaseMovingAverageUpdaters();
  movingAverageUpdater ??= new InPlaceProgram(backend, MOVING_AVERAGES_SHADER, 'batch norm moving averages');
  const bytes = new ArrayBuffer(16);
  new Float32Array(bytes, 0, 1)[0] = decay;
  new Uint32Array(bytes, 4, 1)[0] = cols;
  return movingAverageUpdater.run([movingMean, movingVariance], [stats], bytes, Math.ceil(cols / 64));
}

/** Releases the moving averages' in-place pipeline and buffers (a finished trainer's; `releaseKernelCaches`). */
export function releaseMovingAverageUpdaters(): void {
  movingAverageUpdater?.dispose();
  movingAverageUpdater = null;
}

/** How many moving-average updates were in place and how many declined (tests, benchmarks). */
export function movingAverageInPlaceStats(): { inPlace: number; declined: number } {
  return { ...(movingAverageUpdater?.stats ?? { inPlace: 0, declined: 0 }) };
}

/**
 * Batch normalisation's training pass, as ../../models/batchnorm.ts uses it: one implementation per
 * backend (these WGSL programs; ../wasm/batchnorm.ts on WebAssembly), over x viewed as [R, C] with C
 * its last axis and per-channel vectors of C. `Stats` are the batch mean and biased variance in the
 * backend's own form: here one [2, C] tensor (one program writes both), on WebAssembly a mean and a
 * variance tensor. The caller owns every returned tensor.
 */
export interface BatchNormOps<Stats extends Tensor[] = Tensor[]> {
  /** The batch mean and biased variance per channel. */
  moments(x: Tensor): Stats;
  /** (x - m) * inverseSqrt(v + eps) * gamma + beta. */
  normalize(x: Tensor, stats: Stats, gamma: Tensor, beta: Tensor, eps: number): Tensor;
  /** [dbeta, dgamma] = [sum(dy), sum(dy * (x - m)) * inverseSqrt(v + eps)]. */
  backwardSums(dy: Tensor, x: Tensor, stats: Stats, eps: number): [Tensor, Tensor];
  /** The closed-form input gradient (`batchNormDx`); n = R. */
  inputGrad(dy: Tensor, x: Tensor, stats: Stats, gamma: Tensor, dbeta: Tensor, dgamma: Tensor, n: number, eps: number): Tensor;
  /** value - (value - batch) * decay (tfjs-layers' moving average), batch the stats' mean or variance. */
  movingAverage(value: Tensor, stats: Stats, which: 'mean' | 'variance', decay: number): Tensor;
  /** Where a backend can: both moving averages rewritten in place, or false (nothing done). */
  movingAveragesInPlace?(movingMean: Tensor, movingVariance: Tensor, stats: Stats, decay: number): boolean;
  /**
   * Where a backend can: a ReLU or LeakyReLU fused into the passes (`BnActivation`), y = act(bn(x))
   * forward, and backward dy the gradient of y, masked by y (its `y` argument) before the sums and dx.
   */
  withActivation?: {
    normalize(x: Tensor, stats: Stats, gamma: Tensor, beta: Tensor, eps: number, act: BnActivation): Tensor;
    backwardSums(dy: Tensor, x: Tensor, stats: Stats, eps: number, act: BnActivation, y: Tensor): [Tensor, Tensor];
    inputGrad(dy: Tensor, x: Tensor, stats: Stats, gamma: Tensor, dbeta: Tensor, dgamma: Tensor, n: number, eps: number, act: BnActivation, y: Tensor): Tensor;
  };
}

/** The WGSL programs above as BatchNormOps: stats is [one [2, C] tensor]. */
export const webgpuBatchNorm: BatchNormOps<[Tensor]> = {
  moments: (x) => [batchMoments(x)],
  normalize: (x, [stats], gamma, beta, eps) => batchNormForward(x, stats, gamma, beta, eps),
  backwardSums: (dy, x, [stats], eps) => batchNormBackwardSums(dy, x, stats, eps),
  inputGrad: (dy, x, [stats], gamma, dbeta, dgamma, n, eps) => batchNormDx(dy, x, stats, gamma, dbeta, dgamma, n, eps),
  movingAverage: (value, [stats], which, decay) => movingAverage(value, stats, decay, which === 'mean' ? 0 : value.size),
  movingAveragesInPlace: (movingMean, movingVariance, [stats], decay) =>
    inPlaceRequested() && movingAveragesInPlace(movingMean, movingVariance, stats, decay),
  withActivation: {
    normalize: (x, [stats], gamma, beta, eps, act) => batchNormForward(x, stats, gamma, beta, eps, act),
    backwardSums: (dy, x, [stats], eps, act, y) => batchNormBackwardSums(dy, x, stats, eps, { act, y }),
    inputGrad: (dy, x, [stats], gamma, dbeta, dgamma, n, eps, act, y) => batchNormDx(dy, x, stats, gamma, dbeta, dgamma, n, eps, { act, y }),
  },
};
