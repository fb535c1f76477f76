/**
 * RuleStore on the DynamoDB state table: one item per rule under pk "rule", sk the rule id.
 * The definition is kept as JSON in `body` (new optional fields need no storage change);
 * `pipeline`, `version` and `updatedAt` sit beside it so the console shows what matters, and
 * `version` is raised with ADD so concurrent writers never hand out the same version twice.
 */
import { silentLog, type Log } from '../log.ts';
import {
  DeleteItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { isTransient, TransientStoreError } from '../store/errors.ts';
import type { PipelineLike } from './expression.ts';
import { RuleValidationError, validateRule, type Rule, type RuleInput } from './rule.ts';
import type { RuleStore, StoredRules } from './rule-store.ts';
import { isSequenceInput, type SequenceValidator } from '../sequences/kind.ts';
import type { SequenceRule, SequenceRuleInput } from '../sequences/rule.ts';

export const RULE_PK = 'rule';

export interface DynamoRuleStoreOptions {
  /** The state table (lib/store/tables.ts, stateTable). */
  tableName: string;
  /** Pipelines rules may target; rules are validated against them on write and on read. */
  pipelines: readonly PipelineLike[];
  /**
   * Called for a stored rule that no longer validates (e.g. its pipeline or feature was removed
   * from the code since); the rule is left out of `list()`. Defaults to a warning on stderr.
   */
  /** Told about each stored rule that no longer validates (it is skipped); default: a warning on `log`. */
  onInvalid?: (id: string, error: RuleValidationError | SyntaxError) => void;
  log?: Log;
  /**
   * Validates sequence rules (lib/sequences/rule.ts validateSequenceRule). Absent (the closer,
   * which keeps the CEL engine out of its bundle): stored sequence rules are not listed and
   * putSequence refuses.
   */
  validateSequence?: SequenceValidator;
}

function wrap(what: string, err: unknown): never {
  if (isTransient(err)) throw new TransientStoreError(`rules: ${what}: ${(err as Error).name}`, { cause: err });
  throw err;
}

/** The definition without the fields the store owns (and, for sequences, what is computed). */
function bodyOf(rule: Rule | SequenceRule): string {
  if ('kind' in rule) {
    const { version: _v, updatedAt: _u, withinMs: _w, ...definition } = rule;
    return JSON.stringify(definition);
  }
  const { version: _version, updatedAt: _updatedAt, ...definition } = rule;
  return JSON.stringify(definition);
}

export class DynamoRuleStore implements RuleStore {
  private readonly onInvalid: NonNullable<DynamoRuleStoreOptions['onInvalid']>;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly options: DynamoRuleStoreOptions,
    private readonly now: () => number = Date.now,
  ) {
    const log = options.log ?? silentLog;
    this.onInvalid = options.onInvalid ?? ((id, error) => log.warn('stored rule ignored: it no longer validates', { ruleId: id, error: error.message }));
  }

  async list(): Promise<Rule[]> {
    return (await this.listAll()).rules;
  }

  async listAll(): Promise<StoredRules> {
    const rules: Rule[] = [];
    const sequences: SequenceRule[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new QueryCommand({
            TableName: this.options.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': { S: RULE_PK } },
            // A rule saved a moment ago should be in the next refresh, not one after.
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        );
      } catch (err) {
        wrap('list', err);
      }
      for (const item of page.Items ?? []) {
        const rule = this.fromItem(item);
        if (rule && 'kind' in rule) sequences.push(rule);
        else if (rule) rules.push(rule);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return { rules, sequences };
  }

  private fromItem(item: Record<string, AttributeValue>): Rule | SequenceRule | undefined {
    const id = item.sk?.S ?? '?';
    try {
      const body: unknown = JSON.parse(item.body?.S ?? '');
      const stored = { ...(body as object), id, version: Number(item.version?.N ?? 0), updatedAt: Number(item.updatedAt?.N ?? 0) };
      if (isSequenceInput(stored)) return this.options.validateSequence?.(stored);
      return validateRule(stored, this.options.pipelines);
    } catch (err) {
      if (err instanceof RuleValidationError || err instanceof SyntaxError) {
        this.onInvalid(id, err);
        return undefined;
      }
      throw err;
    }
  }

  async put(input: RuleInput | Rule): Promise<Rule> {
    const rule = validateRule(input, this.options.pipelines);
    return { ...rule, ...(await this.write(rule, rule.pipeline)) };
  }

  async putSequence(input: SequenceRuleInput | SequenceRule): Promise<SequenceRule> {
    if (!this.options.validateSequence) throw new RuleValidationError(input.id, [{ field: 'kind', message: 'this store was built without sequence rules' }]);
    const rule = this.options.validateSequence(input);
    // `pipeline` is what the console shows beside the body: "sequence" for these.
    return { ...rule, ...(await this.write(rule, 'sequence')) };
  }

  private async write(rule: Rule | SequenceRule, pipeline: string): Promise<{ version: number; updatedAt: number }> {
    const updatedAt = this.now();
    let out;
    try {
      out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.options.tableName,
          Key: { pk: { S: RULE_PK }, sk: { S: rule.id } },
          UpdateExpression: 'SET body = :body, pipeline = :pipeline, updatedAt = :now ADD version :one',
          ExpressionAttributeValues: {
            ':body': { S: bodyOf(rule) },
            ':pipeline': { S: pipeline },
            ':now': { N: String(updatedAt) },
            ':one': { N: '1' },
          },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
    } catch (err) {
      wrap(`put ${rule.id}`, err);
    }
    return { version: Number(out.Attributes?.version?.N ?? 1), updatedAt };
  }

  async delete(id: string): Promise<boolean> {
    try {
      const out = await this.client.send(
        new DeleteItemCommand({
          TableName: this.options.tableName,
          Key: { pk: { S: RULE_PK }, sk: { S: id } },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return out.Attributes !== undefined;
    } catch (err) {
      wrap(`delete ${id}`, err);
    }
  }
}
