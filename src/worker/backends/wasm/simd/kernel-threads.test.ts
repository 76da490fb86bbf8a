import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BINARIES_FILE, compileModule, renderBinaries } from '../../../../../scripts/build-wasm.mjs';
import { gatherGemm as binaries } from './binaries';
import { Prng } from '../../../training/rng';
import { COMPUTE_SLICE_DIVISOR, KernelThreads, KernelThreadsError, MIN_CALL_BYTES, SLICED_HELPERS, SLICE_ALL_FROM_THREADS, awaitSlices, minCallBytes, slicedHelpers, spinMicros, DEFAULT_SPIN_US, currentKernelThreads, currentKernelThreadsFor, disposeKernelThreads, fusedMultiplyAdds, kernelThreadsFor } from './kernel-threads';

/** Deterministic values in [-1, 1). */
function values(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/**
 * A gather-GEMM problem (in a filter gradient's roles) laid out in `memory` as the kernel reads it:
 * x (any layout: the table picks the rows), dy [K, CO], the table, the filter-row offsets, and room
 * for the partials.
 */
function layOut(memory: WebAssembly.Memory, p: { xFloats: number; k: number; m: number; co: number; slices: number; seed: number }, reference = true) {
  const f32 = new Float32Array(memory.buffer);
  const i32 = new Int32Array(memory.buffer);
  const x = 64; // byte addresses, 16-byte aligned regions
  const dy = x + 4 * p.xFloats;
  const table = dy + 4 * p.k * p.co;
  const mOff = table + 4 * p.k;
  const out = mOff + 4 * p.m;
  const xv = values(p.xFloats, p.seed);
  const dyv = values(p.k * p.co, p.seed + 1);
  f32.set(xv, x / 4);
  f32.set(dyv, dy / 4);
  const rowOf: number[] = [];
  const offOf: number[] = [];
  for (let k = 0; k < p.k; k++) {
    rowOf.push((k * 7) % (p.xFloats - p.m)); // overlapping, out-of-order receptive fields
    i32[table / 4 + k] = x + 4 * rowOf[k]!;
  }
  for (let j = 0; j < p.m; j++) {
    offOf.push((j * 3) % p.m);
    i32[mOff / 4 + j] = 4 * offOf[j]!;
  }
  // float64 reference: ref[j, c] = sum_k x[rowOf[k] + offOf[j]] * dy[k, c] (none where not wanted)
  const ref = new Float64Array(p.m * p.co);
  for (let k = 0; k < (reference ? p.k : 0); k++) {
    for (let j = 0; j < p.m; j++) {
      const xs = xv[rowOf[k]! + offOf[j]!]!;
      for (let c = 0; c < p.co; c++) ref[j * p.co + c]! += xs * dyv[k * p.co + c]!;
    }
  }
  return { table, dy, mOff, out, ref, end: out + 4 * p.slices * p.m * p.co };
}

/** Split 'k': `slices` slices (about) of the k rows, each into its own partial. */
function sliced(k: number, slices: number): { split: 'k'; sliceRows: number; slices: number } {
  const sliceRows = Math.ceil(k / slices);
  return { split: 'k', sliceRows, slices: Math.ceil(k / sliceRows) };
}

/** Split 'm': slices of `rows` output rows (even), each computed whole. */
function byRows(m: number, rows: number): { split: 'm'; sliceRows: number; slices: number } {
  return { split: 'm', sliceRows: rows, slices: Math.ceil(m / rows) };
}

/**
 * Runs `p` (laid out by `layOut`) in slices of k rows on `pool`, adds the partials, and expects the
 * float64 reference within 1e-5 of its largest value.
 */
function expectReference(pool: KernelThreads, l: ReturnType<typeof layOut>, p: { k: number; m: number; co: number; slices: number }, chunkRows: number): void {
  const s = sliced(p.k, p.slices);
  pool.gatherGemm({ table: l.table, b: l.dy, mOff: l.mOff, m: p.m, co: p.co, kCount: p.k, ...s, out: l.out, partialBytes: 4 * p.m * p.co, chunkRows });
  pool.helpers.sumPartials(l.out, s.slices, 4 * p.m * p.co, l.end, p.m * p.co);
  const got = new Float32Array(pool.memory.buffer, l.end, p.m * p.co);
  const scale = Math.max(...Array.from(l.ref, Math.abs));
  let err = 0;
  for (let i = 0; i < got.length; i++) err = Math.max(err, Math.abs(got[i]! - l.ref[i]!));
  expect(err / scale).toBeLessThan(1e-5);
}

/**
 * The Winograd transform tests' set-up: a 10 MiB shared memory with x (padded images of `ci` channels,
 * hp x wp pixels), a filter [4, 4, ci, co], M (`xis` rows of tiles x co) and a bias filled from `seed`;
 * `run` called with a pool of 1 thread and one of 4 (slicing from 1 KB) into outputs 3 MB apart, each
 * first filled with its own byte. Expects the same bytes wherever either run wrote; returns the views
 * and addresses for spot checks (outB: the 4-thread run's output). Disposes of the pools.
 */
async function slicedLikeOneCall(
  p: { n: number; hp: number; wp: number; ci: number; co: number; tiles: number; xis: number; seed: number },
  run: (pool: KernelThreads, out: number, at: { x: number; w: number; m: number; bias: number }) => void,
) {
  const memory = new WebAssembly.Memory({ initial: 160, maximum: 160, shared: true });
  const one = new KernelThreads(memory, 1);
  const four = new KernelThreads(memory, 4, { minCallBytes: 1024, sliceAll: true });
  const f32 = new Float32Array(memory.buffer);
  const MB = 1 << 20;
  const at = { x: 64, w: MB, m: 2 * MB, bias: 3 * MB };
  f32.set(values(p.n * p.hp * p.wp * p.ci, p.seed), at.x / 4);
  f32.set(values(16 * p.ci * p.co, p.seed + 1), at.w / 4);
  f32.set(values(p.xis * p.tiles * p.co, p.seed + 2), at.m / 4);
  f32.set(values(p.co, p.seed + 3), at.bias / 4);
  const [outA, outB] = [4 * MB, 7 * MB];
  new Uint8Array(memory.buffer, outA, 3 * MB).fill(0xa5);
  run(one, outA, at);
  new Uint8Array(memory.buffer, outB, 3 * MB).fill(0x5a);
  run(four, outB, at);
  const a = new Uint8Array(memory.buffer, outA, 3 * MB);
  const b = new Uint8Array(memory.buffer, outB, 3 * MB);
  let differ = 0;
  for (let i = 0; i < 3 * MB; i++) if (a[i] !== b[i] && !(a[i] === 0xa5 && b[i] === 0x5a)) differ++;
  expect(differ).toBe(0);
  await Promise.all([one.dispose(), four.dispose()]);
  return { memory, f32, MB, outB, ...at };
}

describe('our WebAssembly SIMD kernels', () => {
  it('binaries.ts is compiled from the .wat sources as they are (node scripts/build-wasm.mjs)', async () => {
    expect(readFileSync(BINARIES_FILE, 'utf8')).toBe(await renderBinaries());
  });

  it('compiles one variant of a source as binaries.ts holds it (bench/gemm-kernel.bench.ts --wat)', async () => {
    const text = readFileSync(join(dirname(BINARIES_FILE), 'gather-gemm.wat'), 'utf8');
    const asBase64 = async (options: { shared?: boolean; fma?: boolean }) => Buffer.from(await compileModule(text, options)).toString('base64');
    expect(await asBase64({})).toBe(binaries.unshared);
    expect(await asBase64({ fma: true })).toBe(binaries.unsharedFma);
    expect(await asBase64({ shared: true, fma: true })).toBe(binaries.sharedFma);
  });

  const problem = { xFloats: 900, k: 333, m: 26, co: 32, slices: 5, seed: 7 }; // 333 rows: chunks and slices end mid-way

  it('sums x * dy over the table, in slices, and adds the partials in order (float64 reference)', () => {
    const memory = new WebAssembly.Memory({ initial: 4 });
    const pool = new KernelThreads(memory, 4); // an unshared memory: no workers
    expect(pool.workerCount).toBe(0);
    const l = layOut(memory, problem);
    const s = sliced(problem.k, problem.slices);
    // Twice: the partials are written, not added to (the scratch they live in is not zeroed).
    for (let call = 0; call < 2; call++) {
      pool.gatherGemm({ table: l.table, b: l.dy, mOff: l.mOff, m: problem.m, co: problem.co, kCount: problem.k, ...s, out: l.out, partialBytes: 4 * problem.m * problem.co, chunkRows: 16 });
    }
    const sum = l.end;
    pool.helpers.sumPartials(l.out, s.slices, 4 * problem.m * problem.co, sum, problem.m * problem.co);
    const got = new Float32Array(memory.buffer, sum, problem.m * problem.co);
    const scale = Math.max(...Array.from(l.ref, Math.abs));
    let err = 0;
    for (let i = 0; i < got.length; i++) err = Math.max(err, Math.abs(got[i]! - l.ref[i]!));
    expect(err / scale).toBeLessThan(1e-5);
    expect(scale).toBeGreaterThan(1); // not a sum of nothing
  });

  it('reads a row-major dy only within its rows: dy may end at the last byte of memory', () => {
    // The kernel reads a chunk of a row-major b once in order before summing it (gather-gemm.wat):
    // that pass must stop at the chunk's last row, or it traps here.
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
    const pool = new KernelThreads(memory, 1);
    const f32 = new Float32Array(memory.buffer);
    const i32 = new Int32Array(memory.buffer);
    const p = { k: 37, m: 6, co: 32, xFloats: 64 };
    const dy = memory.buffer.byteLength - 4 * p.k * p.co;
    const [x, table, mOff, out] = [64, 1024, 2048, 4096];
    const xv = values(p.xFloats, 3);
    const dyv = values(p.k * p.co, 4);
    f32.set(xv, x / 4);
    f32.set(dyv, dy / 4);
    for (let k = 0; k < p.k; k++) i32[table / 4 + k] = x + 4 * (k % (p.xFloats - p.m));
    for (let j = 0; j < p.m; j++) i32[mOff / 4 + j] = 4 * j;
    const s = sliced(p.k, 3);
    pool.gatherGemm({ table, b: dy, mOff, m: p.m, co: p.co, kCount: p.k, ...s, out, partialBytes: 4 * p.m * p.co, chunkRows: 5 });
    const sum = out + 4 * s.slices * p.m * p.co;
    pool.helpers.sumPartials(out, s.slices, 4 * p.m * p.co, sum, p.m * p.co);
    const got = new Float32Array(memory.buffer, sum, p.m * p.co);
    for (let j = 0; j < p.m; j++) {
      for (let c = 0; c < p.co; c++) {
        let want = 0;
        for (let k = 0; k < p.k; k++) want += xv[(k % (p.xFloats - p.m)) + j]! * dyv[k * p.co + c]!;
        expect(got[j * p.co + c]).toBeCloseTo(want, 4);
      }
    }
  });

  it('in slices of output rows: each row whole, the same bits for any slices, threads and chunk size, and as one slice of k rows', async () => {
    const results: Buffer[] = [];
    for (const [threads, rows, chunkRows] of [[1, 26, 16], [1, 2, 64], [2, 6, 5], [4, 4, 333], [4, 10, 16]] as const) {
      const memory = new WebAssembly.Memory({ initial: 4, maximum: 64, shared: true });
      const pool = new KernelThreads(memory, threads);
      const l = layOut(memory, problem);
      pool.gatherGemm({ table: l.table, b: l.dy, mOff: l.mOff, m: problem.m, co: problem.co, kCount: problem.k, ...byRows(problem.m, rows), out: l.out, partialBytes: 0, chunkRows });
      results.push(Buffer.from(memory.buffer.slice(l.out, l.out + 4 * problem.m * problem.co)));
      if (results.length === 1) {
        const got = new Float32Array(memory.buffer, l.out, problem.m * problem.co);
        const scale = Math.max(...Array.from(l.ref, Math.abs));
        let err = 0;
        for (let i = 0; i < got.length; i++) err = Math.max(err, Math.abs(got[i]! - l.ref[i]!));
        expect(err / scale).toBeLessThan(1e-5);
        // One slice of all k rows sums in the same order: the same bits.
        pool.gatherGemm({ table: l.table, b: l.dy, mOff: l.mOff, m: problem.m, co: problem.co, kCount: problem.k, ...sliced(problem.k, 1), out: l.end, partialBytes: 0, chunkRows: 7 });
        expect(Buffer.from(memory.buffer.slice(l.end, l.end + 4 * problem.m * problem.co)).equals(results[0]!)).toBe(true);
      }
      await pool.dispose();
    }
    for (const r of results.slice(1)) expect(r.equals(results[0]!)).toBe(true);
  });

  it('reads b in panels of 16 columns (packPanels) to the same bits as row-major, in slices of output rows and of k rows, on 1 and 3 threads', async () => {
    const wide = { ...problem, co: 48 }; // three panels: a panel's stride matters
    const bytes = 4 * wide.m * wide.co;
    for (const threads of [1, 3]) {
      const memory = new WebAssembly.Memory({ initial: 8, maximum: 64, shared: true });
      const pool = new KernelThreads(memory, threads);
      const l = layOut(memory, wide);
      const panels = l.end;
      const rowMajor = panels + 4 * wide.k * wide.co;
      pool.helpers.packPanels(l.dy, wide.k, wide.co, panels, wide.k);
      const f32 = new Float32Array(memory.buffer);
      for (const [r, c] of [[0, 0], [1, 5], [17, 16], [332, 47], [200, 33]] as const) {
        expect(f32[panels / 4 + (Math.floor(c / 16) * wide.k + r) * 16 + (c % 16)]).toBe(f32[l.dy / 4 + r * wide.co + c]);
      }
      const job = { table: l.table, mOff: l.mOff, m: wide.m, co: wide.co, kCount: wide.k, chunkRows: 7 };
      for (const split of [byRows(wide.m, 6), sliced(wide.k, 4)]) {
        const partialBytes = split.split === 'k' ? bytes : 0;
        pool.gatherGemm({ ...job, ...split, b: l.dy, out: l.out, partialBytes });
        if (split.split === 'k') pool.helpers.sumPartials(l.out, split.slices, bytes, rowMajor, wide.m * wide.co);
        else new Uint8Array(memory.buffer).copyWithin(rowMajor, l.out, l.out + bytes);
        // Panels longer than the k rows (a caller's room to spare) read the same rows.
        for (const bPanelRows of [wide.k, wide.k + 3]) {
          const b = bPanelRows === wide.k ? panels : rowMajor + bytes;
          if (bPanelRows !== wide.k) {
            for (let p = 0; p < wide.co / 16; p++) new Uint8Array(memory.buffer).copyWithin(b + 64 * p * bPanelRows, panels + 64 * p * wide.k, panels + 64 * (p + 1) * wide.k);
          }
          pool.gatherGemm({ ...job, ...split, b, bPanelRows, out: l.out, partialBytes });
          const sum = b + 64 * bPanelRows * (wide.co / 16);
          if (split.split === 'k') pool.helpers.sumPartials(l.out, split.slices, bytes, sum, wide.m * wide.co);
          const got = Buffer.from(memory.buffer.slice(split.split === 'k' ? sum : l.out, (split.split === 'k' ? sum : l.out) + bytes));
          expect(got.equals(Buffer.from(memory.buffer.slice(rowMajor, rowMajor + bytes)))).toBe(true);
        }
      }
      expect(() => pool.gatherGemm({ ...job, ...byRows(wide.m, 6), b: panels, bPanelRows: wide.k - 1, out: l.out, partialBytes: 0 })).toThrow(/panels of 332 rows/);
      await pool.dispose();
    }
  });

  it('fuses its multiply-adds where the engine has relaxed SIMD, unless GAN_AUGMENT_WASM_FMA=0, and says what is wrong with the setting', () => {
    // Node 20's V8 has relaxed SIMD behind a flag, which fusedMultiplyAdds turns on (Electron's has it on).
    expect(fusedMultiplyAdds({})).toBe(true);
    expect(fusedMultiplyAdds({ GAN_AUGMENT_WASM_FMA: '1' })).toBe(true);
    expect(fusedMultiplyAdds({ GAN_AUGMENT_WASM_FMA: '0' })).toBe(false);
    expect(() => fusedMultiplyAdds({ GAN_AUGMENT_WASM_FMA: 'yes' })).toThrow('GAN_AUGMENT_WASM_FMA is "yes"; use 1 (fused multiply-adds where the processor has them) or 0.');
    expect(new KernelThreads(new WebAssembly.Memory({ initial: 1 }), 1).fma).toBe(true);
  });

  it('computes the same sums with fused and separate multiply-adds, to rounding, each the same bits on 1 and 3 threads', async () => {
    const results = new Map<string, Buffer>();
    for (const fma of [true, false]) {
      for (const threads of [1, 3]) {
        const memory = new WebAssembly.Memory({ initial: 4, maximum: 64, shared: true });
        const pool = new KernelThreads(memory, threads, { fma });
        expect(pool.fma).toBe(fma);
        const l = layOut(memory, problem);
        pool.gatherGemm({ table: l.table, b: l.dy, mOff: l.mOff, m: problem.m, co: problem.co, kCount: problem.k, ...byRows(problem.m, 6), out: l.out, partialBytes: 0, chunkRows: 16 });
        const got = new Float32Array(memory.buffer, l.out, problem.m * problem.co);
        const scale = Math.max(...Array.from(l.ref, Math.abs));
        let err = 0;
        for (let i = 0; i < got.length; i++) err = Math.max(err, Math.abs(got[i]! - l.ref[i]!));
        expect(err / scale).toBeLessThan(1e-5);
        results.set(`${fma} ${threads}`, Buffer.from(memory.buffer.slice(l.out, l.out + 4 * problem.m * problem.co)));
        await pool.dispose();
      }
    }
    expect(results.get('true 3')!.equals(results.get('true 1')!)).toBe(true);
    expect(results.get('false 3')!.equals(results.get('false 1')!)).toBe(true);
    // A fused multiply-add rounds once: on a processor with FMA (every x86-64 since 2013, every ARM64)
    // some of the 832 sums differ in their last bits, so the fused variant is really the one running.
    expect(results.get('true 1')!.equals(results.get('false 1')!)).toBe(false);
  });

  it('writes output rows where a table of row addresses says (split m only), the same values as in place', async () => {
    const memory = new WebAssembly.Memory({ initial: 8, maximum: 64, shared: true });
    const pool = new KernelThreads(memory, 3);
    const l = layOut(memory, problem);
    const job = { table: l.table, b: l.dy, mOff: l.mOff, m: problem.m, co: problem.co, kCount: problem.k, ...byRows(problem.m, 6), partialBytes: 0, chunkRows: 16 };
    pool.gatherGemm({ ...job, out: l.out });
    const rowBytes = 4 * problem.co;
    // Rows in reverse order, a gap of one row between them, after everything else.
    const scattered = l.end + 4 * problem.m;
    const i32 = new Int32Array(memory.buffer);
    for (let r = 0; r < problem.m; r++) i32[l.end / 4 + r] = scattered + (problem.m - 1 - r) * 2 * rowBytes;
    pool.gatherGemm({ ...job, out: 0, outTable: l.end });
    for (let r = 0; r < problem.m; r++) {
      const want = Buffer.from(memory.buffer.slice(l.out + r * rowBytes, l.out + (r + 1) * rowBytes));
      const at = scattered + (problem.m - 1 - r) * 2 * rowBytes;
      expect(Buffer.from(memory.buffer.slice(at, at + rowBytes)).equals(want)).toBe(true);
    }
    expect(() => pool.gatherGemm({ ...job, ...sliced(problem.k, 2), out: l.out, partialBytes: 4 * problem.m * problem.co, outTable: l.end })).toThrow(KernelThreadsError);
    await pool.dispose();
  });

  it('sizes slices of output rows at about four per thread, even, within [16, 128]', async () => {
    const one = new KernelThreads(new WebAssembly.Memory({ initial: 1 }), 1);
    const four = new KernelThreads(new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true }), 4);
    expect([2, 100, 1024, 4096, 100_000].map((r) => one.rowSlice(r))).toEqual([16, 26, 128, 128, 128]);
    expect([2, 100, 1024, 4096].map((r) => four.rowSlice(r))).toEqual([16, 16, 64, 128]);
    await four.dispose();
  });

  it('gives the same bits on 1, 2 and 4 threads and with any chunk size, and ends its workers', async () => {
    const results: Float32Array[] = [];
    for (const [threads, chunkRows] of [[1, 16], [2, 64], [4, 5]] as const) {
      const memory = new WebAssembly.Memory({ initial: 4, maximum: 64, shared: true });
      const pool = new KernelThreads(memory, threads);
      expect(pool.workerCount).toBe(threads - 1);
      const l = layOut(memory, problem);
      const s = sliced(problem.k, problem.slices);
      for (let call = 0; call < 3; call++) {
        pool.gatherGemm({ table: l.table, b: l.dy, mOff: l.mOff, m: problem.m, co: problem.co, kCount: problem.k, ...s, out: l.out, partialBytes: 4 * problem.m * problem.co, chunkRows });
      }
      results.push(new Float32Array(memory.buffer.slice(l.out, l.end)));
      await pool.dispose();
      expect(pool.workerCount).toBe(0);
      expect(() => pool.gatherGemm({ table: l.table, b: l.dy, mOff: l.mOff, m: problem.m, co: problem.co, kCount: problem.k, ...s, out: l.out, partialBytes: 4, chunkRows })).toThrow(KernelThreadsError);
    }
    expect(Buffer.from(results[1]!.buffer).equals(Buffer.from(results[0]!.buffer))).toBe(true);
    expect(Buffer.from(results[2]!.buffer).equals(Buffer.from(results[0]!.buffer))).toBe(true);
  });

  it('its workers see the memory grown after they started (as tfjs grows its heap between calls)', async () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1024, shared: true });
    const pool = new KernelThreads(memory, 3);
    const small = { ...problem, k: 40, slices: 3 };
    const first = layOut(memory, { ...small, xFloats: 200 });
    pool.gatherGemm({ table: first.table, b: first.dy, mOff: first.mOff, m: small.m, co: small.co, kCount: small.k, ...sliced(small.k, small.slices), out: first.out, partialBytes: 4 * small.m * small.co, chunkRows: 8 });
    memory.grow(500); // 64 KiB -> 32 MB; the problem below lies past the first 64 KiB
    // Large enough (about 2 ms) that the workers, which wake in about 0.1 ms, take slices of it:
    // a worker that did not see the new size would trap, and the call would fail.
    const big = { ...problem, xFloats: 200_000, k: 60_000, slices: 24 };
    const l = layOut(memory, big);
    expect(l.dy).toBeGreaterThan(65536);
    expectReference(pool, l, big, 32);
    await pool.dispose();
  });

  it('calls one after another with other slice counts never mix (200 calls on 4 threads, each the bits of 1 thread)', async () => {
    const one = new KernelThreads(new WebAssembly.Memory({ initial: 64 }), 1);
    const memory = new WebAssembly.Memory({ initial: 64, maximum: 128, shared: true });
    const four = new KernelThreads(memory, 4);
    // 20,000 dy rows (about 1 ms a call): long enough that the workers take slices, not only the caller.
    const room = { ...problem, k: 20_000, xFloats: 20_000, slices: 20 }; // partials for the most slices below, the sum after them
    const l1 = layOut(one.memory, room);
    const l4 = layOut(memory, room);
    const expected = new Map<number, Buffer>();
    for (const slices of [1, 3, 7, 20]) {
      const s = sliced(room.k, slices);
      one.gatherGemm({ table: l1.table, b: l1.dy, mOff: l1.mOff, m: problem.m, co: problem.co, kCount: room.k, ...s, out: l1.out, partialBytes: 4 * problem.m * problem.co, chunkRows: 16 });
      one.helpers.sumPartials(l1.out, s.slices, 4 * problem.m * problem.co, l1.end, problem.m * problem.co);
      expected.set(slices, Buffer.from(one.memory.buffer.slice(l1.end, l1.end + 4 * problem.m * problem.co)));
    }
    for (let call = 0; call < 200; call++) {
      const slices = [1, 3, 7, 20][call % 4]!;
      const s = sliced(room.k, slices);
      four.gatherGemm({ table: l4.table, b: l4.dy, mOff: l4.mOff, m: problem.m, co: problem.co, kCount: room.k, ...s, out: l4.out, partialBytes: 4 * problem.m * problem.co, chunkRows: 16 });
      four.helpers.sumPartials(l4.out, s.slices, 4 * problem.m * problem.co, l4.end, problem.m * problem.co);
      const got = Buffer.from(memory.buffer.slice(l4.end, l4.end + 4 * problem.m * problem.co));
      if (!got.equals(expected.get(slices)!)) expect.fail(`call ${call} (${slices} slices) differs from one thread's result`);
    }
    await Promise.all([one.dispose(), four.dispose()]);
  });

  it('rearranges images in slices of whole images on every thread (phaseRows), to the bytes of one call, then computes gather-GEMMs as before', async () => {
    // x [images, 31, 29, ci] (odd sizes; 12 channels, and 3 and 5, which take the scalar path) in
    // phase rows at stride 2 x 3 with padding 1 x 2; the workers take slices from 2 images on (calls
    // of 1 KiB and more here; with a slice's offsets dropped, this test fails).
    const [h, w, sh, sw, top, left] = [31, 29, 2, 3, 1, 2];
    const up = Math.ceil((h + top) / sh) + 1;
    const vp = 4 * Math.ceil((Math.ceil((w + left) / sw) + 1) / 4);
    const memory = new WebAssembly.Memory({ initial: 1024, maximum: 1024, shared: true });
    const one = new KernelThreads(memory, 1);
    const four = new KernelThreads(memory, 4, { minCallBytes: 1024 });
    expect(four.workerCount).toBe(3);
    for (const ci of [12, 3, 5]) {
      for (const images of [1, 2, 11, 16]) {
        const sU = 4 * vp;
        const sImg = up * sU;
        const sC = images * sImg;
        const sR = sw * ci * sC;
        const bytes = sh * sR;
        const src = 64;
        const a = src + 4 * images * h * w * ci;
        const b = a + bytes;
        new Float32Array(memory.buffer).set(values(images * h * w * ci, images), src / 4);
        const same = () => Buffer.from(memory.buffer.slice(b, b + bytes)).equals(Buffer.from(memory.buffer.slice(a, a + bytes)));
        const args = [images, h, w, ci, sh, sw, top, left, up, vp, sImg, sU, sR, sC] as const;
        // Over different bytes: every byte must be written.
        new Uint8Array(memory.buffer, a, bytes).fill(0xa5);
        one.helpers.phaseRows(src, a, ...args);
        for (const pool of [one, four]) {
          new Uint8Array(memory.buffer, b, bytes).fill(0x5a);
          pool.phaseRows(src, b, ...args);
          expect(same()).toBe(true);
        }
        // A pixel spot-checked: image images - 1, padded row 7 (r 1, u 3), column 8 (t 2, v 2), the last
        // channel; and padding: padded row 0 (r 0, u 0) and column 0 (t 0, v 0) read as zero.
        const f32 = new Float32Array(memory.buffer);
        const c = ci - 1;
        const at = (images - 1) * sImg + 3 * sU + 1 * sR + (2 * ci + c) * sC + 4 * 2;
        expect(f32[(b + at) / 4]).toBe(f32[src / 4 + (((images - 1) * h + 7 - top) * w + 8 - left) * ci + c]);
        expect(f32[(b + (images - 1) * sImg + (1 * ci + c) * sC + 4 * 3) / 4]).toBe(0);
        expect(f32[(b + (images - 1) * sImg + 2 * sU + 1 * sR + c * sC) / 4]).toBe(0);
      }
    }
    expect(() => four.bySlices('phaseRows', new Array(17).fill(2), new Array(17).fill(0))).toThrow(/bad phaseRows call/);
    // The control block's job kind goes back to the gather-GEMM for the next call.
    expectReference(four, layOut(memory, problem), problem, 16);
    await Promise.all([one.dispose(), four.dispose()]);
  });

  it('runs the unit-wise helpers (padImages, packPanels, leakyMul, adamUpdate) in slices on every thread, to the bytes of one call', async () => {
    const memory = new WebAssembly.Memory({ initial: 320, maximum: 320, shared: true }); // 16.6 MB laid out below
    const one = new KernelThreads(memory, 1);
    // Calls of 1 KiB and more in slices: small problems, and a last slice cut short.
    const four = new KernelThreads(memory, 4, { minCallBytes: 1024, sliceAll: true });
    const f32 = new Float32Array(memory.buffer);
    const MB = 1 << 20;
    const [inA, inB, inC, inD] = [64, 1 * MB, 2 * MB, 3 * MB]; // inputs
    const [outA, outB] = [8 * MB, 11 * MB]; // one call's result, then the sliced call's (three regions of 1 MiB each)
    f32.set(values(MB / 4 - 16, 1), inA / 4);
    f32.set(values(MB / 4, 2), inB / 4);
    f32.set(values(MB / 4, 3), inC / 4);
    f32.set(values(MB / 4, 4).map((v) => v * v), inD / 4); // Adam's v: not negative
    f32[(4 * MB) / 4] = 0.9 ** 3; // accumulated betas
    f32[(4 * MB + 4) / 4] = 0.999 ** 3;
    const run = (pool: KernelThreads, out: number) => {
      // odd counts: not multiples of the 16 floats a slice of leakyMul and adamUpdate is made of
      pool.leakyMul(inA, inB, 16_387, 0.2, out);
      pool.leakyMul(inB, inB, 5, 0.2, out + 70_000); // fewer floats than a slice
      pool.adamUpdate(inA, inB, inD, inC, out + 80_000, out + MB, out + 2 * MB, 20_003, 0.9, 0.999, 0.1, 0.001, -0.01, 1e-7, 4 * MB, 4 * MB + 4);
      // 7 images of 5 rows of 3 x 4 floats into 8 rows of 6 pixels, top 2, left 1
      pool.padImages(inC, out + 200_000, 7, 5, 48, 8, 96, 2, 16);
      // 301 rows of 48 columns: three panels
      pool.packPanels(inB, 301, 48, out + 300_000);
    };
    new Uint8Array(memory.buffer, outA, 3 * MB).fill(0xa5);
    run(one, outA);
    new Uint8Array(memory.buffer, outB, 3 * MB).fill(0x5a);
    run(four, outB);
    for (const at of [0, MB, 2 * MB]) {
      const a = new Uint8Array(memory.buffer, outA + at, MB);
      const b = new Uint8Array(memory.buffer, outB + at, MB);
      // every byte the calls write, written the same (the 0xa5 / 0x5a fill shows through where neither writes)
      let differ = 0;
      for (let i = 0; i < MB; i++) if (a[i] !== b[i] && !(a[i] === 0xa5 && b[i] === 0x5a)) differ++;
      expect(differ).toBe(0);
    }
    // and written at all: LeakyReLU's last float, Adam's last new value, a padded pixel, a panel's last row
    const leaky = (v: number) => (v > 0 ? v : v * 0.2);
    expect(f32[(outB + 4 * 16_386) / 4]).toBe(Math.fround(f32[(inA + 4 * 16_386) / 4]! * (leaky(f32[(inB + 4 * 16_386) / 4]!) / f32[(inB + 4 * 16_386) / 4]!)));
    expect(f32[(outB + 80_000 + 4 * 20_002) / 4]).not.toBe(f32[(inA + 4 * 20_002) / 4]);
    expect(f32[(outB + 200_000 + 6 * 8 * 96 + 6 * 96 + 16 + 4 * 11) / 4]).toBe(f32[(inC + (6 * 5 + 4) * 48 + 4 * 11) / 4]);
    expect(f32[(outB + 300_000 + 2 * 301 * 64 + 300 * 64 + 4 * 15) / 4]).toBe(f32[(inB + (300 * 48 + 32 + 15) * 4) / 4]);
    await Promise.all([one.dispose(), four.dispose()]);
  });


  it('runs the column sums (sumLeading, batch norm\'s), batch norm\'s element-wise passes, transposeBlock and transposeTaps in slices on every thread, to the bits of one call and of a float64-free reference', async () => {
    const memory = new WebAssembly.Memory({ initial: 160, maximum: 160, shared: true }); // 10 MB
    const one = new KernelThreads(memory, 1);
    const four = new KernelThreads(memory, 4, { minCallBytes: 1, sliceAll: true });
    const f32 = new Float32Array(memory.buffer);
    const KB = 1024;
    // [rows, cols]: odd row counts, 16 to 80 columns (1 to 5 slices of 16); sumLeading also 7 and 37
    for (const [rows, cols] of [[37, 48], [5, 16], [132, 80], [9, 37], [3, 7], [8, 64]] as const) {
      const bn = cols % 16 === 0;
      const [x, dy, mean, variance, gamma, beta] = [64, 400 * KB, 800 * KB, 801 * KB, 802 * KB, 803 * KB];
      f32.set(values(rows * cols, rows), x / 4);
      f32.set(values(rows * cols, cols), dy / 4);
      f32.set(values(cols, 3).map((v) => v * v), variance / 4);
      f32.set(values(cols, 4), gamma / 4);
      f32.set(values(cols, 5), beta / 4);
      // each pool's results at its own place: sums (mean, variance, dbeta, dgamma: 1 KB apart, the bytes
      // between them left as filled, so that a slice writing past its columns shows), coef, y, dx, x transposed
      const run = (pool: KernelThreads, out: number) => {
        const [sums, coef, y, dx, xT] = [out, out + 4 * KB, out + 8 * KB, out + 200 * KB, out + 400 * KB];
        pool.sumLeading(x, rows, cols, sums, rows);
        if (!bn) return;
        f32.set(f32.subarray(sums / 4, sums / 4 + cols), mean / 4); // the pools' means are the same bits (checked below)
        pool.bnVariance(x, rows, cols, mean, sums + KB, rows);
        pool.bnBackwardSums(dy, x, rows, cols, mean, variance, 1e-5, sums + 2 * KB, sums + 3 * KB);
        pool.bnNormalize(x, rows, cols, mean, variance, gamma, beta, 1e-5, coef, y);
        pool.bnInputGrad(dy, x, rows, cols, mean, variance, gamma, sums + 2 * KB, sums + 3 * KB, rows, 1e-5, coef + 4 * cols, dx);
        if (rows % 4 === 0) pool.transposeBlock(x, xT, rows, cols);
      };
      const [outA, outB] = [1 * 1024 * KB, 2 * 1024 * KB];
      const region = 600 * KB;
      new Uint8Array(memory.buffer, outA, region).fill(0xa5);
      run(one, outA);
      new Uint8Array(memory.buffer, outB, region).fill(0xa5);
      run(four, outB);
      expect(Buffer.from(memory.buffer.slice(outB, outB + region)).equals(Buffer.from(memory.buffer.slice(outA, outA + region)))).toBe(true);
      // and the values: each column summed in row order in float32, as tfjs does
      const at = (addr: number, i: number) => f32[addr / 4 + i]!;
      for (const j of [0, cols - 1, Math.floor(cols / 2)]) {
        let s = 0;
        for (let r = 0; r < rows; r++) s = Math.fround(s + at(x, r * cols + j));
        expect(at(outB, j)).toBe(Math.fround(s / rows));
        if (!bn) continue;
        let v = 0;
        let db = 0;
        for (let r = 0; r < rows; r++) {
          const d = Math.fround(at(x, r * cols + j) - at(mean, j));
          v = Math.fround(v + Math.fround(d * d));
          db = Math.fround(db + at(dy, r * cols + j));
        }
        expect(at(outB + KB, j)).toBe(Math.fround(v / rows));
        expect(at(outB + 2 * KB, j)).toBe(db);
        const rstd = Math.fround(1 / Math.fround(Math.sqrt(Math.fround(at(variance, j) + Math.fround(1e-5)))));
        const last = (rows - 1) * cols + j;
        const yWant = Math.fround(Math.fround(Math.fround(Math.fround(at(x, last) - at(mean, j)) * rstd) * at(gamma, j)) + at(beta, j));
        expect(at(outB + 8 * KB, last)).toBe(yWant);
        if (rows % 4 === 0) expect(at(outB + 400 * KB, j * rows + rows - 1)).toBe(at(x, last));
        expect(Number.isFinite(at(outB + 200 * KB, last))).toBe(true);
      }
    }
    // transposeTaps: the 16 taps of a [4, 4, 8, 12] filter, as they lie and flipped (kh ^ 2, kw ^ 2)
    const [w, ci, co] = [64, 8, 12];
    f32.set(values(16 * ci * co, 9), w / 4);
    for (const flip of [0, 2]) {
      const [a, b] = [1024 * KB, 2 * 1024 * KB];
      new Uint8Array(memory.buffer, a, 16 * ci * co * 4 + 64).fill(0xa5);
      new Uint8Array(memory.buffer, b, 16 * ci * co * 4 + 64).fill(0xa5);
      one.transposeTaps(w, a, ci, co, flip);
      four.transposeTaps(w, b, ci, co, flip);
      expect(Buffer.from(memory.buffer.slice(b, b + 16 * ci * co * 4 + 64)).equals(Buffer.from(memory.buffer.slice(a, a + 16 * ci * co * 4 + 64)))).toBe(true);
      for (const [kh, kw, c, o] of [[0, 0, 0, 0], [3, 1, 7, 11], [2, 3, 5, 2]] as const) {
        const src = ((((kh ^ flip) * 4 + (kw ^ flip)) * ci + c) * co + o);
        expect(f32[b / 4 + ((kh * 4 + kw) * co + o) * ci + c]).toBe(f32[w / 4 + src]);
      }
    }
    await Promise.all([one.dispose(), four.dispose()]);
  });

  it('pads images (padImages): every byte of dst written, the rows where they belong and zero around them, with or without padding on each side; refuses rows that do not fit', async () => {
    const memory = new WebAssembly.Memory({ initial: 4, maximum: 4, shared: true });
    const one = new KernelThreads(memory, 1);
    const three = new KernelThreads(memory, 3, { minCallBytes: 1, sliceAll: true });
    const f32 = new Float32Array(memory.buffer);
    const [src, dst] = [64, 64 * 1024];
    // [images, rows, columns of 4 floats; padded rows, padded columns; top, left]
    const shapes = [[3, 5, 6, 8, 9, 2, 1], [2, 4, 3, 4, 3, 0, 0], [3, 4, 3, 7, 5, 0, 2], [2, 4, 3, 6, 3, 2, 0], [4, 0, 3, 3, 5, 1, 1], [2, 0, 3, 2, 4, 2, 1], [1, 1, 1, 3, 3, 1, 1]] as const;
    for (const [images, rows, cols, dRows, dCols, top, left] of shapes) {
      for (let i = 0; i < images * rows * cols * 4; i++) f32[src / 4 + i] = i + 1;
      for (const pool of [one, three]) {
        new Uint8Array(memory.buffer, dst, images * dRows * dCols * 16 + 64).fill(0xa5);
        pool.padImages(src, dst, images, rows, 16 * cols, dRows, 16 * dCols, top, 16 * left);
        for (let img = 0; img < images; img++) {
          for (let r = 0; r < dRows; r++) {
            for (let c = 0; c < dCols * 4; c++) {
              const [sr, sc] = [r - top, Math.floor(c / 4) - left];
              const inside = sr >= 0 && sr < rows && sc >= 0 && sc < cols;
              const want = inside ? ((img * rows + sr) * cols + sc) * 4 + (c % 4) + 1 : 0;
              expect(f32[dst / 4 + (img * dRows + r) * dCols * 4 + c]).toBe(want);
            }
          }
        }
        // nothing written past the padded images
        expect(new Uint8Array(memory.buffer, dst + images * dRows * dCols * 16, 64).every((b) => b === 0xa5)).toBe(true);
      }
    }
    expect(() => one.padImages(src, dst, 1, 5, 16, 5, 16, 1, 0)).toThrow(/bad padImages call/);
    expect(() => one.padImages(src, dst, 1, 5, 16, 5, 32, 0, 32)).toThrow(/bad padImages call/);
    await Promise.all([one.dispose(), three.dispose()]);
  });

  it('adds partials in order (sumPartials), in blocks of 4 KB: each float the float32 sum from partial 0 on (zero with none), nothing written past dst', async () => {
    const memory = new WebAssembly.Memory({ initial: 16, maximum: 16, shared: true });
    const pool = new KernelThreads(memory, 1);
    const f32 = new Float32Array(memory.buffer);
    const rng = new Prng(5);
    const [src, dst] = [64, 512 * 1024];
    // floats: under one block, one block exactly, blocks and a part; partials spaced by more than their floats
    for (const [count, floats, strideFloats] of [[1, 4, 4], [3, 1024, 1024], [17, 3000, 3004], [5, 2052, 2100], [2, 8, 12], [0, 1028, 1028]] as const) {
      for (let i = 0; i < count * strideFloats; i++) f32[src / 4 + i] = (rng.next() - 0.5) * 10 ** rng.int(6);
      f32[src / 4] = -0; // 0 + -0 is +0, as the old loop's sum from zero gave
      new Uint8Array(memory.buffer, dst, 4 * floats + 64).fill(0xa5);
      // no partials: zeros, src not read (here past the end of memory)
      pool.helpers.sumPartials(count === 0 ? memory.buffer.byteLength : src, count, 4 * strideFloats, dst, floats);
      for (let j = 0; j < floats; j++) {
        let want = Math.fround(0);
        for (let s = 0; s < count; s++) want = Math.fround(want + f32[src / 4 + s * strideFloats + j]!);
        expect(Object.is(f32[dst / 4 + j], want)).toBe(true);
      }
      expect(new Uint8Array(memory.buffer, dst + 4 * floats, 64).every((b) => b === 0xa5)).toBe(true);
    }
    await pool.dispose();
  });
  it('runs the Winograd transforms in slices on every thread (images, channels), to the bytes of one call', async () => {
    // 5 images of 14 x 18 pixels of 8 channels (a padded x for 6 x 8 outputs: 3 x 4 tiles of 2 x 2),
    // a filter [4, 4, 8, 32], M for those tiles
    const [n, hp, wp, ci, co, th, tw] = [5, 14, 18, 8, 32, 3, 4];
    const tiles = n * th * tw;
    const MB = 1 << 20;
    const { memory, f32, outB, x, w, m, bias } = await slicedLikeOneCall({ n, hp, wp, ci, co, tiles, xis: 9, seed: 5 }, (pool, out, { x, w, m, bias }) => {
      pool.winoInput(x, 4 * hp * wp * ci, 4 * wp * ci, ci, th, tw, n, out, 4 * tiles * 4 * ci);
      pool.winoFilter(w, ci, co, out + MB, 4 * 4 * ci * co);
      pool.winoOutput(m, 4 * tiles * co, co, th, tw, 2 * tw, n, out + 2 * MB, bias);
      // the filter gradient's: m read as dy [5, 6, 8, 32], x as M [9, 4 ci, co]
      pool.winoDy(m, co, th, tw, 2 * tw, n, out + MB + MB / 2, 4 * tiles * co, tiles);
      pool.winoFilterOut(x, 4 * 4 * ci * co, ci, co, out + 2 * MB + MB / 2);
      // U transposed, [9, 4 ci, 60 tiles]: 15 groups of four tiles
      pool.winoInputT(x, 4 * hp * wp * ci, 4 * wp * ci, ci, th, tw, tiles, out + 2 * MB + (3 * MB) / 4, 4 * tiles * 4 * ci, tiles);
      // the input gradient's: x read as a padded dy (stride 1 from row 1, column 1), m as M of 16
      // channels into a dx [5, 11, 14, 16], whose last row and column the tiles pass (dropped)
      pool.winoInputS1(x, 4 * hp * wp * ci, 4 * wp * ci, ci, th, tw, 1, 1, n, out + 2 * MB + 880 * 1024, 4 * tiles * ci);
      pool.winoOutputPhase(m, 4 * tiles * 16, 16, th, tw, n, out + 2 * MB + 900 * 1024, 11, 14, 1, 0);
    });
    // and written: the last image's last tile, channel 5 of phase (1, 1), U's xi = 4 (the middle pixel);
    // V's xi = 8 (g11) at row (3 * ci + 7), column 17 (panel 1); y's last pixel, channel 31, with the bias
    const xAt = (img: number, r: number, c: number, ch: number) => f32[(x + 4 * (((img * hp + r) * wp + c) * ci + ch)) / 4]!;
    expect(f32[(outB + 4 * (4 * tiles * 4 * ci + (tiles - 1) * 4 * ci + 3 * ci + 5)) / 4]).toBe(xAt(n - 1, 4 * 2 + 2 + 1, 4 * 3 + 2 + 1, 5));
    expect(f32[(outB + MB + 8 * 4 * 4 * ci * co + 64 * 4 * ci + 64 * (3 * ci + 7) + 4) / 4]).toBe(f32[(w + 4 * (((3 * 4 + 3) * ci + 7) * co + 17)) / 4]);
    const mAt = (xi: number, t: number, o: number) => f32[(m + 4 * ((xi * tiles + t) * co + o)) / 4]!;
    const t = tiles - 1;
    const s = (j: number) => Math.fround(mAt(3 + j, t, 31) + mAt(6 + j, t, 31)); // row 1 of A^T M
    expect(f32[(outB + 2 * MB + 4 * (tiles * 4 * co - 1)) / 4]).toBe(Math.fround(Math.fround(s(1) + s(2)) + f32[(bias + 4 * 31) / 4]!));
    // V's xi = 8 (dy's last pixel of the tile) of the last tile, column 17 (panel 1); dW's tap (3, 3) of
    // channel 7, output 31
    expect(f32[(outB + MB + MB / 2 + 8 * 4 * tiles * co + tiles * 64 + (tiles - 1) * 64 + 4) / 4]).toBe(f32[(m + 4 * ((4 * tiles - 1) * co + 17)) / 4]);
    const mf = (xi: number, row: number) => f32[(x + 4 * ((xi * 4 * ci + row) * co + 31)) / 4]!;
    const sf = (j: number) => Math.fround(mf(3 + j, 3 * ci + 7) + mf(6 + j, 3 * ci + 7));
    expect(f32[(outB + 2 * MB + MB / 2 + 4 * ((15 * ci + 7) * co + 31)) / 4]).toBe(Math.fround(sf(1) + sf(2)));
    // U^T: every value of U_xi (winoInput's) at its transposed place, the last group's tiles included
    const uAt = (xi: number, t: number, c: number) => f32[(outB + 4 * ((xi * tiles + t) * 4 * ci + c)) / 4]!;
    const utAt = (xi: number, t: number, c: number) => f32[(outB + 2 * MB + (3 * MB) / 4 + 4 * ((xi * 4 * ci + c) * tiles + t)) / 4]!;
    let mismatches = 0;
    for (let xi = 0; xi < 9; xi++) for (let t = 0; t < tiles; t++) for (let c = 0; c < 4 * ci; c++) if (!Object.is(uAt(xi, t, c), utAt(xi, t, c))) mismatches++;
    expect(mismatches).toBe(0);
    // U (stride 1)'s xi = 4 (the middle pixel) of the last tile, channel 7: x's (4, 1 + 4 + 1, 1 + 6 + 1)
    expect(f32[(outB + 2 * MB + 880 * 1024 + 4 * (4 * tiles * ci + (tiles - 1) * ci + 7)) / 4]).toBe(xAt(n - 1, 6, 8, 7));
    // dx's pixel (4, 9, 12), channel 5, from the last tile's M; the tiles' pixels past dx not written
    const m16 = (xi: number) => f32[(m + 4 * ((xi * tiles + tiles - 1) * 16 + 5)) / 4]!;
    const dxAt = (img: number, r: number, c: number, ch: number) => outB + 2 * MB + 900 * 1024 + 4 * (((img * 11 + r) * 14 + c) * 16 + ch);
    expect(f32[dxAt(n - 1, 9, 12, 5) / 4]).toBe(Math.fround(Math.fround(m16(0) + m16(3)) + Math.fround(m16(1) + m16(4))));
    expect(new Uint8Array(memory.buffer, dxAt(n, 0, 0, 0), 64).every((b) => b === 0x5a)).toBe(true);
  });

  it('runs F(4x4, 2x2)\'s five transforms in slices on every thread, to the bytes of one call, each value its transform\'s (float64, to rounding)', async () => {
    // 3 images of 18 x 26 pixels of 8 channels (a padded x for 8 x 12 outputs: 2 x 3 tiles of 4 x 4),
    // a filter [4, 4, 8, 32], M [25, tiles, 32]
    const [n, hp, wp, ci, co, th, tw] = [3, 18, 26, 8, 32, 2, 3];
    const tiles = n * th * tw;
    const MB = 1 << 20;
    const [uS2, v, y, uS1, dx, vDy, dW] = [0, MB, 2 * MB, 2 * MB + MB / 4, 2 * MB + MB / 2, 2 * MB + (5 * MB) / 8, 2 * MB + (7 * MB) / 8];
    const { memory, f32, outB, x, w, m, bias } = await slicedLikeOneCall({ n, hp, wp, ci, co, tiles, xis: 25, seed: 15 }, (pool, out, { x, w, m, bias }) => {
      pool.winoInput4(x, 4 * hp * wp * ci, 4 * wp * ci, ci, th, tw, 0, 0, n, out + uS2, 4 * tiles * 4 * ci, 2);
      pool.winoFilter4(w, ci, co, out + v, 4 * 4 * ci * co);
      pool.winoOutput4(m, 4 * tiles * co, co, th, tw, n, out + y, 4 * th, 4 * tw, 0, 0, 1, bias);
      // the input gradient's: x read as a padded dy (stride 1 from row 1, column 2), and M's first 16
      // channels' worth as a phase (1, 0) of a dx [3, 13, 20, 16] whose last tiles pass its edges
      pool.winoInput4(x, 4 * hp * wp * ci, 4 * wp * ci, ci, th, tw, 1, 2, n, out + uS1, 4 * tiles * ci, 1);
      pool.winoOutput4(m, 4 * tiles * 16, 16, th, tw, n, out + dx, 13, 20, 1, 0, 2, 0);
      // the filter gradient's: m read as dy [3, 8, 12, 32] (panels of `tiles` rows), x as M [25, 4 ci, co]
      pool.winoDy4(m, co, th, tw, 4 * tw, n, out + vDy, 4 * tiles * co, tiles);
      pool.winoFilterOut4(x, 4 * 4 * ci * co, ci, co, out + dW);
    });
    // Every value of the last tile (phase (1, 1), channel 5; all 25) against B^T d B in float64
    const BT = [[2, -1, -2, 1, 0], [0, -2, -1, 1, 0], [0, 2, -3, 1, 0], [0, -1, 0, 1, 0], [0, 2, -1, -2, 1]];
    const AT = [[1, 1, 1, 1, 0], [0, 1, -1, 2, 0], [0, 1, 1, 4, 0], [0, 1, -1, 8, 1]];
    const G = [[1 / 2, 0], [-1 / 2, -1 / 2], [-1 / 6, 1 / 6], [1 / 6, 1 / 3], [0, 1]];
    const xAt = (img: number, r: number, c: number, ch: number) => f32[(x + 4 * (((img * hp + r) * wp + c) * ci + ch)) / 4]!;
    const t = tiles - 1;
    const [ti, tj] = [th - 1, tw - 1];
    let worst = 0;
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) {
      let exact = 0;
      for (let r = 0; r < 5; r++) for (let c = 0; c < 5; c++) exact += BT[i]![r]! * BT[j]![c]! * xAt(n - 1, 8 * ti + 2 * r + 1, 8 * tj + 2 * c + 1, 5);
      const got = f32[(outB + uS2 + 4 * ((5 * i + j) * tiles * 4 * ci + t * 4 * ci + 3 * ci + 5)) / 4]!;
      worst = Math.max(worst, Math.abs(got - exact));
    }
    expect(worst).toBeLessThan(1e-5);
    // U at stride 1: the last tile's xi = 12 (the middle pixel transformed), channel 7, from x's rows 1 + 4 + r, columns 2 + 8 + c
    let exactS1 = 0;
    for (let r = 0; r < 5; r++) for (let c = 0; c < 5; c++) exactS1 += BT[2]![r]! * BT[2]![c]! * xAt(n - 1, 1 + 4 * ti + r, 2 + 4 * tj + c, 7);
    expect(f32[(outB + uS1 + 4 * (12 * tiles * ci + t * ci + 7)) / 4]).toBeCloseTo(exactS1, 5);
    // V: xi = 5 * 3 + 1 of channel 6, phase (1, 0), column 17 (panel 1), against G g G^T
    const g = (a: number, bb: number) => f32[(w + 4 * ((((2 * a + 1) * 4 + 2 * bb) * ci + 6) * co + 17)) / 4]!;
    let exactV = 0;
    for (let a2 = 0; a2 < 2; a2++) for (let b2 = 0; b2 < 2; b2++) exactV += G[3]![a2]! * G[1]![b2]! * g(a2, b2);
    expect(f32[(outB + v + 16 * 4 * 4 * ci * co + 64 * 4 * ci + 64 * (2 * ci + 6) + 4) / 4]).toBeCloseTo(exactV, 6);
    // y: the last tile's pixel (3, 2), channel 31, with the bias; dx's phase pixels inside it only
    const mAt = (xi: number, tt: number, o: number, ch: number) => f32[(m + 4 * ((xi * tiles + tt) * ch + o)) / 4]!;
    let exactY = f32[(bias + 4 * 31) / 4]!;
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) exactY += AT[3]![i]! * AT[2]![j]! * mAt(5 * i + j, t, 31, co);
    expect(f32[(outB + y + 4 * ((((n - 1) * 4 * th + 4 * ti + 3) * 4 * tw + 4 * tj + 2) * co + 31)) / 4]).toBeCloseTo(exactY, 4);
    // dx [3, 13, 20, 16], phase rows 1, 3, ..: tile (1, 2) covers rows 9, 11, 13 (past), 15 (past), columns 16, 18, 20 (past), 22 (past)
    const dxAt = (img: number, r: number, c: number, ch: number) => outB + dx + 4 * (((img * 13 + r) * 20 + c) * 16 + ch);
    let exactDx = 0;
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) exactDx += AT[1]![i]! * AT[1]![j]! * mAt(5 * i + j, t, 5, 16);
    expect(f32[dxAt(n - 1, 11, 18, 5) / 4]).toBeCloseTo(exactDx, 4);
    expect(new Uint8Array(memory.buffer, dxAt(n - 1, 12, 18, 0), 64).every((byte) => byte === 0x5a)).toBe(true); // phase 0's row: not ours
    expect(new Uint8Array(memory.buffer, dxAt(n, 0, 0, 0), 64).every((byte) => byte === 0x5a)).toBe(true); // past dx
    // V of dy: the last tile's xi = 5 * 3 + 1, column 17 (panel 1), against A dy A^T (A = (A^T)^T)
    const dyAt = (r: number, c: number, o: number) => f32[(m + 4 * ((((n - 1) * 4 * th + 4 * ti + r) * 4 * tw + 4 * tj + c) * co + o)) / 4]!;
    let exactVDy = 0;
    for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) exactVDy += AT[r]![3]! * AT[c]![1]! * dyAt(r, c, 17);
    expect(f32[(outB + vDy + 4 * (16 * tiles * co) + tiles * 64 + t * 64 + 4) / 4]).toBeCloseTo(exactVDy, 4);
    // dW's tap (2 + 1, 0 + 0) (a = 1, b = 0 of phase (1, 0)) of channel 6, output 29, against G^T M G
    const mF = (xi: number, row: number) => f32[(x + 4 * ((xi * 4 * ci + row) * co + 29)) / 4]!;
    let exactDw = 0;
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) exactDw += G[i]![1]! * G[j]![0]! * mF(5 * i + j, 2 * ci + 6);
    expect(f32[(outB + dW + 4 * (((3 * 4 + 0) * ci + 6) * co + 29)) / 4]).toBeCloseTo(exactDw, 5);
  });

  it('adds the transposed Winograd patches into dx (winoScatter, winoScatter4) in slices of images to the bits of one call, each pixel B U\' B^T summed over the tiles that cover it (float64, to rounding), nothing written past dx', async () => {
    const memory = new WebAssembly.Memory({ initial: 64, maximum: 64, shared: true });
    const one = new KernelThreads(memory, 1);
    const four = new KernelThreads(memory, 4, { minCallBytes: 1024, sliceAll: true });
    const f32 = new Float32Array(memory.buffer);
    const KB = 1024;
    const BT = {
      2: [[1, -1, 0], [0, 1, 0], [0, -1, 1]],
      4: [[2, -1, -2, 1, 0], [0, -2, -1, 1, 0], [0, 2, -3, 1, 0], [0, -1, 0, 1, 0], [0, 2, -1, -2, 1]],
    } as const;
    // tile, images, tiles an image (th x tw), C, dx's size and the padding above and to the left: 'same'
    // (tiles past dx's bottom and right), and 2 above / none left (patches past dx's top)
    const cases = [
      { tile: 2, n: 3, th: 3, tw: 4, ch: 16, h: 12, w: 16, padTop: 1, padLeft: 1 },
      { tile: 2, n: 2, th: 2, tw: 3, ch: 32, h: 7, w: 11, padTop: 2, padLeft: 0 },
      { tile: 4, n: 3, th: 2, tw: 2, ch: 16, h: 16, w: 16, padTop: 1, padLeft: 1 },
      { tile: 4, n: 2, th: 1, tw: 3, ch: 16, h: 7, w: 23, padTop: 2, padLeft: 0 },
    ] as const;
    for (const c of cases) {
      const { tile, n, th, tw, ch, h, w, padTop, padLeft } = c;
      const xis = (tile + 1) ** 2;
      const tiles = n * th * tw;
      const xiBytes = 4 * tiles * 4 * ch;
      const [u, dxA, dxB] = [64, 512 * KB, 1024 * KB];
      f32.set(values(xis * tiles * 4 * ch, tile * 100 + ch), u / 4);
      const dxBytes = 4 * n * h * w * ch;
      new Uint8Array(memory.buffer, dxA, dxBytes + 64).fill(0xa5);
      new Uint8Array(memory.buffer, dxB, dxBytes + 64).fill(0xa5);
      const run = (pool: KernelThreads, dx: number) =>
        tile === 4 ? pool.winoScatter4(u, xiBytes, ch, th, tw, n, dx, h, w, padTop, padLeft) : pool.winoScatter(u, xiBytes, ch, th, tw, n, dx, h, w, padTop, padLeft);
      run(one, dxA);
      run(four, dxB);
      expect(Buffer.from(memory.buffer, dxA, dxBytes + 64).equals(Buffer.from(memory.buffer, dxB, dxBytes + 64)), `tile ${tile}, ${h} x ${w}`).toBe(true);
      // float64: every pixel the sum of the patches over it (U' columns (c / 16, p, q, c % 16))
      const exact = new Float64Array(n * h * w * ch);
      const covered = new Uint8Array(n * h * w);
      const bt = BT[tile];
      for (let t = 0; t < tiles; t++) {
        const [img, ti, tj] = [Math.floor(t / (th * tw)), Math.floor((t % (th * tw)) / tw), t % tw];
        for (let pq = 0; pq < 4; pq++) {
          for (let k = 0; k < ch; k++) {
            const col = (k >> 4) * 64 + pq * 16 + (k & 15);
            for (let r = 0; r <= tile; r++) {
              for (let sc = 0; sc <= tile; sc++) {
                const [row, cl] = [2 * (tile * ti + r) + (pq >> 1) - padTop, 2 * (tile * tj + sc) + (pq & 1) - padLeft];
                if (row < 0 || row >= h || cl < 0 || cl >= w) continue;
                let v = 0;
                for (let i = 0; i <= tile; i++) for (let j = 0; j <= tile; j++) v += bt[i]![r]! * bt[j]![sc]! * f32[u / 4 + ((i * (tile + 1) + j) * tiles + t) * 4 * ch + col]!;
                const at = ((img * h + row) * w + cl) * ch + k;
                exact[at] = exact[at]! + v;
                covered[(img * h + row) * w + cl] = 1;
              }
            }
          }
        }
      }
      expect(covered.every((v) => v === 1)).toBe(true); // the cases' patches cover dx
      const scale = exact.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      let worst = 0;
      for (let i = 0; i < exact.length; i++) worst = Math.max(worst, Math.abs(f32[dxA / 4 + i]! - exact[i]!));
      expect(worst / scale, `tile ${tile}, ${h} x ${w}`).toBeLessThan(1e-6);
      expect(new Uint8Array(memory.buffer, dxA + dxBytes, 64).every((b) => b === 0xa5)).toBe(true);
    }
    await Promise.all([one.dispose(), four.dispose()]);
  });

  it('adds patches at their places (col2im) in slices of images to the bits of one call, each pixel the sum of the patch values over it, dx zeroed where none reaches, nothing written past dx', async () => {
    const memory = new WebAssembly.Memory({ initial: 32, maximum: 32, shared: true });
    const one = new KernelThreads(memory, 1);
    const four = new KernelThreads(memory, 4, { minCallBytes: 1024, sliceAll: true });
    const f32 = new Float32Array(memory.buffer);
    const KB = 1024;
    // images, dy's size, the filter, C, strides, padding, dx's size: the RGB layer's (4x4, stride 2,
    // 'same'); a 3x5 filter of strides (3, 1) over 5 channels (runs that end in a float, columns past
    // both edges); stride 3 with a 1x1 filter ('valid': pixels no patch reaches stay zero)
    const cases = [
      { n: 3, oh: 4, ow: 5, kh: 4, kw: 4, ch: 3, sh: 2, sw: 2, padTop: 1, padLeft: 1, h: 8, w: 10 },
      { n: 2, oh: 3, ow: 6, kh: 3, kw: 5, ch: 5, sh: 3, sw: 1, padTop: 1, padLeft: 2, h: 9, w: 6 },
      { n: 2, oh: 2, ow: 2, kh: 1, kw: 1, ch: 4, sh: 3, sw: 3, padTop: 0, padLeft: 0, h: 5, w: 5 },
    ] as const;
    for (const c of cases) {
      const { n, oh, ow, kh, kw, ch, sh, sw, padTop, padLeft, h, w } = c;
      const rowFloats = kh * kw * ch + 3; // rows wider than a patch (the GEMM's padded columns)
      const [p, dxA, dxB] = [64, 256 * KB, 512 * KB];
      f32.set(values(n * oh * ow * rowFloats, kh * 10 + ch), p / 4);
      const dxBytes = 4 * n * h * w * ch;
      new Uint8Array(memory.buffer, dxA, dxBytes + 64).fill(0xa5);
      new Uint8Array(memory.buffer, dxB, dxBytes + 64).fill(0xa5);
      for (const [pool, dx] of [[one, dxA], [four, dxB]] as const) pool.col2im(p, 4 * rowFloats, n, oh, ow, kh, 4 * kw * ch, sh, sw, padTop, padLeft, dx, h, w, 4 * ch);
      expect(Buffer.from(memory.buffer, dxA, dxBytes + 64).equals(Buffer.from(memory.buffer, dxB, dxBytes + 64)), JSON.stringify(c)).toBe(true);
      const exact = new Float64Array(n * h * w * ch);
      for (let img = 0; img < n; img++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) {
        for (let r = 0; r < kh; r++) for (let t = 0; t < kw; t++) {
          const [iy, ix] = [oy * sh + r - padTop, ox * sw + t - padLeft];
          if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
          for (let k = 0; k < ch; k++) {
            const at = ((img * h + iy) * w + ix) * ch + k;
            exact[at] = exact[at]! + f32[p / 4 + ((img * oh + oy) * ow + ox) * rowFloats + (r * kw + t) * ch + k]!;
          }
        }
      }
      let worst = 0;
      for (let i = 0; i < exact.length; i++) worst = Math.max(worst, Math.abs(f32[dxA / 4 + i]! - exact[i]!));
      expect(worst, JSON.stringify(c)).toBeLessThan(1e-6);
      expect(new Uint8Array(memory.buffer, dxA + dxBytes, 64).every((b) => b === 0xa5)).toBe(true);
    }
    await Promise.all([one.dispose(), four.dispose()]);
  });

  it('runs a batch of gather-GEMMs in one call (one wait) to the bits of one call each, table, b, out and mOff moved on per GEMM, and refuses a batch it cannot run', async () => {
    const memory = new WebAssembly.Memory({ initial: 64, maximum: 64, shared: true });
    const pool = new KernelThreads(memory, 4);
    const f32 = new Float32Array(memory.buffer);
    const i32 = new Int32Array(memory.buffer);
    const [count, m, k, co] = [5, 38, 24, 32];
    const KB = 1024;
    const [a, b, table, mOff, outOne, outBatch] = [64, 256 * KB, 512 * KB, 600 * KB, 700 * KB, 900 * KB];
    f32.set(values(count * m * k, 31), a / 4);
    f32.set(values(count * k * co, 32), b / 4);
    // GEMM i: A_i [m, k] row-major at a + i * m * k * 4; table (one per GEMM) the columns, mOff (one per GEMM) the rows
    for (let i = 0; i < count; i++) {
      for (let kk = 0; kk < k; kk++) i32[table / 4 + i * k + kk] = a + 4 * (i * m * k + kk);
      for (let r = 0; r < m; r++) i32[mOff / 4 + i * m + r] = 4 * r * k;
    }
    const rows = byRows(m, 8);
    // b in reverse order: GEMM i reads B_(count - 1 - i), a negative step
    for (let i = 0; i < count; i++) {
      pool.gatherGemm({ table: table + 4 * i * k, b: b + 4 * (count - 1 - i) * k * co, mOff: mOff + 4 * i * m, m, co, kCount: k, ...rows, out: outOne + 4 * i * m * co, partialBytes: 0, chunkRows: 16 });
    }
    const jobs = pool.stats.jobs;
    pool.gatherGemm({
      table, b: b + 4 * (count - 1) * k * co, mOff, m, co, kCount: k, ...rows, out: outBatch, partialBytes: 0, chunkRows: 16,
      batch: { count, tableStep: 4 * k, bStep: -4 * k * co, outStep: 4 * m * co, mOffStep: 4 * m },
    });
    expect(pool.stats.jobs).toBe(jobs + 1);
    expect(Buffer.from(memory.buffer.slice(outBatch, outBatch + 4 * count * m * co)).equals(Buffer.from(memory.buffer.slice(outOne, outOne + 4 * count * m * co)))).toBe(true);
    // spot value: GEMM 3's row 37, column 29 (float64, to rounding)
    let exact = 0;
    for (let kk = 0; kk < k; kk++) exact += f32[(a + 4 * (3 * m * k + 37 * k + kk)) / 4]! * f32[(b + 4 * ((count - 1 - 3) * k * co + kk * co + 29)) / 4]!;
    expect(f32[(outBatch + 4 * (3 * m * co + 37 * co + 29)) / 4]).toBeCloseTo(exact, 5);
    const job = { table, b, mOff, m, co, kCount: k, out: outBatch, partialBytes: 0, chunkRows: 16 };
    expect(() => pool.gatherGemm({ ...job, ...sliced(k, 2), batch: { count: 2, tableStep: 0, bStep: 0, outStep: 0 } })).toThrow(/a batch of 2/); // split 'k'
    expect(() => pool.gatherGemm({ ...job, ...rows, outTable: mOff, batch: { count: 2, tableStep: 0, bStep: 0, outStep: 0 } })).toThrow(KernelThreadsError);
    expect(() => pool.gatherGemm({ ...job, ...rows, batch: { count: 0, tableStep: 0, bStep: 0, outStep: 0 } })).toThrow(KernelThreadsError);
    expect(() => pool.gatherGemm({ ...job, ...rows, batch: { count: 2, tableStep: 0.5, bStep: 0, outStep: 0 } })).toThrow(KernelThreadsError);
    expect(() => pool.gatherGemm({ ...job, ...rows, batch: { count: 0x8000, tableStep: 0, bStep: 0, outStep: 0 } })).toThrow(KernelThreadsError);
    await pool.dispose();
  });

  it('runs a helper on the calling thread where it would move under MIN_CALL_BYTES (a `compute` helper under an eighth of it), or where it is not to be sliced, and refuses a call it cannot slice', async () => {
    const memory = new WebAssembly.Memory({ initial: 1024, maximum: 1024, shared: true });
    const all = new KernelThreads(memory, 4, { sliceAll: true });
    const some = new KernelThreads(memory, 4, { sliceAll: false });
    // jobs run on the threads (`stats`, which the training benchmark reports per step)
    // leakyMul reads two floats and writes one per unit: 12 bytes
    all.leakyMul(64, 64, Math.floor(MIN_CALL_BYTES / 12) - 16, 0.2, 64);
    expect(all.stats.jobs).toBe(0);
    all.leakyMul(64, 64, Math.ceil(MIN_CALL_BYTES / 12) + 16, 0.2, 64);
    expect(all.stats.jobs).toBe(1);
    expect(all.stats.ms).toBeGreaterThan(0);
    // a `compute` helper from MIN_CALL_BYTES / COMPUTE_SLICE_DIVISOR: transposeTaps moves 8 bytes per
    // filter value (16 taps of ci x co), 512 KiB for [4, 4, 64, 64] and 2 MiB for [4, 4, 128, 128]
    expect(SLICED_HELPERS.transposeTaps.compute && !SLICED_HELPERS.leakyMul.compute).toBe(true);
    expect(MIN_CALL_BYTES / COMPUTE_SLICE_DIVISOR).toBe(1 << 20);
    all.transposeTaps(64, 4 << 20, 64, 64, 0);
    expect(all.stats.jobs).toBe(1);
    all.transposeTaps(64, 4 << 20, 128, 128, 0);
    expect(all.stats.jobs).toBe(2);
    all.leakyMul(64, 8 << 20, Math.ceil((2 << 20) / 12), 0.2, 64); // the same 2 MiB, not `compute`
    expect(all.stats.jobs).toBe(2);
    // only the helpers marked `always` (phaseRows) unless every helper is to be sliced
    some.leakyMul(64, 64, Math.ceil((4 * MIN_CALL_BYTES) / 12), 0.2, 64);
    expect(some.stats.jobs).toBe(0);
    // x [16, 32, 32, 64] (4 MB, as DCGAN-64's D2 at batch 16) into phase rows at stride 2, padding 1
    const [up, vp] = [18, 20];
    const sImg = up * 4 * vp;
    const sC = 16 * sImg;
    some.phaseRows(64, 8 << 20, 16, 32, 32, 64, 2, 2, 1, 1, up, vp, sImg, 4 * vp, 2 * 64 * sC, sC);
    expect(some.stats.jobs).toBe(1);
    expect(() => all.bySlices('leakyMul', [64, 64, 100, 0.2, 64], [4, 4, 0, 0])).toThrow(/bad leakyMul call/);
    expect(() => all.bySlices('leakyMul', [64, 64, 100, 0.2, 64], [4, 4, 0, 0, -4])).toThrow(/bad leakyMul call/);
    await Promise.all([all.dispose(), some.dispose()]);
  });

  it('slices helper calls from MIN_CALL_BYTES, or from GAN_AUGMENT_WASM_SLICE_FROM_KB KiB, and says what is wrong with another setting', async () => {
    expect(minCallBytes({})).toBe(MIN_CALL_BYTES);
    expect(minCallBytes({ GAN_AUGMENT_WASM_SLICE_FROM_KB: ' 512 ' })).toBe(512 * 1024);
    for (const bad of ['0', '-4', '1.5', 'lots', '1048577']) {
      expect(() => minCallBytes({ GAN_AUGMENT_WASM_SLICE_FROM_KB: bad })).toThrow(`GAN_AUGMENT_WASM_SLICE_FROM_KB is "${bad}"; use a whole number of KiB from 1 to 1048576 (default 8192).`);
    }
    // A pool takes it: a 64 KiB LeakyReLU runs in slices from 16 KiB, not by default.
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 2, shared: true });
    const before = process.env.GAN_AUGMENT_WASM_SLICE_FROM_KB;
    process.env.GAN_AUGMENT_WASM_SLICE_FROM_KB = '16';
    const low = new KernelThreads(memory, 2, { sliceAll: true });
    if (before === undefined) delete process.env.GAN_AUGMENT_WASM_SLICE_FROM_KB;
    else process.env.GAN_AUGMENT_WASM_SLICE_FROM_KB = before;
    const plain = new KernelThreads(memory, 2, { sliceAll: true });
    try {
      for (const [pool, jobs] of [[low, 1], [plain, 0]] as const) {
        const before = pool.stats.jobs;
        pool.leakyMul(64, 64, 5461, 0.2, 64); // 64 KiB read and written
        expect(pool.stats.jobs - before).toBe(jobs);
      }
    } finally {
      await Promise.all([low.dispose(), plain.dispose()]);
    }
  });

  it('slices every helper where GAN_AUGMENT_WASM_SLICE_HELPERS=all and by default wherever there are worker threads, only those marked always where it says some, and says what is wrong with another setting', async () => {
    expect(SLICE_ALL_FROM_THREADS).toBe(2);
    expect(slicedHelpers({})).toBe('some');
    expect(slicedHelpers({}, 2)).toBe('all');
    expect(slicedHelpers({}, 16)).toBe('all');
    expect(slicedHelpers({ GAN_AUGMENT_WASM_SLICE_HELPERS: 'some' }, 16)).toBe('some');
    expect(slicedHelpers({ GAN_AUGMENT_WASM_SLICE_HELPERS: 'all' }, 1)).toBe('all');
    // A pool takes its thread count's default, unless told otherwise.
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    const pools = [new KernelThreads(memory, 1), new KernelThreads(memory, 2)];
    try {
      expect(pools.map((p) => p.sliceAll)).toEqual([false, true]);
    } finally {
      await Promise.all(pools.map((p) => p.dispose()));
    }
    expect(slicedHelpers({ GAN_AUGMENT_WASM_SLICE_HELPERS: ' all ' })).toBe('all');
    expect(slicedHelpers({ GAN_AUGMENT_WASM_SLICE_HELPERS: 'some' })).toBe('some');
    expect(() => slicedHelpers({ GAN_AUGMENT_WASM_SLICE_HELPERS: 'yes' })).toThrow('GAN_AUGMENT_WASM_SLICE_HELPERS is "yes"; use all (every helper on every thread) or some.');
  });

  it('a slice reading outside the heap fails the call with an error, on any thread, and the pool still works', async () => {
    const memory = new WebAssembly.Memory({ initial: 4, maximum: 64, shared: true });
    const pool = new KernelThreads(memory, 3);
    const l = layOut(memory, problem);
    const s = sliced(problem.k, problem.slices);
    const job = { table: l.table, b: l.dy, mOff: l.mOff, m: problem.m, co: problem.co, kCount: problem.k, ...s, out: l.out, partialBytes: 4 * problem.m * problem.co, chunkRows: 16 };
    const i32 = new Int32Array(memory.buffer);
    const saved = i32[l.table / 4 + problem.k - 1]!;
    i32[l.table / 4 + problem.k - 1] = 0x7fff0000; // the last slice's last row: far past the 256 KiB
    expect(() => pool.gatherGemm(job)).toThrow(/a WebAssembly kernel failed/);
    i32[l.table / 4 + problem.k - 1] = saved;
    expect(() => pool.gatherGemm(job)).not.toThrow();
    // Calls the kernel cannot run (it would loop for ever, or read past its rows) are refused.
    expect(() => pool.gatherGemm({ ...job, chunkRows: 0 })).toThrow(/bad gather-GEMM call/);
    expect(() => pool.gatherGemm({ ...job, m: 25 })).toThrow(/bad gather-GEMM call/);
    expect(() => pool.gatherGemm({ ...job, co: 24 })).toThrow(/bad gather-GEMM call/);
    expect(() => pool.gatherGemm({ ...job, slices: job.slices - 1 })).toThrow(/bad gather-GEMM call/); // rows left over
    expect(() => pool.gatherGemm({ ...job, ...byRows(problem.m, 5) })).toThrow(/bad gather-GEMM call/); // odd output rows per slice
    // Empty problems: the kernel's loops run at least once, and would write outputs of no size.
    expect(() => pool.gatherGemm({ ...job, co: 0 })).toThrow(/bad gather-GEMM call/);
    expect(() => pool.gatherGemm({ ...job, ...byRows(problem.m, 4), kCount: 0 })).toThrow(/bad gather-GEMM call/);
    expect(() => pool.gatherGemm(job)).not.toThrow();
    await pool.dispose();
  });

  it('gives up, in words, when no slice finishes for the stall time (a worker that died holding one), and not before', () => {
    const ctrl = new Int32Array(new SharedArrayBuffer(64));
    ctrl[3] = 2; // DONE: 2 of 3 slices, and nobody is computing the third
    const t0 = Date.now();
    expect(() => awaitSlices(ctrl, 3, 120)).toThrow(new KernelThreadsError('a WebAssembly kernel thread stopped answering (1 of 3 slices unfinished)'));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(115);
    ctrl[3] = 3;
    expect(() => awaitSlices(ctrl, 3, 120)).not.toThrow(); // all done: returns at once
  });

  it('spins for GAN_AUGMENT_WASM_SPIN_US microseconds (DEFAULT_SPIN_US where unset) before it sleeps, still gives up after the stall time, and says what is wrong with another setting', () => {
    expect(spinMicros({})).toBe(DEFAULT_SPIN_US);
    expect(spinMicros({ GAN_AUGMENT_WASM_SPIN_US: ' ' })).toBe(DEFAULT_SPIN_US);
    expect(spinMicros({ GAN_AUGMENT_WASM_SPIN_US: '0' })).toBe(0);
    expect(spinMicros({ GAN_AUGMENT_WASM_SPIN_US: '250' })).toBe(250);
    for (const bad of ['-1', '1.5', 'fast', '100001']) {
      expect(() => spinMicros({ GAN_AUGMENT_WASM_SPIN_US: bad })).toThrow(`GAN_AUGMENT_WASM_SPIN_US is "${bad}"; use a whole number of microseconds from 0 to 100000.`);
    }
    const ctrl = new Int32Array(new SharedArrayBuffer(64));
    ctrl[3] = 2; // DONE: 2 of 3 slices, nobody computing the third
    const t0 = Date.now();
    // A spin longer than the stall time: the spin ends, then the stall is counted from the wait.
    expect(() => awaitSlices(ctrl, 3, 120, 200_000)).toThrow(new KernelThreadsError('a WebAssembly kernel thread stopped answering (1 of 3 slices unfinished)'));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200 + 115);
    ctrl[3] = 3;
    const t1 = performance.now();
    awaitSlices(ctrl, 3, 120, 100_000); // all done: returns at once, without spinning
    expect(performance.now() - t1).toBeLessThan(50);
  });

  it('keeps GAN_AUGMENT_WASM_SPIN_US from when it was made, reads it again when told (a bad value said in words, the pool as it was), and computes the same sums whatever the spin', async () => {
    const memory = new WebAssembly.Memory({ initial: 4, maximum: 64, shared: true });
    const saved = process.env.GAN_AUGMENT_WASM_SPIN_US;
    let pool: KernelThreads | null = null;
    try {
      process.env.GAN_AUGMENT_WASM_SPIN_US = '0';
      pool = new KernelThreads(memory, 2);
      expect(pool.spinUs).toBe(0);
      process.env.GAN_AUGMENT_WASM_SPIN_US = '250';
      expect(pool.spinUs).toBe(0); // not read at every call
      pool.applyEnvironment();
      expect(pool.spinUs).toBe(250);
      process.env.GAN_AUGMENT_WASM_SPIN_US = 'soon';
      expect(() => pool!.applyEnvironment()).toThrow('GAN_AUGMENT_WASM_SPIN_US is "soon"');
      expect(pool.spinUs).toBe(250);
      expect(() => new KernelThreads(new WebAssembly.Memory({ initial: 1 }), 1)).toThrow('GAN_AUGMENT_WASM_SPIN_US is "soon"');
      const l = layOut(memory, problem);
      for (const spin of [0, 250, 100_000]) {
        pool.spinUs = spin;
        expectReference(pool, l, problem, 8);
      }
    } finally {
      if (saved === undefined) delete process.env.GAN_AUGMENT_WASM_SPIN_US;
      else process.env.GAN_AUGMENT_WASM_SPIN_US = saved;
      await pool?.dispose();
    }
  });

  it('a worker that dies holding a slice: the call fails in words after the stall time, and the pool is not used again', async () => {
    // A worker that takes a slice of the first call as the real ones do (compare-and-swap on NEXT),
    // then ends without computing it or counting it done. It spins rather than waits for the call, so
    // that it is running when the call is published, even on a machine busy with other tests.
    const dying = `
const { workerData } = require('node:worker_threads');
const ctrl = new Int32Array(workerData.control);
Atomics.store(new Int32Array(workerData.memory.buffer), 0, 1); // started (bytes 0-3 are below layOut's regions)
while (Atomics.load(ctrl, 0) === 0) {} // the call's generation
for (;;) {
  const next = Atomics.load(ctrl, 2);
  if ((next & 0xffff) === 0xffff) continue;
  if ((next & 0xffff) >= ctrl[13]) break;
  if (Atomics.compareExchange(ctrl, 2, next, next + 1) === next) break;
}
process.exit(0);
`;
    const memory = new WebAssembly.Memory({ initial: 400, maximum: 400, shared: true }); // 19.8 MB laid out below
    const pool = new KernelThreads(memory, 2, { stallMs: 300, workerSource: dying });
    // The worker must take a slice before this thread has done them all: it is spinning before the
    // call starts, and the call is long (about 0.8 G multiply-adds in 200 slices: a tenth of a second
    // or more on one thread), even on a machine busy with other work.
    const started = new Int32Array(memory.buffer);
    for (let waited = 0; Atomics.load(started, 0) !== 1; waited += 10) {
      if (waited > 10_000) throw new Error('the test worker did not start');
      await new Promise((r) => setTimeout(r, 10));
    }
    const room = { ...problem, k: 100_000, m: 256, xFloats: 20_000, slices: 200 };
    const l = layOut(memory, room, false);
    const s = sliced(room.k, room.slices);
    const t0 = Date.now();
    expect(() => pool.gatherGemm({ table: l.table, b: l.dy, mOff: l.mOff, m: room.m, co: room.co, kCount: room.k, ...s, out: l.out, partialBytes: 4 * room.m * room.co, chunkRows: 16 }))
      .toThrow(/a WebAssembly kernel thread stopped answering \(1 of 200 slices unfinished\)/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(pool.broken).toBe(true);
    await pool.dispose();
  });

  it('the pool of a memory is made once, and made anew once broken (the next call after a stall) or for another memory', async () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    expect(currentKernelThreadsFor(memory)).toBeNull(); // none made yet
    const first = kernelThreadsFor(memory, 1);
    expect(kernelThreadsFor(memory, 1)).toBe(first);
    expect(currentKernelThreadsFor(memory)).toBe(first);
    first.broken = true; // as a stalled call leaves it
    expect(currentKernelThreadsFor(memory)).toBeNull();
    const second = kernelThreadsFor(memory, 1);
    expect(second).not.toBe(first);
    expect(currentKernelThreadsFor(new WebAssembly.Memory({ initial: 1 }))).toBeNull(); // another memory's
    expect(kernelThreadsFor(new WebAssembly.Memory({ initial: 1 }), 1)).not.toBe(second);
    await disposeKernelThreads();
    expect(currentKernelThreads()).toBeNull();
  });

  // Counts the process's threads in /proc (Linux, as in CI).
  it.skipIf(!existsSync('/proc/self/status'))('ends its worker threads when disposed (the process has as many threads as before)', async () => {
    const threadCount = () => Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
    const before = threadCount();
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true });
    const pool = new KernelThreads(memory, 4);
    const l = layOut(memory, { ...problem, k: 40, slices: 3 });
    pool.gatherGemm({ table: l.table, b: l.dy, mOff: l.mOff, m: problem.m, co: problem.co, kCount: 40, ...sliced(40, 3), out: l.out, partialBytes: 4 * problem.m * problem.co, chunkRows: 8 });
    expect(threadCount()).toBeGreaterThanOrEqual(before + 3);
    await pool.dispose();
    for (let i = 0; i < 50 && threadCount() > before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(threadCount()).toBeLessThanOrEqual(before);
  });
});
