/** Sluice events on AWS: PutEvents to the configured EventBridge bus. */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { EventSink } from './events.ts';
import { tracer } from './observability.ts';

export function eventBridgeSink(busName: string, region: string): EventSink {
  let client: EventBridgeClient | undefined;
  return async (event) => {
    client ??= tracer.captureAWSv3Client(new EventBridgeClient({ region }));
    const out = await client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: busName,
            Source: event.source,
            DetailType: event['detail-type'],
            Detail: JSON.stringify(event.detail),
          },
        ],
      }),
    );
    if ((out.FailedEntryCount ?? 0) > 0) {
      throw new Error(`PutEvents rejected the event: ${out.Entries?.[0]?.ErrorCode ?? 'unknown'}`);
    }
  };
}
