/**
 * The layer rules of docs/ARCHITECTURE.md are lint rules; this proves they bite by feeding the real
 * ESLint config imports that break them (and ones that don't).
 */
import { ESLint } from 'eslint';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

let eslint: ESLint;
beforeAll(() => {
  eslint = new ESLint({ cwd: join(__dirname, '..') });
});

async function layerErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(__dirname, '..', file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layer rules', () => {
  it.each([
    ['src/renderer/features/Bad.tsx', "import { Project } from '../../main/store/project';\nexport const x = Project;"],
    ['src/renderer/features/Bad.tsx', "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;"],
    ['src/renderer/features/Bad.tsx', "import { ipcRenderer } from 'electron';\nexport const x = ipcRenderer;"],
    ['src/shared/bad.ts', "import { join } from 'node:path';\nexport const x = join;"],
    ['src/shared/bad.ts', "import { join } from 'path';\nexport const x = join;"],
    ['src/shared/bad.ts', "import { x as y } from '../main/paths';\nexport const x = y;"],
    ['src/main/services/bad.ts', "import { app } from 'electron';\nexport const x = app;"],
    ['src/main/services/bad.ts', "import * as tf from '@tensorflow/tfjs-core';\nexport const x = tf;"],
    ['src/worker/bad.ts', "import Database from 'better-sqlite3';\nexport const x = Database;"],
    ['src/worker/bad.ts', "import { Project } from '../main/store/project';\nexport const x = Project;"],
  ])('refuses a bad import in %s', async (file, code) => {
    const errors = await layerErrors(file, code);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatch(/Layer rule/);
  });

  it.each([
    ['src/renderer/features/Good.tsx', "import { calls } from '../../shared/contract';\nexport const x = calls;"],
    ['src/main/services/good.ts', "import { readFileSync } from 'node:fs';\nimport { calls } from '../../shared/contract';\nexport const x = [readFileSync, calls];"],
    ['src/main/electron/good.ts', "import { app } from 'electron';\nexport const x = app;"],
    ['src/worker/good.ts', "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;"],
  ])('allows a permitted import in %s', async (file, code) => {
    expect(await layerErrors(file, code)).toEqual([]);
  });
});
