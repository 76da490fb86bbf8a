/**
 * A small real disk for tests of a full or read-only disk: a tmpfs mounted on a folder, filled up to
 * the last few kilobytes by a filler file (as a person's disk fills with other files), and freed again
 * by deleting it; or remounted read-only. Mounting needs root or CAP_SYS_ADMIN (the build and CI machines run as root); where it is not
 * allowed, `mountSmallDisk` says why, for the suite's skip title.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statfsSync } from 'node:fs';
import { join } from 'node:path';

export interface SmallDisk {
  readonly dir: string;
  /** Fills the disk up to `leaveKb` kilobytes (fallocate: a real file taking real space). */
  fill(leaveKb: number): void;
  /** Deletes the filler: "free some space". */
  free(): void;
  /** Bytes free for an unprivileged writer. */
  available(): number;
  /** Makes the disk read-only (as a read-only share or a locked stick; it stops root too), or writable again. */
  setReadOnly(readOnly: boolean): void;
  /** Detaches the disk (lazily: a process that still holds a file keeps it until it lets go). */
  unmount(): void;
}

/** Mounts a tmpfs of `sizeMb` on `dir` (created if need be): the disk, or why it could not be mounted. */
export function mountSmallDisk(dir: string, sizeMb: number): SmallDisk | string {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.error) return `cannot run mount: ${r.error.message}`;
  if (r.status !== 0) return `cannot mount a tmpfs here (${r.stderr.trim() || `exit ${r.status}`}): needs root`;
  const filler = join(dir, 'filler');
  const available = () => {
    const fs = statfsSync(dir);
    return fs.bavail * fs.bsize;
  };
  return {
    dir,
    available,
    fill(leaveKb) {
      rmSync(filler, { force: true });
      const f = spawnSync('fallocate', ['-l', String(available() - leaveKb * 1024), filler], { encoding: 'utf8' });
      if (f.status !== 0) throw new Error(`fallocate failed: ${f.stderr}`);
    },
    free: () => rmSync(filler, { force: true }),
    setReadOnly(readOnly) {
      const m = spawnSync('mount', ['-o', `remount,${readOnly ? 'ro' : 'rw'}`, dir], { encoding: 'utf8' });
      if (m.status !== 0) throw new Error(`remount failed: ${m.stderr}`);
    },
    unmount: () => void spawnSync('umount', ['-l', dir]),
  };
}
