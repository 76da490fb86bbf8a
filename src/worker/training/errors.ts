/** Device errors in words. */
import { AppError } from '../../shared/errors';

export const OOM_MESSAGE = 'The GPU ran out of memory. Try a smaller batch size or resolution.';

/** Out of memory on the device (or, on the CPU backends, in the process). */
export class DeviceOutOfMemoryError extends AppError {
  readonly reason = 'out-of-memory' as const;
  constructor(cause: unknown, onCpu = false) {
    super(
      'out-of-memory',
      onCpu ? 'The computer ran out of memory. Try a smaller batch size or resolution.' : OOM_MESSAGE,
      { cause },
    );
    this.name = 'DeviceOutOfMemoryError';
  }
}

const OOM_PATTERNS =
  /out of memory|\bOOM\b|failed to allocate|allocation failed|Array buffer allocation|Invalid typed array length|GPUOutOfMemoryError|not enough memory|exceeds the max(imum)? buffer size|maxBufferSize|maxStorageBufferBindingSize|Requested size|device (was )?lost/i;

export function isOutOfMemory(e: unknown): boolean {
  if (e instanceof DeviceOutOfMemoryError) return true;
  if (e instanceof RangeError) return true; // typed-array allocation in the pure-JS backend
  const text = e instanceof Error ? `${e.name} ${e.message}` : String(e);
  return OOM_PATTERNS.test(text);
}

/** Runs `fn`; an out-of-memory failure becomes a DeviceOutOfMemoryError with a suggestion. */
export async function withOomCheck<T>(fn: () => Promise<T>, onCpu = false): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isOutOfMemory(e) && !(e instanceof DeviceOutOfMemoryError)) throw new DeviceOutOfMemoryError(e, onCpu);
    throw e;
  }
}
