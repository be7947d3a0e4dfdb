/**
 * `npm run openapi`: writes the API's OpenAPI document to `openapi.json` at the repository root
 * (committed; a unit test fails when it is stale). `--check` only compares.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { operations as auth } from '#functions/auth';
import { operations as catalog } from '#functions/catalog';
import { operations as docs } from '#functions/docs';
import { operations as fallback } from '#functions/fallback';
import { operations as health } from '#functions/health';
import { operations as ingest } from '#functions/ingest';
import { operations as jobs } from '#functions/jobs';
import { operations as pipelines } from '#functions/pipelines';
import { operations as query } from '#functions/query';
import { operations as tables } from '#functions/tables';
import { operations as triggers } from '#functions/triggers';
import { operations as users } from '#functions/users';
import { operations as workflows } from '#functions/workflows';
import { PROJECT_ROOT } from '#lib/function';
import { type OperationsByArea, openApiDocument } from './openapi-document.ts';

export const OPERATIONS: OperationsByArea = {
  health,
  auth,
  users,
  catalog,
  tables,
  ingest,
  pipelines,
  query,
  jobs,
  workflows,
  triggers,
  docs,
  fallback,
};

export const OPENAPI_FILE = path.join(PROJECT_ROOT, 'openapi.json');

/** The document as `openapi.json` holds it. */
export async function openApiText(): Promise<string> {
  const pkg = JSON.parse(await readFile(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  return `${JSON.stringify(openApiDocument(OPERATIONS, pkg.version), null, 2)}\n`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const text = await openApiText();
  if (process.argv.includes('--check')) {
    const current = await readFile(OPENAPI_FILE, 'utf8').catch(() => '');
    if (current !== text) {
      console.error('openapi.json is stale: run npm run openapi');
      process.exit(1);
    }
  } else {
    await writeFile(OPENAPI_FILE, text);
    console.log(`wrote ${path.relative(process.cwd(), OPENAPI_FILE)}`);
  }
}
