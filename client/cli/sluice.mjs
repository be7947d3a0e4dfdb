#!/usr/bin/env node
// The `sluice` command (package.json "bin"): runs the TypeScript CLI through tsx's ESM API, so
// `npx sluice` works right after `npm ci` with no build step.
import { tsImport } from 'tsx/esm/api';

await tsImport('./main.ts', import.meta.url);
