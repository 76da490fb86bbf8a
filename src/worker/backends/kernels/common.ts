/**
 * What our WGSL convolution kernels (issue 5) share: the structural types of the tfjs-backend-webgpu
 * pieces we use, the environment flag, installing / restoring a kernel over tfjs's, and the WGSL
 * snippets of the register-blocked GEMM core (workgroup tiles, rank-1 updates).
 *
 * The GEMM core: a workgroup computes a TM x TN output tile with (TM/4) x (TN/4) threads, each a 4 x 4
 * block in 4 vec4 accumulators. Per K step the workgroup stages TK rows of A (as vec4 over m) and B
 * (vec4 over n) in workgroup memory; each thread then does TK rank-1 updates of its block.
 */
import { backend_util, engine, getKernel, registerKernel, unregisterKernel, util } from '@tensorflow/tfjs-core';
import type { DataType, KernelConfig, KernelFunc, Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import { switchOn } from '../switches';

/* ---------------------------------------------------------------------------------------------
 * The bits of tfjs-backend-webgpu we use, typed structurally (its .d.ts pulls in @webgpu/types).
 * ------------------------------------------------------------------------------------------- */

/** tfjs-backend-webgpu's WebGPUProgram interface (webgpu_program.d.ts), the fields we set. */
export interface WebGpuProgramLike {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms?: string;
  size?: boolean;
  getUserCode: () => string;
}

export type ProgramUniform = Array<{ type: string; data: number[] }>;

/** The WebGPUBackend methods we call. */
export interface WebGpuBackendLike {
  runWebGPUProgram(
    program: WebGpuProgramLike,
    inputs: TensorInfo[],
    outputDtype: DataType,
    programDefinedUniform?: ProgramUniform,
  ): TensorInfo;
  disposeData(dataId: unknown, force?: boolean): boolean;
}

/** A 1-D grid (2-D past 32768 workgroups: WebGPU allows 65535 per dimension) of `group`-thread workgroups covering `shape`. */
export function flatDispatch(shape: readonly number[], group: number): [number, number, number] {
  const groups = Math.ceil(shape.reduce((a, b) => a * b, 1) / group);
  const x = Math.min(groups, 32768);
  return [x, Math.ceil(groups / x), 1];
}

/**
 * One thread per output element: `body` (WGSL) sets result[index] from the inputs (by their
 * variableNames) and `uniforms.*`; index < uniforms.size is checked. `key` names the program in
 * tfjs's pipeline cache, so it must differ between bodies.
 */
export class ElementwiseProgram implements WebGpuProgramLike {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  size = true;

  constructor(
    key: string,
    readonly variableNames: string[],
    shape: number[],
    private readonly body: string,
    readonly uniforms = '',
    group = 256,
  ) {
    this.shaderKey = key;
    this.outputShape = shape;
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    this.workgroupSize = [group, 1, 1];
    this.dispatch = flatDispatch(shape, group);
  }

  getUserCode(): string {
    return `
    fn main(index : i32) {
      if (index < uniforms.size) {
        ${this.body}
      }
    }
    `;
  }
}

/** One int32 uniform. */
export const i32Uniform = (v: number): { type: string; data: number[] } => ({ type: 'int32', data: [v] });

/** One float32 uniform. */
export const f32Uniform = (v: number): { type: string; data: number[] } => ({ type: 'float32', data: [v] });

/** Runs one of our programs on `backend` (WebGPU): its float32 result as a TensorInfo (what a kernel function returns). */
export function runProgramInfo(backend: unknown, program: WebGpuProgramLike, inputs: TensorInfo[], uniforms: ProgramUniform = []): TensorInfo {
  return (backend as WebGpuBackendLike).runWebGPUProgram(program, inputs, 'float32', uniforms);
}

/** Runs one of our programs on the current (WebGPU) backend; the caller owns the float32 result. */
export function runProgram(program: WebGpuProgramLike, inputs: TensorInfo[], uniforms: ProgramUniform = []): Tensor {
  return engine().makeTensorFromTensorInfo(runProgramInfo(engine().backend, program, inputs, uniforms));
}

/** Threads of `PerSampleSumProgram`'s workgroup. */
const PER_SAMPLE_THREADS = 64;

/**
 * A sum per sample -> [B]: one workgroup per sample, each of its 64 threads adding every 64th term,
 * then thread 0 adding the 64 partial sums in order (deterministic) and writing `finish` (a WGSL
 * expression of that sum `t` and `sample`). `term` is the body of
 * `fn ganSampleTerm(sample : i32, i : i32) -> f32`, the i-th of uniforms.perSample terms of a sample;
 * `uniforms` must declare `perSample : i32`.
 */
export class PerSampleSumProgram extends ElementwiseProgram {
  constructor(
    key: string,
    variableNames: string[],
    outputShape: number[],
    private readonly term: string,
    uniforms: string,
    private readonly finish = 't',
  ) {
    super(key, variableNames, outputShape, '', uniforms, PER_SAMPLE_THREADS);
    this.size = false;
    this.dispatch = [outputShape[0]!, 1, 1];
  }

  override getUserCode(): string {
    return `
    var<workgroup> ganSampleSums : array<f32, ${PER_SAMPLE_THREADS}>;

    fn ganSampleTerm(sample : i32, i : i32) -> f32 {
      ${this.term}
    }

    fn main(unusedIndex : i32) {
      let tid = i32(localIndex);
      let sample = i32(workgroupId.x);
      var s = 0.0;
      for (var i = tid; i < uniforms.perSample; i = i + ${PER_SAMPLE_THREADS}) {
        s = s + ganSampleTerm(sample, i);
      }
      ganSampleSums[tid] = s;
      workgroupBarrier();
      if (tid == 0) {
        var t = 0.0;
        for (var k = 0; k < ${PER_SAMPLE_THREADS}; k = k + 1) { t = t + ganSampleSums[k]; }
        result[sample] = ${this.finish};
      }
    }
    `;
  }
}

/* ---------------------------------------------------------------------------------------------
 * The environment flag.
 * ------------------------------------------------------------------------------------------- */

/**
 * GAN_AUGMENT_WGSL_KERNELS: '0' / 'false' / 'off' -> tfjs's kernels only; anything else (unset, '1',
 * 'all') -> ours. ('all' once added kernels that were not on by default; all are now, so it is the
 * same as the default, kept so that existing settings still read.)
 */
export type WgslKernelSetting = 'off' | 'default' | 'all';

export function wgslKernelSetting(env: NodeJS.ProcessEnv = process.env): WgslKernelSetting {
  const v = env.GAN_AUGMENT_WGSL_KERNELS;
  if (!switchOn(v)) return 'off';
  if (v?.trim().toLowerCase() === 'all') return 'all';
  return 'default';
}

/** Whether our kernels are wanted: yes unless GAN_AUGMENT_WGSL_KERNELS is 0 / false / off. */
export function ourKernelsRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return wgslKernelSetting(env) !== 'off';
}

/* ---------------------------------------------------------------------------------------------
 * The adapter kind, for the kernels whose tilings differ on a software driver (lavapipe).
 * ------------------------------------------------------------------------------------------- */

let softwareAdapter = false;

/** Whether tilings are picked for a software adapter (registerOurKernels sets it); returns the previous value. */
export function setSoftwareAdapter(software: boolean): boolean {
  const before = softwareAdapter;
  softwareAdapter = software;
  return before;
}

export function onSoftwareAdapter(): boolean {
  return softwareAdapter;
}

/* ---------------------------------------------------------------------------------------------
 * Installing one of ours over tfjs's kernel (and back).
 * ------------------------------------------------------------------------------------------- */

export const WEBGPU_BACKEND = 'webgpu';

/**
 * One of our kernels: a result, or null for inputs it does not handle (tfjs's kernel then runs).
 * `theirs` is tfjs's own kernel function, for kernels that only steer it (./matmul-deterministic).
 */
export type OurKernelRun = (args: Parameters<KernelFunc>[0], theirs?: KernelFunc) => TensorInfo | null;

const originals = new Map<string, KernelConfig>();

/**
 * Installs `run` as `kernelName` for the 'webgpu' backend, calling tfjs's kernel where `run` returns
 * null. tfjs-backend-webgpu must be imported first (its import registers tfjs's kernels). Idempotent.
 * Returns whether ours is installed.
 */
export function installKernel(kernelName: string, run: OurKernelRun): boolean {
  if (originals.has(kernelName)) return true;
  const theirs = getKernel(kernelName, WEBGPU_BACKEND);
  if (!theirs) return false; // webgpu backend not loaded
  originals.set(kernelName, theirs);
  const fallback = theirs.kernelFunc;
  const kernelFunc: KernelFunc = (args) => run(args, fallback) ?? fallback(args);
  unregisterKernel(kernelName, WEBGPU_BACKEND);
  registerKernel({ ...theirs, kernelFunc });
  return true;
}

/** Restores tfjs's own kernel. */
export function restoreKernel(kernelName: string): void {
  const theirs = originals.get(kernelName);
  if (!theirs) return;
  unregisterKernel(kernelName, WEBGPU_BACKEND);
  registerKernel(theirs);
  originals.delete(kernelName);
}

export function kernelInstalled(kernelName: string): boolean {
  return originals.has(kernelName);
}

/* ---------------------------------------------------------------------------------------------
 * WGSL snippets of the GEMM core.
 * ------------------------------------------------------------------------------------------- */

export const LANES = [0, 1, 2, 3] as const;

/**
 * Workgroup tiles: A as TK rows of (TM/4) vec4 over m, B as TK rows of (TN/4) vec4 over n. `pad`
 * vec4 of padding per row (row stride TM/4 + pad): kernels whose threads store a tile column by
 * column (k fastest across threads, for coalesced global loads) pad by 1 so that those stores do not
 * all land on the same shared-memory bank.
 */
export function gemmTileDecls(TM: number, TN: number, TK: number, pad = 0): string {
  return `
    var<workgroup> ganTileA : array<vec4<f32>, ${TK * (TM / 4 + pad)}>;
    var<workgroup> ganTileB : array<vec4<f32>, ${TK * (TN / 4 + pad)}>;`;
}

/** Bytes of workgroup memory the two tiles take. */
export function gemmTileBytes(TM: number, TN: number, TK: number, pad = 0): number {
  return TK * (TM / 4 + pad + TN / 4 + pad) * 16;
}

/** The 4 vec4 accumulators of a thread's 4 x 4 block (acc<i> = row m0 + ty * 4 + i, 4 columns). */
export const GEMM_ACC_DECLS = `
      var acc0 = vec4<f32>(0.0);
      var acc1 = vec4<f32>(0.0);
      var acc2 = vec4<f32>(0.0);
      var acc3 = vec4<f32>(0.0);`;

/**
 * Between two barriers: TK rank-1 updates of the thread's block from the staged tiles (thread row
 * `ty`, column `tx`, in vec4 units); `pad` as in gemmTileDecls.
 */
export function gemmRank1Updates(TM: number, TN: number, TK: number, pad = 0): string {
  return `
        workgroupBarrier();
        for (var kk = 0; kk < ${TK}; kk = kk + 1) {
          let a = ganTileA[kk * ${TM / 4 + pad} + ty];
          let bv = ganTileB[kk * ${TN / 4 + pad} + tx];
          acc0 = acc0 + a.x * bv;
          acc1 = acc1 + a.y * bv;
          acc2 = acc2 + a.z * bv;
          acc3 = acc3 + a.w * bv;
        }
        workgroupBarrier();`;
}

/**
 * The same core with a larger block per thread (block x block outputs, `block` a multiple of 4): the
 * accumulators acc<i>_<j> hold row i, vec4 column j. Fewer workgroup-memory reads per multiply-add
 * (4 vec4 reads for 64 at block 8, against 2 for 16 at block 4): the usual way fp32 GEMMs on GPUs get
 * nearer their peak. Used by the filter gradient's `threadBlock` option (GPU sweep).
 */
export function gemmAccDeclsBlock(block: number): string {
  const lines: string[] = [];
  for (let i = 0; i < block; i++) for (let j = 0; j < block / 4; j++) lines.push(`var acc${i}_${j} = vec4<f32>(0.0);`);
  return lines.join('\n      ');
}

/** gemmRank1Updates for a block x block thread block (thread row `ty`, column `tx`, in blocks); `pad` as in gemmTileDecls. */
export function gemmRank1UpdatesBlock(TM: number, TN: number, TK: number, block: number, pad = 0): string {
  const q = block / 4;
  const loads: string[] = [];
  for (let r = 0; r < q; r++) loads.push(`let a${r} = ganTileA[kk * ${TM / 4 + pad} + ty * ${q} + ${r}];`);
  for (let c = 0; c < q; c++) loads.push(`let b${c} = ganTileB[kk * ${TN / 4 + pad} + tx * ${q} + ${c}];`);
  const fmas: string[] = [];
  for (let i = 0; i < block; i++) for (let j = 0; j < q; j++) fmas.push(`acc${i}_${j} = acc${i}_${j} + a${Math.floor(i / 4)}[${i % 4}] * b${j};`);
  return `
        workgroupBarrier();
        for (var kk = 0; kk < ${TK}; kk = kk + 1) {
          ${loads.join('\n          ')}
          ${fmas.join('\n          ')}
        }
        workgroupBarrier();`;
}

/** WebGPU's default limits: the default tilings stay within them on every adapter. */
export const MAX_WORKGROUP_STORAGE_BYTES = 16384;
export const MAX_WORKGROUPS_PER_DIM = 65535;

let workgroupStorageBytes = MAX_WORKGROUP_STORAGE_BYTES;

/**
 * The workgroup memory the device has (tfjs asks the adapter for all of it: 48 KiB on NVIDIA's
 * Vulkan driver, 32 KiB on lavapipe), which tilings asked for explicitly (benchmarks) may use;
 * registerOurKernels sets it. Returns the previous value.
 */
export function setWorkgroupStorageLimit(bytes: number): number {
  const before = workgroupStorageBytes;
  workgroupStorageBytes = Math.max(MAX_WORKGROUP_STORAGE_BYTES, bytes);
  return before;
}

/** The workgroup memory tilings may use on this device (setWorkgroupStorageLimit; at least WebGPU's default). */
export function workgroupStorageLimit(): number {
  return workgroupStorageBytes;
}

/**
 * The tile checks the GEMM programs share (block x block outputs per thread, 4 unless said, at most
 * 256 threads, tiles within the device's workgroup memory (setWorkgroupStorageLimit), `pad` as in gemmTileDecls);
 * returns the thread count.
 */
export function checkGemmTile(tileM: number, tileN: number, tileK: number, pad = 0, block = 4): number {
  if (block % 4 !== 0) throw new Error('the thread block must be a multiple of 4');
  if (tileM % block !== 0 || tileN % block !== 0) throw new Error(`tileM and tileN must be multiples of ${block}`);
  const threads = (tileM / block) * (tileN / block);
  if (threads > 256) throw new Error('at most 256 threads per workgroup');
  const bytes = gemmTileBytes(tileM, tileN, tileK, pad);
  if (bytes > workgroupStorageBytes) throw new Error(`tiles need ${bytes} bytes of workgroup memory; this device has ${workgroupStorageBytes}`);
  return threads;
}

/** WGSL: the thread's index, its block's column `tx` and row `ty` (in blocks), and the tile's first column n0. */
export function gemmThreadIds(TN: number, block = 4): string {
  return `
      let tid = i32(localIndex);
      let tx = tid % ${TN / block};
      let ty = tid / ${TN / block};
      let n0 = i32(workgroupId.x) * ${TN};`;
}

/* ---------------------------------------------------------------------------------------------
 * Convolution attributes and geometry, as the three convolution kernels receive them.
 * ------------------------------------------------------------------------------------------- */

/** The attributes tfjs passes to all three convolution kernels. */
export interface ConvAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * A LeakyReLU's backward mask applied as a convolution gradient reads dy (issue 5): dy where y > 0,
 * alpha * dy elsewhere (../gradients.ts's leakyReluBackward, the same float32 product, so the same
 * bits as masking dy in a program of its own first). y is the layer's output, with dy's shape; alpha
 * is positive.
 */
export interface DyMask {
  y: TensorInfo;
  alpha: number;
}

/** Whether `mask` (if any) fits a tensor of `shape` (dy, or a masked program's output): a float32 y of that shape. */
export function maskFits(shape: readonly number[], mask: DyMask | undefined): boolean {
  return !mask || (mask.y.dtype === 'float32' && util.arraysEqual(mask.y.shape, [...shape]));
}

/** A program's inputs with the mask's y last (where there is a mask). */
export function withMask(inputs: TensorInfo[], mask: DyMask | undefined): TensorInfo[] {
  return mask ? [...inputs, mask.y] : inputs;
}

/** The mask's uniform (alpha, which the masked programs declare last), or none. */
export function maskUniforms(mask: DyMask | undefined): ProgramUniform {
  return mask ? [f32Uniform(mask.alpha)] : [];
}

type Shape4 = [number, number, number, number];

/** Whether every tensor is float32 of rank 4 (what our kernels handle). */
export function allFloat32Rank4(...tensors: TensorInfo[]): boolean {
  return tensors.every((t) => t.dtype === 'float32' && t.shape.length === 4);
}

/** tfjs's conv info for an NHWC convolution, or null when dilated (our kernels do not dilate). */
export function nhwcConvInfo(xShape: number[], filterShape: number[], attrs: ConvAttrs, dilations: [number, number] | number = 1): backend_util.Conv2DInfo | null {
  const conv = backend_util.computeConv2DInfo(
    xShape as Shape4,
    filterShape as Shape4,
    attrs.strides,
    dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  return conv.dilationHeight === 1 && conv.dilationWidth === 1 ? conv : null;
}
