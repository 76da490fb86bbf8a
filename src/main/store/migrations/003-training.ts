import type { Migration } from './types';

/** Training runs, their metrics and sample grids, and generated images with provenance. */
export const migration003: Migration = {
  version: 3,
  name: 'training',
  up(db) {
    db.exec(`
      CREATE TABLE runs (
        id              TEXT PRIMARY KEY,
        model           TEXT NOT NULL CHECK (model IN ('dcgan', 'cwgan-gp')),
        classes         TEXT NOT NULL,            -- JSON array of class names; position = class index
        resolution      INTEGER NOT NULL,
        preset          TEXT NOT NULL,
        batch           INTEGER NOT NULL,
        total_steps     INTEGER NOT NULL,
        seed            INTEGER NOT NULL,
        checkpoint_every INTEGER NOT NULL,
        settings        TEXT NOT NULL,            -- JSON TrainTaskSettings
        backend_choice  TEXT NOT NULL,
        backend         TEXT,
        device          TEXT,
        backend_warning TEXT,
        status          TEXT NOT NULL CHECK (status IN ('queued','running','paused','completed','stopped','failed','interrupted')),
        step            INTEGER NOT NULL DEFAULT 0,
        checkpoint_step INTEGER,
        checkpoint_dir  TEXT,                     -- relative to the project folder
        sample_step     INTEGER,
        sample_file     TEXT,                     -- relative to the project folder
        diversity       REAL,                     -- of the latest sample grid, 0..1
        error           TEXT,                     -- JSON AppErrorData
        job_id          TEXT,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL
      ) STRICT;

      CREATE TABLE run_metrics (
        run_id          TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step            INTEGER NOT NULL,
        d_loss          REAL,
        g_loss          REAL,
        wasserstein     REAL,
        gradient_penalty REAL,
        step_ms         REAL NOT NULL,
        images_per_sec  REAL NOT NULL,
        PRIMARY KEY (run_id, step)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE generated_images (
        id              INTEGER PRIMARY KEY,
        run_id          TEXT NOT NULL REFERENCES runs(id) ON DELETE RESTRICT,
        checkpoint_step INTEGER NOT NULL,
        class_name      TEXT NOT NULL,
        seed            INTEGER NOT NULL,
        latent_index    INTEGER NOT NULL,
        file            TEXT NOT NULL,            -- relative to the project folder
        job_id          TEXT,
        created_at      TEXT NOT NULL,
        UNIQUE (run_id, checkpoint_step, class_name, seed, latent_index)
      ) STRICT;
      CREATE INDEX generated_by_class ON generated_images(class_name);
    `);
  },
};
