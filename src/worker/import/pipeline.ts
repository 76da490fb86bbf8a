/**
 * The import engine: enumerate a source, probe its files with bounded concurrency, and hand the
 * results back in batches (an async iterator of arrays) so that the caller can write each batch
 * in one database transaction. It has no database, job or UI knowledge.
 *
 * Scheduling: `concurrency` files are decoded at once (decode slots), and `overlap` more are in
 * flight around them: read and hashed ahead, waiting for a slot with their bytes in memory, or
 * encoding and writing their training copy after it. So the decodes, which are most of the work,
 * never wait for a read, a hash, a write or this thread.
 *
 * Memory stays flat: at most `concurrency + overlap` files are held at once (one original buffer
 * and one small raster each), and at most two batches of results wait for the consumer; a slow
 * consumer makes the workers wait (back-pressure) instead of piling results up.
 *
 * Outcomes that depend on other files (duplicate, conflict) are not decided here, because a
 * conflict found at the last file changes the first one. Collect the lightweight records (or read
 * them back from the database) and run classify() when the stream ends; see collectImport().
 *
 * Cancellation: abort `signal`. No new file is started; files in flight stop at their next step
 * (before decoding, before writing). Cache files are written to a temporary name and renamed, so
 * an aborted import leaves only complete cache files, which the next run reuses (content-
 * addressed). The iterator then throws the signal's reason, after every worker has stopped.
 */
import { opendir, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { classify, type ClassifyResult, type ExistingImage } from '../../shared/import-classify';
import { probeFile, TEMP_SUFFIX, type ProbeOptions } from './probe';
import { enumerateSource, type CandidateEntry, type SourceProblem, type SourceSpec } from './sources';
import type { ImportRecord, ImportBatch } from '../../shared/import-types';
export type { ImportRecord, ImportBatch };

export interface ImportProgress {
  /** Files finished (imported, rejected or skipped). */
  done: number;
  /** Files the source holds (counted before the import starts). */
  total: number;
  /** relPath of the file that just finished. */
  file: string;
  /** Average rate since the start, files per second. */
  perSecond: number;
  /** Estimated seconds left; null until a rate is known. */
  etaSeconds: number | null;
}

export type SkipKey =
  | { kind: 'path'; entry: CandidateEntry }
  | { kind: 'sha256'; sha256: string; entry: CandidateEntry };

export interface ImportOptions {
  cacheDir: string;
  thumbDir: string;
  /** Side of the square training image, px. Default 128. */
  cacheSize?: number;
  /** Longest side of the thumbnail, px. Default 160. */
  thumbSize?: number;
  /** See ProbeOptions.thumbFormat; the app uses 'cache' (the training copy is the thumbnail). */
  thumbFormat?: ProbeOptions['thumbFormat'];
  /**
   * Files decoded at once. Default: two more than os.availableParallelism(), at most the size of
   * libuv's thread pool (4 unless UV_THREADPOOL_SIZE says otherwise), where sharp decodes. sharp
   * sets each decode up on this thread (0.5-1 ms of option handling per call), so with one decode
   * per core a core idles while the next is being set up; measured on 2 cores, 4 decodes at once
   * imported about 14% faster than 3 (docs/PERFORMANCE.md).
   */
  concurrency?: number;
  /**
   * Files in flight besides the ones being decoded: read and hashed ahead, or having their
   * training copy encoded and written, so that the decodes never wait for I/O or for this
   * thread. Default: as many as `concurrency`.
   */
  overlap?: number;
  /** Records per batch. Default 64. */
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (progress: ImportProgress) => void;
  /**
   * Resume / re-import: asked once per file before it is read (`kind: 'path'`), and again with
   * the content hash after reading, before decoding (`kind: 'sha256'`). True skips the file; it
   * is reported as `skipped` (with its sha256 in the second case).
   */
  skip?: (key: SkipKey) => boolean;
  /** Number of entries, when a pre-scan already counted them; otherwise the source is walked once more to count. */
  total?: number;
}

/** libuv's thread pool: sharp's decodes and the file reads run on it. */
function threadPoolSize(): number {
  const n = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n > 0 ? n : 4;
}

/** See ImportOptions.concurrency. */
export function defaultConcurrency(): number {
  return Math.max(1, Math.min(availableParallelism() + 2, threadPoolSize()));
}

let sharpConfigured = false;

/**
 * Process-wide sharp settings for bulk import:
 * - cache(false): libvips' operation cache keeps recent pipelines and their pixels for reuse;
 *   every file is seen once here, so it would only hold memory (up to 50 MB by default).
 * - concurrency(1): libvips threads per image. Parallelism comes from decoding `concurrency`
 *   images at once instead, which scales better for many small decodes (no per-image thread
 *   hand-off) and does not oversubscribe the cores with images x threads. sharp runs on libuv's
 *   thread pool (4 threads unless UV_THREADPOOL_SIZE is set at process start), so machines with
 *   more than 3 cores should set UV_THREADPOOL_SIZE to at least the import concurrency + 2 (the
 *   file reads share the pool with the decodes).
 */
export function configureSharpForImport(): void {
  if (sharpConfigured) return;
  sharp.cache(false);
  sharp.concurrency(1);
  sharpConfigured = true;
}

async function countEntries(spec: SourceSpec, signal?: AbortSignal): Promise<number> {
  let n = 0;
  for await (const item of enumerateSource(spec, signal ? { signal } : {})) if (item.type === 'entry') n++;
  return n;
}

/** Streams the import of `spec` in batches. See the module comment for memory and cancellation. */
export async function* importSource(spec: SourceSpec, options: ImportOptions): AsyncGenerator<ImportBatch> {
  configureSharpForImport();
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? defaultConcurrency()));
  const overlap = Math.max(0, Math.floor(options.overlap ?? concurrency));
  const batchSize = Math.max(1, options.batchSize ?? 64);
  const maxWaiting = batchSize * 2;
  const outer = options.signal;
  outer?.throwIfAborted();
  // Internal controller: stops the workers when the consumer breaks out or a worker fails.
  const internal = new AbortController();
  const signal = outer ? AbortSignal.any([outer, internal.signal]) : internal.signal;

  const total = options.total ?? (await countEntries(spec, signal));
  const source = enumerateSource(spec, { signal });
  const started = performance.now();
  let done = 0;
  let seq = 0;
  let sourceDone = false;
  let failure: { error: unknown } | null = null;
  const records: ImportRecord[] = [];
  const problems: SourceProblem[] = [];

  // Wake-ups between workers (producers) and this generator (consumer).
  let wakeConsumer: (() => void) | null = null;
  let wakeWorkers: (() => void)[] = [];
  const notifyConsumer = () => {
    wakeConsumer?.();
    wakeConsumer = null;
  };
  const notifyWorkers = () => {
    const w = wakeWorkers;
    wakeWorkers = [];
    for (const f of w) f();
  };

  /** Next entry, collecting problems on the way; null at the end. Async generators queue concurrent next() calls. */
  async function nextEntry(): Promise<{ entry: CandidateEntry; seq: number } | null> {
    while (!sourceDone) {
      const r = await source.next();
      if (r.done) {
        sourceDone = true;
        break;
      }
      if (r.value.type === 'problem') {
        problems.push(r.value.problem);
        continue;
      }
      return { entry: r.value.entry, seq: seq++ };
    }
    return null;
  }

  // Decode slots: `concurrency` decodes at once; the other files in flight wait here with their
  // bytes read and hashed.
  let freeSlots = concurrency;
  const slotWaiters: (() => void)[] = [];
  const releaseSlot = () => {
    const next = slotWaiters.shift();
    if (next) next();
    else freeSlots++;
  };
  const decodeSlot = (): Promise<() => void> => {
    if (freeSlots > 0) {
      freeSlots--;
      return Promise.resolve(releaseSlot);
    }
    return new Promise((resolve) => slotWaiters.push(() => resolve(releaseSlot)));
  };

  const probeOptions: ProbeOptions = {
    cacheDir: options.cacheDir,
    thumbDir: options.thumbDir,
    signal,
    decodeSlot,
    ...(options.cacheSize ? { cacheSize: options.cacheSize } : {}),
    ...(options.thumbSize ? { thumbSize: options.thumbSize } : {}),
    ...(options.thumbFormat ? { thumbFormat: options.thumbFormat } : {}),
  };

  async function worker(): Promise<void> {
    for (;;) {
      signal.throwIfAborted();
      // Back-pressure: wait while the consumer has a full backlog.
      while (records.length >= maxWaiting && !signal.aborted) await new Promise<void>((r) => wakeWorkers.push(r));
      signal.throwIfAborted();
      const next = await nextEntry();
      if (!next) return;
      const { entry } = next;
      let record: ImportRecord;
      if (options.skip?.({ kind: 'path', entry })) {
        record = { ...entry, seq: next.seq, status: 'skipped', skippedBy: 'path' };
      } else {
        const result = await probeFile(entry.file, {
          ...probeOptions,
          displayName: entry.relPath,
          ...(options.skip ? { skipHash: (sha256: string) => options.skip!({ kind: 'sha256', sha256, entry }) } : {}),
        });
        record =
          result.status === 'skipped'
            ? { ...entry, seq: next.seq, status: 'skipped', skippedBy: 'sha256', sha256: result.sha256, bytes: result.bytes }
            : { ...entry, seq: next.seq, ...result };
      }
      records.push(record);
      done++;
      if (options.onProgress) {
        const seconds = (performance.now() - started) / 1000;
        const perSecond = seconds > 0 ? done / seconds : 0;
        const shownTotal = Math.max(total, done);
        options.onProgress({
          done,
          total: shownTotal,
          file: entry.relPath,
          perSecond,
          etaSeconds: perSecond > 0 ? (shownTotal - done) / perSecond : null,
        });
      }
      notifyConsumer();
    }
  }

  const workers = Array.from({ length: concurrency + overlap }, () =>
    worker().catch((error: unknown) => {
      if (!failure) failure = { error };
      internal.abort(error);
      notifyWorkers();
    }),
  );
  let running = workers.length;
  for (const w of workers)
    void w.then(() => {
      running--;
      notifyConsumer();
    });
  const allDone = Promise.all(workers);

  const takeBatch = (): ImportBatch => {
    const batch = { records: records.splice(0, batchSize), problems: problems.splice(0) };
    notifyWorkers();
    return batch;
  };

  try {
    for (;;) {
      if (failure || outer?.aborted) break;
      if (records.length >= batchSize) {
        yield takeBatch();
        continue;
      }
      if (running === 0) {
        while (records.length > 0 || problems.length > 0) yield takeBatch();
        break;
      }
      await new Promise<void>((r) => (wakeConsumer = r));
    }
  } finally {
    // Stop the workers (no-op when they finished) and wait for them: nothing may write into the
    // cache after this generator has returned or thrown.
    if (running > 0) internal.abort(new DOMException('The import was stopped.', 'AbortError'));
    notifyWorkers();
    await allDone;
    await source.return(undefined);
  }
  if (outer?.aborted) throw outer.reason;
  if (failure) throw (failure as { error: unknown }).error;
}

export interface ImportSummary {
  /** Every record, classified, in source order. */
  classified: ClassifyResult<ImportRecord & { status: 'ok' | 'rejected' }>;
  skipped: ImportRecord[];
  problems: SourceProblem[];
}

/**
 * Convenience for the CLI and tests: runs importSource to the end, keeps every record (fine for
 * tens of thousands: ~1 KB each) and classifies them. The app's job should instead write each
 * batch to the database and classify at the end.
 */
export async function collectImport(spec: SourceSpec, options: ImportOptions, existing: Iterable<ExistingImage> = []): Promise<ImportSummary> {
  const all: ImportRecord[] = [];
  const problems: SourceProblem[] = [];
  for await (const batch of importSource(spec, options)) {
    all.push(...batch.records);
    problems.push(...batch.problems);
  }
  const probed = all.filter((r): r is ImportRecord & { status: 'ok' | 'rejected' } => r.status !== 'skipped');
  const classified = classify(
    probed.map((r) => Object.assign(r, { order: r.seq })),
    existing,
  );
  return { classified, skipped: all.filter((r) => r.status === 'skipped').sort((a, b) => a.seq - b.seq), problems };
}

/**
 * Deletes temporary files (`*.partial`) that a crash or a killed process left in a cache folder
 * (`<dir>/<xx>/`). Call it when a project opens, before an import starts; never while an import
 * into the same folder is running. Returns the number of files removed.
 */
export async function removeStaleTempFiles(dir: string): Promise<number> {
  let removed = 0;
  const top = await opendir(dir).catch(() => null);
  if (!top) return 0;
  for await (const d of top) {
    if (!d.isDirectory()) continue;
    const sub = await opendir(join(dir, d.name)).catch(() => null);
    if (!sub) continue;
    for await (const f of sub) {
      if (f.isFile() && f.name.endsWith(TEMP_SUFFIX)) {
        await rm(join(dir, d.name, f.name), { force: true });
        removed++;
      }
    }
  }
  return removed;
}
