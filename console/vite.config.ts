/**
 * The web console's build: React + Vite into console/dist (served by `npm start` at `/`, and
 * deployed to S3 behind CloudFront by lib/console.ts). The pipeline editor's node types come
 * from the API's own registry at build time through the `virtual:sluice-node-types` module.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

const ROOT = resolve(import.meta.dirname, '..');
const VIRTUAL = 'virtual:sluice-node-types';

function nodeTypes(): Plugin {
  return {
    name: 'sluice-node-types',
    resolveId: (id) => (id === VIRTUAL ? `\0${VIRTUAL}` : undefined),
    load(id) {
      if (id !== `\0${VIRTUAL}`) return undefined;
      const json = execFileSync(
        process.execPath,
        ['--import', 'tsx', resolve(ROOT, 'console/scripts/node-types.ts')],
        { cwd: ROOT, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
      );
      return `export default ${json};`;
    },
  };
}

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [react(), nodeTypes()],
  build: {
    outDir: resolve(import.meta.dirname, 'dist'),
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    proxy: Object.fromEntries(
      ['/api', '/v1', '/health', '/openapi.json', '/docs'].map((p) => [
        p,
        process.env.SLUICE_URL ?? 'http://localhost:3000',
      ]),
    ),
  },
});
