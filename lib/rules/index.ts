/** Rules as data: the domain side (no AWS SDK); the DynamoDB store is in lib/store/dynamodb/index.ts. */
export {
  compileCondition,
  parseExpression,
  featureSchemaOf,
  ExpressionError,
  EXPRESSION_LIMITS,
  type CompiledCondition,
  type Expr,
  type FeatureKind,
  type FeatureSchema,
  type PipelineLike,
} from './expression.ts';
export { validateRule, ruleSchema, isAlerting, RuleValidationError, LEVELS, type Rule, type RuleInput, type AlertingRule, type Level, type RuleProblem } from './rule.ts';
export { defaultRules, seedDefaults, resultPipelinesOf, type SeedResult } from './defaults.ts';
export { evaluateRules, type Evaluation } from './evaluate.ts';
export { InMemoryRuleStore, type RuleStore } from './rule-store.ts';
export { RuleCache, effectiveRules, DEFAULT_RULE_TTL_MS, type RuleCacheOptions } from './rule-cache.ts';
