/** Request schemas shared by several areas, and the wording of validation messages. */
import * as z from 'zod';

// A missing field reads "is required" rather than "expected string, received undefined".
z.config({
  customError: (issue) =>
    issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : undefined,
});

/**
 * Runs an object-level rule even when other fields already failed, so one response lists
 * every problem (zod skips refinements on objects with issues by default).
 */
export const alwaysCheck = {
  when: (payload: { value: unknown }) => typeof payload.value === 'object' && payload.value !== null,
};

/** D.Hub list convention: `limit` (1–1000, default 100) and an opaque `token`. */
export const listQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  token: z.string().max(2048).optional(),
});

/**
 * Free-form run parameters (`POST /pipelines/{id}/run`, `POST /jobs/{id}/executions`), stored on
 * the batch record as sent. The body check (json-limits.ts) already refuses values DynamoDB
 * cannot hold (`1.5e300`); this bounds their size so the batch record keeps room for its steps.
 */
export const PARAMETERS_MAX_JSON = 64 * 1024;
export const parametersSchema = z
  .record(z.string(), z.unknown(), { error: 'must be an object' })
  .refine((p) => JSON.stringify(p).length <= PARAMETERS_MAX_JSON, {
    message: `must be at most ${PARAMETERS_MAX_JSON} characters as JSON`,
  });

export const forceQuerySchema = z.object({
  force: z
    .enum(['true', 'false'])
    .optional()
    .transform((v) => v === 'true'),
});
