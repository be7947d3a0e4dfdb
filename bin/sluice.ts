/**
 * CDK app entry (`cdk synth`, `cdk deploy`). Settings come from context (`sluice:*`, see
 * lib/context.ts); the target account and region from the environment, and the stack is
 * environment-agnostic when neither is set. cdk-nag (AwsSolutions and Serverless packs) runs
 * on every synth: an unacknowledged finding fails it.
 */
import { App, Tags } from 'aws-cdk-lib';
import { readSettings } from '#lib/context';
import { addNagChecks } from '#lib/nag';
import { SluiceStack } from '#lib/sluice-stack';

const app = new App();
const { stackName, props } = readSettings(app.node);

const account = process.env.CDK_DEPLOY_ACCOUNT ?? process.env.CDK_DEFAULT_ACCOUNT;
const region = process.env.CDK_DEPLOY_REGION ?? process.env.CDK_DEFAULT_REGION;

new SluiceStack(app, stackName, {
  ...props,
  ...(account || region ? { env: { account, region } } : {}),
});
Tags.of(app).add('app', 'sluice');
addNagChecks(app);
