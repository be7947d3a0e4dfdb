/** Responses of the API's own description: the OpenAPI document and the Swagger UI page. */
import * as z from 'zod';
import { json, type OperationResponses, object } from './shapes.ts';

export const docs = {
  getOpenApiDocument: {
    '200': json(
      'This document',
      object({
        openapi: z.literal('3.1.0'),
        info: object({ title: z.string(), version: z.string() }),
        paths: object({}),
      }),
    ),
  },
  getDocsPage: {
    '200': {
      description: 'Swagger UI over this document (its scripts come from this host, never a CDN)',
      content: { 'text/html': { schema: z.string() } },
      headers: z.object({
        'content-security-policy': z.string().meta({ description: 'Scripts from this origin only' }),
      }),
    },
  },
  getDocsAsset: {
    '200': {
      description: 'A file of the page: Swagger UI’s style sheet or bundle, or the page’s initializer script',
      content: { 'text/css': { schema: z.string() }, 'text/javascript': { schema: z.string() } },
    },
  },
} satisfies Record<string, OperationResponses>;
