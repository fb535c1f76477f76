/**
 * The CDK app (cdk.json: `npx tsx infra/app.ts`): one StreamGuard stack from a validated config.
 *
 *   npx cdk synth  -c config=infra/config.example.json
 *   npx cdk deploy -c config=infra/config.prod.json
 *   npx cdk deploy -c mskClusterArn=arn:aws:kafka:... -c vpc='{"vpcId":...}'
 *
 * cdk-nag's AwsSolutions pack runs on every synth: an unacknowledged finding stops it.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadStackConfig, StackConfigError } from './config.ts';
import { StreamGuardStack } from './streamguard-stack.ts';

const app = new App();
try {
  const config = loadStackConfig(app.node.getAllContext());
  new StreamGuardStack(app, config.stackName, {
    config,
    // No env unless configured: an environment-agnostic stack synthesizes without credentials.
    ...(config.env ? { env: config.env } : {}),
    description: 'streamguard: Kafka -> Lambda -> windowed counters in DynamoDB -> risk rules and alerts',
  });
} catch (err) {
  if (err instanceof StackConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
if (app.node.tryGetContext('nag') !== 'false' && app.node.tryGetContext('nag') !== false) {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}
app.synth();
