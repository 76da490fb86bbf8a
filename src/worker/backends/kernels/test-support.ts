/** Shared set-up of the kernel tests (not shipped code paths: imported by *.test.ts only). */
import { initBackend } from '../index';
import type { Prng } from '../../training/rng';

/** Starts the WebGPU backend; returns '' or, when there is no adapter, the reason (printed) to skip. */
export async function webgpuSkipReason(what: string): Promise<string> {
  try {
    await initBackend('webgpu');
    return '';
  } catch (e) {
    const reason = (e as Error).message;
    console.log(`[skip] ${what}: ${reason}`);
    return reason;
  }
}

/** One convolution shape under test: x is the conv2d input [B, H, W, CI], k the kernel side, co the output channels. */
export interface ConvCase<Pad> {
  name: string;
  x: [number, number, number, number];
  k: number;
  co: number;
  stride: number;
  pad: Pad;
}

export function randomArray(n: number, rng: Prng): Float32Array {
  return Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
}
