/**
 * `npm run client:types`: generates `client/schema.d.ts` (the API's paths and operations as
 * TypeScript types) from the committed `openapi.json` with openapi-typescript, as its own CLI
 * would with default options. `--check` only compares; a unit test fails when the file is stale.
 *
 * A build tool run by Node: the client modules never import it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript';

const ROOT = path.resolve(import.meta.dirname, '..');
export const OPENAPI_FILE = path.join(ROOT, 'openapi.json');
export const CLIENT_TYPES_FILE = path.join(ROOT, 'client', 'schema.d.ts');

/** The types as `client/schema.d.ts` holds them, generated from `openapi.json` on disk. */
export async function clientTypesText(): Promise<string> {
  const ast = await openapiTS(pathToFileURL(OPENAPI_FILE), { silent: true });
  return `${COMMENT_HEADER}${astToString(ast)}`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const text = await clientTypesText();
  if (process.argv.includes('--check')) {
    const current = await readFile(CLIENT_TYPES_FILE, 'utf8').catch(() => '');
    if (current !== text) {
      console.error('client/schema.d.ts is stale: run npm run client:types');
      process.exit(1);
    }
  } else {
    await writeFile(CLIENT_TYPES_FILE, text);
    console.log(`wrote ${path.relative(process.cwd(), CLIENT_TYPES_FILE)}`);
  }
}
