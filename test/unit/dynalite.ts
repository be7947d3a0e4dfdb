/**
 * The local DynamoDB stand-in for unit tests that need a real table: dynalite on loopback (a
 * random port) over a temporary directory, with Sluice's table created as the local host
 * creates it. `settings` point the stores at it; stop it when the file ends.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSettings, SETTING, type Settings } from '#core/settings';
import { ensureTable, LOCAL_REGION, startDynamo } from '#local/stores';

export interface TestTable {
  settings: Settings;
  stop(): Promise<void>;
}

export async function startTestTable(env: Record<string, string> = {}): Promise<TestTable> {
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-unit-ddb-'));
  const dynamo = await startDynamo(dataDir, 0);
  const table = 'sluice-unit';
  await ensureTable(dynamo.url, table);
  const settings = parseSettings({
    [SETTING.region]: LOCAL_REGION,
    [SETTING.table]: table,
    [SETTING.dataBucket]: 'sluice-data',
    [SETTING.dynamodbEndpoint]: dynamo.url,
    ...env,
  });
  return {
    settings,
    async stop() {
      await dynamo.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
