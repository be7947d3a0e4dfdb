import { describe, expect, it } from 'vitest';
import {
  type EventPattern,
  InvalidPatternError,
  matchesPattern,
  validatePattern,
} from '#core/triggers/pattern';

/** What S3 puts on the default bus for a new object (EventBridge notifications enabled). */
const s3ObjectCreated = {
  version: '0',
  id: '17793124-05d4-b198-2fde-7ededc63b103',
  'detail-type': 'Object Created',
  source: 'aws.s3',
  account: '123456789012',
  time: '2024-05-02T09:14:03Z',
  region: 'eu-west-1',
  resources: ['arn:aws:s3:::aitems'],
  detail: {
    version: '0',
    bucket: { name: 'aitems' },
    object: { key: 'dataflow1/2024/05/orders.csv', size: 5120, etag: 'b1946ac92492d2347c6235b4d2611184' },
    'request-id': 'N4N7GDK58NMKJ12R',
    requester: '123456789012',
    'source-ip-address': '10.0.3.17',
    reason: 'PutObject',
  },
};

const datasetVersionPublished = {
  version: '0',
  id: 'b4a1e3c2-0d6f-4a57-9a0e-3f1d2c4b5a69',
  'detail-type': 'Dataset Version Published',
  source: 'sluice.catalog',
  account: '123456789012',
  time: '2024-05-02T09:20:00Z',
  region: 'eu-west-1',
  resources: [],
  detail: {
    datasetId: 'ds-01hx3k9v2m8q4r7t6y5w3z1b0c',
    collectionId: 'col-01hx3k2a9b8c7d6e5f4g3h2j1k',
    version: 4,
    rowCount: 120_000,
    tags: ['orders', 'daily'],
  },
};

const batchFinished = {
  version: '0',
  id: '5c0a9f2e-8b71-4d3c-a6e4-1f2b3c4d5e6f',
  'detail-type': 'Batch Finished',
  source: 'sluice.engine',
  account: '123456789012',
  time: '2024-05-02T09:31:12Z',
  region: 'eu-west-1',
  resources: [],
  detail: {
    batchId: 'batch-01hx3kq0a1b2c3d4e5f6g7h8j9',
    pipelineId: 'pl-01hx3k5s6t7v8w9x0y1z2a3b4c',
    status: 'failed',
    durationMs: 41_250,
    error: null,
  },
};

const s3Pattern = {
  source: ['aws.s3'],
  'detail-type': ['Object Created'],
  detail: { bucket: { name: ['aitems'] }, object: { key: [{ prefix: 'dataflow1/' }] } },
};

/** Small event used by the per-matcher rows. */
const sample = {
  source: 'sluice.test',
  detail: {
    state: 'running',
    name: 'Report-2024.CSV',
    count: 3,
    price: 300,
    ratio: 0.25,
    flag: true,
    empty: '',
    nothing: null,
    ip: '10.0.0.33',
    tags: ['red', 'green'],
    codes: [7, 21],
    none: [],
    nested: { level: 'deep' },
    items: [
      { sku: 'a-1', qty: 2 },
      { sku: 'b-2', qty: 9 },
    ],
  },
};

interface Case {
  name: string;
  pattern: EventPattern;
  event: Record<string, unknown>;
  matches: boolean;
}

const cases: Case[] = [
  // Realistic Sluice events
  {
    name: 'S3 Object Created under the dataflow prefix',
    pattern: s3Pattern,
    event: s3ObjectCreated,
    matches: true,
  },
  {
    name: 'S3 Object Created under another prefix',
    pattern: s3Pattern,
    event: { ...s3ObjectCreated, detail: { ...s3ObjectCreated.detail, object: { key: 'uploads/x.csv' } } },
    matches: false,
  },
  {
    name: 'S3 Object Created in another bucket',
    pattern: s3Pattern,
    event: { ...s3ObjectCreated, detail: { ...s3ObjectCreated.detail, bucket: { name: 'other' } } },
    matches: false,
  },
  {
    name: 'S3 Object Deleted is another detail-type',
    pattern: s3Pattern,
    event: { ...s3ObjectCreated, 'detail-type': 'Object Deleted' },
    matches: false,
  },
  {
    name: 'dataset version published for a watched dataset',
    pattern: {
      source: ['sluice.catalog'],
      detail: { datasetId: ['ds-01hx3k9v2m8q4r7t6y5w3z1b0c', 'ds-01hx3kzzzzzzzzzzzzzzzzzzzz'] },
    },
    event: datasetVersionPublished,
    matches: true,
  },
  {
    name: 'dataset version published for another dataset',
    pattern: { source: ['sluice.catalog'], detail: { datasetId: ['ds-01hx3kzzzzzzzzzzzzzzzzzzzz'] } },
    event: datasetVersionPublished,
    matches: false,
  },
  {
    name: 'dataset event does not match an S3 source',
    pattern: { source: ['aws.s3'], detail: { datasetId: ['ds-01hx3k9v2m8q4r7t6y5w3z1b0c'] } },
    event: datasetVersionPublished,
    matches: false,
  },
  {
    name: 'batch finished with a terminal status in the filter',
    pattern: { source: ['sluice.engine'], detail: { status: ['completed', 'failed'] } },
    event: batchFinished,
    matches: true,
  },
  {
    name: 'batch finished with a status outside the filter',
    pattern: { source: ['sluice.engine'], detail: { status: ['completed'] } },
    event: batchFinished,
    matches: false,
  },

  // Exact values
  { name: 'exact string', pattern: { detail: { state: ['running'] } }, event: sample, matches: true },
  {
    name: 'exact string is case-sensitive',
    pattern: { detail: { state: ['Running'] } },
    event: sample,
    matches: false,
  },
  { name: 'exact number', pattern: { detail: { count: [3] } }, event: sample, matches: true },
  {
    name: 'number compares numerically (3.0e2 = 300)',
    pattern: { detail: { price: [3.0e2] } },
    event: sample,
    matches: true,
  },
  {
    name: 'number does not match its string form',
    pattern: { detail: { count: ['3'] } },
    event: sample,
    matches: false,
  },
  { name: 'exact boolean', pattern: { detail: { flag: [true] } }, event: sample, matches: true },
  { name: 'exact null', pattern: { detail: { nothing: [null] } }, event: sample, matches: true },
  {
    name: 'null is not the empty string',
    pattern: { detail: { nothing: [''] } },
    event: sample,
    matches: false,
  },
  { name: 'empty string', pattern: { detail: { empty: [''] } }, event: sample, matches: true },
  {
    name: 'absent field fails an exact value',
    pattern: { detail: { missing: ['x'] } },
    event: sample,
    matches: false,
  },
  {
    name: 'absent field is not null',
    pattern: { detail: { missing: [null] } },
    event: sample,
    matches: false,
  },
  {
    name: 'absent intermediate object fails',
    pattern: { other: { state: ['running'] } },
    event: sample,
    matches: false,
  },

  // Arrays in events
  {
    name: 'event array: any element matches',
    pattern: { detail: { tags: ['green', 'blue'] } },
    event: sample,
    matches: true,
  },
  {
    name: 'event array: no element matches',
    pattern: { detail: { tags: ['blue'] } },
    event: sample,
    matches: false,
  },
  {
    name: 'event array of numbers',
    pattern: { detail: { codes: [{ numeric: ['>', 20] }] } },
    event: sample,
    matches: true,
  },
  {
    name: 'empty event array matches no value',
    pattern: { detail: { none: [null] } },
    event: sample,
    matches: false,
  },
  {
    name: 'array of objects: fields match within one element',
    pattern: { detail: { items: { sku: ['b-2'], qty: [{ numeric: ['>', 5] }] } } },
    event: sample,
    matches: true,
  },
  {
    name: 'array of objects: fields are not combined across elements',
    pattern: { detail: { items: { sku: ['a-1'], qty: [{ numeric: ['>', 5] }] } } },
    event: sample,
    matches: false,
  },
  {
    name: 'resources array (S3 bucket ARN)',
    pattern: { resources: [{ suffix: ':::aitems' }] },
    event: s3ObjectCreated,
    matches: true,
  },

  // prefix / suffix
  { name: 'prefix', pattern: { detail: { name: [{ prefix: 'Report-' }] } }, event: sample, matches: true },
  {
    name: 'prefix is case-sensitive',
    pattern: { detail: { name: [{ prefix: 'report-' }] } },
    event: sample,
    matches: false,
  },
  {
    name: 'prefix with equals-ignore-case',
    pattern: { detail: { name: [{ prefix: { 'equals-ignore-case': 'REPORT-' } }] } },
    event: sample,
    matches: true,
  },
  {
    name: 'prefix does not match a number',
    pattern: { detail: { count: [{ prefix: '3' }] } },
    event: sample,
    matches: false,
  },
  { name: 'suffix', pattern: { detail: { name: [{ suffix: '.CSV' }] } }, event: sample, matches: true },
  {
    name: 'suffix is case-sensitive',
    pattern: { detail: { name: [{ suffix: '.csv' }] } },
    event: sample,
    matches: false,
  },
  {
    name: 'suffix with equals-ignore-case',
    pattern: { detail: { name: [{ suffix: { 'equals-ignore-case': '.csv' } }] } },
    event: sample,
    matches: true,
  },
  {
    name: 'suffix with equals-ignore-case, wrong ending',
    pattern: { detail: { name: [{ suffix: { 'equals-ignore-case': '.json' } }] } },
    event: sample,
    matches: false,
  },

  // equals-ignore-case
  {
    name: 'equals-ignore-case',
    pattern: { detail: { state: [{ 'equals-ignore-case': 'RUNNING' }] } },
    event: sample,
    matches: true,
  },
  {
    name: 'equals-ignore-case is still a whole-value match',
    pattern: { detail: { state: [{ 'equals-ignore-case': 'RUN' }] } },
    event: sample,
    matches: false,
  },

  // anything-but
  {
    name: 'anything-but string',
    pattern: { detail: { state: [{ 'anything-but': 'stopped' }] } },
    event: sample,
    matches: true,
  },
  {
    name: 'anything-but string, excluded value',
    pattern: { detail: { state: [{ 'anything-but': 'running' }] } },
    event: sample,
    matches: false,
  },
  {
    name: 'anything-but list, value not listed',
    pattern: { detail: { state: [{ 'anything-but': ['stopped', 'pending'] }] } },
    event: sample,
    matches: true,
  },
  {
    name: 'anything-but list, value listed',
    pattern: { detail: { state: [{ 'anything-but': ['stopped', 'running'] }] } },
    event: sample,
    matches: false,
  },
  {
    name: 'anything-but numbers',
    pattern: { detail: { count: [{ 'anything-but': [1, 2, 3] }] } },
    event: sample,
    matches: false,
  },
  {
    name: 'anything-but prefix, other prefix',
    pattern: { detail: { state: [{ 'anything-but': { prefix: 'stop' } }] } },
    event: sample,
    matches: true,
  },
  {
    name: 'anything-but prefix, excluded prefix',
    pattern: { detail: { state: [{ 'anything-but': { prefix: 'run' } }] } },
    event: sample,
    matches: false,
  },
  {
    name: 'anything-but suffix, excluded suffix',
    pattern: { detail: { name: [{ 'anything-but': { suffix: '.CSV' } }] } },
    event: sample,
    matches: false,
  },
  {
    name: 'anything-but equals-ignore-case',
    pattern: { detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['RUNNING'] } }] } },
    event: sample,
    matches: false,
  },
  {
    name: 'anything-but does not match an absent field',
    pattern: { detail: { missing: [{ 'anything-but': 'x' }] } },
    event: sample,
    matches: false,
  },
  {
    name: 'anything-but or exists:false accepts an absent field',
    pattern: { detail: { missing: [{ 'anything-but': 'x' }, { exists: false }] } },
    event: sample,
    matches: true,
  },
  {
    name: 'anything-but matches a null value',
    pattern: { detail: { nothing: [{ 'anything-but': 'x' }] } },
    event: sample,
    matches: true,
  },
  {
    name: 'anything-but on an array: some element is not excluded',
    pattern: { detail: { tags: [{ 'anything-but': 'red' }] } },
    event: sample,
    matches: true,
  },

  // numeric
  {
    name: 'numeric range inside',
    pattern: { detail: { count: [{ numeric: ['>', 0, '<=', 5] }] } },
    event: sample,
    matches: true,
  },
  {
    name: 'numeric range upper bound',
    pattern: { detail: { count: [{ numeric: ['>', 0, '<', 3] }] } },
    event: sample,
    matches: false,
  },
  {
    name: 'numeric inclusive bound',
    pattern: { detail: { count: [{ numeric: ['>=', 3] }] } },
    event: sample,
    matches: true,
  },
  {
    name: 'numeric equals',
    pattern: { detail: { price: [{ numeric: ['=', 3.0e2] }] } },
    event: sample,
    matches: true,
  },
  {
    name: 'numeric bounds reversed in order',
    pattern: { detail: { ratio: [{ numeric: ['<', 1, '>', 0] }] } },
    event: sample,
    matches: true,
  },
  {
    name: 'numeric does not match a string',
    pattern: { detail: { state: [{ numeric: ['>', 0] }] } },
    event: sample,
    matches: false,
  },
  {
    name: 'numeric on S3 object size',
    pattern: { source: ['aws.s3'], detail: { object: { size: [{ numeric: ['>', 0, '<=', 10_485_760] }] } } },
    event: s3ObjectCreated,
    matches: true,
  },

  // exists
  {
    name: 'exists:true, present',
    pattern: { detail: { state: [{ exists: true }] } },
    event: sample,
    matches: true,
  },
  {
    name: 'exists:true, absent',
    pattern: { detail: { missing: [{ exists: true }] } },
    event: sample,
    matches: false,
  },
  {
    name: 'exists:true, null is present',
    pattern: { detail: { nothing: [{ exists: true }] } },
    event: sample,
    matches: true,
  },
  {
    name: 'exists:false, absent',
    pattern: { detail: { missing: [{ exists: false }] } },
    event: sample,
    matches: true,
  },
  {
    name: 'exists:false, present',
    pattern: { detail: { state: [{ exists: false }] } },
    event: sample,
    matches: false,
  },
  {
    name: 'exists:false, absent under a missing parent',
    pattern: { other: { thing: [{ exists: false }] } },
    event: sample,
    matches: true,
  },
  {
    name: 'exists works on leaves only: an object is not a present leaf',
    pattern: { detail: { nested: [{ exists: true }] } },
    event: sample,
    matches: false,
  },
  {
    name: 'exists:false on an empty array',
    pattern: { detail: { none: [{ exists: false }] } },
    event: sample,
    matches: true,
  },
  {
    name: 'batch without an error field',
    pattern: { detail: { status: ['completed'], error: [{ exists: false }] } },
    event: { ...batchFinished, detail: { batchId: batchFinished.detail.batchId, status: 'completed' } },
    matches: true,
  },

  // wildcard
  {
    name: 'wildcard',
    pattern: { detail: { name: [{ wildcard: 'Report-*.CSV' }] } },
    event: sample,
    matches: true,
  },
  {
    name: 'wildcard, no match',
    pattern: { detail: { name: [{ wildcard: 'Report-*.json' }] } },
    event: sample,
    matches: false,
  },
  {
    name: 'wildcard with several stars',
    pattern: { detail: { name: [{ wildcard: '*-20*.*' }] } },
    event: sample,
    matches: true,
  },
  {
    name: 'wildcard without a star is exact',
    pattern: { detail: { state: [{ wildcard: 'runnin' }] } },
    event: sample,
    matches: false,
  },
  {
    name: 'wildcard pieces may not overlap',
    pattern: { detail: { state: [{ wildcard: 'runn*ning' }] } },
    event: { detail: { state: 'running' } },
    matches: false,
  },
  {
    name: 'wildcard escaped star is literal',
    pattern: { detail: { state: [{ wildcard: 'a\\*b' }] } },
    event: { detail: { state: 'a*b' } },
    matches: true,
  },
  {
    name: 'wildcard escaped star does not glob',
    pattern: { detail: { state: [{ wildcard: 'a\\*b' }] } },
    event: { detail: { state: 'axxb' } },
    matches: false,
  },
  {
    name: 'wildcard on an S3 key',
    pattern: { detail: { object: { key: [{ wildcard: 'dataflow1/*/orders.csv' }] } } },
    event: s3ObjectCreated,
    matches: true,
  },

  // cidr
  {
    name: 'cidr inside',
    pattern: { detail: { ip: [{ cidr: '10.0.0.0/24' }] } },
    event: sample,
    matches: true,
  },
  {
    name: 'cidr outside',
    pattern: { detail: { ip: [{ cidr: '10.0.1.0/24' }] } },
    event: sample,
    matches: false,
  },
  {
    name: 'cidr /0 matches any address',
    pattern: { detail: { ip: [{ cidr: '0.0.0.0/0' }] } },
    event: sample,
    matches: true,
  },
  {
    name: 'cidr /32 is one address',
    pattern: { detail: { ip: [{ cidr: '10.0.0.33/32' }] } },
    event: sample,
    matches: true,
  },
  {
    name: 'cidr on a non-address string',
    pattern: { detail: { state: [{ cidr: '10.0.0.0/8' }] } },
    event: sample,
    matches: false,
  },
  {
    name: 'cidr on the S3 source IP',
    pattern: { detail: { 'source-ip-address': [{ cidr: '10.0.0.0/16' }] } },
    event: s3ObjectCreated,
    matches: true,
  },

  // $or
  {
    name: '$or: second alternative matches',
    pattern: {
      source: ['sluice.test'],
      $or: [{ detail: { state: ['stopped'] } }, { detail: { count: [3] } }],
    },
    event: sample,
    matches: true,
  },
  {
    name: '$or: no alternative matches',
    pattern: { $or: [{ detail: { state: ['stopped'] } }, { detail: { count: [4] } }] },
    event: sample,
    matches: false,
  },
  {
    name: '$or: the rest of the object still has to match',
    pattern: { source: ['aws.s3'], $or: [{ detail: { state: ['running'] } }, { detail: { count: [3] } }] },
    event: sample,
    matches: false,
  },
  {
    name: '$or inside a nested object',
    pattern: { detail: { $or: [{ state: ['stopped'] }, { name: [{ suffix: '.CSV' }] }] } },
    event: sample,
    matches: true,
  },
  {
    name: 'nested $or inside an $or alternative',
    pattern: {
      $or: [
        { source: ['aws.s3'] },
        { source: ['sluice.test'], detail: { $or: [{ count: [{ numeric: ['>', 10] }] }, { flag: [true] }] } },
      ],
    },
    event: sample,
    matches: true,
  },
  {
    name: 'nested $or inside an $or alternative, inner fails',
    pattern: {
      $or: [
        { source: ['aws.s3'] },
        {
          source: ['sluice.test'],
          detail: { $or: [{ count: [{ numeric: ['>', 10] }] }, { flag: [false] }] },
        },
      ],
    },
    event: sample,
    matches: false,
  },
  {
    name: '$or across Sluice sources',
    pattern: {
      $or: [
        { source: ['sluice.catalog'], detail: { datasetId: [{ prefix: 'ds-' }] } },
        { source: ['sluice.engine'], detail: { status: ['failed'] } },
      ],
    },
    event: batchFinished,
    matches: true,
  },
];

describe('matchesPattern', () => {
  it.each(cases)('$name', ({ pattern, event, matches }) => {
    expect(matchesPattern(pattern, event)).toBe(matches);
  });

  it('has a table of at least 40 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });
});

interface InvalidCase {
  name: string;
  pattern: unknown;
  /** The path the error message must name. */
  path: string;
}

const invalid: InvalidCase[] = [
  { name: 'leaf is a string, not an array', pattern: { source: 'aws.s3' }, path: 'source' },
  { name: 'leaf is a number, not an array', pattern: { detail: { count: 3 } }, path: 'detail.count' },
  { name: 'leaf array is empty', pattern: { source: [] }, path: 'source' },
  { name: 'empty pattern', pattern: {}, path: 'the top level' },
  { name: 'nested array in a leaf', pattern: { detail: { tags: [['a']] } }, path: 'detail.tags[0]' },
  {
    name: 'unknown operator',
    pattern: { detail: { state: [{ contains: 'run' }] } },
    path: 'detail.state[0].contains',
  },
  {
    name: 'matcher with two operators',
    pattern: { detail: { state: [{ prefix: 'a', suffix: 'b' }] } },
    path: 'detail.state[0]',
  },
  {
    name: 'numeric with a bad operator',
    pattern: { detail: { count: [{ numeric: ['!=', 3] }] } },
    path: 'detail.count[0].numeric[0]',
  },
  {
    name: 'numeric with a string bound',
    pattern: { detail: { count: [{ numeric: ['>', '3'] }] } },
    path: 'detail.count[0].numeric[1]',
  },
  {
    name: 'numeric with two lower bounds',
    pattern: { detail: { count: [{ numeric: ['>', 0, '>=', 1] }] } },
    path: 'detail.count[0].numeric',
  },
  {
    name: 'numeric with three items',
    pattern: { detail: { count: [{ numeric: ['>', 0, '<'] }] } },
    path: 'detail.count[0].numeric',
  },
  {
    name: 'exists with a string',
    pattern: { detail: { state: [{ exists: 'yes' }] } },
    path: 'detail.state[0].exists',
  },
  {
    name: 'prefix with a number',
    pattern: { detail: { state: [{ prefix: 1 }] } },
    path: 'detail.state[0].prefix',
  },
  {
    name: 'equals-ignore-case with a list',
    pattern: { detail: { state: [{ 'equals-ignore-case': ['a'] }] } },
    path: 'detail.state[0].equals-ignore-case',
  },
  {
    name: 'anything-but with a mixed list',
    pattern: { detail: { state: [{ 'anything-but': ['a', 1] }] } },
    path: 'detail.state[0].anything-but',
  },
  {
    name: 'anything-but with an empty prefix',
    pattern: { detail: { state: [{ 'anything-but': { prefix: '' } }] } },
    path: 'detail.state[0].anything-but.prefix',
  },
  {
    name: 'anything-but with an unknown operator',
    pattern: { detail: { state: [{ 'anything-but': { numeric: ['>', 1] } }] } },
    path: 'detail.state[0].anything-but.numeric',
  },
  {
    name: 'wildcard with consecutive stars',
    pattern: { detail: { name: [{ wildcard: 'a**b' }] } },
    path: 'detail.name[0].wildcard',
  },
  {
    name: 'wildcard with a stray backslash',
    pattern: { detail: { name: [{ wildcard: 'a\\b' }] } },
    path: 'detail.name[0].wildcard',
  },
  {
    name: 'cidr without a mask',
    pattern: { detail: { ip: [{ cidr: '10.0.0.1' }] } },
    path: 'detail.ip[0].cidr',
  },
  {
    name: 'cidr with a bad octet',
    pattern: { detail: { ip: [{ cidr: '10.0.0.256/24' }] } },
    path: 'detail.ip[0].cidr',
  },
  {
    name: 'cidr with a mask over 32',
    pattern: { detail: { ip: [{ cidr: '10.0.0.0/33' }] } },
    path: 'detail.ip[0].cidr',
  },
  { name: '$or is not an array', pattern: { $or: { source: ['a'] } }, path: '$or' },
  { name: '$or with one alternative', pattern: { $or: [{ source: ['a'] }] }, path: '$or' },
  {
    name: '$or alternative with a bad leaf',
    pattern: { detail: { $or: [{ state: ['a'] }, { state: 'b' }] } },
    path: 'detail.$or[1].state',
  },
];

describe('validatePattern', () => {
  it.each(invalid)('rejects: $name', ({ pattern, path }) => {
    let caught: unknown;
    try {
      validatePattern(pattern as EventPattern);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidPatternError);
    expect((caught as InvalidPatternError).message).toContain(path);
  });

  it('matchesPattern throws on a malformed pattern instead of never matching', () => {
    expect(() => matchesPattern({ source: 'aws.s3' }, s3ObjectCreated)).toThrow(InvalidPatternError);
  });

  it.each([
    ['the S3 trigger', s3Pattern],
    [
      'every matcher at once',
      {
        detail: {
          a: ['x', 1, true, null],
          b: [{ prefix: 'x' }, { suffix: { 'equals-ignore-case': 'Y' } }, { 'equals-ignore-case': 'z' }],
          c: [{ 'anything-but': { wildcard: ['*.tmp', '*.bak'] } }, { numeric: ['>=', 0, '<', 1] }],
          d: [{ exists: false }, { wildcard: 'a*b\\*' }, { cidr: '192.168.0.0/16' }],
        },
      },
    ],
  ])('accepts %s', (_name, pattern) => {
    expect(() => validatePattern(pattern as EventPattern)).not.toThrow();
  });
});
