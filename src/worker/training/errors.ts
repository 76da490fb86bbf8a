/** Device errors in words. */
import { AppError } from '../../shared/errors';

export const OOM_MESSAGE = 'The GPU ran out of memory. Try a smaller batch size or resolution.';

/** Where memory ran out: the GPU, the worker process (pure-JS backend), or the WebAssembly heap. */
export type MemoryPlace = 'gpu' | 'cpu' | 'wasm';

const OOM_MESSAGES: Record<MemoryPlace, string> = {
  gpu: OOM_MESSAGE,
  cpu: 'The computer ran out of memory. Try a smaller batch size or resolution.',
  wasm:
    'Training ran out of memory. On the processor (WebAssembly) it can use at most 4 GB, however much ' +
    'memory the computer has. Try a smaller batch size or resolution.',
};

/** Out of memory on the device (or, on the CPU backends, in the process or the WebAssembly heap). */
export class DeviceOutOfMemoryError extends AppError {
  readonly reason = 'out-of-memory' as const;
  constructor(cause: unknown, where: MemoryPlace = 'gpu') {
    super('out-of-memory', OOM_MESSAGES[where], { cause });
    this.name = 'DeviceOutOfMemoryError';
  }
}

const OOM_PATTERNS =
  /out of memory|\bOOM\b|failed to allocate|allocation failed|Array buffer allocation|Invalid typed array length|Invalid array length|Invalid string length|GPUOutOfMemoryError|not enough memory|exceeds the max(imum)? buffer size|maxBufferSize|maxStorageBufferBindingSize|Requested size|device (was )?lost/i;

/**
 * How a failed WebAssembly module shows itself, besides the backend's WasmHeapFullError (a tensor
 * that could not be allocated): a trap ("memory access out of bounds": when its heap is full, malloc
 * returns 0 inside tfjs-backend-wasm or XNNPACK and the next access traps) or an abort. After that
 * the module's state cannot be trusted (the trainer marks it for replacement and tells memory from
 * other causes by the error and the heap's size).
 */
export const WASM_FAILURE_PATTERNS = /memory access out of bounds|\bAborted\(|Cannot enlarge memory/i;

export function isOutOfMemory(e: unknown): boolean {
  if (e instanceof DeviceOutOfMemoryError) return true;
  const text = e instanceof Error ? `${e.name} ${e.message}` : String(e);
  return OOM_PATTERNS.test(text);
}

/** Runs `fn`; an out-of-memory failure becomes a DeviceOutOfMemoryError with a suggestion. */
export async function withOomCheck<T>(fn: () => Promise<T>, where: MemoryPlace = 'gpu'): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isOutOfMemory(e) && !(e instanceof DeviceOutOfMemoryError)) throw new DeviceOutOfMemoryError(e, where);
    throw e;
  }
}
