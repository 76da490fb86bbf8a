import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import * as fx from '../../../test/fixtures/images';
import { readJpegHeader } from './jpeg-header';

const rgb = (w: number, h: number) => sharp({ create: { width: w, height: h, channels: 3, background: '#a05030' } });

/** Whenever readJpegHeader answers, its answer is sharp's metadata(). */
async function agreesWithSharp(buf: Buffer) {
  const h = readJpegHeader(buf);
  const m = await sharp(buf).metadata();
  if (h) expect({ width: h.width, height: h.height, channels: h.components, orientation: h.orientation }).toEqual({ width: m.width, height: m.height, channels: m.channels, orientation: m.orientation ?? 1 });
  return h;
}

describe('readJpegHeader', () => {
  it('reads size, components and every EXIF orientation exactly as sharp does', async () => {
    for (let o = 1; o <= 8; o++) {
      const buf = await rgb(40, 30).jpeg().withMetadata({ orientation: o }).toBuffer();
      expect(await agreesWithSharp(buf)).toEqual({ width: 40, height: 30, components: 3, orientation: o });
    }
  });

  it('answers for files without EXIF, greyscale, progressive and photo-like JPEGs', async () => {
    expect(await agreesWithSharp(await rgb(33, 17).jpeg().toBuffer())).toEqual({ width: 33, height: 17, components: 3, orientation: 1 });
    expect(await agreesWithSharp(await rgb(20, 10).toColourspace('b-w').jpeg().toBuffer())).toMatchObject({ components: 1 });
    expect(await agreesWithSharp(await rgb(64, 48).jpeg({ progressive: true }).toBuffer())).toMatchObject({ width: 64, height: 48 });
    expect(await agreesWithSharp(await fx.jpegBuffer({ width: 96, height: 72 }))).toMatchObject({ width: 96, height: 72 });
  });

  it('reads the fixture with EXIF, GPS and orientation', async () => {
    const dir = await fx.makeTempDir();
    try {
      const file = await fx.writeExifRotatedJpeg(`${dir}/gps.jpg`);
      const buf = await readFile(file);
      expect(await agreesWithSharp(buf)).not.toBeNull();
    } finally {
      await fx.removeDir(dir);
    }
  });

  it('leaves unusual files to sharp: CMYK, odd orientation values, truncated headers, two EXIF blocks', async () => {
    expect(readJpegHeader(await rgb(20, 10).toColourspace('cmyk').jpeg().toBuffer())).toBeNull();
    const oriented = await rgb(40, 30).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    expect(readJpegHeader(oriented)).toMatchObject({ orientation: 6 });
    // the orientation entry (sharp writes little-endian EXIF): tag 0x0112, type SHORT
    const e = oriented.indexOf(Buffer.from([0x12, 0x01, 0x03, 0x00]));
    expect(e).toBeGreaterThan(0);
    const nine = Buffer.from(oriented);
    nine.writeUInt16LE(9, e + 8);
    expect(readJpegHeader(nine)).toBeNull();
    const long = Buffer.from(oriented);
    long.writeUInt16LE(4, e + 2); // LONG instead of SHORT
    expect(readJpegHeader(long)).toBeNull();
    // cut inside the header
    expect(readJpegHeader(oriented.subarray(0, 40))).toBeNull();
    expect(readJpegHeader(oriented.subarray(0, 2))).toBeNull();
    // a second EXIF block right after SOI
    const a = oriented.indexOf(Buffer.from([0xff, 0xe1]));
    const app1 = oriented.subarray(a, a + 2 + oriented.readUInt16BE(a + 2));
    const twice = Buffer.concat([oriented.subarray(0, 2), app1, oriented.subarray(2)]);
    expect(readJpegHeader(twice)).toBeNull();
    // "Exif" without the two zero bytes
    const odd = Buffer.from(oriented);
    odd[odd.indexOf('Exif\0\0', 0, 'latin1') + 5] = 0xff;
    expect(readJpegHeader(odd)).toBeNull();
  });

  it('leaves 12-bit, lossless and arithmetic-coded frames to sharp', async () => {
    const base = await rgb(20, 10).jpeg().toBuffer();
    const sof = base.indexOf(Buffer.from([0xff, 0xc0]));
    const twelve = Buffer.from(base);
    twelve[sof + 4] = 12;
    expect(readJpegHeader(twelve)).toBeNull();
    for (const m of [0xc3, 0xc9, 0xca, 0xcb]) {
      const other = Buffer.from(base);
      other[sof + 1] = m;
      expect(readJpegHeader(other)).toBeNull();
    }
  });
});
