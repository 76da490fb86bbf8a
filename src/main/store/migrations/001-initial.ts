import type { Migration } from './types';

/** Project metadata, classes, images, jobs: the tables the foundation needs. */
export const migration001: Migration = {
  version: 1,
  name: 'initial',
  up(db) {
    db.exec(`
      CREATE TABLE project_meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;

      CREATE TABLE classes (
        id         INTEGER PRIMARY KEY,
        name       TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
      ) STRICT;

      -- One row per distinct image content per class. Originals are never modified; cache_file and
      -- thumb_file are paths relative to the project folder, content-addressed by sha256.
      CREATE TABLE images (
        id           INTEGER PRIMARY KEY,
        class_id     INTEGER NOT NULL REFERENCES classes(id) ON DELETE RESTRICT,
        sha256       TEXT NOT NULL,            -- of the original file's bytes
        source_path  TEXT NOT NULL,            -- absolute path of the original at import time
        width        INTEGER,
        height       INTEGER,
        channels     INTEGER,
        format       TEXT,
        cache_file   TEXT,
        cache_sha256 TEXT,
        thumb_file   TEXT,
        phash        TEXT,                     -- perceptual hash (hex), for near-duplicates
        group_id     TEXT,                     -- patient or lesion id, for leakage-free splits
        status       TEXT NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'conflict', 'excluded')),
        imported_at  TEXT NOT NULL,
        UNIQUE (class_id, sha256)
      ) STRICT;
      CREATE INDEX images_sha256 ON images(sha256);

      CREATE TABLE jobs (
        id             TEXT PRIMARY KEY,
        type           TEXT NOT NULL,
        title          TEXT NOT NULL,
        status         TEXT NOT NULL CHECK (status IN ('queued','running','paused','completed','stopped','failed','interrupted')),
        params         TEXT NOT NULL DEFAULT '{}',   -- JSON
        progress_done  REAL NOT NULL DEFAULT 0,
        progress_total REAL,
        progress_unit  TEXT NOT NULL DEFAULT 'items',
        message        TEXT,
        error          TEXT,                         -- JSON AppErrorData
        result         TEXT,                         -- JSON
        created_at     TEXT NOT NULL,
        started_at     TEXT,
        finished_at    TEXT,
        updated_at     TEXT NOT NULL
      ) STRICT;
      CREATE INDEX jobs_created ON jobs(created_at);
    `);
  },
};
