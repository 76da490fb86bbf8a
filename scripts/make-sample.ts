/**
 * Builds the "Try with sample data" set: a small, deliberately imbalanced ImageFolder made from
 * Fashion-MNIST (Zalando Research, MIT licence), as shipped by Debian's dataset-fashion-mnist
 * package (`apt-get install -y dataset-fashion-mnist`).
 *
 *   npx tsx scripts/make-sample.ts [--source /usr/share/datasets/fashion-mnist] [--out resources/sample]
 *
 * Output: <out>/fashion-mnist-imbalanced/<class name>/<n>.png, native 28x28 8-bit grayscale,
 * where <n> is the image's index in the Fashion-MNIST test set (t10k), so every file can be traced
 * back. The first images of each class in test-set order are taken: deterministic, no randomness.
 * Plus <out>/ATTRIBUTION.md. The output folder is replaced on each run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';

/** Class index in Fashion-MNIST -> folder name and how many images to take (200/120/60/30/20: imbalance ratio 10). */
const PLAN: { index: number; name: string; count: number }[] = [
  { index: 0, name: 'T-shirt', count: 200 },
  { index: 1, name: 'Trouser', count: 120 },
  { index: 7, name: 'Sneaker', count: 60 },
  { index: 8, name: 'Bag', count: 30 },
  { index: 9, name: 'Ankle boot', count: 20 },
];

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

/** Reads an IDX file (big-endian header: magic, dimension sizes; then unsigned bytes). */
function readIdx(file: string): { dims: number[]; data: Buffer } {
  const buf = gunzipSync(readFileSync(file));
  const magic = buf.readUInt32BE(0);
  if (magic >> 8 !== 0x08) throw new Error(`${file}: not an unsigned-byte IDX file (magic 0x${magic.toString(16)})`);
  const n = magic & 0xff;
  const dims = Array.from({ length: n }, (_, i) => buf.readUInt32BE(4 + i * 4));
  return { dims, data: buf.subarray(4 + n * 4) };
}

const ATTRIBUTION = `# Sample data attribution

\`fashion-mnist-imbalanced/\` is a small subset of **Fashion-MNIST** by Zalando Research,
made deliberately imbalanced (T-shirt 200, Trouser 120, Sneaker 60, Bag 30, Ankle boot 20 images) so
that a first-time user can try the whole GAN Augment workflow in minutes without data of their own.

- Source: https://github.com/zalandoresearch/fashion-mnist (via Debian's \`dataset-fashion-mnist\` package)
- Paper: Han Xiao, Kashif Rasul, Roland Vollgraf. *Fashion-MNIST: a Novel Image Dataset for
  Benchmarking Machine Learning Algorithms.* arXiv:1708.07747, 2017.
- Images: 28x28 8-bit grayscale PNG, unchanged pixels. Each file name is the image's index in the
  Fashion-MNIST test set (\`t10k-images-idx3-ubyte\`); the first images of each class in that order
  were taken. Regenerate with \`npx tsx scripts/make-sample.ts\`.

## Licence (MIT)

Copyright (c) 2017 Zalando SE, https://tech.zalando.com

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES
OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
`;

async function main() {
  const source = resolve(arg('source', '/usr/share/datasets/fashion-mnist'));
  const out = resolve(arg('out', join(__dirname, '..', 'resources', 'sample')));
  const imagesFile = join(source, 't10k-images-idx3-ubyte.gz');
  const labelsFile = join(source, 't10k-labels-idx1-ubyte.gz');
  if (!existsSync(imagesFile) || !existsSync(labelsFile)) {
    console.error(`Fashion-MNIST not found in ${source}. Install it with: apt-get install -y dataset-fashion-mnist`);
    process.exitCode = 1;
    return;
  }
  const images = readIdx(imagesFile);
  const labels = readIdx(labelsFile);
  const [n, h, w] = images.dims as [number, number, number];
  if (labels.dims[0] !== n || h !== 28 || w !== 28) throw new Error(`unexpected IDX shapes: images ${images.dims}, labels ${labels.dims}`);

  const setDir = join(out, 'fashion-mnist-imbalanced');
  await rm(setDir, { recursive: true, force: true });
  let total = 0;
  let bytes = 0;
  for (const cls of PLAN) {
    const dir = join(setDir, cls.name);
    await mkdir(dir, { recursive: true });
    let taken = 0;
    for (let i = 0; i < n && taken < cls.count; i++) {
      if (labels.data[i] !== cls.index) continue;
      const px = images.data.subarray(i * h * w, (i + 1) * h * w);
      const png = await sharp(px, { raw: { width: w, height: h, channels: 1 } })
        .toColourspace('b-w') // keep one channel: sharp writes sRGB (3 channels) otherwise
        .png({ compressionLevel: 9 })
        .toBuffer();
      await writeFile(join(dir, `${i}.png`), png);
      taken++;
      bytes += png.length;
    }
    if (taken < cls.count) throw new Error(`only ${taken} images of class ${cls.name} in the test set`);
    total += taken;
  }
  await writeFile(join(out, 'ATTRIBUTION.md'), ATTRIBUTION);
  console.log(`wrote ${total} images (${(bytes / 1024).toFixed(0)} KiB of PNG) in ${PLAN.length} classes to ${setDir}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
