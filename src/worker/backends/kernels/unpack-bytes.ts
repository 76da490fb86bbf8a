/**
 * uint8 pixels -> float32 on the device (issue 5: the CPU side of a training step).
 *
 * A training batch is built from the uint8 images kept on the host. Converting them to float32 in
 * JavaScript costs about 25 ms per 256 images at 64 px on the H200's host (3.1 M lookups), a sixth of
 * a whole step there. Here the bytes go up as they are, packed four to an int32 word (a quarter of
 * the upload), and one dispatch maps every byte through a 256-entry table on the device. The table is
 * the caller's, so the device result is bit-identical to the same table applied on the CPU.
 */
import { engine, getBackend, keep, tensor1d, tidy } from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { ElementwiseProgram, ourKernelsRequested, runProgram } from './common';

let tableCache: { values: Float32Array; backend: unknown; tensor: Tensor } | null = null;

function tableTensor(values: Float32Array): Tensor {
  const backend = engine().backend;
  if (!tableCache || tableCache.values !== values || tableCache.backend !== backend || tableCache.tensor.isDisposed) {
    // Kept while this backend lives: 1 KB, made once per table.
    tableCache = { values, backend, tensor: keep(tensor1d(values, 'float32')) };
  }
  return tableCache.tensor;
}

/** Whether bytesThroughTable runs on the device (WebGPU active, our kernels not turned off). */
export function deviceUnpackAvailable(): boolean {
  return getBackend() === 'webgpu' && ourKernelsRequested();
}

/**
 * A float32 tensor of `shape` with element i = table[bytes[i]], computed on the WebGPU device.
 * bytes.length must equal the product of `shape` and be a multiple of 4; table must have 256 entries.
 */
export function bytesThroughTable(bytes: Uint8Array, shape: number[], table: Float32Array): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  if (bytes.length !== size) throw new Error(`bytesThroughTable: ${bytes.length} bytes for a shape of ${size} elements.`);
  if (size % 4 !== 0 || bytes.byteOffset % 4 !== 0) throw new Error('bytesThroughTable: the byte count and offset must be multiples of 4.');
  if (table.length !== 256) throw new Error('bytesThroughTable: the table needs 256 entries.');
  const lut = tableTensor(table);
  return tidy(() => {
    const packed = tensor1d(new Int32Array(bytes.buffer, bytes.byteOffset, size / 4), 'int32');
    // Byte i is bits 8 * (i % 4) of little-endian word i / 4.
    const program = new ElementwiseProgram(
      'ganAugmentUnpackBytes',
      ['packed', 'table'],
      shape,
      `let word = bitcast<u32>(packed[index / 4]);
        let byte = (word >> (u32(index % 4) * 8u)) & 255u;
        setOutputAtIndex(index, table[byte]);`,
    );
    return runProgram(program, [packed, lut]);
  });
}
