/**
 * Building blocks of the response schemas (bin/openapi/*.ts). Responses are described, never
 * parsed by the API: these schemas feed the OpenAPI document and the API tests' check of every
 * answer, and no Lambda entry imports them. Objects are loose (a field added later is not a
 * breaking change), but every field served today is listed with its type and nullability.
 */
import * as z from 'zod';

/** An object whose listed fields are checked and whose other fields are allowed. */
export const object = z.looseObject;

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * An ISO 8601 time: UTC (`...Z`) in D.Hub answers, with the zone's offset in Data Flow's. The
 * document says `format: date-time` (zod's own ISO schema would repeat a long pattern each time).
 */
export const isoTime = () =>
  z
    .string()
    .refine((value) => ISO_TIME.test(value) && !Number.isNaN(Date.parse(value)), 'must be an ISO 8601 time')
    .meta({ format: 'date-time' });

export const int = () => z.number().int();

/** A node id as Data Flow's Long travels: a number, or a string of digits. */
export const nodeId = () => z.union([z.number(), z.string()]);

/** A D.Hub `{message}` confirmation. */
export const messageSchema = object({ message: z.string() }).meta({
  id: 'Message',
  description: 'What was done, in words',
});

/** An RFC 9457 problem, as every error of the API is answered. */
export const problemSchema = object({
  type: z.string(),
  title: z.string(),
  status: int(),
  detail: z.string(),
  instance: z.string(),
  errorType: z.string().meta({
    description:
      'bad-parameter, bad-state, resource-not-found/<KIND>, unauthorized, forbidden, conflict, payload-too-large, internal, ...',
  }),
  errors: z
    .array(object({ field: z.string(), message: z.string() }))
    .optional()
    .meta({ description: 'Each offending field of a request that did not validate' }),
}).meta({ id: 'Problem', description: 'An RFC 9457 problem, in the shape of Data Flow’s errors' });

/**
 * API Gateway's own answer to a request no function saw: throttled (429), refused by the
 * authorizer (403), too large (413). The local host answers the same way.
 */
export const gatewayMessageSchema = object({ message: z.string() }).meta({
  id: 'GatewayMessage',
  description: 'API Gateway’s own error body',
});

/**
 * A JSON text holding one `item` (the D.Hub list convention serialises each listed item). The
 * document says so with `contentMediaType`/`contentSchema`; the check parses the text and checks
 * the item, naming its fields under the text's own path.
 */
export function jsonText(item: z.ZodType, id: string) {
  return z
    .string()
    .superRefine((text, ctx) => {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        ctx.addIssue({ code: 'custom', message: `is not a JSON text of a ${id}` });
        return;
      }
      const result = item.safeParse(value);
      for (const issue of result.error?.issues ?? []) {
        ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path as PropertyKey[] });
      }
    })
    .meta({
      description: `A ${id} serialised as JSON`,
      contentMediaType: 'application/json',
      contentSchema: { $ref: `#/components/schemas/${id}` },
    });
}

/** D.Hub's list body: `{items: {<id>: "<item as JSON text>"}, token}`. */
export function dhubList(item: z.ZodType, id: string) {
  return object({
    items: z.record(z.string(), jsonText(item, id)).meta({
      description: `The page's ${id}s by id, each serialised as a JSON string (D.Hub's list convention)`,
    }),
    token: z
      .string()
      .nullable()
      .meta({ description: 'Pass as `token` for the next page; null on the last page' }),
  });
}

/** Data Flow's list body: `{list, count, page, limit}` (`count` counts every match, not the page). */
export function dataflowPage(item: z.ZodType) {
  return object({
    list: z.array(item),
    count: int().meta({ description: 'Matches on all pages' }),
    page: int().meta({ description: '0-based' }),
    limit: int(),
  });
}

/** One documented response of an operation (a type, not an interface: zod-openapi wants its index signature). */
export type ResponseDoc = {
  description: string;
  /** By media type; absent when the response has no body (204). */
  content?: Readonly<Record<string, { schema: z.ZodType }>>;
  /** Response headers worth knowing, by lower-case name. */
  headers?: z.ZodObject;
};

/** An operation's responses by status code (`200`, `201`, `204`, `503`, ...). */
export type OperationResponses = Readonly<Record<`${number}`, ResponseDoc>>;

export const json = (description: string, schema: z.ZodType, headers?: z.ZodObject): ResponseDoc => ({
  description,
  content: { 'application/json': { schema } },
  ...(headers ? { headers } : {}),
});

/** A text body of `mediaType` (HTML, CSS, scripts, CSV). */
export const text = (description: string, mediaType: string, headers?: z.ZodObject): ResponseDoc => ({
  description,
  content: { [mediaType]: { schema: z.string() } },
  ...(headers ? { headers } : {}),
});

export const noContent = (description: string): ResponseDoc => ({ description });

export const ok = (schema: z.ZodType, description = 'Success') => ({ '200': json(description, schema) });
export const created = (schema: z.ZodType, description = 'Created') => ({ '201': json(description, schema) });
export const done = (description: string) => ({ '200': json(description, messageSchema) });
