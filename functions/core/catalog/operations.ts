/**
 * The catalog's create, list and get operations: served by the catalog function, and by the
 * pipelines function for their trailing-slash paths (`POST /api/v1/datasets/`, ...). Changes and
 * deletions (which remove data and Glue tables) are the catalog function's alone.
 */
import * as z from 'zod';
import { type AreaOperations, operation, reply } from '../http.ts';
import { listQuerySchema } from '../schemas.ts';
import { createCollection, listCollections, requireCollection } from './collections.ts';
import { createDataset, listDatasets, requireDataset } from './datasets.ts';
import { createCollectionSchema, createDatasetSchema, listDatasetsQuerySchema } from './schemas.ts';
import { collectionView, datasetView } from './views.ts';

export const collectionParams = z.object({ collection_id: z.string() });
export const datasetParams = z.object({ dataset_id: z.string() });

/** Creating, listing and reading collections and datasets: only the table is touched. */
export const catalogBasics = {
  createCollection: operation({
    body: createCollectionSchema,
    run: async ({ body, principal }) => reply(201, await createCollection(body, principal)),
  }),
  listCollections: operation({
    query: listQuerySchema,
    run: ({ query }) => listCollections(query.limit, query.token),
  }),
  getCollection: operation({
    params: collectionParams,
    run: async ({ params }) => collectionView(await requireCollection(params.collection_id)),
  }),
  createDataset: operation({
    body: createDatasetSchema,
    run: async ({ body, principal }) => reply(201, await createDataset(body, principal)),
  }),
  listDatasets: operation({
    query: listDatasetsQuerySchema,
    run: ({ query }) => listDatasets(query.collection_id, query.limit, query.token),
  }),
  getDataset: operation({
    params: datasetParams,
    run: async ({ params }) => datasetView(await requireDataset(params.dataset_id)),
  }),
} satisfies Partial<AreaOperations<'catalog'>>;
