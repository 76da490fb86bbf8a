#!/usr/bin/env node
/**
 * `npm start`: the desktop app when the Electron binary is installed, the browser mode otherwise.
 *
 * Desktop: builds out/ when it is missing, makes sure better-sqlite3 exists for Electron's ABI
 * (scripts/electron-native.mjs), then runs Electron on this folder.
 * Browser: `node bin/gan-augment.js serve`, which prints the address to open.
 *
 * GAN_AUGMENT_BROWSER=1 forces the browser mode even where Electron is installed.
 * Ctrl+C (or SIGTERM) stops the child cleanly; this script exits with the child's exit code.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
const isWindows = process.platform === 'win32';

/** Path of the Electron executable, or null when the package or its binary is missing. */
function electronBinary() {
  try {
    const path = require('electron'); // from plain Node the package exports the binary's path
    return typeof path === 'string' && existsSync(path) ? path : null;
  } catch {
    return null;
  }
}

function build(missing) {
  console.log(`${missing} is missing, so building first (npm run build)…`);
  // npm is npm.cmd on Windows, which Node 20 only spawns through a shell.
  const r = spawnSync(isWindows ? 'npm.cmd' : 'npm', ['run', 'build'], { cwd: root, stdio: 'inherit', shell: isWindows });
  if (r.status !== 0) {
    console.error('The build failed (see above), so GAN Augment cannot start.');
    process.exit(r.status ?? 1);
  }
}

/** Runs a child with our stdio, relays stop signals once, and exits with its code. */
function runChild(command, args, env) {
  const child = spawn(command, args, { cwd: root, env, stdio: 'inherit' });
  let stopping = false;
  const relay = (signal) => {
    // A terminal's Ctrl+C already reaches the child (same foreground process group); relaying
    // it again would make the child see two. Signals sent to this process alone are relayed.
    const fromTerminal = signal === 'SIGINT' && process.stdin.isTTY;
    if (!fromTerminal && child.exitCode === null && child.signalCode === null) child.kill(signal);
    if (stopping) return;
    stopping = true;
    // If the child does not stop within 15 s, stop it hard.
    setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }, 15_000).unref();
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => relay(signal));
  child.on('error', (err) => {
    console.error(`Could not start ${command}: ${err.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal && signal !== 'SIGINT' && signal !== 'SIGTERM') console.error(`GAN Augment stopped (${signal}).`);
    process.exit(code ?? (signal === 'SIGINT' || signal === 'SIGTERM' ? 0 : 1));
  });
}

const electron = process.env.GAN_AUGMENT_BROWSER === '1' ? null : electronBinary();

if (electron) {
  if (!existsSync(join(root, 'out', 'main', 'index.js'))) build('out/main/index.js');
  const native = spawnSync(process.execPath, [join(root, 'scripts', 'electron-native.mjs')], { cwd: root, stdio: 'inherit' });
  if (native.status !== 0) {
    console.warn('GAN Augment will start, but cannot open projects until better-sqlite3 is built for Electron (see above).');
  }
  const env = { ...process.env };
  delete env.ELECTRON_RUN_AS_NODE; // would make the binary a plain Node
  runChild(electron, ['.'], env);
} else {
  if (process.env.GAN_AUGMENT_BROWSER !== '1') {
    console.log('The Electron desktop binary is not installed here (it could not be downloaded), so GAN Augment starts in browser mode instead.');
  }
  const cli = join(root, 'bin', 'gan-augment.js');
  if (!existsSync(cli)) {
    console.error(`${cli} is missing, so the browser mode cannot start.`);
    process.exit(1);
  }
  if (!existsSync(join(root, 'out', 'main', 'cli.js'))) build('out/main/cli.js');
  else if (!existsSync(join(root, 'out', 'web', 'index.html'))) build('out/web/index.html');
  runChild(process.execPath, [cli, 'serve', ...process.argv.slice(2)], process.env);
}
