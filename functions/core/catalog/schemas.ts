/** Request schemas of the catalog: what a client may send to create, change or list collections and datasets. */
import * as z from 'zod';
import { alwaysCheck } from '../schemas.ts';

/** A collection, dataset or pipeline name: trimmed, 1–200 characters, no control characters. */
export const nameSchema = z
  .string()
  .trim()
  .min(1, 'is required')
  .max(200, 'must be at most 200 characters')
  .refine(
    (s) => ![...s].some((ch) => (ch.codePointAt(0) ?? 0) < 0x20 || ch === '\u007f'),
    'must not contain control characters',
  );

export const descriptionSchema = z.string().max(2000, 'must be at most 2000 characters');

export const createCollectionSchema = z.object({
  name: nameSchema,
  description: descriptionSchema.optional(),
});

/** A rename or a new description; at least one of them. */
const renameSchema = z
  .object({ name: nameSchema.optional(), description: descriptionSchema.optional() })
  .refine((b) => b.name !== undefined || b.description !== undefined, {
    message: 'name or description is required',
    path: ['name'],
    ...alwaysCheck,
  });

export const updateCollectionSchema = renameSchema;

export const createDatasetSchema = z.object({
  name: nameSchema,
  description: descriptionSchema.optional(),
  collection_id: z.string().min(1, 'is required').max(64),
});

export const updateDatasetSchema = renameSchema;

export const listDatasetsQuerySchema = z.object({
  collection_id: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  token: z.string().max(2048).optional(),
});

export type CreateCollectionInput = z.output<typeof createCollectionSchema>;
export type UpdateCollectionInput = z.output<typeof updateCollectionSchema>;
export type CreateDatasetInput = z.output<typeof createDatasetSchema>;
export type UpdateDatasetInput = z.output<typeof updateDatasetSchema>;
