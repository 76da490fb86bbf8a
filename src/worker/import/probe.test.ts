import { createHash } from 'node:crypto';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fx from '../../../test/fixtures/images';
import { decodeBmp, encodeBmp24 } from './bmp';
import { dHashRgb, hammingDistance, intermediateSize, probeFile, sniffFormat, type ProbeOk, type ProbeResult } from './probe';

let dir: string;
let opts: { cacheDir: string; thumbDir: string };
beforeAll(async () => {
  dir = await fx.makeTempDir();
  opts = { cacheDir: join(dir, 'cache'), thumbDir: join(dir, 'thumbs') };
});
afterAll(async () => {
  await fx.removeDir(dir);
});

const dirsWebp = () => ({ cacheDir: join(dir, 'cache-w'), thumbDir: join(dir, 'thumbs-w') });

function ok(r: ProbeResult): ProbeOk {
  if (r.status !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(r)}`);
  return r;
}

async function cacheOf(r: ProbeOk) {
  const { data, info } = await sharp(r.cacheFile).raw().toBuffer({ resolveWithObject: true });
  const meta = await sharp(r.cacheFile).metadata();
  return { data, info, meta };
}

describe('probeFile: valid images', () => {
  const cases: [string, (p: string) => Promise<string>, Partial<ProbeOk['info']>][] = [
    ['a.jpg', (p) => fx.writeJpeg(p), { format: 'jpeg', channels: 3, bitDepth: 8, colourSpace: 'srgb' }],
    ['b.png', (p) => fx.writePng(p), { format: 'png', channels: 3, bitDepth: 8 }],
    ['c.tiff', (p) => fx.writeTiff(p), { format: 'tiff', channels: 3 }],
    ['d.webp', (p) => fx.writeWebp(p), { format: 'webp', channels: 3 }],
    ['e.bmp', (p) => fx.writeBmp(p), { format: 'bmp', channels: 3, bitDepth: 8 }],
    ['cmyk.jpg', (p) => fx.writeCmykJpeg(p), { format: 'jpeg', channels: 4, colourSpace: 'cmyk' }],
    ['16.png', (p) => fx.write16BitPng(p), { format: 'png', bitDepth: 16, colourSpace: 'srgb' }],
    ['rgba.png', (p) => fx.writeRgbaPng(p), { format: 'png', channels: 4, hasAlpha: true }],
    ['gray.png', (p) => fx.writeGrayPng(p), { format: 'png', channels: 1, colourSpace: 'b-w' }],
  ];
  for (const [name, make, expected] of cases) {
    it(`${name}: reports ${JSON.stringify(expected)} and writes an 8-bit sRGB 128x128 cache and a thumbnail`, async () => {
      const file = await make(join(dir, 'valid', name));
      const r = ok(await probeFile(file, opts));
      expect(r.info).toMatchObject({ width: 96, height: 72, orientation: 1, hasAlpha: false, ...expected });
      expect(r.sha256).toBe(createHash('sha256').update(await readFile(file)).digest('hex'));
      expect(r.bytes).toBe((await stat(file)).size);
      expect(r.phash).toMatch(/^[0-9a-f]{16}$/);
      expect(r.cacheFile).toBe(join(opts.cacheDir, r.sha256.slice(0, 2), `${r.sha256}.png`));
      expect(r.thumbFile).toBe(join(opts.thumbDir, r.sha256.slice(0, 2), `${r.sha256}.jpg`));
      const { info, meta } = await cacheOf(r);
      expect([info.width, info.height, info.channels]).toEqual([128, 128, 3]);
      expect(meta).toMatchObject({ format: 'png', depth: 'uchar', space: 'srgb', hasAlpha: false });
      const thumb = await sharp(r.thumbFile).metadata();
      expect([thumb.format, thumb.width, thumb.height]).toEqual(['jpeg', 96, 72]); // never enlarged
    });
  }

  it('converts CMYK to the same colours as the RGB original (within JPEG and profile error)', async () => {
    const rgb = ok(await probeFile(await fx.writeJpeg(join(dir, 'cmp', 'rgb.jpg'), { seed: 9 }), opts));
    const cmyk = ok(await probeFile(await fx.writeCmykJpeg(join(dir, 'cmp', 'cmyk.jpg'), { seed: 9 }), opts));
    const [a, b] = [(await cacheOf(rgb)).data, (await cacheOf(cmyk)).data];
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff += Math.abs(a[i]! - b[i]!);
    expect(diff / a.length).toBeLessThan(20); // mean absolute difference, 0..255 scale
  });

  it('flattens alpha onto black', async () => {
    const r = ok(await probeFile(await fx.writeRgbaPng(join(dir, 'alpha', 'rgba.png'), { width: 128, height: 128 }), opts));
    const { data } = await cacheOf(r);
    // Left half was fully transparent.
    expect([data[0], data[1], data[2]]).toEqual([0, 0, 0]);
    expect(data[(64 * 128 + 100) * 3]! + data[(64 * 128 + 100) * 3 + 1]!).toBeGreaterThan(0);
  });

  it('applies EXIF orientation 6: the displayed size is swapped and the cache is rotated clockwise', async () => {
    // Stored 200x100, left half black and right half white; orientation 6 = rotate 90 deg CW to
    // view, so the viewer sees 100x200 with the black half on top.
    const stored = Buffer.alloc(200 * 100 * 3);
    for (let y = 0; y < 100; y++) for (let x = 100; x < 200; x++) stored.fill(255, (y * 200 + x) * 3, (y * 200 + x) * 3 + 3);
    const file = join(dir, 'rot', 'rotated.jpg');
    await fx.copyTo(await fx.writeJpeg(join(dir, 'rot', 'tmp.jpg')), file);
    await writeFile(
      file,
      await sharp(stored, { raw: { width: 200, height: 100, channels: 3 } })
        .jpeg()
        .withMetadata({ orientation: 6 })
        .toBuffer(),
    );
    const r = ok(await probeFile(file, opts));
    expect(r.info).toMatchObject({ width: 100, height: 200, orientation: 6 });
    const thumb = await sharp(r.thumbFile).metadata();
    expect([thumb.width, thumb.height]).toEqual([80, 160]);
    const { data } = await cacheOf(r);
    const mean = (y0: number, y1: number) => {
      let s = 0;
      for (let y = y0; y < y1; y++) for (let x = 0; x < 128; x++) s += data[(y * 128 + x) * 3]!;
      return s / ((y1 - y0) * 128);
    };
    expect(mean(0, 50)).toBeLessThan(30); // top: black
    expect(mean(78, 128)).toBeGreaterThan(225); // bottom: white
  });

  it('copies no EXIF, GPS, XMP or ICC data into the cache or the thumbnail', async () => {
    const file = await fx.writeExifRotatedJpeg(join(dir, 'exif', 'gps.jpg'));
    const original = await sharp(file).metadata();
    expect(original.exif?.toString('latin1')).toContain('Patient 0042'); // the fixture does carry it
    const r = ok(await probeFile(file, opts));
    for (const out of [r.cacheFile, r.thumbFile]) {
      const meta = await sharp(out).metadata();
      expect(meta.exif).toBeUndefined();
      expect(meta.xmp).toBeUndefined();
      expect(meta.icc).toBeUndefined();
      expect(meta.orientation).toBeUndefined();
      expect((await readFile(out)).toString('latin1')).not.toContain('Patient 0042');
    }
  });

  it('centre-crops non-square images to the square cache', async () => {
    // 300x100: left third red, middle green, right third blue -> the cache is all green.
    const px = Buffer.alloc(300 * 100 * 3);
    for (let y = 0; y < 100; y++) for (let x = 0; x < 300; x++) px[(y * 300 + x) * 3 + Math.floor(x / 100)] = 255;
    const file = join(dir, 'crop', 'wide.png');
    await fx.copyTo(await fx.writePng(join(dir, 'crop', 'tmp.png')), file);
    await writeFile(file, await sharp(px, { raw: { width: 300, height: 100, channels: 3 } }).png().toBuffer());
    const r = ok(await probeFile(file, { ...opts, cacheSize: 64 }));
    const { data, info } = await cacheOf(r);
    expect([info.width, info.height]).toEqual([64, 64]);
    // Green everywhere; the outermost columns may pick up a little red/blue from the resampling kernel.
    for (const i of [0, 32 * 64 + 32, 64 * 64 - 1]) {
      expect(data[i * 3 + 1]).toBeGreaterThan(200);
      expect(data[i * 3]! + data[i * 3 + 2]!).toBeLessThan(40);
    }
    expect([data[(32 * 64 + 32) * 3], data[(32 * 64 + 32) * 3 + 2]]).toEqual([0, 0]);
    expect((await sharp(r.thumbFile).metadata()).width).toBe(160);
  });

  it('writes a WebP thumbnail on request', async () => {
    const r = ok(await probeFile(await fx.writeJpeg(join(dir, 'webp-thumb', 'x.jpg'), { seed: 55 }), { ...dirsWebp(), thumbFormat: 'webp' }));
    expect(r.thumbFile.endsWith(`${r.sha256}.webp`)).toBe(true);
    expect((await sharp(r.thumbFile).metadata()).format).toBe('webp');
  });

  it('does not redo work for content already in the cache (content-addressed)', async () => {
    const file = await fx.writeJpeg(join(dir, 'again', 'x.jpg'), { seed: 77 });
    const first = ok(await probeFile(file, opts));
    const before = (await stat(first.cacheFile)).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    const copy = await fx.copyTo(file, join(dir, 'again', 'copy.jpg'));
    const second = ok(await probeFile(copy, opts));
    expect(second.cacheFile).toBe(first.cacheFile);
    expect((await stat(second.cacheFile)).mtimeMs).toBe(before);
    expect(second.phash).toBe(first.phash);
  });
});

describe('probeFile: decode slots', () => {
  it('decodes only while holding a slot and gives it back, for imported and rejected files alike', async () => {
    let held = 0;
    let taken = 0;
    const decodeSlot = async () => {
      held++;
      taken++;
      return () => held--;
    };
    const good = ok(await probeFile(await fx.writeJpeg(join(dir, 'slots', 'a.jpg'), { seed: 3 }), { ...opts, thumbFormat: 'cache', decodeSlot }));
    expect(good.cacheFile).toBe(good.thumbFile);
    const bad = await probeFile(await fx.writeTruncatedJpeg(join(dir, 'slots', 'cut.jpg')), { ...opts, thumbFormat: 'cache', decodeSlot });
    expect(bad).toMatchObject({ status: 'rejected', reason: { kind: 'truncated' } });
    const text = await probeFile(await fx.writeTextAsImage(join(dir, 'slots', 'note.jpg')), { ...opts, decodeSlot });
    expect(text).toMatchObject({ status: 'rejected', reason: { kind: 'not-an-image' } });
    expect([taken, held]).toEqual([2, 0]); // no slot for a file that is not an image
  });
});

describe('probeFile: rejected files, with a plain reason', () => {
  const cases: [string, (p: string) => Promise<string>, string, RegExp][] = [
    ['empty.jpg', fx.writeZeroByte, 'empty', /^"empty.jpg" is empty \(0 bytes\)\.$/],
    ['text.jpg', fx.writeTextAsImage, 'not-an-image', /^"text.jpg" is a text file, not an image\.$/],
    ['truncated.jpg', (p) => fx.writeTruncatedJpeg(p), 'truncated', /the image data ends early — the file is truncated or still being copied\.$/],
    ['corrupt.jpg', (p) => fx.writeCorruptJpeg(p), 'unreadable', /^"corrupt.jpg" is damaged: its image data cannot be decoded\.$/],
    ['garbage.jpg', fx.writeGarbageAfterHeader, 'truncated', /the image data ends early/], // no end marker: cut short
  ];
  for (const [name, make, kind, message] of cases) {
    it(`${name} -> ${kind}`, async () => {
      const file = await make(join(dir, 'bad', name));
      const r = await probeFile(file, opts);
      expect(r.status).toBe('rejected');
      if (r.status !== 'rejected') return;
      expect(r.reason.kind).toBe(kind);
      expect(r.reason.message).toMatch(message);
    });
  }

  it('truncated PNG, TIFF, WebP and BMP are truncated (or at least rejected) too', async () => {
    const kinds: string[] = [];
    for (const [name, make] of [
      ['t.png', fx.writePng],
      ['t.tif', fx.writeTiff],
      ['t.webp', fx.writeWebp],
      ['t.bmp', fx.writeBmp],
    ] as const) {
      const full = await readFile(await make(join(dir, 'trunc', `full-${name}`), { width: 300, height: 200 }));
      const file = join(dir, 'trunc', name);
      await writeFile(file, full.subarray(0, full.length >> 1));
      const r = await probeFile(file, opts);
      expect(r.status, name).toBe('rejected');
      if (r.status === 'rejected') kinds.push(`${name}:${r.reason.kind}`);
    }
    expect(kinds).toEqual(['t.png:truncated', 't.tif:truncated', 't.webp:truncated', 't.bmp:truncated']);
  });

  it('formats we do not import are unsupported, named in words', async () => {
    const gif = join(dir, 'bad', 'anim.jpg');
    await writeFile(gif, await sharp({ create: { width: 8, height: 8, channels: 3, background: '#f00' } }).gif().toBuffer());
    const r = await probeFile(gif, opts);
    expect(r).toMatchObject({ status: 'rejected', reason: { kind: 'unsupported' } });
    if (r.status === 'rejected') expect(r.reason.message).toBe('"anim.jpg" is a GIF image; GAN Augment imports JPEG, PNG, TIFF, WebP and BMP images. Convert it to PNG first.');
    const dicom = join(dir, 'bad', 'scan.png');
    await writeFile(dicom, Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), Buffer.alloc(64, 1)]));
    expect(await probeFile(dicom, opts)).toMatchObject({ status: 'rejected', reason: { kind: 'unsupported', message: expect.stringContaining('a DICOM file') } });
  });

  it('a missing file is unreadable, with the reason in words', async () => {
    const r = await probeFile(join(dir, 'bad', 'gone.jpg'), { ...opts, displayName: 'NV/gone.jpg' });
    expect(r).toMatchObject({
      status: 'rejected',
      reason: { kind: 'unreadable', message: '"NV/gone.jpg" could not be read: it was moved or deleted during the import.' },
    });
  });

  it('rejected files write nothing into the cache', async () => {
    const o = { cacheDir: join(dir, 'c2'), thumbDir: join(dir, 't2') };
    await probeFile(await fx.writeTruncatedJpeg(join(dir, 'bad', 'tr2.jpg')), o);
    await expect(readdir(o.cacheDir)).rejects.toThrow();
    await expect(readdir(o.thumbDir)).rejects.toThrow();
  });
});

describe('hashes', () => {
  it('dHash: the same picture re-encoded or resized is within a few bits; different pictures are far apart', async () => {
    const base = await fx.writeJpeg(join(dir, 'ph', 'a.jpg'), { width: 400, height: 300, seed: 5, quality: 95 });
    const recompressed = join(dir, 'ph', 'a-q60-small.jpg');
    await writeFile(recompressed, await sharp(base).resize(200, 150).jpeg({ quality: 60 }).toBuffer());
    const other = await fx.writeJpeg(join(dir, 'ph', 'b.jpg'), { width: 400, height: 300, seed: 6 });
    const [a, a2, b] = await Promise.all([base, recompressed, other].map(async (f) => ok(await probeFile(f, opts)).phash));
    expect(hammingDistance(a!, a2!)).toBeLessThanOrEqual(6);
    expect(hammingDistance(a!, b!)).toBeGreaterThan(16);
  });

  it('dHash bit order: most significant bit is the top-left comparison', () => {
    // 9x8 image, each row decreasing left to right except the first comparison of row 0.
    const w = 9;
    const h = 8;
    const px = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px.fill(200 - x * 10, (y * w + x) * 3, (y * w + x) * 3 + 3);
    px.fill(0, 0, 3); // (0,0) darker than (1,0)
    expect(dHashRgb(px, w, h)).toBe('7fffffffffffffff');
  });

  it('hammingDistance counts differing bits', () => {
    expect(hammingDistance('0000000000000000', 'ffffffffffffffff')).toBe(64);
    expect(hammingDistance('8000000000000001', '0000000000000000')).toBe(2);
    expect(() => hammingDistance('00', '000')).toThrow();
  });

  it('intermediateSize covers both the square crop and the thumbnail', () => {
    expect(intermediateSize(1024, 768, 128, 160)).toEqual({ width: 171, height: 128 });
    expect(intermediateSize(2000, 500, 128, 160)).toEqual({ width: 512, height: 128 });
    expect(intermediateSize(28, 28, 128, 160)).toEqual({ width: 128, height: 128 });
  });

  it('sniffFormat decides by content, not name', () => {
    expect(sniffFormat(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toBe('jpeg');
    expect(sniffFormat(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"></svg>'))).toBe('svg');
    expect(sniffFormat(Buffer.from('%PDF-1.7'))).toBe('pdf');
    expect(sniffFormat(Buffer.from([0, 1, 2, 3, 250, 251, 252, 0, 0, 9]))).toBeNull();
  });
});

describe('BMP', () => {
  it('round-trips 24-bit and decodes 8-bit palette and 32-bit BMPs', () => {
    const rgb = Buffer.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
    const bmp24 = encodeBmp24(3, 2, rgb);
    expect(decodeBmp(bmp24)).toMatchObject({ width: 3, height: 2, bitsPerPixel: 24, data: rgb });

    // 2x1, 8-bit palette: index 1 = blue-ish, index 0 = black.
    const pal = Buffer.alloc(14 + 40 + 256 * 4 + 4);
    pal.write('BM', 0, 'latin1');
    pal.writeUInt32LE(14 + 40 + 1024, 10);
    pal.writeUInt32LE(40, 14);
    pal.writeInt32LE(2, 18);
    pal.writeInt32LE(-1, 22); // top-down
    pal.writeUInt16LE(8, 28);
    pal.writeUInt8(200, 14 + 40 + 4); // palette[1].blue
    pal.writeUInt8(1, 14 + 40 + 1024 + 1); // pixel (1,0) = index 1
    expect(decodeBmp(pal).data).toEqual(Buffer.from([0, 0, 0, 0, 0, 200]));

    const b32 = Buffer.alloc(54 + 4);
    b32.write('BM', 0, 'latin1');
    b32.writeUInt32LE(54, 10);
    b32.writeUInt32LE(40, 14);
    b32.writeInt32LE(1, 18);
    b32.writeInt32LE(1, 22);
    b32.writeUInt16LE(32, 28);
    b32.writeUInt32LE(0x00112233, 54); // BGRX little-endian: B=0x33 G=0x22 R=0x11
    expect(decodeBmp(b32).data).toEqual(Buffer.from([0x11, 0x22, 0x33]));
  });

  it('refuses RLE BMPs as unsupported', async () => {
    const b = encodeBmp24(2, 2, Buffer.alloc(12));
    b.writeUInt16LE(8, 28);
    b.writeUInt32LE(1, 30); // BI_RLE8
    const file = join(dir, 'bmp', 'rle.bmp');
    await fx.copyTo(await fx.writeBmp(join(dir, 'bmp', 'tmp.bmp')), file);
    await writeFile(file, b);
    expect(await probeFile(file, opts)).toMatchObject({ status: 'rejected', reason: { kind: 'unsupported', message: expect.stringContaining('RLE') } });
  });
});
