/**
 * Our WGSL kernels (issue 5) over tfjs-backend-webgpu's, installed together by `registerOurKernels()`
 * (initBackend calls it once WebGPU is up, saying whether the adapter is a real GPU).
 * GAN_AUGMENT_WGSL_KERNELS (./common): '0' / 'off' keeps tfjs's kernels; anything else (unset, '1',
 * 'all') installs all of ours, since each is now on by default on every adapter.
 *
 *   Conv2DBackpropFilter  ./conv2d-backprop-filter  on by default everywhere: on lavapipe 2.5-3.5x
 *                                                   tfjs's per layer; on an H200 (Dawn/Vulkan) 11-365x
 *                                                   (16 TFLOP/s on the k4 s2 layers at batch 256)
 *   Conv2DBackpropInput   ./conv2d-backprop-input   on by default everywhere: on an H200 2.1-5.5x
 *                                                   tfjs's on every DCGAN-64 layer (a direct program
 *                                                   for dx with at most 4 channels); on lavapipe, with
 *                                                   8 x 8 outputs per thread there, about 2x on the
 *                                                   middle layers, 3x on the image layer, level on D4
 *   Conv2D, FusedConv2D   ./conv2d-forward          on by default everywhere: on an H200 1.3-3.2x
 *                                                   tfjs's (17-22 TFLOP/s on the k4 s2 layers at batch
 *                                                   64/256); on lavapipe, with 8 x 8 outputs per
 *                                                   thread there, 1.2-3x (with 4 x 4 it was only level)
 *
 *   UnsortedSegmentSum    ./unsorted-segment-sum    on by default everywhere: tfjs's adds with atomics,
 *                                                   so a cWGAN-GP's losses varied from run to run
 *   BatchMatMul,          ./matmul-deterministic    on by default everywhere: tfjs's own kernel, but
 *   _FusedMatMul                                    with its reduce program where it would split K with
 *                                                   atomics (a critic's dense head at batch 129-256)
 *
 * Figures: docs/PERFORMANCE.md, "Convolution kernels". Each falls back to tfjs's kernel for inputs it
 * does not handle (NCHW, non-float32; for the forward pass also dilation > 1, prelu and unknown
 * activations, broadcast biases).
 */
import { installKernel, kernelInstalled, restoreKernel, setSoftwareAdapter, setWorkgroupStorageLimit, wgslKernelSetting, type OurKernelRun } from './common';
import { filterGradKernel } from './conv2d-backprop-filter';
import { inputGradKernel } from './conv2d-backprop-input';
import { conv2dKernel, fusedConv2dKernel } from './conv2d-forward';
import { segmentSumKernel } from './unsorted-segment-sum';
import { leadingSumKernel } from './leading-sum';
import { deterministicMatMulKernel } from './matmul-deterministic';

interface OurKernel {
  kernelName: string;
  run: OurKernelRun;
}

/** All on by default on every adapter (the tilings differ by adapter kind). */
export const OUR_KERNELS: readonly OurKernel[] = [
  { kernelName: 'Conv2DBackpropFilter', run: filterGradKernel },
  { kernelName: 'Conv2DBackpropInput', run: inputGradKernel },
  { kernelName: 'Conv2D', run: conv2dKernel },
  { kernelName: 'FusedConv2D', run: fusedConv2dKernel },
  { kernelName: 'UnsortedSegmentSum', run: segmentSumKernel },
  { kernelName: 'BatchMatMul', run: deterministicMatMulKernel },
  { kernelName: '_FusedMatMul', run: deterministicMatMulKernel },
  { kernelName: 'Sum', run: leadingSumKernel },
];

/**
 * Installs our kernels for the 'webgpu' backend (tfjs-backend-webgpu must be imported first).
 * Idempotent. `gpu`: the adapter is a real GPU (not a software driver such as lavapipe), which picks
 * the tilings measured there; left out, the tilings chosen before stay. `force` installs all of them regardless of the
 * environment (tests, benchmarks); `only` limits it to the named kernels. Returns whether at least
 * one of ours is installed.
 */
export function registerOurKernels(
  options: { force?: boolean; only?: readonly string[]; gpu?: boolean; workgroupStorageBytes?: number } = {},
): boolean {
  if (!options.force && wgslKernelSetting() === 'off') return ourKernelsInstalled();
  // The adapter kind and limits only when told (initBackend): benchmarks and tests that force kernels on keep them.
  if (options.gpu !== undefined) setSoftwareAdapter(!options.gpu);
  if (options.workgroupStorageBytes !== undefined) setWorkgroupStorageLimit(options.workgroupStorageBytes);
  for (const k of OUR_KERNELS) {
    if (!options.only || options.only.includes(k.kernelName)) installKernel(k.kernelName, k.run);
  }
  return ourKernelsInstalled();
}

/** Restores tfjs's own kernels (all, or the named ones; benchmarks compare both in one process). */
export function unregisterOurKernels(only?: readonly string[]): void {
  for (const k of OUR_KERNELS) if (!only || only.includes(k.kernelName)) restoreKernel(k.kernelName);
}

/** Whether any of ours (or the named one) is installed. */
export function ourKernelsInstalled(kernelName?: string): boolean {
  return kernelName ? kernelInstalled(kernelName) : OUR_KERNELS.some((k) => kernelInstalled(k.kernelName));
}

export { ourKernelsRequested, wgslKernelSetting } from './common';
