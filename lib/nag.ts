/**
 * cdk-nag 3 wiring. Packs run as CDK validation plugins (`Validations.of(app).addPlugins`):
 * a finding that is not acknowledged fails `cdk synth`. Findings are acknowledged on the
 * narrowest construct with `Validations.of(construct).acknowledge({ id, reason })`.
 */
import { type App, Stack, Validations } from 'aws-cdk-lib';
import { type IRole, PolicyStatement, type Role } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';

/** The rule packs Sluice is held to. */
export function nagPacks(app?: App) {
  return [new AwsSolutionsChecks(app), new ServerlessChecks(app)];
}

export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(...nagPacks(app));
}

/**
 * Renders a resolved CloudFormation value the way cdk-nag names it inside a finding id,
 * e.g. `{ 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Bucket', 'Arn'] }, '/datasets/*']] }` becomes
 * `<Bucket.Arn>/datasets/*`, so a finding such as `AwsSolutions-IAM5[Resource::...]` can be
 * acknowledged exactly, not by a broader id.
 */
export function cfnReferenceText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const node = value as Record<string, unknown>;
    if (Array.isArray(node['Fn::Join'])) {
      const [delimiter, items] = node['Fn::Join'] as [string, unknown[]];
      return items.map(cfnReferenceText).join(delimiter);
    }
    if (node['Fn::Sub'] !== undefined) return cfnReferenceText(node['Fn::Sub']);
    if (Array.isArray(node['Fn::GetAtt'])) {
      const [resource, attribute] = node['Fn::GetAtt'] as [unknown, unknown];
      return `<${cfnReferenceText(resource)}.${cfnReferenceText(attribute)}>`;
    }
    if (node['Fn::ImportValue'] !== undefined) return cfnReferenceText(node['Fn::ImportValue']);
    if (node.Ref !== undefined) return `<${cfnReferenceText(node.Ref)}>`;
  }
  return JSON.stringify(value);
}

/** Acknowledges AwsSolutions-IAM5 for exactly one wildcard resource of a role. */
export function acknowledgeWildcard(role: IRole, resource: string, reason: string): void {
  Validations.of(role).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${cfnReferenceText(Stack.of(role).resolve(resource))}]`,
    reason,
  });
}

/**
 * What a state machine's role needs to write its execution history to CloudWatch Logs (the
 * vended-log delivery actions) and its traces to X-Ray. Neither set supports resource-level
 * permissions, so these are the role's only statements on "*", acknowledged here once.
 */
export function grantExecutionLogsAndTraces(role: Role): void {
  role.addToPrincipalPolicy(
    new PolicyStatement({
      actions: [
        'logs:CreateLogDelivery',
        'logs:GetLogDelivery',
        'logs:UpdateLogDelivery',
        'logs:DeleteLogDelivery',
        'logs:ListLogDeliveries',
        'logs:PutResourcePolicy',
        'logs:DescribeResourcePolicies',
        'logs:DescribeLogGroups',
      ],
      resources: ['*'],
    }),
  );
  role.addToPrincipalPolicy(
    new PolicyStatement({
      actions: [
        'xray:PutTraceSegments',
        'xray:PutTelemetryRecords',
        'xray:GetSamplingRules',
        'xray:GetSamplingTargets',
      ],
      resources: ['*'],
    }),
  );
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'Only two statements use "*", because their actions support no resource-level permissions: the ' +
      'CloudWatch Logs vended-log delivery actions that Step Functions needs to write execution history ' +
      '(logs:*LogDelivery*, PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups), and the ' +
      'X-Ray actions for execution tracing (checked by test/infra).',
  });
}
