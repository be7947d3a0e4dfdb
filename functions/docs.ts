/**
 * Docs area (public): the OpenAPI document at `GET /openapi.json` (the committed openapi.json,
 * bundled into the function) and Swagger UI at `GET /docs` with its files under `/docs/`.
 */
import * as z from 'zod';
import { isSwaggerUiFile, swaggerUiFile } from '#core/docs/assets';
import { DOCS_CSP, DOCS_HTML, INITIALIZER_FILE, INITIALIZER_JS, SWAGGER_UI_FILES } from '#core/docs/page';
import { NotFoundError } from '#core/errors';
import { type AreaOperations, areaHandler, operation, textReply } from '#core/http';
import { onAws } from '#core/platform/lambda';
import openApiDocument from '../openapi.json' with { type: 'json' };

/** The document as sent: serialised once per function instance. */
const DOCUMENT_TEXT = JSON.stringify(openApiDocument);

/** Swagger UI's files change only with the package: a browser may keep them for a day. */
const ASSET_CACHE = 'public, max-age=86400';

/** The operations of the docs routes (the OpenAPI document reads their schemas). */
export const operations = {
  getOpenApiDocument: operation({
    run: async () =>
      textReply(200, DOCUMENT_TEXT, {
        'content-type': 'application/json; charset=utf-8',
        'cache-control': 'no-cache',
      }),
  }),
  getDocsPage: operation({
    run: async () =>
      textReply(200, DOCS_HTML, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': DOCS_CSP,
        'referrer-policy': 'no-referrer',
        'cache-control': 'no-cache',
      }),
  }),
  getDocsAsset: operation({
    params: z.object({ proxy: z.string().max(100) }),
    async run({ params }) {
      if (params.proxy === INITIALIZER_FILE) {
        return textReply(200, INITIALIZER_JS, {
          'content-type': 'text/javascript; charset=utf-8',
          'cache-control': 'no-cache',
        });
      }
      if (!isSwaggerUiFile(params.proxy)) throw new NotFoundError('FILE', params.proxy);
      return textReply(200, await swaggerUiFile(params.proxy), {
        'content-type': SWAGGER_UI_FILES[params.proxy],
        'cache-control': ASSET_CACHE,
      });
    },
  }),
} satisfies AreaOperations<'docs'>;

export const handler = onAws({}, areaHandler('docs', operations));
