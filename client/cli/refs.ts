/**
 * Commands take collections, datasets and pipelines by id (`col-…`, `ds-…`, `pl-…`) or by name.
 * A name is looked up in the lists; none is a 404 problem like the API's, several a usage error.
 */
import type { SluiceClient } from '../index.ts';
import { SluiceProblem } from '../problem.ts';
import { UsageError } from './output.ts';
import type { Collection, Dataset, DhubList, Pipeline } from './shapes.ts';
import { itemsOf } from './shapes.ts';

const PAGE = 1000;

/** Every item of a D.Hub list, following its `token` pages. */
export async function listAll<T>(page: (token: string | undefined) => Promise<unknown>): Promise<T[]> {
  const all: T[] = [];
  let token: string | undefined;
  do {
    const list = (await page(token)) as DhubList;
    all.push(...itemsOf<T>(list));
    token = list.token ?? undefined;
  } while (token);
  return all;
}

export function listCollections(client: SluiceClient): Promise<Collection[]> {
  return listAll<Collection>(
    async (token) =>
      (await client.api.GET('/api/v1/collections', { params: { query: { limit: PAGE, token } } })).data,
  );
}

export function listDatasets(client: SluiceClient, collectionId?: string): Promise<Dataset[]> {
  return listAll<Dataset>(
    async (token) =>
      (
        await client.api.GET('/api/v1/datasets', {
          params: { query: { limit: PAGE, token, collection_id: collectionId } },
        })
      ).data,
  );
}

export function listPipelines(client: SluiceClient): Promise<Pipeline[]> {
  return listAll<Pipeline>(
    async (token) =>
      (await client.api.GET('/api/v1/pipelines', { params: { query: { limit: PAGE, token } } })).data,
  );
}

function notFound(kind: string, name: string): SluiceProblem {
  return new SluiceProblem({
    status: 404,
    errorType: `resource-not-found/${kind.toUpperCase()}`,
    title: 'Not Found',
    detail: `There is no ${kind} named "${name}".`,
  });
}

function one<T extends { id: string; name: string }>(kind: string, name: string, found: T[]): T {
  const [first, ...others] = found;
  if (!first) throw notFound(kind, name);
  if (others.length > 0) {
    throw new UsageError(
      `Several ${kind}s are named "${name}" (${found.map((f) => f.id).join(', ')}): give the id instead.`,
    );
  }
  return first;
}

export async function collectionId(client: SluiceClient, ref: string): Promise<string> {
  if (/^col-/.test(ref)) return ref;
  return one(
    'collection',
    ref,
    (await listCollections(client)).filter((c) => c.name === ref),
  ).id;
}

export async function datasetId(client: SluiceClient, ref: string, collection?: string): Promise<string> {
  if (/^ds-/.test(ref)) return ref;
  const inCollection = collection ? await collectionId(client, collection) : undefined;
  return one(
    'dataset',
    ref,
    (await listDatasets(client, inCollection)).filter((d) => d.name === ref),
  ).id;
}

export async function pipelineId(client: SluiceClient, ref: string): Promise<string> {
  if (/^pl-/.test(ref)) return ref;
  return one(
    'pipeline',
    ref,
    (await listPipelines(client)).filter((p) => p.name === ref),
  ).id;
}
