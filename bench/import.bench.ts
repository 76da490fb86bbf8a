/**
 * Import benchmark: `npx tsx bench/import.bench.ts [--count N] [--concurrency C] [--rounds R] [--overlap O] [--separate-thumbs] [--keep]`
 *
 * Makes N (default 300) photograph-like 1024x768 JPEGs (quality 90) in 3 class folders in a
 * temporary folder, then measures on the same files and machine:
 *   raw:      sharp decode + resize to 128x128 only (sharp reads the file itself), the floor cost,
 *             with C files at once and with C + 1 (whichever is faster is the reference);
 *   pipeline: the full import as the app runs it (read, sha256, strict decode with EXIF
 *             orientation, dHash, 128 px cache PNG, atomic write, batches) into a fresh cache
 *             folder, C decodes at once (--overlap: files in flight besides them).
 * Rounds alternate raw / pipeline (default 2 each) and the best round of each is reported, so a
 * background hiccup does not decide the ratio. Target: pipeline >= 80% of the faster raw.
 * Peak RSS is sampled every 20 ms during each phase. The last line is JSON.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { configureSharpForImport, defaultConcurrency, importSource } from '../src/worker/import/pipeline';
import { makeTempDir, photoRaster } from '../test/fixtures/images';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? Number(process.argv[i + 1]) : fallback;
}

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

interface Measured {
  seconds: number;
  /** CPU time of the whole process (all threads: libvips runs on libuv's pool), seconds. */
  cpuSeconds: number;
  peakRssMiB: number;
}

/**
 * Runs `fn` while sampling RSS. Wall time is the figure that matters; CPU time is printed too
 * because on a shared, busy build machine it is far steadier than wall time.
 */
async function measure(fn: () => Promise<void>): Promise<Measured> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  peak = Math.max(peak, process.memoryUsage.rss());
  return { seconds, cpuSeconds: (c.user + c.system) / 1e6, peakRssMiB: peak / 2 ** 20 };
}

async function main() {
  const count = arg('count', 300);
  // The pipeline runs at the app's setting unless --concurrency is given (decodes at once; see
  // ImportOptions.concurrency); the raw baseline runs with as many files in flight as cores (or
  // --concurrency), with one and two more, and with the pipeline's decodes, and the fastest is
  // the reference.
  const concurrencyArg = arg('concurrency', 0);
  const concurrency = concurrencyArg > 0 ? concurrencyArg : availableParallelism();
  const pipelineConcurrency = concurrencyArg > 0 ? { concurrency: concurrencyArg } : {};
  const rounds = arg('rounds', 2);
  // the app's setting: the training copy is the thumbnail ('cache'); --separate-thumbs measures a JPEG thumbnail too
  const thumbFormat = process.argv.includes('--separate-thumbs') ? ('jpeg' as const) : ('cache' as const);
  const keep = process.argv.includes('--keep');
  const overlapArg = arg('overlap', -1);
  const overlap = overlapArg >= 0 ? { overlap: overlapArg } : {};
  configureSharpForImport(); // the raw baseline runs with the same sharp settings

  const dir = await makeTempDir('gan-import-bench-');
  const root = join(dir, 'images');
  const files: string[] = [];
  const tGen = performance.now();
  for (const cls of ['NV', 'MEL', 'BCC']) await mkdir(join(root, cls), { recursive: true });
  for (let i = 0; i < count; i++) files.push(join(root, ['NV', 'MEL', 'BCC'][i % 3]!, `img_${String(i).padStart(5, '0')}.jpg`));
  // Standard Huffman tables (optimiseCoding off), as most cameras write: 3x faster to generate.
  await pool(
    files.map((file, i) => ({ file, i })),
    availableParallelism(),
    async ({ file, i }) => {
      const img = await photoRaster(1024, 768, 5000 + i);
      await writeFile(file, await sharp(img.data, { raw: { width: 1024, height: 768, channels: 3 } }).jpeg({ quality: 90, optimiseCoding: false }).toBuffer());
    },
  );
  process.stderr.write(`generated ${count} JPEGs (1024x768, q90) in ${((performance.now() - tGen) / 1000).toFixed(1)} s in ${root}\n`);

  // Warm-up: load libvips' codecs and fill the page cache equally for both.
  await pool(files.slice(0, Math.min(10, count)), concurrency, (f) => sharp(f).resize(128, 128).raw().toBuffer());

  // Raw baseline with as many files in flight as cores, one and two more, and as many as the
  // pipeline decodes at once: sharp's own
  // pipeline set-up runs on the main thread between decodes, so on a small machine an extra
  // decode in flight can be faster (and on a shared, busy machine more threads win a larger
  // share of the cores). The ratio is taken against the fastest, because the pipeline keeps
  // more files in flight than cores (reads, hashes and writes overlap the decodes).
  const rawConcurrencies = [...new Set([concurrency, concurrency + 1, concurrency + 2, pipelineConcurrency.concurrency ?? defaultConcurrency()])].sort((a, b) => a - b);
  const raw: Measured[][] = rawConcurrencies.map(() => []);
  const full: Measured[] = [];
  const runRaw = (c: number) => measure(() => pool(files, c, (f) => sharp(f).resize(128, 128).raw().toBuffer()));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < rawConcurrencies.length; k++) raw[k]!.push(await runRaw(rawConcurrencies[k]!));
    const out = join(dir, `project-${r}`);
    full.push(
      await measure(async () => {
        let n = 0;
        for await (const batch of importSource({ kind: 'folder', root }, { cacheDir: join(out, 'cache'), thumbDir: join(out, 'thumbs'), ...pipelineConcurrency, thumbFormat, ...overlap })) {
          n += batch.records.filter((x) => x.status === 'ok').length;
        }
        if (n !== count) throw new Error(`pipeline imported ${n} of ${count} files`);
      }),
    );
    process.stderr.write(
      `round ${r + 1}: raw ${rawConcurrencies.map((c, k) => `${(count / raw[k]![r]!.seconds).toFixed(1)} (x${c})`).join(' / ')} img/s, pipeline ${(count / full[r]!.seconds).toFixed(1)} img/s\n`,
    );
  }
  const best = (xs: Measured[]) => xs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const cpuMs = (xs: Measured[]) => (Math.min(...xs.map((x) => x.cpuSeconds)) * 1000) / count;
  const rawRates = raw.map((xs) => count / best(xs).seconds);
  const rawRate = rawRates[rawConcurrencies.indexOf(concurrency)]!; // one file in flight per core, as this bench measured before
  const bestRawRate = Math.max(...rawRates);
  const rawCpuMs = Math.min(...raw.map(cpuMs));
  const pipelineCpuMs = cpuMs(full);
  const fullBest = best(full);
  const pipelineRate = count / fullBest.seconds;
  const ratioSame = pipelineRate / rawRate;
  const ratio = pipelineRate / bestRawRate;
  const peakRssMiB = Math.max(...full.map((x) => x.peakRssMiB));
  const spread = (xs: number[]) => `${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)}`;

  console.log(`machine:        ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, node ${process.version}, sharp ${sharp.versions.sharp}`);
  console.log(`files:          ${count} JPEG 1024x768 q90, best of ${rounds} rounds; pipeline: ${pipelineConcurrency.concurrency ?? defaultConcurrency()} decodes at once${concurrencyArg > 0 ? '' : " (the app's default)"}`);
  for (let k = 0; k < rawConcurrencies.length; k++) {
    console.log(`raw sharp x${rawConcurrencies[k]}:   ${rawRates[k]!.toFixed(1)} images/s (decode + resize to 128x128, ${rawConcurrencies[k]} at once; rounds ${spread(raw[k]!.map((x) => count / x.seconds))})`);
  }
  console.log(`full pipeline:  ${pipelineRate.toFixed(1)} images/s (read + sha256 + strict decode + dHash + cache PNG + atomic write; rounds ${spread(full.map((x) => count / x.seconds))})`);
  console.log(`ratio:          ${(ratio * 100).toFixed(1)}% of the fastest raw (target >= 80%) ${ratio >= 0.8 ? 'OK' : 'BELOW TARGET'}; ${(ratioSame * 100).toFixed(1)}% of raw x${concurrency}`);
  console.log(`CPU per image:  raw ${rawCpuMs.toFixed(2)} ms, pipeline ${pipelineCpuMs.toFixed(2)} ms (CPU ratio ${((rawCpuMs / pipelineCpuMs) * 100).toFixed(1)}%; load average ${loadavg()[0]!.toFixed(1)})`);
  console.log(`peak RSS:       ${peakRssMiB.toFixed(0)} MiB during the pipeline (raw: ${Math.max(...raw.flat().map((x) => x.peakRssMiB)).toFixed(0)} MiB)`);
  console.log(
    JSON.stringify({
      bench: 'import',
      count,
      concurrency: pipelineConcurrency.concurrency ?? defaultConcurrency(),
      cores: availableParallelism(),
      rawImagesPerSec: +rawRate.toFixed(2),
      rawImagesPerSecByConcurrency: Object.fromEntries(rawConcurrencies.map((c, k) => [c, +rawRates[k]!.toFixed(2)])),
      pipelineImagesPerSec: +pipelineRate.toFixed(2),
      ratio: +ratio.toFixed(3),
      ratioSameConcurrency: +ratioSame.toFixed(3),
      peakRssMiB: +peakRssMiB.toFixed(1),
      rawCpuMsPerImage: +rawCpuMs.toFixed(3),
      pipelineCpuMsPerImage: +pipelineCpuMs.toFixed(3),
      cpuRatio: +(rawCpuMs / pipelineCpuMs).toFixed(3),
      loadAverage: +loadavg()[0]!.toFixed(2),
    }),
  );
  if (!keep) await rm(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
