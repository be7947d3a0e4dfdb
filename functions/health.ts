/** `GET /health`: answers without credentials and reports each store the API depends on. */
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { type AreaOperations, areaHandler, operation, reply } from '#core/http';
import { awsStores } from '#core/platform/aws/stores';
import { onAws } from '#core/platform/lambda';
import { platform } from '#core/platform/platform';

interface ComponentStatus {
  status: 'ok' | 'error';
  latency_ms: number;
  error?: string;
}

async function probe(check: () => Promise<unknown>): Promise<ComponentStatus> {
  const started = performance.now();
  try {
    await check();
    return { status: 'ok', latency_ms: Math.round(performance.now() - started) };
  } catch (error) {
    // Name the failure class only: SDK messages can carry resource names.
    const name = (error as { name?: string }).name ?? 'Error';
    return { status: 'error', latency_ms: Math.round(performance.now() - started), error: name };
  }
}

/** The operations of the health routes (the OpenAPI document reads their schemas). */
export const operations = {
  health: operation({
    async run() {
      const [dynamodb, storage] = await Promise.all([
        probe(() =>
          platform().stores.ddb.send(
            new GetCommand({ TableName: platform().stores.table, Key: { pk: 'HEALTH', sk: 'META' } }),
          ),
        ),
        probe(() =>
          platform().stores.s3.send(new HeadBucketCommand({ Bucket: platform().stores.dataBucket })),
        ),
      ]);
      const components = { api: { status: 'ok' as const }, dynamodb, s3: storage };
      const ok = dynamodb.status === 'ok' && storage.status === 'ok';
      return reply(ok ? 200 : 503, {
        status: ok ? 'ok' : 'degraded',
        components,
        time: new Date().toISOString(),
      });
    },
  }),
} satisfies AreaOperations<'health'>;

export const handler = onAws({ stores: awsStores }, areaHandler('health', operations));
