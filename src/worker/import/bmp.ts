/**
 * A small BMP decoder, because sharp's prebuilt libvips has no BMP loader and the import accepts
 * `.bmp` (old dermatoscopes and microscopes still write it). It covers the uncompressed kinds
 * that such devices write: 1/4/8-bit palette, 24-bit, and 32-bit (BI_RGB or BI_BITFIELDS), top-down
 * or bottom-up. RLE-compressed and 16-bit BMPs are reported as unsupported, never guessed.
 *
 * Output is always 8-bit RGB (3 channels), row-major, top row first. Alpha in 32-bit BMPs is
 * ignored: most writers leave it 0 and it is not meaningful for these images.
 */

export class BmpError extends Error {
  constructor(
    readonly kind: 'truncated' | 'unsupported' | 'unreadable',
    message: string,
  ) {
    super(message);
    this.name = 'BmpError';
  }
}

export interface DecodedBmp {
  width: number;
  height: number;
  /** Bits per pixel in the file (1, 4, 8, 24 or 32). */
  bitsPerPixel: number;
  /** 8-bit RGB, width * height * 3 bytes. */
  data: Buffer;
}

/** Largest image we decode: the same limit sharp applies by default (about 16384 x 16384). */
const MAX_PIXELS = 268_402_689;

function maskShift(mask: number): { shift: number; max: number } {
  if (mask === 0) return { shift: 0, max: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  return { shift, max: mask >>> shift };
}

export function isBmp(buf: Buffer): boolean {
  return buf.length >= 2 && buf[0] === 0x42 && buf[1] === 0x4d; // "BM"
}

export function decodeBmp(buf: Buffer): DecodedBmp {
  if (buf.length < 26) throw new BmpError('truncated', 'The BMP header is incomplete.');
  const pixelOffset = buf.readUInt32LE(10);
  const dibSize = buf.readUInt32LE(14);
  let width: number;
  let rawHeight: number;
  let bpp: number;
  let compression = 0;
  let colorsUsed = 0;
  if (dibSize === 12) {
    // OS/2 BITMAPCOREHEADER
    width = buf.readUInt16LE(18);
    rawHeight = buf.readInt16LE(20);
    bpp = buf.readUInt16LE(24);
  } else if (dibSize >= 40) {
    if (buf.length < 14 + 40) throw new BmpError('truncated', 'The BMP header is incomplete.');
    width = buf.readInt32LE(18);
    rawHeight = buf.readInt32LE(22);
    bpp = buf.readUInt16LE(28);
    compression = buf.readUInt32LE(30);
    colorsUsed = buf.readUInt32LE(46);
  } else {
    throw new BmpError('unreadable', `The BMP header has an unknown size (${dibSize} bytes).`);
  }
  const topDown = rawHeight < 0;
  const height = Math.abs(rawHeight);
  if (width <= 0 || height <= 0) throw new BmpError('unreadable', 'The BMP header gives no image size.');
  if (width * height > MAX_PIXELS) throw new BmpError('unsupported', 'The image is too large (more than 268 million pixels).');

  // Channel masks for 32-bit images; BI_RGB means plain BGRX.
  let masks = [0x00ff0000, 0x0000ff00, 0x000000ff];
  if (compression === 3 || compression === 6) {
    if (bpp !== 32) throw new BmpError('unsupported', `${bpp}-bit BMP images with bit fields are not supported. Save the image as PNG.`);
    // Masks follow a 40-byte header; V4/V5 headers hold them at the same offset.
    if (buf.length < 14 + 40 + 12) throw new BmpError('truncated', 'The BMP header is incomplete.');
    masks = [buf.readUInt32LE(54), buf.readUInt32LE(58), buf.readUInt32LE(62)];
  } else if (compression !== 0) {
    throw new BmpError('unsupported', 'Compressed (RLE) BMP images are not supported. Save the image as PNG.');
  }
  if (![1, 4, 8, 24, 32].includes(bpp)) {
    throw new BmpError('unsupported', `${bpp}-bit BMP images are not supported. Save the image as PNG.`);
  }

  let palette: Buffer | null = null;
  if (bpp <= 8) {
    const entries = colorsUsed || 1 << bpp;
    const entrySize = dibSize === 12 ? 3 : 4;
    const start = 14 + dibSize;
    if (buf.length < start + entries * entrySize) throw new BmpError('truncated', 'The BMP colour table is incomplete.');
    palette = Buffer.alloc(256 * 3);
    for (let i = 0; i < entries && i < 256; i++) {
      const o = start + i * entrySize;
      palette[i * 3] = buf[o + 2]!;
      palette[i * 3 + 1] = buf[o + 1]!;
      palette[i * 3 + 2] = buf[o]!;
    }
  }

  // Rows are padded to 4 bytes.
  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  if (pixelOffset + stride * height > buf.length) {
    throw new BmpError('truncated', 'The image data ends early — the file is truncated or still being copied.');
  }
  const out = Buffer.alloc(width * height * 3);
  const m = masks.map(maskShift);
  for (let y = 0; y < height; y++) {
    const srcRow = pixelOffset + (topDown ? y : height - 1 - y) * stride;
    let o = y * width * 3;
    for (let x = 0; x < width; x++, o += 3) {
      if (bpp === 24) {
        const s = srcRow + x * 3;
        out[o] = buf[s + 2]!;
        out[o + 1] = buf[s + 1]!;
        out[o + 2] = buf[s]!;
      } else if (bpp === 32) {
        const v = buf.readUInt32LE(srcRow + x * 4);
        for (let c = 0; c < 3; c++) {
          const { shift, max } = m[c]!;
          out[o + c] = max === 0 ? 0 : Math.round((((v & masks[c]!) >>> shift) * 255) / max);
        }
      } else {
        const bitPos = x * bpp;
        const byte = buf[srcRow + (bitPos >> 3)]!;
        const idx = (byte >> (8 - bpp - (bitPos & 7))) & ((1 << bpp) - 1);
        out[o] = palette![idx * 3]!;
        out[o + 1] = palette![idx * 3 + 1]!;
        out[o + 2] = palette![idx * 3 + 2]!;
      }
    }
  }
  return { width, height, bitsPerPixel: bpp, data: out };
}

/** Encodes 8-bit RGB as a 24-bit bottom-up BMP (used by the test fixtures). */
export function encodeBmp24(width: number, height: number, rgb: Buffer): Buffer {
  const stride = Math.floor((24 * width + 31) / 32) * 4;
  const size = 54 + stride * height;
  const buf = Buffer.alloc(size);
  buf.write('BM', 0, 'latin1');
  buf.writeUInt32LE(size, 2);
  buf.writeUInt32LE(54, 10);
  buf.writeUInt32LE(40, 14);
  buf.writeInt32LE(width, 18);
  buf.writeInt32LE(height, 22);
  buf.writeUInt16LE(1, 26);
  buf.writeUInt16LE(24, 28);
  buf.writeUInt32LE(stride * height, 34);
  for (let y = 0; y < height; y++) {
    const row = 54 + (height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const s = (y * width + x) * 3;
      buf[row + x * 3] = rgb[s + 2]!;
      buf[row + x * 3 + 1] = rgb[s + 1]!;
      buf[row + x * 3 + 2] = rgb[s]!;
    }
  }
  return buf;
}
