import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { encodeRgbPng } from './png';

describe('encodeRgbPng', () => {
  it('writes a PNG that sharp decodes to exactly the same pixels, with no metadata', async () => {
    const w = 37;
    const h = 21;
    const rgb = Buffer.alloc(w * h * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 31 + (i >> 5)) & 255;
    const png = encodeRgbPng(rgb, w, h);
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([w, h, 3]);
    expect(Buffer.compare(data, rgb)).toBe(0);
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.exif, meta.icc]).toEqual(['png', undefined, undefined]);
  });

  it('refuses a buffer of the wrong size', () => {
    expect(() => encodeRgbPng(Buffer.alloc(10), 2, 2)).toThrow(/Expected 12 bytes/);
  });
});

describe('encodeRgbPng on a smooth picture', () => {
  it('compresses it well and losslessly (Sub filter + Huffman)', async () => {
    const w = 128;
    const rgb = Buffer.alloc(w * w * 3);
    for (let y = 0; y < w; y++) for (let x = 0; x < w; x++) rgb.set([x * 2, y * 2, 128], (y * w + x) * 3);
    const png = encodeRgbPng(rgb, w, w);
    expect(png.length).toBeLessThan(rgb.length / 4);
    const back = await sharp(png).raw().toBuffer();
    expect(Buffer.compare(back, rgb)).toBe(0);
  });
});
