/**
 * Reading and moving query records. Every state change is conditional on the state it leaves,
 * so an abort racing the engine's finish (or two engines' reports) settles exactly once.
 */
import { deleteItem, getItem, type Item, putItem, putNew, queryAll, updateItem } from '../db.ts';
import {
  ALL_QUERIES_KEY,
  byCreatorKey,
  FINAL_STATES,
  type QueryFields,
  type QueryItem,
  type QueryState,
  queryKey,
} from './model.ts';

const ACTIVE: QueryState[] = ['QUEUED', 'RUNNING'];

export function queryItem(fields: QueryFields): QueryItem {
  const sortKey = `${String(fields.created_at).padStart(15, '0')}#${fields.query_id}`;
  return {
    pk: queryKey(fields.query_id),
    sk: 'META',
    entity: 'query',
    gsi1pk: byCreatorKey(fields.creator_id),
    gsi1sk: sortKey,
    gsi2pk: ALL_QUERIES_KEY,
    gsi2sk: sortKey,
    ...fields,
  };
}

/** Unfinished queries are also listed here, so a restart finds them without reading the history. */
const UNFINISHED = 'QUERIES#UNFINISHED';

export async function saveNewQuery(item: QueryItem): Promise<void> {
  await putItem({ pk: UNFINISHED, sk: item.query_id, entity: 'query-unfinished' });
  if (!(await putNew(item))) throw new Error(`query ${item.query_id} already exists`);
}

export async function forgetUnfinished(id: string): Promise<void> {
  await deleteItem(UNFINISHED, id);
}

/** Ids of the queries not yet ended (a restart of the local host fails them). */
export async function unfinishedQueryIds(): Promise<string[]> {
  return (await queryAll<Item & { sk: string }>({ partition: UNFINISHED })).map((i) => i.sk);
}

export function findQuery(id: string): Promise<QueryItem | undefined> {
  return getItem<QueryItem>(queryKey(id));
}

/** Every query of one creator, or of everyone, newest first. */
export function allQueries(creatorId?: string): Promise<QueryItem[]> {
  return queryAll<QueryItem>(
    creatorId
      ? { index: 'gsi1', partition: byCreatorKey(creatorId), newestFirst: true }
      : { index: 'gsi2', partition: ALL_QUERIES_KEY, newestFirst: true },
  );
}

/**
 * Sets `patch` when the query is in one of `from`; answers the new record, or undefined when
 * it had already moved on.
 */
export async function updateQuery(
  id: string,
  patch: Partial<QueryItem>,
  from: readonly QueryState[] = ACTIVE,
): Promise<QueryItem | undefined> {
  const entries = Object.entries(patch).filter(([, v]) => v !== undefined);
  const names: Record<string, string> = { '#state': 'state' };
  const values: Record<string, unknown> = {};
  const sets = entries.map(([k, v], i) => {
    names[`#f${i}`] = k;
    values[`:v${i}`] = v;
    return `#f${i} = :v${i}`;
  });
  from.forEach((s, i) => {
    values[`:from${i}`] = s;
  });
  return updateItem<QueryItem>(queryKey(id), 'META', {
    UpdateExpression: `SET ${sets.join(', ')}`,
    ConditionExpression: `#state IN (${from.map((_, i) => `:from${i}`).join(', ')})`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  });
}

export const markRunning = (id: string, patch: Partial<QueryItem> = {}) =>
  updateQuery(id, { ...patch, state: 'RUNNING' }, ['QUEUED']);

/** Ends a query that is still queued or running; answers undefined when it had already ended. */
export async function endQuery(
  id: string,
  state: Exclude<QueryState, 'QUEUED' | 'RUNNING'>,
  patch: Partial<QueryItem> = {},
): Promise<QueryItem | undefined> {
  const ended = await updateQuery(id, {
    progress: state === 'FINISHED' ? 100 : undefined,
    ...patch,
    state,
    completed_at: patch.completed_at ?? Date.now(),
  });
  if (ended) await deleteItem(UNFINISHED, id);
  return ended;
}

export const isFinal = (state: QueryState) => FINAL_STATES.includes(state);
