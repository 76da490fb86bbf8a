/**
 * Our gather-GEMM kernel alone (src/worker/backends/wasm/simd/gather-gemm.wat), on one thread (or --threads), for the
 * RGB layers' forward pass and filter gradient (not a test): issue 5's last gap on the processor is
 * that layer's filter gradient, and this times the two kernels on the same layer with nothing else
 * in the call (no copies, tables or allocation: those are timed by bench/wasm-conv.bench.ts) and
 * with dy in three states:
 *  - fresh: rewritten just before the call, after a 32 MB write, as the op before leaves it in a
 *    training step (in L3 or memory, not in L2);
 *  - cold: written before the 32 MB write (in memory);
 *  - hot: the same call just made (in L2 as far as it fits).
 * The forward pass's operands are fresh the same way. Medians of --rounds alternated rounds.
 *
 *   npx tsx bench/gemm-kernel.bench.ts [--net 64|32] [--batch 16] [--rounds 100] [--warmup 20] [--wat FILE] [--threads N] [--json]
 *
 * --threads N: the same calls through the app's thread pool (./src/worker/backends/wasm/simd/kernel-threads.ts,
 * N threads counting this one, its slices as the calls make them), on a shared memory, with the kernel
 * of binaries.ts (not with --wat).
 *
 * --wat FILE: the kernel compiled from FILE (an edited copy of gather-gemm.wat) instead of the one
 * in binaries.ts, to try an edit without rebuilding; run once with and once without to compare.
 * Every operand is filled with random values: a buffer never written reads as the operating
 * system's shared zero page, always in the cache (a first version timed panels that way and
 * saw them 15% faster than they are).
 */
import { readFileSync } from 'node:fs';
import { arg, LAYERS_32, LAYERS_64, runBench } from './support';
import { gatherGemm as binaries } from '../src/worker/backends/wasm/simd/binaries';
import { KernelThreads, fusedMultiplyAdds, rowSliceFor } from '../src/worker/backends/wasm/simd/kernel-threads';
import { writeConvTables } from '../src/worker/backends/wasm/heap';
import {
  chooseFilterGradMethod, dyChunkRows, dyRowSlice, filterGradGeometry, phasePlanes, phaseRowTables, ROW_MAJOR_MAX_CO,
} from '../src/worker/backends/wasm/conv2d-backprop-filter';

type Fn = (...args: number[]) => void;

/** A bump allocator over one WebAssembly memory: 64-byte aligned regions, each filled when asked. */
class Arena {
  private top = 1024;
  readonly i32: Int32Array;
  readonly f32: Float32Array;
  constructor(readonly memory: WebAssembly.Memory) {
    this.i32 = new Int32Array(memory.buffer);
    this.f32 = new Float32Array(memory.buffer);
  }
  alloc(floats: number, random = false): number {
    const at = (this.top + 63) & ~63;
    this.top = at + 4 * floats;
    if (this.top > this.memory.buffer.byteLength) throw new Error('arena: out of memory');
    if (random) for (let i = 0; i < floats; i++) this.f32[at / 4 + i] = Math.random() * 2 - 1;
    return at;
  }
  copy(dst: number, src: number, floats: number): void {
    this.f32.copyWithin(dst / 4, src / 4, src / 4 + floats);
  }
}

async function main(): Promise<void> {
  const batch = Number(arg('batch', '16'));
  const rounds = Number(arg('rounds', '100'));
  const warmup = Number(arg('warmup', '20'));
  const net = arg('net', '64');
  const wat = arg('wat', '');
  const json = process.argv.includes('--json');
  const layer = (net === '32' ? LAYERS_32 : LAYERS_64)[0]!;
  const threads = Number(arg('threads', '1'));
  if (!(Number.isInteger(threads) && threads >= 1)) throw new Error('--threads must be a whole number from 1');
  if (threads > 1 && wat) throw new Error('--wat times one thread only');
  const fma = fusedMultiplyAdds();
  // Imported only here: the script is an ES module with top-level await, which this CommonJS run cannot require.
  const compile = async (file: string) => (await import('../scripts/build-wasm.mjs')).compileModule(readFileSync(file, 'utf8'), { fma });
  const bytes = new Uint8Array(wat ? await compile(wat) : Buffer.from(fma ? binaries.unsharedFma : binaries.unshared, 'base64'));
  const memory = threads > 1 ? new WebAssembly.Memory({ initial: 4096, maximum: 4096, shared: true }) : new WebAssembly.Memory({ initial: 4096 }); // 256 MB
  const pool = threads > 1 ? new KernelThreads(memory, threads) : null;
  if (pool && pool.workerCount !== threads - 1) throw new Error(`${threads} threads asked for, ${pool.workerCount + 1} started`);
  const k = pool ? (pool.helpers as unknown as Record<string, Fn>) : (new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as Record<string, Fn>);
  const a = new Arena(memory);

  const [h, w, ci] = layer.input;
  const { co } = layer;
  const attrs = { strides: layer.stride, pad: 'same' as const, dataFormat: 'NHWC' as const, filterShape: [layer.k, layer.k, ci, co] as [number, number, number, number] };
  const g = filterGradGeometry([batch, h, w, ci], [batch, h / layer.stride, w / layer.stride, co], attrs);
  if (chooseFilterGradMethod(g) !== 'direct' || co > ROW_MAJOR_MAX_CO) throw new Error(`${layer.name}: only the RGB layers (the 'direct' method, dy row-major) are timed here`);
  const rows = g.kh * g.kw * ci;
  const pixels = batch * g.oh * g.ow;

  // The forward pass as ../src/worker/backends/wasm/conv2d.ts runs it: x padded, tables, the filter in panels.
  const hp = Math.max(h + g.padTop, (g.oh - 1) * g.sh + g.kh);
  const wp = Math.max(w + g.padLeft, (g.ow - 1) * g.sw + g.kw);
  const x = a.alloc(batch * h * w * ci, true);
  const xPadFloats = batch * hp * wp * ci;
  const xPad = a.alloc(xPadFloats);
  const xPadSrc = a.alloc(xPadFloats);
  k.padImages!(x, xPadSrc, batch, h, 4 * w * ci, hp, 4 * wp * ci, g.padTop, 4 * g.padLeft * ci);
  const corners = a.alloc(pixels);
  const offsets = a.alloc(rows);
  writeConvTables(a.i32, { ...g, hp, wp }, xPad, corners, offsets, rows);
  const filterSrc = a.alloc(rows * co, true);
  const panels = a.alloc(rows * co);
  const y = a.alloc(pixels * co);
  const ySlice = rowSliceFor(pixels, threads);

  // The filter gradient as ../src/worker/backends/wasm/conv2d-backprop-filter.ts runs it ('direct').
  const planes = phasePlanes(g);
  const planesSrc = a.alloc(planes.floats);
  k.phaseRows!(x, planesSrc, batch, h, w, ci, g.sh, g.sw, g.padTop, g.padLeft, planes.up, planes.vp, planes.sImg, planes.sU, planes.sR, planes.sC);
  const planesAt = a.alloc(planes.floats);
  const mPad = rows + (rows % 2);
  const table = a.alloc(pixels);
  const mOff = a.alloc(mPad);
  const outTable = a.alloc(mPad);
  const dw = a.alloc(rows * co);
  phaseRowTables(a.i32, g, planes, planesAt, table, mOff, outTable, dw, mPad);
  const dySrc = a.alloc(pixels * co, true);
  const dy = a.alloc(pixels * co);
  const sliceRows = dyRowSlice(pixels);
  const slices = Math.ceil(pixels / sliceRows);
  const partials = a.alloc(slices * mPad * co);
  const chunkRows = dyChunkRows(rows);
  const junk = a.alloc(8 * 1024 * 1024);

  const forward = () => {
    if (pool) {
      pool.gatherGemm({ table: offsets, b: panels, bPanelRows: rows, mOff: corners, m: pixels, co, kCount: rows, split: 'm', sliceRows: ySlice, slices: Math.ceil(pixels / ySlice), out: y, partialBytes: 0, chunkRows: 4096 });
      return;
    }
    for (let r0 = 0; r0 < pixels; r0 += ySlice) {
      k.gatherGemm!(offsets, panels, rows, corners + 4 * r0, Math.min(ySlice, pixels - r0), co, y + 4 * r0 * co, 4096, 0, rows);
    }
  };
  const filter = () => {
    if (pool) {
      pool.gatherGemm({ table, b: dy, bPanelRows: 0, mOff, m: mPad, co, kCount: pixels, split: 'k', sliceRows, slices, out: partials, partialBytes: 4 * mPad * co, chunkRows });
      return;
    }
    for (let s = 0; s < slices; s++) {
      const r0 = s * sliceRows;
      k.gatherGemm!(table + 4 * r0, dy + 4 * r0 * co, Math.min(sliceRows, pixels - r0), mOff, mPad, co, partials + 4 * s * mPad * co, chunkRows, 0, 0);
    }
  };
  const flush = () => a.f32.fill(1, junk / 4, junk / 4 + 8 * 1024 * 1024);
  const jobs: Record<string, { before: () => void; run: () => void }> = {
    forward: {
      before: () => {
        flush();
        a.copy(xPad, xPadSrc, xPadFloats);
        k.packPanels!(filterSrc, rows, co, panels, rows);
      },
      run: forward,
    },
    filterFresh: {
      before: () => {
        flush();
        a.copy(planesAt, planesSrc, planes.floats);
        a.copy(dy, dySrc, pixels * co);
      },
      run: filter,
    },
    filterCold: {
      before: () => {
        a.copy(planesAt, planesSrc, planes.floats);
        a.copy(dy, dySrc, pixels * co);
        flush();
      },
      run: filter,
    },
    filterHot: { before: filter, run: filter },
  };
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(jobs).map((name) => [name, []]));
  for (let round = 0; round < warmup + rounds; round++) {
    for (const [name, job] of Object.entries(jobs)) {
      job.before();
      const t0 = performance.now();
      job.run();
      const ms = performance.now() - t0;
      if (round >= warmup) times[name]!.push(ms);
    }
  }
  const median = (v: number[]) => v.sort((p, q) => p - q)[v.length >> 1]!;
  const ms = { forward: median(times.forward!), filterFresh: median(times.filterFresh!), filterCold: median(times.filterCold!), filterHot: median(times.filterHot!) };
  const r3 = (v: number) => Math.round(v * 1000) / 1000;
  const row = {
    bench: 'gemm-kernel', layer: layer.name, batch, fma, kernel: wat || 'binaries.ts', threads, rounds,
    forwardMs: r3(ms.forward), filterFreshMs: r3(ms.filterFresh), filterColdMs: r3(ms.filterCold), filterHotMs: r3(ms.filterHot),
    freshVsForward: r3(ms.filterFresh / ms.forward), coldVsForward: r3(ms.filterCold / ms.forward), hotVsForward: r3(ms.filterHot / ms.forward),
  };
  if (pool) await pool.dispose();
  if (json) console.log(JSON.stringify(row));
  else {
    console.log(`${layer.name}, batch ${batch}, ${threads === 1 ? 'one thread' : `${threads} threads`}, kernel from ${row.kernel}${fma ? ' (FMA)' : ''}; medians of ${rounds} alternated rounds`);
    console.log(`forward ${row.forwardMs} ms | filter gradient, dy fresh ${row.filterFreshMs} ms = ${row.freshVsForward}x, cold ${row.filterColdMs} ms = ${row.coldVsForward}x, hot ${row.filterHotMs} ms = ${row.hotVsForward}x`);
  }
}

runBench(main);
