/**
 * Triggers area: Data Flow's getTriggers, getTriggerById, createTrigger and deleteTrigger, and
 * updateTrigger (switching one on or off). Answers as the jobs and workflows areas do: 200 with
 * the trigger, 204 on delete.
 */
import * as z from 'zod';
import { pageQuerySchema } from '#core/dataflow/views';
import { type AreaOperations, areaHandler, operation, reply } from '#core/http';
import { awsStores } from '#core/platform/aws/stores';
import { eventBridgeTriggers } from '#core/platform/aws/triggers';
import { onAws } from '#core/platform/lambda';
import { createTriggerSchema, listTriggersQuerySchema, updateTriggerSchema } from '#core/triggers/schemas';
import {
  createTrigger,
  deleteTrigger,
  getTrigger,
  listTriggers,
  updateTrigger,
} from '#core/triggers/triggers';

const triggerParams = z.object({ trigger_id: z.string().max(64) });

/** The operations of the triggers routes (the OpenAPI document reads their schemas). */
export const operations = {
  getTriggers: operation({
    query: pageQuerySchema.extend(listTriggersQuerySchema.shape),
    run: ({ query }) => listTriggers(query, query),
  }),
  createTrigger: operation({
    body: createTriggerSchema,
    run: ({ body, principal }) => createTrigger(body, principal),
  }),
  getTriggerById: operation({
    params: triggerParams,
    run: ({ params }) => getTrigger(params.trigger_id),
  }),
  updateTrigger: operation({
    params: triggerParams,
    body: updateTriggerSchema,
    run: ({ params, body }) => updateTrigger(params.trigger_id, body),
  }),
  deleteTrigger: operation({
    params: triggerParams,
    async run({ params }) {
      await deleteTrigger(params.trigger_id);
      return reply(204, undefined);
    },
  }),
} satisfies AreaOperations<'triggers'>;

export const handler = onAws(
  { stores: awsStores, triggers: eventBridgeTriggers },
  areaHandler('triggers', operations),
);
