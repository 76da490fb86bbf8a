#!/usr/bin/env node
/**
 * Builds better-sqlite3 for Electron's ABI into .electron-native/better_sqlite3.node, for running
 * the desktop app from this checkout (`npm start`). The Node-ABI copy in node_modules, which the
 * tests, the CLI and the browser mode use, is never touched: the package is copied to a temporary
 * folder and built there.
 *
 * 1. prebuild-install fetches better-sqlite3's prebuilt Electron binary (from GitHub releases);
 * 2. failing that, node-gyp compiles it against Electron's headers (from electronjs.org).
 * Either needs the internet. Packaged apps do not use this: electron-builder rebuilds the
 * module itself (npmRebuild), see electron-builder.yml.
 *
 * Usage: node scripts/electron-native.mjs [--force]
 * Exit code 0 when the binary is there and current, 1 with a sentence on stderr otherwise.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const outDir = join(root, '.electron-native'); // keep in sync with src/main/electron/native.ts
const outFile = join(outDir, 'better_sqlite3.node');
const infoFile = join(outDir, 'build-info.json');
const force = process.argv.includes('--force');

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

function fail(sentence) {
  process.stderr.write(`electron-native: ${sentence}\n`);
  process.exit(1);
}

const electronPkg = readJson(join(root, 'node_modules', 'electron', 'package.json'));
const sqlitePkgDir = join(root, 'node_modules', 'better-sqlite3');
const sqlitePkg = readJson(join(sqlitePkgDir, 'package.json'));
if (!electronPkg?.version) fail('the electron package is not installed (run npm install first).');
if (!sqlitePkg?.version) fail('the better-sqlite3 package is not installed (run npm install first).');

const target = electronPkg.version;
const abi = (() => {
  try {
    return readFileSync(join(root, 'node_modules', 'electron', 'abi_version'), 'utf8').trim();
  } catch {
    return null;
  }
})();
const { platform, arch } = process;
const wanted = { electron: target, abi, betterSqlite3: sqlitePkg.version, platform, arch };

const current = readJson(infoFile);
if (
  !force &&
  existsSync(outFile) &&
  current &&
  Object.entries(wanted).every(([k, v]) => current[k] === v)
) {
  console.log(`electron-native: better-sqlite3 ${wanted.betterSqlite3} for Electron ${target} is up to date (${relative(root, outFile)}).`);
  process.exit(0);
}

console.log(`electron-native: building better-sqlite3 ${wanted.betterSqlite3} for Electron ${target} (${platform}-${arch})…`);

const work = mkdtempSync(join(tmpdir(), 'gan-augment-native-'));
const pkgDir = join(work, 'better-sqlite3');
let method = null;
const notes = [];
try {
  // Copy the package without its Node-ABI build output.
  cpSync(sqlitePkgDir, pkgDir, {
    recursive: true,
    filter: (src) => {
      const rel = relative(sqlitePkgDir, src);
      const first = rel.split(sep)[0];
      return first !== 'build' && first !== 'node_modules';
    },
  });

  const env = {
    ...process.env,
    npm_config_runtime: 'electron',
    npm_config_target: target,
    npm_config_disturl: 'https://electronjs.org/headers',
    npm_config_arch: arch,
    npm_config_target_arch: arch,
    npm_config_build_from_source: '',
  };
  const run = (label, script, args, timeoutMs) => {
    const r = spawnSync(process.execPath, [script, ...args], { cwd: pkgDir, env, stdio: ['ignore', 'inherit', 'inherit'], timeout: timeoutMs });
    if (r.status === 0) return true;
    notes.push(`${label} ${r.error ? `could not run (${r.error.message})` : `exited with ${r.status ?? r.signal}`}`);
    return false;
  };
  const built = join(pkgDir, 'build', 'Release', 'better_sqlite3.node');

  const prebuild = join(root, 'node_modules', 'prebuild-install', 'bin.js');
  if (existsSync(prebuild)) {
    const ok = run(
      'the prebuilt download (prebuild-install)',
      prebuild,
      ['--runtime=electron', `--target=${target}`, `--arch=${arch}`, `--platform=${platform}`, '--tag-prefix=v', '--verbose'],
      180_000,
    );
    if (ok && existsSync(built)) method = 'prebuild-install';
  }
  if (!method) {
    const nodeGyp = join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    if (!existsSync(nodeGyp)) notes.push('node-gyp is not installed');
    else {
      const ok = run(
        'the source build (node-gyp, Electron headers from electronjs.org)',
        nodeGyp,
        [
          'rebuild',
          '--release',
          `--target=${target}`,
          `--arch=${arch}`,
          '--dist-url=https://electronjs.org/headers',
          `--devdir=${join(homedir(), '.electron-gyp')}`,
        ],
        30 * 60_000,
      );
      if (ok && existsSync(built)) method = 'node-gyp';
    }
  }
  if (!method) {
    throw new Error(
      `could not build better-sqlite3 for Electron ${target}: ${notes.join('; ')}. ` +
        'Both ways need the internet (GitHub releases, or electronjs.org headers plus a C++ toolchain). ' +
        'node_modules was not changed; the tests, the CLI and the browser mode still work.',
    );
  }

  mkdirSync(outDir, { recursive: true });
  const partial = `${outFile}.partial`;
  copyFileSync(built, partial);
  renameSync(partial, outFile);
  writeFileSync(infoFile, `${JSON.stringify({ ...wanted, method, builtAt: new Date().toISOString() }, null, 2)}\n`);

  // Sanity check: plain Node must refuse it with Electron's module version, not load it.
  const probe = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(outFile)})`], { encoding: 'utf8' });
  if (probe.status === 0) console.warn('electron-native: warning: the result loads in plain Node, so it may not be an Electron build.');
  else if (abi && !probe.stderr.includes(`NODE_MODULE_VERSION ${abi}`)) console.warn(`electron-native: warning: could not confirm ABI ${abi} for the result.`);
  console.log(`electron-native: wrote ${relative(root, outFile)} (${method}).`);
} catch (err) {
  process.stderr.write(`electron-native: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
