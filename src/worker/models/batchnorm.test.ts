/**
 * The patched training branch of tfjs-layers' BatchNormalization (./batchnorm) against tfjs-layers'
 * own, on WebGPU (lavapipe here): outputs, gradients for x / gamma / beta, moving averages, fewer
 * kernels, no leaks. Skipped, with the reason printed, without a WebGPU adapter. On WebAssembly:
 * ../backends/wasm/batchnorm.test.ts.
 */
import { afterAll, describe, it } from 'vitest';
import { webgpuSkipReason } from '../backends/kernels/test-support';
import { uninstallFusedBatchNorm } from './batchnorm';
import { expectFusedMatches } from './batchnorm-test-support';

const reason = await webgpuSkipReason('fused batch norm tests');

describe.skipIf(reason !== '')('fused training batch norm (WebGPU)', () => {
  afterAll(() => uninstallFusedBatchNorm());

  // Small; several row parts with a short last one and two channel groups; many parts, 3 channels.
  it.each([
    [[4, 6, 5, 8]],
    [[3, 17, 19, 70]],
    [[2, 45, 40, 3]],
  ])("matches tfjs-layers' own at %j: output, gradients, moving averages; fewer kernels; no leaks", async (shape) => {
    await expectFusedMatches(shape);
  });
});
