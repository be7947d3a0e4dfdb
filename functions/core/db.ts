/**
 * Thin helpers over the single table. dynalite has no transactions, so every write that must
 * not race is a single-item conditional write; a lost race surfaces as `ConditionFailed`.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DeleteCommandInput,
  GetCommand,
  PutCommand,
  type PutCommandInput,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { ddb, TABLE } from './clients.ts';
import { ValidationError } from './errors.ts';
import { decodeToken, type PageRequest } from './paging.ts';
import type { IndexName } from './table-schema.ts';

export type Item = Record<string, unknown>;

export function isConditionFailed(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as { name?: string } | null)?.name === 'ConditionalCheckFailedException'
  );
}

/** Items with a `ttl` in the past are treated as gone (dynalite never expires them). */
function alive<T extends Item>(item: T | undefined, now = Date.now()): T | undefined {
  if (!item) return undefined;
  const ttl = item.ttl;
  if (typeof ttl === 'number' && ttl * 1000 <= now) return undefined;
  return item;
}

export async function getItem<T extends Item>(
  pk: string,
  sk = 'META',
  consistent = true,
): Promise<T | undefined> {
  const out = await ddb.send(
    new GetCommand({ TableName: TABLE, Key: { pk, sk }, ConsistentRead: consistent }),
  );
  return alive(out.Item as T | undefined);
}

/** Put; returns false when the condition failed. */
export async function putItem(
  item: Item,
  options: Omit<PutCommandInput, 'TableName' | 'Item'> = {},
): Promise<boolean> {
  try {
    await ddb.send(new PutCommand({ TableName: TABLE, Item: item, ...options }));
    return true;
  } catch (error) {
    if (isConditionFailed(error)) return false;
    throw error;
  }
}

/** Put that only succeeds when no item with the same key exists. */
export function putNew(item: Item): Promise<boolean> {
  return putItem(item, { ConditionExpression: 'attribute_not_exists(pk)' });
}

export async function updateItem<T extends Item>(
  pk: string,
  sk: string,
  input: Omit<UpdateCommandInput, 'TableName' | 'Key'>,
): Promise<T | undefined> {
  try {
    const out = await ddb.send(
      new UpdateCommand({ TableName: TABLE, Key: { pk, sk }, ReturnValues: 'ALL_NEW', ...input }),
    );
    return out.Attributes as T;
  } catch (error) {
    if (isConditionFailed(error)) return undefined;
    throw error;
  }
}

export async function deleteItem(
  pk: string,
  sk = 'META',
  options: Omit<DeleteCommandInput, 'TableName' | 'Key'> = {},
): Promise<boolean> {
  try {
    await ddb.send(new DeleteCommand({ TableName: TABLE, Key: { pk, sk }, ...options }));
    return true;
  } catch (error) {
    if (isConditionFailed(error)) return false;
    throw error;
  }
}

export interface QueryPage<T> {
  items: T[];
  /** Position of the last item when more may follow. */
  next?: Record<string, string>;
}

export interface QuerySpec {
  index?: IndexName;
  /** Partition key value (of the table or of the index). */
  partition: string;
  /** Only items whose sort key begins with this. */
  sortPrefix?: string;
  newestFirst?: boolean;
  filter?: Pick<
    QueryCommandInput,
    'FilterExpression' | 'ExpressionAttributeValues' | 'ExpressionAttributeNames'
  >;
}

function keyNames(index?: IndexName): { pk: string; sk: string } {
  return index ? { pk: `${index}pk`, sk: `${index}sk` } : { pk: 'pk', sk: 'sk' };
}

/**
 * One page of a Query. The paging position is stored without the partition value, which is
 * put back from the spec, so a token only ever moves within the list it came from.
 */
export async function queryPage<T extends Item>(
  spec: QuerySpec,
  page: PageRequest,
  /** false when the caller reads on anyway (queryAll): a token may then lead to an empty page. */
  lookAhead = true,
): Promise<QueryPage<T>> {
  const { pk, sk } = keyNames(spec.index);
  const names: Record<string, string> = { '#pk': pk, ...(spec.filter?.ExpressionAttributeNames ?? {}) };
  const values: Record<string, unknown> = {
    ':pk': spec.partition,
    ...(spec.filter?.ExpressionAttributeValues ?? {}),
  };
  let condition = '#pk = :pk';
  if (spec.sortPrefix) {
    names['#sk'] = sk;
    values[':sk'] = spec.sortPrefix;
    condition += ' AND begins_with(#sk, :sk)';
  }
  const allowed = new Set(['pk', 'sk', pk, sk]);
  if (page.after && !Object.keys(page.after).every((key) => allowed.has(key))) {
    throw ValidationError.field('query.token', 'is not a valid paging token');
  }
  const read = (limit: number, from: Record<string, unknown> | undefined): Promise<QueryCommandOutput> =>
    ddb.send(
      new QueryCommand({
        TableName: TABLE,
        ...(spec.index ? { IndexName: spec.index } : { ConsistentRead: true }),
        KeyConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ...(spec.filter?.FilterExpression ? { FilterExpression: spec.filter.FilterExpression } : {}),
        ScanIndexForward: !spec.newestFirst,
        Limit: limit,
        ExclusiveStartKey: from,
      }),
    );
  const items: T[] = [];
  let start: Record<string, unknown> | undefined = page.after
    ? { ...page.after, [pk]: spec.partition }
    : undefined;
  // A filter can leave a DynamoDB page short: keep reading until the page is full or the list ends.
  do {
    const out = await read(page.limit - items.length, start);
    for (const raw of out.Items ?? []) {
      const item = alive(raw as T);
      if (item) items.push(item);
    }
    start = out.LastEvaluatedKey;
  } while (start && items.length < page.limit);
  // A full page may end exactly at the end of the list: look ahead so that the last page
  // carries no token (clients stop on a null token, not on an empty page). A filter or
  // expired items can make a look-ahead read come back empty while more follow.
  let ahead = lookAhead ? start : undefined;
  let more = !lookAhead;
  while (ahead && !more) {
    const out = await read(25, ahead);
    more = (out.Items ?? []).some((raw) => alive(raw as Item));
    ahead = out.LastEvaluatedKey;
  }
  if (!more) start = undefined;
  if (!start) return { items };
  const position: Record<string, string> = {};
  for (const [key, value] of Object.entries(start)) if (key !== pk) position[key] = String(value);
  return { items, next: position };
}

/** Every item of a partition (for small, bounded partitions such as a dataset's versions). */
export async function queryAll<T extends Item>(spec: QuerySpec): Promise<T[]> {
  const all: T[] = [];
  let after: Record<string, string> | undefined;
  do {
    const page = await queryPage<T>(spec, { limit: 500, ...(after ? { after } : {}) }, false);
    all.push(...page.items);
    after = page.next;
  } while (after);
  return all;
}

export function pageRequest(limit: number | undefined, token: string | undefined, max = 1000): PageRequest {
  const after = decodeToken(token);
  return { limit: Math.min(limit ?? 100, max), ...(after ? { after } : {}) };
}
