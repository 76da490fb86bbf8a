/**
 * BatchMatMul and _FusedMatMul without atomics, so that training with large batches is reproducible.
 * tfjs-backend-webgpu 4.22 splits K over workgroups that add into the output with atomic adds
 * (MatMulSplitKProgram) when a matrix product has few 32x32 output tiles, more than 128 outputs, one
 * batch and K >= 2000: a critic's dense head on 4x4x512 features ([B, 8192] x [8192, 1]) at batches
 * 129-256. The adds then land in whatever order the threads run, and a DCGAN-64 trained on an H100 at
 * batch 256 with the same seed ended with different losses each run (docs/PERFORMANCE.md, run 12).
 *
 * For exactly those products we run tfjs's MatMulReduceProgram instead: one workgroup per output
 * value, whose threads each add a strided part of K and then add their sums in a fixed tree. The same
 * bits every run, and for these shapes (few outputs, long K) it is the natural program anyway. Every
 * other product, and any program type a developer forced with WEBGPU_MATMUL_PROGRAM_TYPE, is left to
 * tfjs's choice unchanged.
 */
import { env, util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { OurKernelRun } from './common';

/** tfjs-backend-webgpu's MatMulProgramType (webgpu_util.js): Reduce 0, SplitK 1, SmallOutputSize 2, Packed 3. */
export const MATMUL_REDUCE_PROGRAM = 0;
const PROGRAM_TYPE_FLAG = 'WEBGPU_MATMUL_PROGRAM_TYPE';
const THRESHOLD_FLAG = 'WEBGPU_THRESHOLD_TO_INCREASE_WORKGROUPS_FOR_MATMUL';

/** What batchMatMulImpl needs to pick its program. */
export interface MatMulShape {
  aShape: readonly number[];
  bShape: readonly number[];
  transposeA: boolean;
  transposeB: boolean;
}

/**
 * Whether tfjs-backend-webgpu 4.22's batchMatMulImpl would run MatMulSplitKProgram for this product,
 * given the backend's `thresholdToIncreaseWorkgroups` (8 except on newer Intel GPUs): its own test,
 * restated (kernels/BatchMatMul_impl.js).
 */
export function tfjsWouldSplitK(m: MatMulShape, backendThreshold: number): boolean {
  const { aShape, bShape, transposeA, transposeB } = m;
  const ra = aShape.length;
  const rb = bShape.length;
  const outerA = transposeA ? aShape[ra - 1]! : aShape[ra - 2]!;
  const outerB = transposeB ? bShape[rb - 2]! : bShape[rb - 1]!;
  const inner = transposeB ? bShape[rb - 1]! : bShape[rb - 2]!;
  const batch = Math.max(util.sizeFromShape(aShape.slice(0, -2)), util.sizeFromShape(bShape.slice(0, -2)));
  const flag = env().getNumber(THRESHOLD_FLAG);
  const threshold = flag > 0 ? flag : backendThreshold;
  const tiles = batch * Math.ceil(outerA / 32) * Math.ceil(outerB / 32);
  const fewTiles = tiles <= threshold || (outerA <= 8 && tiles <= threshold * 2);
  return fewTiles && batch * outerA * outerB > 128 && batch === 1 && inner >= 2000;
}

/** Runs tfjs's own kernel with the reduce program where it would have split K with atomics. */
export const deterministicMatMulKernel: OurKernelRun = (args, theirs?: KernelFunc) => {
  if (!theirs) return null;
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
  const flags = env();
  if (flags.getNumber(PROGRAM_TYPE_FLAG) >= 0) return null; // forced by a developer: theirs
  const threshold = (args.backend as unknown as { thresholdToIncreaseWorkgroups?: number }).thresholdToIncreaseWorkgroups ?? 8;
  if (!tfjsWouldSplitK({ aShape: a.shape, bShape: b.shape, transposeA, transposeB }, threshold)) return null;
  flags.set(PROGRAM_TYPE_FLAG, MATMUL_REDUCE_PROGRAM);
  try {
    return theirs(args) as TensorInfo;
  } finally {
    flags.set(PROGRAM_TYPE_FLAG, -1);
  }
};
