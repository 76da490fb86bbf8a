import { resolve } from 'node:path';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The same renderer, built for the browser mode (`gan-augment serve`), served from out/web.
export default defineConfig({
  root: resolve(__dirname, 'src/renderer'),
  base: './',
  plugins: [react()],
  build: { outDir: resolve(__dirname, 'out/web'), emptyOutDir: true },
});
