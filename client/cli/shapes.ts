/**
 * The answers the CLI reads, as the generated OpenAPI types describe them (`client/schema.d.ts`),
 * named once here so that commands read as the API's nouns.
 */
import type { components, operations } from '../schema';

type Schemas = components['schemas'];
type Responses<O extends keyof operations> = operations[O]['responses'];
type JsonOf<R> = R extends { content: { 'application/json': infer T } } ? T : never;
/** The JSON body of an operation's 200 or 201 answer. */
type Success<O extends keyof operations> = JsonOf<Responses<O>[Extract<keyof Responses<O>, 200 | 201>]>;

export type Collection = Schemas['Collection'];
export type Dataset = Schemas['Dataset'];
export type Pipeline = Schemas['Pipeline'];
export type PipelineDetail = Schemas['PipelineDetail'];
export type Batch = Schemas['Batch'];
export type Step = Batch['state']['steps'][string];
export type Plan = Success<'getPipelineVersionPlan'>;
export type TablePage = Schemas['TablePage'];
export type UploadResult = Success<'uploadTable2'>;
export type UploadStatus = Schemas['Upload'];
export type QueryPage = Success<'getQuery'>;
export type Job = Success<'getJobs'>['list'][number];
export type Workflow = Success<'getWorkflows'>['list'][number];
export type Trigger = Success<'getTriggers'>['list'][number];
export type Me = Schemas['Me'];

/** D.Hub's list convention: each item is a JSON string under its id. */
export interface DhubList {
  items: Record<string, string>;
  token?: string | null;
}

/** The body of a 2xx answer (the client throws for any other status). */
export function answer<T>(result: { data?: T }): T {
  if (result.data === undefined) throw new Error('The API answered without a body.');
  return result.data;
}

/** The items of a D.Hub list, parsed. */
export function itemsOf<T>(list: DhubList): T[] {
  return Object.values(list.items).map((json) => JSON.parse(json) as T);
}
