export {};

/**
 * `npm run bench -- <name>`: runs one benchmark. Each prints a readable table and ends with
 * exactly one JSON line `{"bench", "ratio", "target", ...}`; ratio <= target meets the goal.
 */
const BENCHES: Record<string, () => Promise<unknown>> = {
  ingest: () => import('./ingest.ts'),
  browse: () => import('./browse.ts'),
  pipeline: () => import('./pipeline.ts'),
  query: () => import('./query.ts'),
  bundles: () => import('./bundles.ts'),
  console: () => import('./console.ts'),
};

const name = process.argv[2];
if (!name || !(name in BENCHES)) {
  console.error(`usage: npm run bench -- <${Object.keys(BENCHES).join('|')}>`);
  process.exit(2);
}
const mod = (await (BENCHES[name] as () => Promise<{ main(): Promise<void> }>)()) as {
  main(): Promise<void>;
};
await mod.main();
process.exit(0);
