#!/usr/bin/env node
/**
 * npm postinstall. Must never fail an install and stays quiet: at most one line, when the
 * Electron binary is missing (ELECTRON_SKIP_BINARY_DOWNLOAD, or no network).
 */
try {
  const { createRequire } = await import('node:module');
  const { existsSync } = await import('node:fs');
  const require = createRequire(import.meta.url);
  let binary = null;
  try {
    const path = require('electron');
    binary = typeof path === 'string' && existsSync(path) ? path : null;
  } catch {
    binary = null;
  }
  if (!binary) console.log('gan-augment: no Electron binary installed; `npm start` will run the browser mode.');
} catch {
  // never fail the install
}
process.exitCode = 0;
