/** Tables area: browse pages, schema, versions, and presigned upload URLs with their status. */
import { z } from 'zod';
import { requireDataset } from '#core/catalog/datasets';
import { areaHandler, operation, reply } from '#core/http';
import { readTablePage } from '#core/tables/reader';
import { createUploadUrl, getUpload, uploadUrlSchema } from '#core/tables/uploads';
import { listVersions } from '#core/tables/versions';

const datasetParams = z.object({ dataset_id: z.string() });

const pageQuery = z.object({
  page: z.coerce.number().int().min(1).max(100_000_000).default(1),
  page_size: z.coerce.number().int().min(1).max(1000).default(10),
});

export const handler = areaHandler('tables', {
  getTablePage: operation({
    params: datasetParams,
    query: pageQuery,
    run: async ({ params, query }) =>
      readTablePage(await requireDataset(params.dataset_id), query.page, query.page_size),
  }),
  getTableSchema: operation({
    params: datasetParams,
    async run({ params }) {
      const dataset = await requireDataset(params.dataset_id);
      return {
        dataset_id: dataset.id,
        version: dataset.current_version,
        total_rows: dataset.total_rows,
        columns: dataset.columns,
      };
    },
  }),
  listTableVersions: operation({
    params: datasetParams,
    async run({ params }) {
      const dataset = await requireDataset(params.dataset_id);
      return {
        dataset_id: dataset.id,
        current_version: dataset.current_version,
        versions: await listVersions(dataset),
      };
    },
  }),
  createUploadUrl: operation({
    params: datasetParams,
    body: uploadUrlSchema,
    run: async ({ params, body, principal }) =>
      reply(201, await createUploadUrl(params.dataset_id, body, principal)),
  }),
  getUpload: operation({
    params: z.object({ dataset_id: z.string(), upload_id: z.string() }),
    run: ({ params }) => getUpload(params.dataset_id, params.upload_id),
  }),
});
