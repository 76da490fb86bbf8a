/**
 * Training batches converted on the device (./unpack-bytes, used by batchImages on WebGPU) against
 * the CPU conversion: identical values for odd batch compositions and grayscale, errors for bad
 * sizes, no leaked tensors. Skipped, with the reason printed, without a WebGPU adapter.
 */
import { describe, expect, it } from 'vitest';
import { tf } from '../tf';
import { webgpuSkipReason } from './test-support';
import { bytesThroughTable, deviceUnpackAvailable } from './unpack-bytes';
import { batchImages, datasetFromPixels } from '../../training/dataset';
import { Prng } from '../../training/rng';

const reason = await webgpuSkipReason('device byte unpacking tests');

/** The CPU conversion batchImages does off WebGPU: v / 127.5 - 1 per byte. */
function cpuBatch(pixels: Uint8Array, size: number, indices: Int32Array): Float32Array {
  const table = Float32Array.from({ length: 256 }, (_, v) => v / 127.5 - 1);
  const out = new Float32Array(indices.length * size);
  indices.forEach((img, b) => {
    for (let k = 0; k < size; k++) out[b * size + k] = table[pixels[img * size + k]!]!;
  });
  return out;
}

describe.skipIf(reason !== '')('uint8 -> float32 on the device', () => {
  it('gives the CPU conversion bit for bit (RGB and grayscale, repeated and reordered images)', async () => {
    expect(deviceUnpackAvailable()).toBe(true);
    const rng = new Prng(11);
    // The first call makes the 1 KB table tensor, kept for the process.
    tf.dispose(batchImages(datasetFromPixels(new Uint8Array(4), new Int32Array(1), 2, 1), Int32Array.from([0])));
    for (const [res, channels] of [[32, 3], [32, 1], [8, 1]] as const) {
      const n = 7;
      const size = res * res * channels;
      const pixels = Uint8Array.from({ length: n * size }, () => rng.int(256));
      pixels[0] = 0;
      pixels[1] = 255; // both ends of the table
      const ds = datasetFromPixels(pixels, new Int32Array(n), res, channels);
      const indices = Int32Array.from([6, 0, 0, 3, 5]);
      const before = tf.memory().numTensors;
      const t = batchImages(ds, indices);
      expect(t.shape).toEqual([5, res, res, channels]);
      expect(Array.from(await t.data())).toEqual(Array.from(cpuBatch(pixels, size, indices)));
      t.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
  });

  it('refuses sizes it cannot pack and a short table', () => {
    const table = new Float32Array(256);
    expect(() => bytesThroughTable(new Uint8Array(6), [6], table)).toThrow(/multiples of 4/);
    expect(() => bytesThroughTable(new Uint8Array(8), [4], table)).toThrow(/8 bytes for a shape of 4/);
    expect(() => bytesThroughTable(new Uint8Array(8), [8], new Float32Array(10))).toThrow(/256 entries/);
  });
});
