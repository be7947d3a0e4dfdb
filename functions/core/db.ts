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
import { PayloadTooLargeError, ValidationError } from './errors.ts';
import type { Item } from './item.ts';
import { decodeToken, type PageRequest } from './paging.ts';
import { platform } from './platform/platform.ts';
import { type IndexName, TABLE_KEYS } from './table-schema.ts';

export type { Item };

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

/**
 * DynamoDB refuses key values that are empty or longer than 2048 bytes (partition) or 1024 bytes
 * (sort), as a ValidationException. No item can have such a key, so reads and conditional writes
 * by one (a name or id taken from a request: a node's `database`, a query parameter) find nothing
 * instead of failing.
 */
const MAX_PARTITION_KEY_BYTES = 2048;
const MAX_SORT_KEY_BYTES = 1024;
const usable = (value: string, max: number) => value !== '' && Buffer.byteLength(value, 'utf8') <= max;
const usableKey = (pk: string, sk: string) =>
  usable(pk, MAX_PARTITION_KEY_BYTES) && usable(sk, MAX_SORT_KEY_BYTES);

export async function getItem<T extends Item>(
  pk: string,
  sk = 'META',
  consistent = true,
): Promise<T | undefined> {
  if (!usableKey(pk, sk)) return undefined;
  const out = await platform().stores.ddb.send(
    new GetCommand({ TableName: platform().stores.table, Key: { pk, sk }, ConsistentRead: consistent }),
  );
  return alive(out.Item as T | undefined);
}

/** DynamoDB's item size limit (attribute names and values, UTF-8). */
export const MAX_ITEM_BYTES = 400 * 1024;

/**
 * An upper bound of a value's size as DynamoDB counts it: UTF-8 bytes of strings and of
 * attribute names, at most 21 bytes a number, 1 a boolean or null, and 3 bytes plus 1 per
 * element for lists and maps.
 */
export function itemBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number' || typeof value === 'bigint') return Math.min(21, String(value).length + 1);
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (value instanceof Uint8Array) return value.byteLength;
  if (Array.isArray(value)) return value.reduce((sum: number, v) => sum + 1 + itemBytes(v), 3);
  if (typeof value === 'object') {
    let sum = 3;
    for (const [key, v] of Object.entries(value)) sum += 1 + Buffer.byteLength(key, 'utf8') + itemBytes(v);
    return sum;
  }
  return 0;
}

/**
 * Refuses an item DynamoDB would refuse, naming `field` (the request part it came from) instead
 * of answering with an SDK error: a key value that is empty or too long (400), or an item over
 * the size limit (413). `headroom` keeps bytes free for later updates of the item.
 */
export function checkStorable(item: Item, field: string, headroom = 0): void {
  const keys = [
    [TABLE_KEYS.partitionKey, TABLE_KEYS.sortKey],
    ...TABLE_KEYS.indexes.map((index) => [index.partitionKey, index.sortKey]),
  ];
  for (const [partition, sort] of keys as Array<[string, string]>) {
    const p = item[partition];
    const s = item[sort];
    if (
      (typeof p === 'string' && !usable(p, MAX_PARTITION_KEY_BYTES)) ||
      (typeof s === 'string' && !usable(s, MAX_SORT_KEY_BYTES))
    ) {
      throw ValidationError.field(
        field,
        'holds a name or reference too long (or empty) to be stored as a key',
      );
    }
  }
  const bytes = itemBytes(item);
  const limit = MAX_ITEM_BYTES - headroom;
  if (bytes > limit) {
    throw PayloadTooLargeError.field(
      field,
      `makes a record of about ${bytes} bytes; at most ${limit} can be stored`,
    );
  }
}

/** Put; returns false when the condition failed. */
export async function putItem(
  item: Item,
  options: Omit<PutCommandInput, 'TableName' | 'Item'> = {},
): Promise<boolean> {
  checkStorable(item, 'body');
  try {
    await platform().stores.ddb.send(
      new PutCommand({ TableName: platform().stores.table, Item: item, ...options }),
    );
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
  if (!usableKey(pk, sk)) return undefined;
  try {
    const out = await platform().stores.ddb.send(
      new UpdateCommand({
        TableName: platform().stores.table,
        Key: { pk, sk },
        ReturnValues: 'ALL_NEW',
        ...input,
      }),
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
  if (!usableKey(pk, sk)) return false;
  try {
    await platform().stores.ddb.send(
      new DeleteCommand({ TableName: platform().stores.table, Key: { pk, sk }, ...options }),
    );
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
  if (
    page.after &&
    !Object.entries(page.after).every(([key, value]) => allowed.has(key) && usable(value, MAX_SORT_KEY_BYTES))
  ) {
    throw ValidationError.field('query.token', 'is not a valid paging token');
  }
  if (
    !usable(spec.partition, MAX_PARTITION_KEY_BYTES) ||
    (spec.sortPrefix && !usable(spec.sortPrefix, MAX_SORT_KEY_BYTES))
  ) {
    return { items: [] };
  }
  const read = (limit: number, from: Record<string, unknown> | undefined): Promise<QueryCommandOutput> =>
    platform().stores.ddb.send(
      new QueryCommand({
        TableName: platform().stores.table,
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
