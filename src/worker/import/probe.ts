/**
 * Probe one image file: read it once, hash the original bytes, decode it once with sharp, and
 * write the training-resolution cache PNG and the thumbnail. Every failure that is the file's
 * fault becomes a `rejected` result with a plain sentence; failures that are the project's fault
 * (disk full, cache folder read-only) throw AppError and stop the import.
 *
 * Decisions (see also the module's README section in the report):
 * - Colour: every output is 8-bit sRGB RGB, 3 channels. CMYK is converted with its embedded
 *   profile (or libvips' default CMYK profile), 16-bit is scaled to 8-bit, grayscale is
 *   replicated to 3 equal channels (one channel count for the whole project keeps the training
 *   tensors uniform; a model that wants grayscale can average them losslessly), and alpha is
 *   flattened onto black (a deterministic choice; transparent pixels carry no clinical content).
 * - Orientation: the EXIF orientation is applied (`rotate()`), so a portrait photo stays
 *   portrait. `info.width/height` are the displayed (oriented) size.
 * - Cache image: centre-cropped to a square, then resized to `cacheSize` x `cacheSize` (default
 *   128 px), enlarged when the original is smaller: the GAN trains on square images at one size.
 *   Dermoscopy puts the lesion in the centre, so the crop loses background, not lesion; the
 *   thumbnail keeps the whole picture.
 * - Thumbnail: the whole image fitted inside `thumbSize` (default 160 px), never enlarged, JPEG
 *   quality 80 by default (WebP on request; it costs ~2.5x the CPU of JPEG at this size).
 * - Metadata: neither output carries EXIF, GPS, XMP or ICC data: both are encoded from raw pixels
 *   (and sharp copies no metadata unless asked to with `withMetadata`).
 * - One decode: the original is decoded once, with JPEG/WebP shrink-on-load, to an intermediate
 *   just large enough for both outputs; both outputs and the perceptual hash come from it.
 * - Perceptual hash: 64-bit dHash (difference hash) of the intermediate: luminance box-averaged
 *   to 9 x 8, each bit = "this cell is brighter than its right neighbour", 16 hex characters,
 *   most significant bit = top-left. Robust to rescaling and recompression; compare with
 *   `hammingDistance` (0 = same picture, <= 10 of 64 bits = very likely a near-duplicate).
 * - Strictness: sharp's `failOn: 'warning'` — a JPEG whose compressed data is damaged decodes to
 *   grey or smeared blocks that would silently poison training, so it is rejected. (Benign
 *   oddities such as padding after the end marker do not trigger it.)
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { access, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import sharp from 'sharp';
import { AppError } from '../../shared/errors';
import { BmpError, decodeBmp, isBmp } from './bmp';
import { readJpegHeader } from './jpeg-header';
import { encodeRgbPng } from './png';
import type { RejectKind, RejectReason, ImageFormat, ImageInfo, ProbeOk, ProbeRejected, ProbeSkipped } from '../../shared/import-types';
export type { RejectKind, RejectReason, ImageFormat, ImageInfo, ProbeOk, ProbeRejected, ProbeSkipped };

export type ProbeResult = ProbeOk | ProbeRejected | ProbeSkipped;

export interface ProbeOptions {
  cacheDir: string;
  thumbDir: string;
  /** Side of the square training image in pixels. Default 128. */
  cacheSize?: number;
  /** Longest side of the thumbnail in pixels. Default 160. */
  thumbSize?: number;
  /**
   * Thumbnail format. Default 'jpeg': about 2.5x cheaper to encode than WebP at this size.
   * 'cache': no separate thumbnail; the square training copy serves as one. The file is decoded
   * straight to the square (one resize, like sharp's own decode+resize) and only one file is
   * encoded and written: the app's import uses this, the person sees what the GAN sees.
   */
  thumbFormat?: ThumbFormat | 'cache';
  /** Quality of the thumbnail, 1..100. Default 80. */
  thumbQuality?: number;
  /** zlib level of the cache PNG, 0..9. Default 1: about half the CPU of level 3 for a few % more bytes. */
  pngCompression?: number;
  /** How the file is named in messages; default its base name. */
  displayName?: string;
  /** Called with the content hash before decoding; true skips the decode (resume, re-import). */
  skipHash?: (sha256: string) => boolean;
  /**
   * Waits for a decode slot and resolves to its release function. The pipeline uses it to run at
   * most `concurrency` decodes at once while other files are read, hashed and written around
   * them (see pipeline.ts). Without it, the decode starts at once.
   */
  decodeSlot?: () => Promise<() => void>;
  signal?: AbortSignal;
}

export type ThumbFormat = 'jpeg' | 'webp';

export const DEFAULT_CACHE_SIZE = 128;
export const DEFAULT_THUMB_SIZE = 160;

export function cachePathFor(cacheDir: string, sha256: string): string {
  return join(cacheDir, sha256.slice(0, 2), `${sha256}.png`);
}
export function thumbPathFor(thumbDir: string, sha256: string, format: ThumbFormat = 'jpeg'): string {
  return join(thumbDir, sha256.slice(0, 2), `${sha256}.${format === 'jpeg' ? 'jpg' : 'webp'}`);
}

// ---------------------------------------------------------------------------------------------
// Format sniffing: decide from the first bytes, never from the extension, and never hand sharp a
// format we do not import (SVG and PDF loaders, for one, have no business running here).

type Sniffed = ImageFormat | 'gif' | 'heif' | 'avif' | 'jp2' | 'dicom' | 'pdf' | 'svg' | 'psd' | 'text' | null;

export function sniffFormat(buf: Buffer): Sniffed {
  const b = (i: number) => buf[i] ?? -1;
  const ascii = (start: number, end: number) => buf.subarray(start, end).toString('latin1');
  if (b(0) === 0xff && b(1) === 0xd8 && b(2) === 0xff) return 'jpeg';
  if (b(0) === 0x89 && ascii(1, 4) === 'PNG') return 'png';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  if (ascii(0, 4) === 'II*\0' || ascii(0, 4) === 'MM\0*' || ascii(0, 4) === 'II+\0' || ascii(0, 4) === 'MM\0+') return 'tiff';
  if (isBmp(buf)) return 'bmp';
  if (ascii(0, 4) === 'GIF8') return 'gif';
  if (ascii(4, 8) === 'ftyp') return /avif|avis/.test(ascii(8, 12)) ? 'avif' : 'heif';
  if (ascii(0, 12) === '\0\0\0\x0cjP  \r\n\x87\n' || (b(0) === 0xff && b(1) === 0x4f && b(2) === 0xff)) return 'jp2';
  if (ascii(128, 132) === 'DICM') return 'dicom';
  if (ascii(0, 5) === '%PDF-') return 'pdf';
  if (ascii(0, 4) === '8BPS') return 'psd';
  const head = buf.subarray(0, 512).toString('utf8').trimStart();
  if (/^(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*<svg[\s>]/i.test(head)) return 'svg';
  // Mostly printable bytes: a text file (a CSV, a note, an HTML error page saved as .jpg).
  const n = Math.min(buf.length, 512);
  let printable = 0;
  for (let i = 0; i < n; i++) {
    const c = buf[i]!;
    if (c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127) || c >= 0xc2) printable++;
  }
  if (n > 0 && printable / n > 0.95) return 'text';
  return null;
}

const FORMAT_NAMES: Record<string, string> = {
  gif: 'a GIF image',
  heif: 'a HEIC/HEIF image (iPhone photo format)',
  avif: 'an AVIF image',
  jp2: 'a JPEG 2000 image',
  dicom: 'a DICOM file',
  pdf: 'a PDF document',
  svg: 'an SVG drawing',
  psd: 'a Photoshop document',
};

// ---------------------------------------------------------------------------------------------
// Reasons

function rejected(kind: RejectKind, message: string, extra: Partial<ProbeRejected> & { detail?: string } = {}): ProbeRejected {
  const { detail, ...rest } = extra;
  return { status: 'rejected', reason: { kind, message, ...(detail ? { detail } : {}) }, ...rest };
}

const TRUNCATED = /premature end of JPEG (image|file)|end of stream|unexpected end|truncated|Read error|not enough data|short read|EOF/i;

/**
 * After a decode failure: does the file's own structure say it was cut short? Each format records
 * where its data ends, so this does not depend on the decoder's wording.
 */
export function endsEarly(buf: Buffer, format: Sniffed): boolean {
  switch (format) {
    case 'tiff': {
      // Offset of the first directory (libvips and many scanners write it at the end).
      const le = buf[0] === 0x49;
      if (buf.length < 8) return true;
      const big = buf[2] === 0x2b || buf[3] === 0x2b; // BigTIFF: 64-bit offset at 8
      if (big) return buf.length < 16 || Number(le ? buf.readBigUInt64LE(8) : buf.readBigUInt64BE(8)) >= buf.length;
      return (le ? buf.readUInt32LE(4) : buf.readUInt32BE(4)) >= buf.length;
    }
    case 'webp':
      return buf.length < 12 || buf.readUInt32LE(4) + 8 > buf.length; // RIFF size counts from byte 8
    case 'png':
      return buf.length < 12 || buf.subarray(-12).toString('latin1').slice(4, 8) !== 'IEND';
    case 'jpeg': {
      // The end-of-image marker, possibly followed by a little padding.
      const tail = buf.subarray(Math.max(0, buf.length - 1024));
      return tail.indexOf(Buffer.from([0xff, 0xd9])) < 0;
    }
    default:
      return false;
  }
}

const truncatedReason = (name: string, detail?: string): RejectReason => ({
  kind: 'truncated',
  message: `"${name}": the image data ends early — the file is truncated or still being copied.`,
  ...(detail ? { detail } : {}),
});

/** Turns a decoder error into a reason. libvips' wording varies by format; these cover the loaders sharp ships. */
export function reasonFromDecodeError(name: string, err: unknown, buf?: Buffer, format?: Sniffed): RejectReason {
  const detail = String((err as Error)?.message ?? err);
  if (buf && format && endsEarly(buf, format)) return truncatedReason(name, detail);
  if (TRUNCATED.test(detail) && !/data segment/i.test(detail)) {
    return {
      kind: 'truncated',
      message: `"${name}": the image data ends early — the file is truncated or still being copied.`,
      detail,
    };
  }
  if (/pixel limit/i.test(detail)) {
    return { kind: 'unsupported', message: `"${name}" is too large to import (more than 268 million pixels).`, detail };
  }
  return { kind: 'unreadable', message: `"${name}" is damaged: its image data cannot be decoded.`, detail };
}

function fsErrorIsFatal(err: unknown): AppError | null {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new AppError('disk-full', 'The disk holding the project is full; free some space and resume the import.', { cause: err });
  }
  if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') {
    return new AppError('read-only', 'The project folder cannot be written to; check its permissions or choose another place.', { cause: err });
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Files

/** Folders already created in this process: skip the mkdir system call for the other files. */
const madeDirs = new Set<string>();

/** Suffix of temporary files; removeStaleTempFiles deletes leftovers after a crash. */
export const TEMP_SUFFIX = '.partial';

/**
 * Writes `data` to `final` atomically: a temporary file in the same folder, then a rename. A
 * reader never sees half a file; on any failure (or cancellation before the rename) the
 * temporary file is removed.
 */
export async function writeFileAtomic(final: string, data: Buffer, signal?: AbortSignal): Promise<void> {
  const dir = dirname(final);
  if (!madeDirs.has(dir)) {
    await mkdir(dir, { recursive: true });
    madeDirs.add(dir);
  }
  const tmp = `${final}.${process.pid}-${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`;
  let renamed = false;
  try {
    // open + write + close: fewer thread-pool round trips than fs.promises.writeFile, which
    // matters at two small files per image.
    let fh;
    try {
      fh = await open(tmp, 'wx');
    } catch (err) {
      // The folder was removed since this process created it (a project deleted and made again).
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(dir, { recursive: true });
      fh = await open(tmp, 'wx');
    }
    try {
      await fh.write(data);
    } finally {
      await fh.close();
    }
    signal?.throwIfAborted();
    await rename(tmp, final);
    renamed = true;
  } finally {
    if (!renamed) await rm(tmp, { force: true });
  }
}

/**
 * writeFileAtomic with synchronous system calls, for the small training copies: a 30 KB file into
 * the project's cache costs about 0.2-0.4 ms of CPU this way against 0.6-0.7 ms through the thread
 * pool (four round trips: open, write, close, rename), and the decodes keep running on the pool
 * meanwhile. The cache is in the project folder, on a local disk; originals are still read
 * asynchronously. Same guarantees: temporary name, rename, temporary file removed on failure.
 */
export function writeFileAtomicSync(final: string, data: Buffer, signal?: AbortSignal): void {
  const dir = dirname(final);
  if (!madeDirs.has(dir)) {
    mkdirSync(dir, { recursive: true });
    madeDirs.add(dir);
  }
  const tmp = `${final}.${process.pid}-${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`;
  let renamed = false;
  try {
    try {
      writeFileSync(tmp, data, { flag: 'wx' });
    } catch (err) {
      // The folder was removed since this process created it (a project deleted and made again).
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      mkdirSync(dir, { recursive: true });
      writeFileSync(tmp, data, { flag: 'wx' });
    }
    signal?.throwIfAborted();
    renameSync(tmp, final);
    renamed = true;
  } finally {
    if (!renamed) rmSync(tmp, { force: true });
  }
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

// ---------------------------------------------------------------------------------------------
// Perceptual hash

/**
 * 64-bit dHash of an 8-bit RGB raster: luminance (Rec. 601 weights) box-averaged into 9 x 8
 * cells; bit (r, c) = cell (r, c) brighter than cell (r, c + 1). 16 hex characters.
 */
const DHASH_MARGIN = 2; // grey levels (0..255)

export function dHashRgb(data: Buffer, width: number, height: number, channels = 3): string {
  const cols = 9;
  const rows = 8;
  const cells = new Float64Array(cols * rows);
  for (let r = 0; r < rows; r++) {
    const y0 = Math.floor((r * height) / rows);
    const y1 = Math.max(y0 + 1, Math.floor(((r + 1) * height) / rows));
    for (let c = 0; c < cols; c++) {
      const x0 = Math.floor((c * width) / cols);
      const x1 = Math.max(x0 + 1, Math.floor(((c + 1) * width) / cols));
      let sum = 0;
      for (let y = y0; y < y1 && y < height; y++) {
        let o = (y * width + x0) * channels;
        for (let x = x0; x < x1 && x < width; x++, o += channels) {
          sum += channels >= 3 ? 0.299 * data[o]! + 0.587 * data[o + 1]! + 0.114 * data[o + 2]! : data[o]!;
        }
      }
      cells[r * cols + c] = sum / ((y1 - y0) * (x1 - x0));
    }
  }
  let hex = '';
  for (let r = 0; r < rows; r++) {
    let byte = 0;
    // a margin of 2 grey levels: in flat regions (skin, background) neighbouring cells differ by
    // compression noise only, and a plain ">" would flip those bits between two saves of one picture
    for (let c = 0; c < 8; c++) byte = (byte << 1) | (cells[r * cols + c]! > cells[r * cols + c + 1]! + DHASH_MARGIN ? 1 : 0);
    hex += byte.toString(16).padStart(2, '0');
  }
  return hex;
}

export { hammingDistance } from '../../shared/phash';

// ---------------------------------------------------------------------------------------------
// Probe

function bitDepthOf(meta: Pick<sharp.Metadata, 'bitsPerSample' | 'depth'>): number {
  if (meta.bitsPerSample) return meta.bitsPerSample;
  switch (meta.depth) {
    case 'ushort':
    case 'short':
      return 16;
    case 'uint':
    case 'int':
    case 'float':
      return 32;
    case 'double':
      return 64;
    default:
      return 8;
  }
}

function colourSpaceOf(space: string | undefined): string {
  if (space === 'rgb16' || space === 'scrgb') return 'srgb';
  if (space === 'grey16') return 'b-w';
  return space ?? 'srgb';
}

/**
 * Size of the intermediate raster: just large enough that (a) its shorter side covers the
 * `cacheSize` square crop and (b) its longer side covers the thumbnail (never enlarged beyond the
 * original for the thumbnail's sake).
 */
export function intermediateSize(width: number, height: number, cacheSize: number, thumbSize: number): { width: number; height: number } {
  const scale = Math.max(cacheSize / Math.min(width, height), Math.min(1, thumbSize / Math.max(width, height)));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/**
 * Probes one file. Resolves to `ok`, `rejected` (or `skipped` when `skipHash` asks); throws only for cancellation (the signal's
 * reason) or project-side failures (AppError `disk-full` / `read-only`).
 */
export async function probeFile(file: string, options: ProbeOptions): Promise<ProbeResult> {
  const cacheSize = options.cacheSize ?? DEFAULT_CACHE_SIZE;
  const thumbSize = options.thumbSize ?? DEFAULT_THUMB_SIZE;
  const name = options.displayName ?? basename(file);
  const signal = options.signal;
  signal?.throwIfAborted();

  let buf: Buffer;
  try {
    buf = await readFile(file, signal ? { signal } : {});
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw signal?.reason ?? err;
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'it was moved or deleted during the import'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission to read it was denied'
          : code === 'EISDIR'
            ? 'it is a folder'
            : `the disk reported ${code ?? 'an error'}`;
    return rejected('unreadable', `"${name}" could not be read: ${why}.`, { detail: String((err as Error).message) });
  }
  if (buf.length === 0) return rejected('empty', `"${name}" is empty (0 bytes).`, { bytes: 0 });

  const sha256 = createHash('sha256').update(buf).digest('hex');
  const bytes = buf.length;
  if (options.skipHash?.(sha256)) return { status: 'skipped', sha256, bytes };
  const format = sniffFormat(buf);
  if (format === null || format === 'text') {
    return rejected(
      'not-an-image',
      format === 'text' ? `"${name}" is a text file, not an image.` : `"${name}" is not an image: its contents match no image format.`,
      { sha256, bytes },
    );
  }
  if (!['jpeg', 'png', 'webp', 'tiff', 'bmp'].includes(format)) {
    return rejected(
      'unsupported',
      `"${name}" is ${FORMAT_NAMES[format] ?? format}; GAN Augment imports JPEG, PNG, TIFF, WebP and BMP images. Convert it to PNG first.`,
      { sha256, bytes },
    );
  }

  const squareOnly = options.thumbFormat === 'cache';
  // Decode once to the intermediate raster (8-bit sRGB RGB, oriented), or straight to the square.
  let info: ImageInfo;
  let raster: { data: Buffer; width: number; height: number };
  const release = options.decodeSlot ? await options.decodeSlot() : null;
  try {
    signal?.throwIfAborted();
    if (format === 'bmp') {
      const bmp = decodeBmp(buf);
      info = {
        format: 'bmp',
        width: bmp.width,
        height: bmp.height,
        channels: 3,
        bitDepth: bmp.bitsPerPixel >= 24 ? 8 : bmp.bitsPerPixel,
        colourSpace: 'srgb',
        hasAlpha: false,
        orientation: 1,
      };
      const bmpImage = sharp(bmp.data, { raw: { width: bmp.width, height: bmp.height, channels: 3 } });
      raster = squareOnly
        ? await toRaster(bmpImage, { width: cacheSize, height: cacheSize }, 'cover')
        : await toRaster(bmpImage, intermediateSize(bmp.width, bmp.height, cacheSize, thumbSize));
    } else {
      // failOn 'warning': see the header. sequentialRead: the pipeline reads top to bottom once.
      const image = sharp(buf, { failOn: 'warning', sequentialRead: true });
      // A plain JPEG's header is read here; anything else is asked of sharp (header only: no
      // pixels are decoded by metadata()). Either way the decode below reads the header again.
      const jpeg = format === 'jpeg' ? readJpegHeader(buf) : null;
      const meta: Pick<sharp.Metadata, 'width' | 'height' | 'orientation' | 'channels' | 'space' | 'hasAlpha' | 'depth' | 'bitsPerSample'> = jpeg
        ? {
            width: jpeg.width,
            height: jpeg.height,
            orientation: jpeg.orientation,
            channels: jpeg.components,
            space: jpeg.components === 1 ? 'b-w' : 'srgb',
            hasAlpha: false,
            depth: 'uchar',
          }
        : await image.metadata();
      const orientation = meta.orientation ?? 1;
      const swap = orientation >= 5 && orientation <= 8;
      const width = swap ? meta.height! : meta.width!;
      const height = swap ? meta.width! : meta.height!;
      info = {
        format: format as ImageFormat,
        width,
        height,
        channels: meta.channels ?? 3,
        bitDepth: bitDepthOf(meta),
        colourSpace: colourSpaceOf(meta.space),
        hasAlpha: meta.hasAlpha ?? false,
        orientation,
      };
      let pipeline = image.rotate(); // auto-orient from EXIF, then drop the orientation tag
      if (info.hasAlpha) pipeline = pipeline.flatten({ background: '#000000' });
      raster = squareOnly
        ? await toRaster(pipeline, { width: cacheSize, height: cacheSize }, 'cover')
        : await toRaster(pipeline, intermediateSize(width, height, cacheSize, thumbSize));
    }
  } catch (err) {
    if (err instanceof BmpError) {
      if (err.kind === 'truncated') return { status: 'rejected', reason: truncatedReason(name, err.message), sha256, bytes };
      return rejected(err.kind, `"${name}": ${err.message}`, { sha256, bytes, detail: err.message });
    }
    if (signal?.aborted) throw signal.reason;
    return { status: 'rejected', reason: reasonFromDecodeError(name, err, buf, format), sha256, bytes };
  } finally {
    release?.();
  }
  // Let the file waiting for this decode slot start its decode (sharp sets it up on this thread)
  // before this one encodes and writes its copy: the pool never waits for the main thread.
  if (release) await new Promise<void>((resolve) => setImmediate(resolve));
  signal?.throwIfAborted();

  const phash = dHashRgb(raster.data, raster.width, raster.height);
  // The whole picture inside thumbSize, never larger than the original.
  const fit = Math.min(1, thumbSize / Math.max(info.width, info.height));
  const thumb = { width: Math.max(1, Math.round(info.width * fit)), height: Math.max(1, Math.round(info.height * fit)) };
  const cacheFile = cachePathFor(options.cacheDir, sha256);
  if (squareOnly) {
    let cacheSha256: string;
    try {
      // Content-addressed: an existing file already holds exactly these pixels.
      if (!existsSync(cacheFile)) {
        const png = encodeRgbPng(raster.data, raster.width, raster.height);
        writeFileAtomicSync(cacheFile, png, signal);
        cacheSha256 = sha256Hex(png);
      } else cacheSha256 = sha256Hex(readFileSync(cacheFile));
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw fsErrorIsFatal(err) ?? err;
    }
    return { status: 'ok', sha256, bytes, phash, info, cacheFile, cacheSha256, thumbFile: cacheFile };
  }
  const thumbFormat: ThumbFormat = options.thumbFormat === 'webp' ? 'webp' : 'jpeg';
  const thumbFile = thumbPathFor(options.thumbDir, sha256, thumbFormat);
  let cacheSha256: string;
  try {
    // Content-addressed: an existing file already holds exactly these pixels. The cache file is
    // written after the thumbnail, so its presence means both are there (one check, not two).
    if (await exists(cacheFile)) cacheSha256 = sha256Hex(await readFile(cacheFile));
    else {
      const rawIn = { raw: { width: raster.width, height: raster.height, channels: 3 as const } };
      const thumbPipeline = sharp(raster.data, rawIn).resize(thumb.width, thumb.height, { fit: 'fill' });
      const [cachePng, thumbData] = await Promise.all([
        sharp(raster.data, rawIn)
          .extract({
            left: Math.floor((raster.width - cacheSize) / 2),
            top: Math.floor((raster.height - cacheSize) / 2),
            width: cacheSize,
            height: cacheSize,
          })
          .png({ compressionLevel: options.pngCompression ?? 1 })
          .toBuffer(),
        (thumbFormat === 'jpeg'
          ? thumbPipeline.jpeg({ quality: options.thumbQuality ?? 80 })
          : thumbPipeline.webp({ quality: options.thumbQuality ?? 80 })
        ).toBuffer(),
      ]);
      await writeFileAtomic(thumbFile, thumbData, signal);
      await writeFileAtomic(cacheFile, cachePng, signal);
      cacheSha256 = sha256Hex(cachePng);
    }
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    const fatal = fsErrorIsFatal(err);
    if (fatal) throw fatal;
    throw err;
  }
  return { status: 'ok', sha256, bytes, phash, info, cacheFile, cacheSha256, thumbFile };
}

/** sha256 of bytes, lower-case hex (the training copy's, so that Verify can tell a damaged copy). */
function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Runs the decode pipeline to 8-bit sRGB RGB at `size` (fill: the aspect ratio is already right). */
async function toRaster(pipeline: sharp.Sharp, size: { width: number; height: number }, fit: 'fill' | 'cover' = 'fill') {
  const { data, info } = await pipeline
    .resize(size.width, size.height, { fit })
    .toColourspace('srgb')
    .removeAlpha()
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels === 3) return { data, width: info.width, height: info.height };
  // Grayscale stayed 1 channel: replicate it (documented above: every output is RGB).
  const rgb = Buffer.alloc(info.width * info.height * 3);
  for (let i = 0, o = 0; i < info.width * info.height; i++, o += 3) {
    const v = data[i * info.channels]!;
    rgb[o] = v;
    rgb[o + 1] = v;
    rgb[o + 2] = v;
  }
  return { data: rgb, width: info.width, height: info.height };
}
