/**
 * UnsortedSegmentSum on WebGPU without atomics, so that training is reproducible. tfjs-backend-webgpu
 * 4.22 adds each row into its segment with an atomic add, in whatever order the threads run: the
 * gradient of the conditional models' label embeddings (Gather's gradient) then differed in its last
 * bits from run to run, and so did a cWGAN-GP's losses with the same seed. Here one thread computes
 * one output value, adding the rows of its segment in row order: the same bits every time.
 * For float32 x of any rank, segmented along axis 0 (what Gather's gradient asks for); ids outside
 * [0, numSegments) add nothing, as on the CPU backend. Anything else, or more than 2^28 row visits
 * (each output scans every row): tfjs's kernel.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { ElementwiseProgram, i32Uniform, type OurKernelRun, type WebGpuBackendLike } from './common';

export const segmentSumKernel: OurKernelRun = (args) => {
  const { x, segmentIds } = args.inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = args.attrs as unknown as { numSegments: number };
  if (x.dtype !== 'float32' || segmentIds.dtype !== 'int32' || x.shape.length < 1 || segmentIds.shape.length !== 1) return null;
  const rows = x.shape[0]!;
  if (segmentIds.shape[0] !== rows) return null;
  const cols = x.shape.slice(1).reduce((a, b) => a * b, 1);
  // Each output scans every row: fine for label embeddings (classes x batch), not for large tables.
  if (numSegments * cols * rows > 2 ** 28) return null;
  const program = new ElementwiseProgram(
    'ganAugmentSegmentSum',
    ['x', 'segmentIds'],
    [numSegments, ...x.shape.slice(1)],
    `let seg = index / uniforms.cols;
        let col = index % uniforms.cols;
        var s = 0.0;
        for (var r = 0; r < uniforms.rows; r = r + 1) {
          if (segmentIds[r] == seg) {
            s = s + x[r * uniforms.cols + col];
          }
        }
        result[index] = s;`,
    'rows : i32, cols : i32,',
  );
  const backend = args.backend as unknown as WebGpuBackendLike;
  return backend.runWebGPUProgram(program, [x, segmentIds], 'float32', [i32Uniform(rows), i32Uniform(cols)]);
};
