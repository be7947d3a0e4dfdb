/** Catalog area: collections and the datasets inside them. */
import { z } from 'zod';
import {
  collectionView,
  createCollection,
  createCollectionSchema,
  deleteCollection,
  listCollections,
  requireCollection,
  updateCollection,
  updateCollectionSchema,
} from '#core/catalog/collections';
import {
  createDataset,
  createDatasetSchema,
  datasetView,
  deleteDataset,
  listDatasets,
  listDatasetsQuerySchema,
  requireDataset,
  updateDataset,
  updateDatasetSchema,
} from '#core/catalog/datasets';
import { areaHandler, type Operation, operation, reply } from '#core/http';
import { onAws } from '#core/platform/lambda';
import { forceQuerySchema, listQuerySchema } from '#core/schemas';
import { deleteDatasetData } from '#core/tables/data';

const collectionParams = z.object({ collection_id: z.string() });
const datasetParams = z.object({ dataset_id: z.string() });
const removeDataset = (id: string) => deleteDataset(id, deleteDatasetData);

/** Exported for the pipelines function, which serves some of them for trailing-slash paths. */
export const catalogOperations = {
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
  updateCollection: operation({
    params: collectionParams,
    body: updateCollectionSchema,
    run: ({ params, body }) => updateCollection(params.collection_id, body),
  }),
  deleteCollection: operation({
    params: collectionParams,
    query: forceQuerySchema,
    async run({ params, query }) {
      await deleteCollection(params.collection_id, query.force, removeDataset);
      return { message: 'Collection deleted successfully' };
    },
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
  updateDataset: operation({
    params: datasetParams,
    body: updateDatasetSchema,
    run: ({ params, body }) => updateDataset(params.dataset_id, body),
  }),
  deleteDataset: operation({
    params: datasetParams,
    async run({ params }) {
      await removeDataset(params.dataset_id);
      return { message: 'Dataset deleted successfully' };
    },
  }),
} satisfies Record<string, Operation>;

export const handler = onAws(areaHandler('catalog', catalogOperations));
