/**
 * The run-scoped Glue database of a batch with stages on Athena: its name, and how the Step
 * Functions engine drops it when the batch ends (Glue mocked).
 */
import { DeleteDatabaseCommand, EntityNotFoundException, GlueClient } from '@aws-sdk/client-glue';
import { SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { RUN_DATABASE_PREFIX } from '#core/engine/contract';
import { createSfnEngine } from '#core/engine/sfn';
import { runDatabaseOf } from '#core/pipelines/athena-program';
import { dropGlueDatabase } from '#core/platform/aws/run-databases';

const glue = mockClient(GlueClient);
const config = {
  stateMachinePrefix: 'sluice-dev-',
  stateMachineArnBase: 'arn:aws:states:ap-northeast-2:123456789012:stateMachine:',
  roleArn: 'arn:aws:iam::123456789012:role/sluice-states',
  logGroupArn: 'arn:aws:logs:ap-northeast-2:123456789012:log-group:/sluice/states:*',
};
const engine = (withGlue = true) =>
  createSfnEngine(
    new SFNClient({ region: 'ap-northeast-2' }),
    config,
    withGlue ? dropGlueDatabase(new GlueClient({ region: 'ap-northeast-2' })) : undefined,
  );

beforeEach(() => {
  glue.reset();
});

describe('a run database', () => {
  it('is named after its batch in Glue’s lower-case letters, digits and underscores', () => {
    expect(runDatabaseOf('batch-01JABCXYZ', RUN_DATABASE_PREFIX)).toBe('sluice_run_batch_01jabcxyz');
  });

  it('is dropped through Glue when the batch ends', async () => {
    glue.on(DeleteDatabaseCommand).resolves({});

    await engine().dropRunDatabase?.('sluice_run_batch_01');

    expect(glue.commandCalls(DeleteDatabaseCommand).map((c) => c.args[0].input)).toEqual([
      { Name: 'sluice_run_batch_01' },
    ]);
  });

  it('is no error to drop once it is gone', async () => {
    glue.on(DeleteDatabaseCommand).rejects(new EntityNotFoundException({ message: 'gone', $metadata: {} }));

    await expect(engine().dropRunDatabase?.('sluice_run_batch_01')).resolves.toBeUndefined();
  });

  it('is the only kind of database the engine drops', async () => {
    await expect(engine().dropRunDatabase?.('sluice_prod_col_1')).rejects.toThrow(/Not a run database/);
    expect(glue.commandCalls(DeleteDatabaseCommand)).toHaveLength(0);
  });

  it('cannot be dropped by an engine built without Glue', async () => {
    await expect(engine(false).dropRunDatabase?.('sluice_run_batch_01')).rejects.toThrow(
      /without a Glue client/,
    );
  });
});
