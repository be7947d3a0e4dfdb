/** Catalog area: collections and the datasets inside them. */
import { deleteCollection, updateCollection } from '#core/catalog/collections';
import { deleteDataset, updateDataset } from '#core/catalog/datasets';
import { catalogBasics, collectionParams, datasetParams } from '#core/catalog/operations';
import { updateCollectionSchema, updateDatasetSchema } from '#core/catalog/schemas';
import { type AreaOperations, areaHandler, operation } from '#core/http';
import { glueCatalog } from '#core/platform/aws/catalog';
import { awsStores } from '#core/platform/aws/stores';
import { onAws } from '#core/platform/lambda';
import { forceQuerySchema } from '#core/schemas';
import { deleteDatasetData } from '#core/tables/data';

const removeDataset = (id: string) => deleteDataset(id, deleteDatasetData);

/** The operations of the catalog routes (the OpenAPI document reads their schemas). */
export const operations = {
  ...catalogBasics,
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
} satisfies AreaOperations<'catalog'>;

export const handler = onAws({ stores: awsStores, catalog: glueCatalog }, areaHandler('catalog', operations));
