/**
 * The client's types are generated from `openapi.json`: the committed `client/schema.d.ts` is
 * what openapi-typescript makes of the committed document today.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { CLIENT_TYPES_FILE, clientTypesText } from '../../client/generate-types.ts';

describe('the client types', () => {
  it('are the ones openapi.json generates (run npm run client:types after npm run openapi)', async () => {
    const generated = await clientTypesText();
    expect(generated).toContain('export interface paths');
    expect(await readFile(CLIENT_TYPES_FILE, 'utf8')).toBe(generated);
  });
});
