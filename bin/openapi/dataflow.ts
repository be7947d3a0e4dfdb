/** Responses of Data Flow: jobs and their executions, the dashboard, workflows and triggers. */
import * as z from 'zod';
import { nodeSchema, pipelineProblemSchema } from './pipelines.ts';
import {
  dataflowPage,
  int,
  isoTime,
  json,
  noContent,
  nodeId,
  type OperationResponses,
  object,
  ok,
} from './shapes.ts';

const date = () => isoTime().meta({ description: 'ISO 8601 with the deployment zone’s offset' });

const executionStatus = z.enum(['READY', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELED']);
const jobStatus = z.enum(['RUNNABLE', 'RUNNING', 'DELETED', 'UNKNOWN', 'DRAFT', 'STOPPED', 'EDITING']);

const runConditionFields = {
  workerType: z.string().meta({ description: 'DEFAULT or LARGE' }),
  numWorker: int(),
  timeout: int().meta({ description: 'Minutes' }),
  nrn: z.string(),
  scriptPath: z.string().meta({ description: 'The API path of the job’s definition at its version' }),
  logPath: z.string().meta({ description: 'The S3 folder runs write to' }),
};

const jobSummarySchema = object({
  jobId: z.string(),
  resourceId: z.string(),
  disabled: z.boolean(),
  name: z.string(),
  description: z.string(),
  type: z.literal('DATAFLOW'),
  status: jobStatus,
  runCondition: object(runConditionFields),
  createdDate: date(),
  updatedDate: date(),
  lastExecutionStatus: executionStatus.nullable(),
  lastExecutionDate: date().nullable(),
}).meta({ id: 'JobSummary' });

const jobSchema = jobSummarySchema
  .extend({
    nodes: z.array(nodeSchema),
    problems: z
      .array(pipelineProblemSchema)
      .optional()
      .meta({ description: 'Only while the job is a draft' }),
  })
  .meta({ id: 'Job' });

const executionFields = {
  jobExecutionId: z.string(),
  jobId: z.string(),
  jobName: z.string(),
  jobCondition: object({
    ...runConditionFields,
    consoleLogPath: z.string().meta({ description: 'The run as a D.Hub batch' }),
  }),
  status: executionStatus,
  startDate: date().nullable(),
  endDate: date().nullable(),
  createdDate: date(),
  runningTime: int().meta({ description: 'Milliseconds from start to end (or to now while running)' }),
  triggerId: z.string().optional(),
  triggerName: z.string().optional(),
  type: z.enum(['JOB', 'WORKFLOW']),
  workflowExecutionId: z.string().optional(),
  errorMessage: z.string().optional(),
};

const executionSchema = object(executionFields).meta({ id: 'Execution' });

export const jobs = {
  getJobs: ok(dataflowPage(jobSummarySchema), 'Jobs, newest first'),
  createJob: ok(jobSchema, 'The job as saved'),
  verifyJob: ok(
    object({
      name: z.string(),
      valid: z.boolean(),
      problems: z.array(pipelineProblemSchema),
      nodes: z.array(nodeSchema).meta({ description: 'The nodes as they would be saved' }),
    }),
    'Every problem of every node',
  ),
  getJobById: ok(jobSchema),
  updateJob: ok(jobSchema, 'The job as saved'),
  deleteJob: { '204': noContent('The job is deleted') },
  executeJob: ok(executionSchema, 'The run is started'),
  getJobExecutions: ok(dataflowPage(executionSchema), 'Executions, newest first'),
  getJobExecutionById: ok(executionSchema),
  updateJobExecuteConfig: ok(jobSchema, 'The job with its new run settings'),
  getExecutionResult: ok(
    object({ totalCount: int(), completedCount: int(), failedCount: int() }),
    'Runs started in the range, by outcome',
  ),
  getExecutionCount: ok(
    object({ result: z.array(object({ totalCount: int(), startDate: z.string(), endDate: z.string() })) }),
    'Runs started per day of the range',
  ),
  getExecutionTimes: ok(
    object({
      result: z.array(
        object({ time: int().meta({ description: 'The bucket’s start, epoch ms' }), value: int() }),
      ),
    }),
    'Runs started per bucket (2 hours for short ranges, else a day)',
  ),
} satisfies Record<string, OperationResponses>;

const workflowNodeSchema = object({
  id: nodeId(),
  name: z.string(),
  type: z.string().meta({ description: 'JOB or TRIGGER' }),
  parentNodeIds: z.array(nodeId()),
  jobId: z.string().nullable().optional().meta({ description: 'JOB nodes' }),
  jobCondition: object({})
    .optional()
    .meta({ description: 'JOB nodes: the run settings the job’s runs get (the job’s, then the node’s own)' }),
  triggerId: z.string().nullable().optional().meta({ description: 'TRIGGER nodes' }),
  triggerRule: z.enum(['RECURRING', 'ONE_TIME', 'NONE']).optional().meta({ description: 'TRIGGER nodes' }),
  isValid: z.boolean().meta({ description: 'False when the job or trigger it names does not exist' }),
}).meta({ id: 'WorkflowNode' });

const workflowSchema = object({
  workflowId: z.string(),
  resourceId: z.string(),
  name: z.string(),
  description: z.string(),
  isTemp: z.boolean(),
  disabled: z.boolean(),
  nodes: z.array(workflowNodeSchema),
  status: z.enum(['DRAFT', 'RUNNABLE', 'RUNNING']),
  triggerRuleType: z.enum(['RECURRING', 'ONE_TIME', 'NONE']),
  createdDate: date(),
  updatedDate: date(),
  lastExecutionStatus: executionStatus.nullable(),
  lastExecutionDate: date().nullable(),
  problems: z.array(pipelineProblemSchema).optional().meta({ description: 'A draft’s problems' }),
}).meta({ id: 'Workflow' });

const nodeRef = { nodeId: nodeId(), nodeName: z.string() };

const workflowExecutionSchema = object({
  workflowExecutionId: z.string(),
  workflowId: z.string(),
  workflowName: z.string(),
  status: executionStatus,
  startDate: date().nullable(),
  endDate: date().nullable(),
  createdDate: date(),
  runningTime: int(),
  jobExecutions: z.array(object({ ...executionFields, ...nodeRef })),
  triggerId: z.string().optional(),
  triggerName: z.string().optional(),
  errorMessage: z.string().optional(),
}).meta({ id: 'WorkflowExecution' });

const workflowJobExecutionSchema = object({
  ...executionFields,
  workflowExecutionId: z.string(),
  workflowId: z.string(),
  workflowName: z.string(),
  ...nodeRef,
}).meta({ id: 'WorkflowJobExecution' });

export const workflows = {
  getWorkflows: ok(dataflowPage(workflowSchema), 'Workflows, newest first'),
  createWorkflow: ok(workflowSchema, 'The workflow as saved'),
  getWorkflowById: ok(workflowSchema),
  updateWorkflow: ok(workflowSchema, 'The workflow as saved'),
  deleteWorkflow: { '204': noContent('The workflow is deleted') },
  getWorkflowExecutions: {
    '200': json(
      'The job executions of the workflow’s runs, newest first; with `view=runs`, the workflow executions',
      object({
        list: z.array(z.union([workflowJobExecutionSchema, workflowExecutionSchema])),
        count: int(),
        page: int(),
        limit: int(),
      }),
    ),
  },
  executeWorkflow: ok(workflowExecutionSchema, 'The run is started'),
  getWorkflowExecutionById: ok(workflowExecutionSchema),
} satisfies Record<string, OperationResponses>;

const triggerSchema = object({
  triggerId: z.string(),
  name: z.string(),
  description: z.string(),
  type: z.enum(['SCHEDULED', 'EVENT', 'NONE']),
  triggerRule: object({
    type: z.enum(['RECURRING', 'ONE_TIME', 'NONE']),
    interval: z.enum(['HOUR', 'DAY', 'WEEK', 'MONTH']).nullable(),
    time: z.string().nullable(),
    dayOfWeek: z.array(z.string()),
    dateOfMonth: z
      .string()
      .nullable()
      .meta({ description: '"1"–"31", "-1" = the last day; several comma-separated' }),
    executionDate: z.string().nullable(),
  }),
  cron: z.string().nullable().meta({ description: 'Sluice: the cron or rate expression, if given' }),
  timezone: z.string(),
  scheduleExpression: z
    .string()
    .optional()
    .meta({ description: 'Sluice: the EventBridge expression it runs on' }),
  event: z
    .union([
      object({ kind: z.literal('OBJECT_CREATED'), bucket: z.string(), prefix: z.string() }),
      object({
        kind: z.literal('DATASET_UPDATED'),
        datasetId: z.string().optional(),
        database: z.string().optional(),
        table: z.string().optional(),
      }),
      object({ kind: z.literal('RUN_FINISHED'), jobId: z.string(), statuses: z.array(z.string()) }),
    ])
    .optional()
    .meta({ description: 'Sluice: what an EVENT trigger waits for' }),
  target: z
    .union([
      object({ type: z.literal('JOB'), jobId: z.string() }),
      object({ type: z.literal('WORKFLOW'), workflowId: z.string() }),
    ])
    .nullable()
    .meta({ description: 'Sluice: the job or workflow it starts itself, if any' }),
  onBusy: z.enum(['QUEUE', 'SKIP']),
  enabled: z.boolean(),
  createdDate: date(),
  updatedDate: date(),
  lastFiredDate: date().nullable(),
  lastExecutionId: z.string().nullable(),
  nextRunDate: date().nullable(),
}).meta({ id: 'Trigger' });

export const triggers = {
  getTriggers: ok(dataflowPage(triggerSchema)),
  createTrigger: ok(triggerSchema, 'The trigger as saved'),
  getTriggerById: ok(triggerSchema),
  updateTrigger: ok(triggerSchema, 'The trigger, switched on or off (its next run recomputed)'),
  deleteTrigger: { '204': noContent('The trigger is deleted') },
} satisfies Record<string, OperationResponses>;
