/**
 * Which of our kernels registerOurKernels installs: by adapter kind (real GPU or software driver) and
 * by GAN_AUGMENT_WGSL_KERNELS. Needs the webgpu backend loaded (skipped, reason printed, without an
 * adapter). Its own file: the kernel registry is process-wide.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { webgpuSkipReason } from './test-support';
import { OUR_KERNELS, ourKernelsInstalled, registerOurKernels, unregisterOurKernels } from './index';
import { DEFAULT_FORWARD_TILING, NARROW_FORWARD_TILING, SOFTWARE_FORWARD_TILING, chooseForwardTiling } from './conv2d-forward';
import { DEFAULT_INPUT_TILING, NARROW_INPUT_TILING, SOFTWARE_INPUT_TILING, chooseInputTiling } from './conv2d-backprop-input';

const reason = await webgpuSkipReason('kernel registry tests');
const installed = () => OUR_KERNELS.filter((k) => ourKernelsInstalled(k.kernelName)).map((k) => k.kernelName);

describe.skipIf(reason !== '')('registerOurKernels', () => {
  const saved = process.env.GAN_AUGMENT_WGSL_KERNELS;
  afterEach(() => {
    if (saved === undefined) delete process.env.GAN_AUGMENT_WGSL_KERNELS;
    else process.env.GAN_AUGMENT_WGSL_KERNELS = saved;
    unregisterOurKernels();
  });

  it('on a software driver installs all four convolution kernels, the segment sum, the matrix products and the leading-axes sum by default, with 8 x 8 blocks', () => {
    delete process.env.GAN_AUGMENT_WGSL_KERNELS;
    unregisterOurKernels();
    registerOurKernels({ gpu: false });
    expect(installed()).toEqual(['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'Conv2D', 'FusedConv2D', 'UnsortedSegmentSum', 'BatchMatMul', '_FusedMatMul', 'Sum']);
    const layer = { filterHeight: 4, filterWidth: 4, inChannels: 64, outChannels: 128, batchSize: 16, outHeight: 8, outWidth: 8 };
    expect(chooseForwardTiling(layer)).toBe(SOFTWARE_FORWARD_TILING);
    expect(chooseForwardTiling({ ...layer, outChannels: 1 })).toBe(NARROW_FORWARD_TILING);
    expect(chooseInputTiling(64)).toBe(SOFTWARE_INPUT_TILING);
    expect(chooseInputTiling(3)).toBe(NARROW_INPUT_TILING);
    registerOurKernels({ gpu: true });
    // GPUs: as measured on the H200 and H100 (8 x 8 blocks only for larger layers)
    expect(chooseForwardTiling(layer)).toBe(DEFAULT_FORWARD_TILING);
    expect(chooseInputTiling(64)).toBe(DEFAULT_INPUT_TILING);
  });

  it('on a real GPU installs all four convolution kernels, the segment sum, the matrix products and the leading-axes sum by default', () => {
    delete process.env.GAN_AUGMENT_WGSL_KERNELS;
    unregisterOurKernels();
    registerOurKernels({ gpu: true });
    expect(installed()).toEqual(['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'Conv2D', 'FusedConv2D', 'UnsortedSegmentSum', 'BatchMatMul', '_FusedMatMul', 'Sum']);
  });

  it("installs none with GAN_AUGMENT_WGSL_KERNELS=0, and all with 'all' (now also the default everywhere)", () => {
    unregisterOurKernels();
    process.env.GAN_AUGMENT_WGSL_KERNELS = '0';
    expect(registerOurKernels({ gpu: true })).toBe(false);
    expect(installed()).toEqual([]);
    process.env.GAN_AUGMENT_WGSL_KERNELS = 'all';
    registerOurKernels({ gpu: false });
    expect(installed()).toHaveLength(OUR_KERNELS.length);
  });
});
