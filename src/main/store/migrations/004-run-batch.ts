import type { Migration } from './types';

/**
 * Runs recorded their batch from a table of their own (tiny 8, default 64) where the person chose
 * none, while the worker trained with 4 (tiny) and 32 at 128 px: the dashboard said "8 images per
 * batch" of a run that took 4. The batch the worker used, for runs whose settings name none (the same
 * rule as src/shared/training-defaults.ts `presetBatch`, written out: a migration never changes).
 */
export const migration004: Migration = {
  version: 4,
  name: 'run batch as trained',
  up(db) {
    db.exec(`
      UPDATE runs SET batch = CASE WHEN preset = 'tiny' THEN 4 WHEN resolution = 128 THEN 32 ELSE 64 END
      WHERE json_extract(settings, '$.batch') IS NULL;
    `);
  },
};
