/**
 * "Verify project": re-hash every cached training copy and every original in the worker and compare
 * with the hashes recorded at import. Reports what is missing or changed; changes nothing.
 */
import { join } from 'node:path';
import type { JobSpec } from './jobs';

export interface VerifyResult {
  checked: number;
  intact: number;
  missing: { file: string; kind: 'cache' | 'original' }[];
  changed: { file: string; kind: 'cache' | 'original' }[];
}

interface Target {
  id: number;
  path: string;
  expected: string | null; // null: only presence is checked (cache copies carry no hash of their own)
  kind: 'cache' | 'original';
}

const LIST_LIMIT = 200; // problem entries kept in the result; counts stay exact

export function verifySpec(): JobSpec {
  return {
    type: 'verify',
    title: 'Verify project files',
    unit: 'files',
    async run(ctx) {
      const rows = ctx.project.db
        .prepare('SELECT id, source_path, sha256, cache_file, cache_sha256 FROM images ORDER BY id')
        .all() as { id: number; source_path: string; sha256: string; cache_file: string | null; cache_sha256: string | null }[];
      const targets: Target[] = [];
      for (const r of rows) {
        targets.push({ id: targets.length, path: r.source_path, expected: r.sha256, kind: 'original' });
        if (r.cache_file) {
          targets.push({ id: targets.length, path: join(ctx.project.dir, r.cache_file), expected: r.cache_sha256, kind: 'cache' });
        }
      }
      const result: VerifyResult = { checked: 0, intact: 0, missing: [], changed: [] };
      let missingCount = 0;
      let changedCount = 0;
      ctx.progress(0, targets.length, targets.length === 0 ? 'Nothing to verify yet: import images first.' : undefined);
      await ctx.worker.runTask(
        { kind: 'hash-files', files: targets.map((t) => ({ id: t.id, path: t.path })) },
        {
          signal: ctx.signal,
          onProgress: (done, total) => ctx.progress(done, total, `Checked ${done} of ${total ?? targets.length} files`),
          onItem: (item) => {
            const { id, sha256 } = item as { id: number; sha256: string | null };
            const t = targets[id];
            if (!t) return;
            result.checked++;
            if (sha256 === null) {
              missingCount++;
              if (result.missing.length < LIST_LIMIT) result.missing.push({ file: t.path, kind: t.kind });
            } else if (t.expected !== null && sha256 !== t.expected) {
              changedCount++;
              if (result.changed.length < LIST_LIMIT) result.changed.push({ file: t.path, kind: t.kind });
            } else result.intact++;
          },
        },
      );
      const problems = missingCount + changedCount;
      ctx.progress(
        targets.length,
        targets.length,
        targets.length === 0
          ? 'Nothing to verify yet: import images first.'
          : problems === 0
            ? `All ${result.checked} files are intact.`
            : `${missingCount} files are missing and ${changedCount} have changed since import.`,
      );
      return result;
    },
  };
}
