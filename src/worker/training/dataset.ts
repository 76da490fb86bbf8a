/**
 * The in-memory training set. Images are decoded once with sharp and kept on the host as uint8
 * (N x R x R x C bytes: 25,000 RGB images at 128 px take 1.2 GB, where a float32 device tensor would
 * take 4.9 GB); each batch becomes a float32 tensor in [-1, 1] on the device.
 */
import sharp from 'sharp';
import { AppError } from '../../shared/errors';
import { tf } from '../backends/tf';
import type { Prng } from './rng';
import { bytesThroughTable, deviceUnpackAvailable } from '../backends/kernels/unpack-bytes';

export interface DatasetFile {
  /** A PNG (or any format sharp reads) from the project's training-resolution cache. */
  path: string;
  /** The class of the image, 0-based. */
  classIndex: number;
}

export interface Dataset {
  /** Pixels, uint8, NHWC: image i starts at i * resolution * resolution * channels. */
  pixels: Uint8Array;
  /** Class index per image, length `count`. */
  labels: Int32Array;
  /** Number of images N. */
  count: number;
  /** Image side R in pixels. */
  resolution: number;
  /** 1 (grayscale) or 3 (RGB). */
  channels: 1 | 3;
  /** max(classIndex) + 1. */
  numClasses: number;
  /** Image indices of each class (byClass[c] is empty for a class without images). */
  byClass: number[][];
}

/**
 * Reads, resizes (cover, centre crop) and converts every file. Alpha is flattened onto black;
 * channels 1 converts to grayscale. Rejects with the file's path when one cannot be read.
 */
export async function loadDataset(
  files: DatasetFile[],
  resolution: number,
  channels: 1 | 3,
  options: { concurrency?: number; signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<Dataset> {
  if (files.length === 0) throw new Error('The training set is empty: choose classes that have images.');
  const size = resolution * resolution * channels;
  const pixels = new Uint8Array(files.length * size);
  const labels = new Int32Array(files.length);
  let next = 0;
  let done = 0;
  // The first file that cannot be read fails the load: the other loaders stop too, rather than decode
  // every remaining file for nothing while the next task starts.
  let failed = false;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < files.length && !failed; i = next++) {
      options.signal?.throwIfAborted(); // a pause while thousands of images load is answered at once
      const f = files[i]!;
      let img = sharp(f.path).resize(resolution, resolution, { fit: 'cover' }).flatten({ background: '#000000' });
      img = channels === 1 ? img.grayscale() : img.toColourspace('srgb');
      let data: Buffer;
      let info: sharp.OutputInfo;
      try {
        ({ data, info } = await img.raw().toBuffer({ resolveWithObject: true }));
      } catch (e) {
        failed = true;
        const missing = (e as Error).message.includes('missing') || (e as NodeJS.ErrnoException).code === 'ENOENT';
        throw new AppError(
          missing ? 'not-found' : 'damaged',
          `The training copy of an image ${missing ? 'is missing' : 'cannot be read'} (${f.path}): it was ${missing ? 'deleted' : 'changed or damaged'} outside GAN Augment. ` +
            'Run "Verify project files" on the Overview to find every such file.',
          { cause: e },
        );
      }
      if (info.channels !== channels) {
        // sharp keeps 3 channels for grayscale PNGs converted to srgb: extract what we need.
        const out = new Uint8Array(size);
        for (let p = 0; p < resolution * resolution; p++)
          for (let ch = 0; ch < channels; ch++) out[p * channels + ch] = data[p * info.channels + Math.min(ch, info.channels - 1)]!;
        pixels.set(out, i * size);
      } else {
        pixels.set(data.subarray(0, size), i * size);
      }
      labels[i] = f.classIndex;
      options.onProgress?.(++done, files.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, files.length) }, worker));
  return datasetFromPixels(pixels, labels, resolution, channels);
}

/** Builds a Dataset from raw uint8 NHWC pixels (used by tests and loadDataset). */
export function datasetFromPixels(pixels: Uint8Array, labels: Int32Array, resolution: number, channels: 1 | 3): Dataset {
  const count = labels.length;
  if (pixels.length !== count * resolution * resolution * channels) throw new Error('Pixel buffer size does not match.');
  let numClasses = 0;
  for (const l of labels) numClasses = Math.max(numClasses, l + 1);
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  labels.forEach((l, i) => byClass[l]!.push(i));
  return { pixels, labels, count, resolution, channels, numClasses, byClass };
}

/**
 * `batch` image indices, with replacement: uniformly over images, or (balanced) a uniform class
 * among those with images, then a uniform image of that class.
 */
export function sampleIndices(ds: Dataset, batch: number, rng: Prng, balanced: boolean): Int32Array {
  const out = new Int32Array(batch);
  const classes = ds.byClass.map((imgs, c) => (imgs.length > 0 ? c : -1)).filter((c) => c >= 0);
  for (let i = 0; i < batch; i++) {
    if (balanced) {
      const imgs = ds.byClass[classes[rng.int(classes.length)]!]!;
      out[i] = imgs[rng.int(imgs.length)]!;
    } else {
      out[i] = rng.int(ds.count);
    }
  }
  return out;
}

/** uint8 -> [-1, 1] (v / 127.5 - 1, rounded to float32 once). */
const TO_UNIT = Float32Array.from({ length: 256 }, (_, v) => v / 127.5 - 1);

/**
 * The images at `indices` as float32 [B, R, R, C] in [-1, 1]. On WebGPU the bytes are uploaded as
 * they are and converted on the device (the same table, so the same values); elsewhere here.
 */
export function batchImages(ds: Dataset, indices: Int32Array): tf.Tensor4D {
  const size = ds.resolution * ds.resolution * ds.channels;
  const shape: [number, number, number, number] = [indices.length, ds.resolution, ds.resolution, ds.channels];
  const pixels = ds.pixels;
  if (deviceUnpackAvailable() && (indices.length * size) % 4 === 0) {
    const bytes = new Uint8Array(indices.length * size);
    for (let b = 0; b < indices.length; b++) bytes.set(pixels.subarray(indices[b]! * size, (indices[b]! + 1) * size), b * size);
    return bytesThroughTable(bytes, shape, TO_UNIT) as tf.Tensor4D;
  }
  const out = new Float32Array(indices.length * size);
  for (let b = 0; b < indices.length; b++) {
    const src = indices[b]! * size;
    const dst = b * size;
    for (let k = 0; k < size; k++) out[dst + k] = TO_UNIT[pixels[src + k]!]!;
  }
  return tf.tensor4d(out, shape);
}

/** The labels at `indices` as int32 [B, 1] (the conditional models' label input). */
export function batchLabels(ds: Dataset, indices: Int32Array): tf.Tensor2D {
  return tf.tensor2d(Int32Array.from(indices, (i) => ds.labels[i]!), [indices.length, 1], 'int32');
}

/** The whole set as one float32 tensor [N, R, R, C] in [-1, 1] (small sets only). */
export function datasetTensor(ds: Dataset): tf.Tensor4D {
  return batchImages(ds, Int32Array.from({ length: ds.count }, (_, i) => i));
}
