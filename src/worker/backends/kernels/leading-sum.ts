/**
 * Sum over leading axes on WebGPU without a transpose. tfjs-backend-webgpu 4.22 reduces only over
 * innermost axes, so a sum over the first axes (every bias gradient: a convolution's over batch, rows
 * and columns of dy [B, H, W, C], a dense layer's over the batch) first copies the whole tensor into a
 * transposed one, then reduces it: two dispatches and a full copy of dy. Here x is viewed as [R, C]
 * (R the product of the summed axes) and summed by columns with batch norm's reduction programs
 * (./batchnorm-kernels.ts): partial sums over at most 64 row parts, then one finishing pass that adds
 * the parts in order; with one part (R <= 256, most bias gradients of small batches) the partials are
 * the result, one dispatch. Deterministic, and no copy. For float32 x and leading axes only (not all
 * of them); anything else is tfjs's kernel.
 */
import { util, type TensorInfo } from '@tensorflow/tfjs-core';
import { ColumnFinishProgram, ColumnPartialsProgram, rowParts } from './batchnorm-kernels';
import { f32Uniform, i32Uniform, maskFits, maskUniforms, withMask, type DyMask, type OurKernelRun, type WebGpuBackendLike } from './common';

export const leadingSumKernel: OurKernelRun = (args) => {
  const { x } = args.inputs as { x: TensorInfo };
  const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
  if (x.dtype !== 'float32') return null;
  const axes = util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
  const k = axes.length;
  if (k === 0 || k >= x.shape.length || axes.some((a, i) => a !== i)) return null;
  return leadingSumOnDevice(args.backend as unknown as WebGpuBackendLike, x, k, keepDims);
};

/**
 * The sum of float32 x over its first `k` axes (0 < k < rank), as the registered Sum kernel computes
 * it; with `mask`, of x read through that LeakyReLU mask (a bias gradient through its activation,
 * ../gradients.ts: the same bits as summing the masked tensor). Null for an empty x.
 */
export function leadingSumOnDevice(backend: WebGpuBackendLike, x: TensorInfo, k: number, keepDims = false, mask?: DyMask): TensorInfo | null {
  if (!maskFits(x.shape, mask)) return null;
  const rows = x.shape.slice(0, k).reduce((a, b) => a * b, 1);
  const cols = x.shape.slice(k).reduce((a, b) => a * b, 1);
  if (rows === 0 || cols === 0) return null;
  const outShape = keepDims ? [...new Array<number>(k).fill(1), ...x.shape.slice(k)] : x.shape.slice(k);
  const { parts, rowsPerPart } = rowParts(rows);
  const act = mask ? ({ kind: 'leakyRelu', alpha: mask.alpha } as const) : null;
  const partials = backend.runWebGPUProgram(new ColumnPartialsProgram('sum', cols, parts, act), withMask([x], mask), 'float32', [
    i32Uniform(rows),
    i32Uniform(cols),
    i32Uniform(rowsPerPart),
    ...maskUniforms(mask),
  ]);
  // A fresh output of ours, so relabelling its shape is a reshape (the data is the same flat values).
  if (parts === 1) return { dataId: partials.dataId, shape: outShape, dtype: 'float32' };
  const sums = backend.runWebGPUProgram(new ColumnFinishProgram(cols, false), [partials], 'float32', [
    i32Uniform(parts),
    i32Uniform(cols),
    i32Uniform(0),
    f32Uniform(1),
    f32Uniform(0),
  ]);
  backend.disposeData(partials.dataId);
  return { dataId: sums.dataId, shape: outShape, dtype: 'float32' };
}
