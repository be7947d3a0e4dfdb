/** Request schemas shared by several areas. */
import { z } from 'zod';

/** D.Hub list convention: `limit` (1–1000, default 100) and an opaque `token`. */
export const listQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  token: z.string().max(2048).optional(),
});

export const forceQuerySchema = z.object({
  force: z
    .enum(['true', 'false'])
    .optional()
    .transform((v) => v === 'true'),
});
