/**
 * The Athena engine on AWS: the pipelines' own workgroup, what the pipeline state machines' role
 * may do to run stages on Athena itself (queries in that workgroup, the run prefix, run-scoped
 * Glue databases), what the finalizer may do to drop them, and the settings the functions that
 * start runs get.
 */
import { describe, expect, it } from 'vitest';
import {
  actionsOf,
  asArray,
  environmentOf,
  regionalArn,
  resource,
  type Statement,
  statementsOfRole,
  statementsWith,
  synthesizeBeforeAll,
} from './synth.ts';

const synth = synthesizeBeforeAll({ props: { externalBuckets: ['raw-landing-zone'] } });

const statesRole = () => statementsOfRole(synth.template, 'EngineStatesRole');
const glueArn = (rest: string) => regionalArn('glue', rest);

const ATHENA_ACTIONS = [
  'athena:GetQueryExecution',
  'athena:GetQueryResults',
  'athena:GetQueryRuntimeStatistics',
  'athena:StartQueryExecution',
  'athena:StopQueryExecution',
];

/** The last piece of an ARN the template joins, e.g. `/runs/*`. */
const suffixOf = (arn: unknown): unknown =>
  (arn as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join']?.[1].at(-1) ?? arn;

describe('the pipelines workgroup', () => {
  it('keeps results under runs/ of the data bucket, encrypted, Athena engine 3, its settings enforced', () => {
    const [, workgroup] = resource(synth.template, 'AWS::Athena::WorkGroup', 'EngineAthenaWorkGroup');
    const [bucketId] = resource(synth.template, 'AWS::S3::Bucket', 'StorageDataBucket');

    expect(workgroup.Properties).toMatchObject({
      Name: 'SluiceTest-pipelines',
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        PublishCloudWatchMetricsEnabled: true,
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        ResultConfiguration: {
          OutputLocation: { 'Fn::Join': ['', ['s3://', { Ref: bucketId }, '/runs/_athena/']] },
          EncryptionConfiguration: { EncryptionOption: 'SSE_S3' },
        },
      },
    });
  });

  it('is not Data Query’s (whose scan limit and alarms are for users’ queries)', () => {
    const resources = (synth.template.toJSON().Resources ?? {}) as Record<
      string,
      { Type: string; Properties?: { Name?: string } }
    >;
    const names = Object.values(resources)
      .filter((r) => r.Type === 'AWS::Athena::WorkGroup')
      .map((r) => String(r.Properties?.Name));

    expect(names).toHaveLength(2);
    expect(names.filter((n) => n === 'SluiceTest-pipelines')).toHaveLength(1);
  });
});

describe('the state machines role on Athena', () => {
  it('starts, follows and stops queries in the pipelines workgroup only', () => {
    const statements = statesRole().filter((s) => asArray(s.Action).some((a) => a.startsWith('athena:')));

    expect(statements).toHaveLength(1);
    expect(asArray(statements[0]?.Action).sort()).toEqual(ATHENA_ACTIONS);
    expect(statements[0]?.Resource).toEqual({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':athena:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':workgroup/SluiceTest-pipelines',
        ],
      ],
    });
  });

  it('creates, reads and drops only the run-scoped Glue databases and their tables', () => {
    const statements = statesRole().filter(
      (s) => asArray(s.Action).some((a) => a.startsWith('glue:')) && asArray(s.Action).length > 1,
    );

    expect(statements).toHaveLength(1);
    expect(asArray(statements[0]?.Action).sort()).toEqual([
      'glue:CreateDatabase',
      'glue:CreateTable',
      'glue:DeleteDatabase',
      'glue:DeleteTable',
      'glue:GetDatabase',
      'glue:GetPartitions',
      'glue:GetTable',
      'glue:GetTables',
    ]);
    expect(asArray(statements[0]?.Resource)).toEqual([
      glueArn(':catalog'),
      glueArn(':database/sluice_run_*'),
      glueArn(':table/sluice_run_*/*'),
    ]);
  });

  it('looks up the default Glue database (the context of queries without one), read only', () => {
    const lookups = statesRole().filter((s) => JSON.stringify(s.Resource).includes(':database/default'));

    expect(lookups).toEqual([
      expect.objectContaining({ Action: 'glue:GetDatabase', Resource: glueArn(':database/default') }),
    ]);
  });

  it('reads and writes objects of the data bucket under runs/ only (query results included), nothing else', () => {
    const objects = statesRole().filter((s) =>
      asArray(s.Action).some((a) => /^s3:.*(Object|Parts)$/.test(a)),
    );
    const resources = objects.flatMap((s) => asArray(s.Resource)).map(suffixOf);

    expect(objects.length).toBeGreaterThan(0);
    for (const s of objects) {
      expect(asArray(s.Action).sort()).toEqual([
        's3:AbortMultipartUpload',
        's3:GetObject',
        's3:ListMultipartUploadParts',
        's3:PutObject',
      ]);
    }
    expect(resources).toEqual(['/runs/*']);
    expect(JSON.stringify(statesRole())).not.toContain('QueryResultsBucket');
    expect(actionsOf(statesRole())).not.toContain('s3:DeleteObject');
  });

  it('lists the data bucket under runs/ only', () => {
    const [bucketId] = resource(synth.template, 'AWS::S3::Bucket', 'StorageDataBucket');

    expect(statementsWith(statesRole(), 's3:ListBucket')).toEqual([
      expect.objectContaining({
        Resource: { 'Fn::GetAtt': [bucketId, 'Arn'] },
        Condition: { StringLike: { 's3:prefix': ['runs/*'] } },
      }),
    ]);
  });

  it('has no right on the external buckets: the step worker stages S3 sources under runs/', () => {
    const text = JSON.stringify(statesRole().map((s: Statement) => s.Resource));

    expect(text).not.toContain('raw-landing-zone');
    expect(text).not.toContain('/datasets/');
  });
});

describe.each([
  ['the finalizer', 'EngineFinalizerRole'],
  // It settles batches whose end event was lost, and drops their run databases as the finalizer would.
  ['the reconciler', 'EngineReconcilerRole'],
])('%s', (_name, role) => {
  it('drops run-scoped Glue databases and their tables, nothing else of Glue', () => {
    const glue = statementsOfRole(synth.template, role).filter((s) =>
      asArray(s.Action).some((a) => a.startsWith('glue:')),
    );

    expect(glue).toHaveLength(1);
    expect(asArray(glue[0]?.Action).sort()).toEqual([
      'glue:DeleteDatabase',
      'glue:DeleteTable',
      'glue:GetDatabase',
      'glue:GetTables',
    ]);
    expect(asArray(glue[0]?.Resource)).toEqual([
      glueArn(':catalog'),
      glueArn(':database/sluice_run_*'),
      glueArn(':table/sluice_run_*/*'),
    ]);
  });
});

describe('the AUTO threshold', () => {
  const custom = synthesizeBeforeAll({ props: { athenaThresholdBytes: 5_000_000_000 } });

  it('reaches the functions that start runs, 2 GiB unless the stack says otherwise', () => {
    const threshold = (template: typeof synth.template, prefix: string) =>
      environmentOf(resource(template, 'AWS::Lambda::Function', prefix)[1]).SLUICE_ATHENA_THRESHOLD_BYTES;

    expect(threshold(synth.template, 'ApiPipelinesFunction')).toBe('2147483648');
    expect(threshold(synth.template, 'ApiJobsFunction')).toBe('2147483648');
    expect(threshold(custom.template, 'ApiPipelinesFunction')).toBe('5000000000');
    expect(threshold(synth.template, 'EngineStepWorker')).toBeUndefined();
  });
});

describe('functions that compile pipelines', () => {
  it.each(['ApiPipelinesFunction', 'ApiJobsFunction', 'TriggersFire', 'WorkflowsWorkflowStep'])(
    '%s gets the workgroup its Athena stages run in',
    (prefix) => {
      const [workgroupId] = resource(synth.template, 'AWS::Athena::WorkGroup', 'EngineAthenaWorkGroup');
      const [, fn] = resource(synth.template, 'AWS::Lambda::Function', prefix);

      expect(environmentOf(fn).SLUICE_PIPELINE_WORKGROUP).toEqual({ Ref: workgroupId });
    },
  );
});
