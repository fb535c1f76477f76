/**
 * The DynamoDB adapters of the store ports, and the wiring that builds a deployed function's
 * dependencies from its configuration. The domain's own entry is lib/index.ts.
 */
export { createDynamoClient } from './client.ts';
export { DynamoWindowStore, buildWindowUpdate, type DynamoWindowStoreOptions } from './window-store.ts';
export { DynamoDuePageStore, type DynamoDuePageStoreOptions } from './due-page-store.ts';
export { DynamoWatermarkStore, WATERMARK_PK_PREFIX } from './watermark-store.ts';
export { DynamoSideOutputStore, sideOutputKey, type DynamoSideOutputOptions } from './side-output-store.ts';
export { DynamoCloserStore, PIPELINE_WATERMARK_PK, type DynamoCloserStoreOptions } from './closer-store.ts';
export { DynamoAlertStore, type DynamoAlertStoreOptions } from './alert-store.ts';
export { scanWindows } from './scan-windows.ts';
export { DynamoRuleStore, RULE_PK, type DynamoRuleStoreOptions } from '../../rules/dynamodb-rule-store.ts';
export { wireRules, ruleCacheTtlFrom, type RuleWiringOptions } from '../../rules/wire.ts';
export { wireIngest } from '../../ingest/wire.ts';
export { wireCloser } from '../../closer/wire.ts';
