/**
 * A minimal PNG encoder for the 128 px training copies: 8-bit RGB, the "Sub" filter (each byte
 * minus the same channel of the pixel to its left) and Huffman-only deflate. On photographs the
 * Sub filter leaves small differences that Huffman coding alone packs well, without LZ77's match
 * search: measured on a 128x128 copy, 0.25 ms against 1.2 ms for zlib level 1 and about 1 ms for a
 * sharp PNG call (most of it pipeline set-up). Lossless: decoders (sharp included) read back the
 * exact pixels. Node's zlib does the compression and the CRCs.
 */
import { constants, crc32, deflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Writes one chunk (length, type, data, CRC) at `at` in `out`; returns the offset after it. */
function putChunk(out: Buffer, at: number, type: string, data: Uint8Array): number {
  out.writeUInt32BE(data.length, at);
  out.write(type, at + 4, 'ascii');
  out.set(data, at + 8);
  out.writeUInt32BE(crc32(out.subarray(at + 4, at + 8 + data.length)) >>> 0, at + 8 + data.length);
  return at + 12 + data.length;
}

/** Filtered rows, reused between calls (deflateSync is done with them before it returns). */
let scratch = Buffer.alloc(0);

/** `rgb`: width * height * 3 bytes, rows top to bottom. */
export function encodeRgbPng(rgb: Buffer, width: number, height: number): Buffer {
  if (rgb.length !== width * height * 3) throw new Error(`Expected ${width * height * 3} bytes of RGB, got ${rgb.length}.`);
  const stride = width * 3;
  const size = (stride + 1) * height; // each row: filter byte 1 ("Sub"), then differences
  if (scratch.length < size) scratch = Buffer.alloc(size);
  const filtered = scratch.subarray(0, size);
  for (let y = 0; y < height; y++) {
    const o = y * (stride + 1) + 1;
    const i = y * stride;
    filtered[o - 1] = 1;
    const first = Math.min(3, stride);
    for (let x = 0; x < first; x++) filtered[o + x] = rgb[i + x]!;
    for (let x = 3; x < stride; x++) filtered[o + x] = rgb[i + x]! - rgb[i + x - 3]!; // Uint8 stores wrap mod 256
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour (RGB)
  // compression 0, filter method 0, interlace 0: already zero
  const idat = deflateSync(filtered, { strategy: constants.Z_HUFFMAN_ONLY });
  const out = Buffer.allocUnsafe(SIGNATURE.length + 12 + 13 + 12 + idat.length + 12);
  SIGNATURE.copy(out, 0);
  let at = putChunk(out, SIGNATURE.length, 'IHDR', ihdr);
  at = putChunk(out, at, 'IDAT', idat);
  putChunk(out, at, 'IEND', new Uint8Array(0));
  return out;
}
