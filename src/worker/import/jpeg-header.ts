/**
 * Reads what the import reports about a JPEG (size, components, EXIF orientation) from its
 * header in JavaScript, so that the common case needs no separate sharp metadata() call (about
 * 0.4 ms of CPU and one thread-pool round trip per file). The decode that follows is unchanged:
 * libvips still reads the same header, applies the orientation itself (`rotate()`) and decodes
 * strictly; a damaged header fails there.
 *
 * Deliberately narrow: only the plain case is answered (8-bit baseline, extended or progressive
 * Huffman JPEG, 1 or 3 components, at most one well-formed EXIF block whose orientation, if any,
 * is a single SHORT in 1..8). Anything else (CMYK, 12-bit, arithmetic or lossless coding, a
 * second EXIF block, an EXIF block libexif might read differently, a malformed segment) returns
 * null and the caller asks sharp, so the answer never differs from sharp's metadata().
 */

export interface JpegHeader {
  /** Stored size, before orientation. */
  width: number;
  height: number;
  /** 1 (greyscale) or 3 (YCbCr / RGB). */
  components: 1 | 3;
  /** EXIF orientation 1..8; 1 when the file has none. */
  orientation: number;
}

/** Orientation from an APP1 segment's data (after the length), or null when it is not plain. */
function exifOrientation(buf: Buffer, start: number, end: number): number | null | 'none' {
  // "Exif\0\0", then a TIFF header.
  const tiff = start + 6;
  if (end - tiff < 8) return null;
  const le = buf[tiff] === 0x49 && buf[tiff + 1] === 0x49;
  const be = buf[tiff] === 0x4d && buf[tiff + 1] === 0x4d;
  if (!le && !be) return null;
  const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  if (u16(tiff + 2) !== 42) return null;
  const ifd0 = tiff + u32(tiff + 4);
  if (ifd0 < tiff + 8 || ifd0 + 2 > end) return null;
  const count = u16(ifd0);
  if (count === 0 || ifd0 + 2 + count * 12 > end) return null;
  let orientation: number | 'none' = 'none';
  for (let i = 0; i < count; i++) {
    const e = ifd0 + 2 + i * 12;
    if (u16(e) !== 0x0112) continue;
    // SHORT, one value, stored in the entry itself
    if (orientation !== 'none' || u16(e + 2) !== 3 || u32(e + 4) !== 1) return null;
    const v = u16(e + 8);
    if (v < 1 || v > 8) return null;
    orientation = v;
  }
  return orientation;
}

/** The header of a plain JPEG, or null (ask sharp). `buf` starts with FF D8 FF. */
export function readJpegHeader(buf: Buffer): JpegHeader | null {
  let p = 2;
  let frame: { width: number; height: number; components: 1 | 3 } | null = null;
  let orientation = 1;
  let sawExif = false;
  while (p + 4 <= buf.length) {
    if (buf[p] !== 0xff) return null;
    let m = buf[p + 1]!;
    while (m === 0xff && p + 2 < buf.length) m = buf[++p + 1]!; // fill bytes
    if (m === 0xda) return frame ? { ...frame, orientation } : null; // start of scan: the header is complete
    // Standalone markers (SOI, EOI, RSTn, TEM) do not belong here.
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd9) || m === 0xff) return null;
    if (p + 4 > buf.length) return null;
    const len = buf.readUInt16BE(p + 2);
    const start = p + 4;
    const end = p + 2 + len;
    if (len < 2 || end > buf.length) return null;
    if (m === 0xc0 || m === 0xc1 || m === 0xc2) {
      if (frame || len < 8) return null;
      const precision = buf[start]!;
      const height = buf.readUInt16BE(start + 1);
      const width = buf.readUInt16BE(start + 3);
      const n = buf[start + 5]!;
      if (precision !== 8 || width === 0 || height === 0 || (n !== 1 && n !== 3) || len !== 8 + 3 * n) return null;
      frame = { width, height, components: n };
    } else if (m >= 0xc3 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      return null; // lossless, hierarchical or arithmetic-coded frames: let sharp answer
    } else if (m === 0xe1 && end - start >= 4 && buf.toString('latin1', start, start + 4) === 'Exif') {
      // libvips parses every APP1 that starts with "Exif"; only one plain block is answered here.
      if (sawExif || end - start < 6 || buf[start + 4] !== 0 || buf[start + 5] !== 0) return null;
      sawExif = true;
      const o = exifOrientation(buf, start, end);
      if (o === null) return null;
      if (o !== 'none') orientation = o;
    }
    p = end;
  }
  return null;
}
