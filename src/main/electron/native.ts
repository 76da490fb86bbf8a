/**
 * better-sqlite3 under Electron. The copy in node_modules is compiled for Node's ABI (tests, CLI,
 * browser mode); Electron's main process needs one compiled for Electron's ABI. In development
 * scripts/electron-native.mjs builds that copy into `<appRoot>/.electron-native/` without
 * touching node_modules, and the store loads it through better-sqlite3's `nativeBinding`
 * option. In a packaged app electron-builder (npmRebuild) has already rebuilt the module in
 * node_modules for Electron, unpacked from the asar, so the default loading is right.
 *
 * No `electron` import: callers pass `app.isPackaged` and `app.getAppPath()`, so this is
 * testable in plain Node.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Folder (relative to the app root) that scripts/electron-native.mjs fills. Keep in sync. */
export const ELECTRON_NATIVE_DIR = '.electron-native';
export const SQLITE_BINDING_FILE = 'better_sqlite3.node';
export const BUILD_INFO_FILE = 'build-info.json';

export interface NativeBindingOptions {
  /** `app.isPackaged`. */
  isPackaged: boolean;
  /** `app.getAppPath()`: the project folder in development. */
  appRoot: string;
  /** `process.versions.electron`; when given, a copy built for another Electron is reported. */
  electronVersion?: string;
}

export interface NativeBindingStatus {
  /** Pass to better-sqlite3 as `nativeBinding`; undefined = let better-sqlite3 find its own. */
  nativeBinding: string | undefined;
  /** A sentence for the log when the development copy is missing or stale; null when fine. */
  problem: string | null;
}

const FIX = 'Run `node scripts/electron-native.mjs` (needs the internet) or `npm start`, which does it for you.';

/** The full answer, with a readable problem when the development copy is missing or stale. */
export function sqliteNativeBindingStatus(options: NativeBindingOptions): NativeBindingStatus {
  if (options.isPackaged) return { nativeBinding: undefined, problem: null };
  const dir = join(options.appRoot, ELECTRON_NATIVE_DIR);
  const binding = join(dir, SQLITE_BINDING_FILE);
  if (!existsSync(binding)) {
    return {
      nativeBinding: undefined,
      problem: `better-sqlite3 has not been built for Electron (${binding} is missing), so projects cannot be opened. ${FIX}`,
    };
  }
  if (options.electronVersion) {
    const builtFor = readBuiltFor(join(dir, BUILD_INFO_FILE));
    if (builtFor !== null && builtFor !== options.electronVersion) {
      return {
        nativeBinding: binding,
        problem: `${binding} was built for Electron ${builtFor}, but this is Electron ${options.electronVersion}. ${FIX}`,
      };
    }
  }
  return { nativeBinding: binding, problem: null };
}

/**
 * The `nativeBinding` path for better-sqlite3 under Electron: `<appRoot>/.electron-native/
 * better_sqlite3.node` in development when it exists, undefined in a packaged app (or when the
 * development copy is missing; then better-sqlite3 fails with its own ABI message).
 */
export function sqliteNativeBinding(options: NativeBindingOptions): string | undefined {
  return sqliteNativeBindingStatus(options).nativeBinding;
}

function readBuiltFor(infoFile: string): string | null {
  try {
    const info = JSON.parse(readFileSync(infoFile, 'utf8')) as { electron?: unknown };
    return typeof info.electron === 'string' ? info.electron : null;
  } catch {
    return null;
  }
}
