/**
 * Our WGSL kernels (issue 5) over tfjs-backend-webgpu's, installed together by `registerOurKernels()`
 * (initBackend calls it once WebGPU is up). GAN_AUGMENT_WGSL_KERNELS (./common): '0' / 'off' keeps
 * tfjs's kernels; unset or '1' installs the kernels that are on by default; 'all' also the ones that
 * are not.
 *
 *   Conv2DBackpropFilter  ./conv2d-backprop-filter  on by default (2.5-3.5x tfjs's per layer on lavapipe)
 *   Conv2DBackpropInput   ./conv2d-backprop-input   only with 'all': on lavapipe 1.7-2.4x tfjs's on the
 *                                                   image layer, level with it (0.9-1.2x) on the others
 *
 * Each falls back to tfjs's kernel for inputs it does not handle (NCHW, non-float32).
 */
import { installKernel, kernelInstalled, restoreKernel, wgslKernelSetting, type OurKernelRun } from './common';
import { filterGradKernel } from './conv2d-backprop-filter';
import { inputGradKernel } from './conv2d-backprop-input';

interface OurKernel {
  kernelName: string;
  run: OurKernelRun;
  /** Installed without GAN_AUGMENT_WGSL_KERNELS=all. */
  byDefault: boolean;
}

export const OUR_KERNELS: readonly OurKernel[] = [
  { kernelName: 'Conv2DBackpropFilter', run: filterGradKernel, byDefault: true },
  { kernelName: 'Conv2DBackpropInput', run: inputGradKernel, byDefault: false },
];

/**
 * Installs our kernels for the 'webgpu' backend (tfjs-backend-webgpu must be imported first).
 * Idempotent. `force` installs all of them regardless of the environment (tests, benchmarks); `only`
 * limits it to the named kernels. Returns whether at least one of ours is installed.
 */
export function registerOurKernels(options: { force?: boolean; only?: readonly string[] } = {}): boolean {
  const setting = options.force ? 'all' : wgslKernelSetting();
  if (setting === 'off') return ourKernelsInstalled();
  for (const k of OUR_KERNELS) {
    if (options.only && !options.only.includes(k.kernelName)) continue;
    if (k.byDefault || setting === 'all') installKernel(k.kernelName, k.run);
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
