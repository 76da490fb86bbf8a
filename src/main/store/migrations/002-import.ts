import type { Migration } from './types';

/**
 * Import bookkeeping. Each import run stages one row per file in `import_files` as the worker
 * reports it (batched transactions), so a cancelled or killed import resumes where it stopped;
 * outcomes (imported / duplicate / conflict / rejected) are decided once, at the end, over the
 * whole run and the images already stored, and only then do rows appear in `images`.
 */
export const migration002: Migration = {
  version: 2,
  name: 'import',
  up(db) {
    db.exec(`
      CREATE TABLE imports (
        id          INTEGER PRIMARY KEY,
        job_id      TEXT,
        source      TEXT NOT NULL,   -- JSON SourceSpec as given
        source_key  TEXT NOT NULL,   -- canonical JSON of the source: finds an unfinished run to resume
        status      TEXT NOT NULL CHECK (status IN ('running', 'finished')),
        started_at  TEXT NOT NULL,
        finished_at TEXT,
        summary     TEXT             -- JSON ImportSummary, when finished
      ) STRICT;
      CREATE INDEX imports_source_key ON imports(source_key, status);

      CREATE TABLE import_files (
        id           INTEGER PRIMARY KEY,
        import_id    INTEGER NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
        seq          INTEGER NOT NULL,     -- position in the source's deterministic order
        file         TEXT NOT NULL,        -- absolute path of the original
        rel_path     TEXT NOT NULL,
        label        TEXT,
        group_id     TEXT,
        probe_status TEXT NOT NULL CHECK (probe_status IN ('ok', 'rejected', 'skipped')),
        outcome      TEXT CHECK (outcome IN ('imported', 'duplicate', 'conflict', 'rejected')),
        reason_kind  TEXT,
        reason       TEXT,
        duplicate_of TEXT,
        conflict_labels TEXT,              -- JSON array
        sha256       TEXT,
        bytes        INTEGER,
        phash        TEXT,
        format       TEXT,
        width        INTEGER,
        height       INTEGER,
        channels     INTEGER,
        bit_depth    INTEGER,
        colour_space TEXT,
        cache_file   TEXT,                 -- relative to the project folder
        cache_sha256 TEXT,
        thumb_file   TEXT,
        image_id     INTEGER REFERENCES images(id) ON DELETE SET NULL,
        UNIQUE (import_id, file)
      ) STRICT;
      CREATE INDEX import_files_outcome ON import_files(import_id, outcome);

      CREATE TABLE import_problems (
        id        INTEGER PRIMARY KEY,
        import_id INTEGER NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
        kind      TEXT NOT NULL,
        message   TEXT NOT NULL,
        file      TEXT,
        rel_path  TEXT,
        row       INTEGER
      ) STRICT;

      ALTER TABLE images ADD COLUMN rel_path TEXT;
      ALTER TABLE images ADD COLUMN bit_depth INTEGER;
      ALTER TABLE images ADD COLUMN colour_space TEXT;
      ALTER TABLE images ADD COLUMN import_id INTEGER REFERENCES imports(id) ON DELETE SET NULL;

      -- Stratified train/validation/test split. Synthetic images only ever join 'train'.
      CREATE TABLE image_splits (
        image_id INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
        split    TEXT NOT NULL CHECK (split IN ('train', 'val', 'test'))
      ) STRICT;
    `);
  },
};
