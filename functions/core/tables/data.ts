/** Where a dataset's objects live, and how they go away with it. */
import { deletePrefix } from '../storage.ts';

export const datasetPrefix = (datasetId: string) => `datasets/${datasetId}/`;

export async function deleteDatasetData(datasetId: string): Promise<void> {
  await deletePrefix(datasetPrefix(datasetId));
}
