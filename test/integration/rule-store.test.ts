/** Rules stored on the state table in DynamoDB Local, and the closer's cache over them. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetItemCommand, PutItemCommand, QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { builtinPipelines } from '../../lib/pipelines/builtin.ts';
import { defaultRules, seedDefaults } from '../../lib/rules/defaults.ts';
import { DynamoRuleStore, RULE_PK } from '../../lib/rules/dynamodb-rule-store.ts';
import { RuleCache } from '../../lib/rules/rule-cache.ts';
import { RuleValidationError } from '../../lib/rules/rule.ts';
import { defaultSequenceRules } from '../../lib/sequences/defaults.ts';
import { validateSequenceRule } from '../../lib/sequences/rule.ts';
import { freshTables, localClient } from '../support/dynamodb.ts';

let client: DynamoDBClient;
beforeAll(() => {
  client = localClient();
});
afterAll(() => client.destroy());

async function setup(now: () => number = () => 1_000) {
  const tables = await freshTables(client);
  const invalid: string[] = [];
  const store = new DynamoRuleStore(
    client,
    { tableName: tables.state, pipelines: builtinPipelines, onInvalid: (id, e) => invalid.push(`${id}: ${e.message}`), validateSequence: validateSequenceRule },
    now,
  );
  return { tables, store, invalid };
}

const spree = { id: 'payments-spree', pipeline: 'payments', condition: 'count > 10', alertType: 'payment_spree', priority: 10 };

async function ruleItems(table: string) {
  const out = await client.send(new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: RULE_PK } } }));
  return out.Items ?? [];
}

describe('DynamoRuleStore', () => {
  it('puts, lists and deletes, versioning each write', async () => {
    let now = 1_000;
    const { store, tables } = await setup(() => now);
    expect(await store.list()).toEqual([]);

    const first = await store.put(spree);
    expect(first).toEqual({ ...spree, emitsAlert: true, enabled: true, version: 1, updatedAt: 1_000 });
    now = 2_000;
    // Version and updatedAt belong to the store: what the caller passes is ignored.
    const second = await store.put({ ...spree, condition: 'count > 20', version: 99, updatedAt: 5 });
    expect(second).toMatchObject({ condition: 'count > 20', version: 2, updatedAt: 2_000 });
    await store.put({ id: 'risk-high', pipeline: 'risk', condition: 'devices > 1 AND cities > 1', level: 'HIGH', alertType: 'account_risk', description: 'moved' });

    const listed = await store.list();
    expect(listed.sort((a, b) => a.id.localeCompare(b.id))).toEqual([
      second,
      { id: 'risk-high', pipeline: 'risk', condition: 'devices > 1 AND cities > 1', level: 'HIGH', alertType: 'account_risk', description: 'moved', emitsAlert: true, priority: 100, enabled: true, version: 1, updatedAt: 2_000 },
    ]);

    // The item is readable in the console: pipeline and version beside the JSON body.
    const item = await client.send(new GetItemCommand({ TableName: tables.state, Key: { pk: { S: RULE_PK }, sk: { S: 'payments-spree' } } }));
    expect(item.Item?.pipeline).toEqual({ S: 'payments' });
    expect(item.Item?.version).toEqual({ N: '2' });

    expect(await store.delete('payments-spree')).toBe(true);
    expect(await store.delete('payments-spree')).toBe(false);
    expect((await store.list()).map((r) => r.id)).toEqual(['risk-high']);
  });

  it('rejects an invalid rule with a message naming the problem, and stores nothing', async () => {
    const { store, tables } = await setup();
    const attempts: [unknown, string][] = [
      [{ ...spree, condition: 'cnt > 10' }, 'invalid rule "payments-spree": condition: unknown feature "cnt" at 1 (did you mean "count"? pipeline payments has: count, amount)'],
      [{ ...spree, condition: 'count >' }, 'invalid rule "payments-spree": condition: expected a number, feature or "(" after ">", found end of condition at 8'],
      [{ ...spree, pipeline: 'refunds' }, 'invalid rule "payments-spree": pipeline: unknown pipeline "refunds" (known: payments, risk, registrations, iot)'],
      [{ ...spree, priority: 'high' }, 'invalid rule "payments-spree": priority: must be an integer'],
      [{ ...spree, condition: "constructor.constructor('x')()" }, 'invalid rule "payments-spree": condition: unexpected character "." at 12 (features are plain names: there is no property access)'],
    ];
    for (const [input, message] of attempts) {
      const attempt = store.put(input as never);
      await expect(attempt).rejects.toBeInstanceOf(RuleValidationError);
      await expect(attempt).rejects.toThrow(message);
    }
    expect(await ruleItems(tables.state)).toEqual([]);
  });

  it('leaves out, and reports, a stored rule that no longer validates', async () => {
    const { store, tables, invalid } = await setup();
    await store.put(spree);
    // As if the pipeline lost a feature after the rule was written, or someone edited the item by hand.
    await client.send(
      new PutItemCommand({
        TableName: tables.state,
        Item: { pk: { S: RULE_PK }, sk: { S: 'stale' }, pipeline: { S: 'payments' }, version: { N: '3' }, updatedAt: { N: '1' }, body: { S: JSON.stringify({ pipeline: 'payments', condition: 'refunds > 1', alertType: 'x' }) } },
      }),
    );
    await client.send(new PutItemCommand({ TableName: tables.state, Item: { pk: { S: RULE_PK }, sk: { S: 'garbled' }, body: { S: '{not json' } } }));
    expect((await store.list()).map((r) => r.id)).toEqual(['payments-spree']);
    expect(invalid).toHaveLength(2);
    expect(invalid.find((m) => m.startsWith('stale:'))).toBe(
      'stale: invalid rule "stale": condition: unknown feature "refunds" at 1 (pipeline payments has: count, amount)',
    );
  });

  it('stores sequence rules beside window rules: listed apart, read back as written, versioned, deleted by id', async () => {
    const { store } = await setup();
    const { withinMs: _w, version: _v, updatedAt: _u, ...shipped } = defaultSequenceRules[0]!;
    const first = await store.putSequence({ ...shipped, within: '5m' });
    expect(first).toMatchObject({ id: 'new-device-payment', kind: 'sequence', within: '5m', withinMs: 300_000, version: 1 });
    const second = await store.putSequence(shipped);
    expect(second.version).toBe(2);
    const all = await store.listAll();
    expect(all.rules).toEqual([]);
    expect(all.sequences).toEqual([second]);
    expect(await store.list()).toEqual([]);
    await expect(store.putSequence({ ...shipped, within: '2d' })).rejects.toThrow(/within: must be at most 24h/);
    expect(await store.delete('new-device-payment')).toBe(true);
    expect((await store.listAll()).sequences).toEqual([]);
  });

  it('does not see other state items (watermarks, sequence state) as rules', async () => {
    const { store, tables } = await setup();
    await client.send(new PutItemCommand({ TableName: tables.state, Item: { pk: { S: 'watermark#user_events' }, sk: { S: '0' }, maxEventTime: { N: '1' } } }));
    await client.send(new PutItemCommand({ TableName: tables.state, Item: { pk: { S: 'seq#user_events#userId#u1' }, sk: { S: 'state' }, body: { S: '{}' }, version: { N: '1' } } }));
    expect(await store.list()).toEqual([]);
    expect((await store.listAll()).sequences).toEqual([]);
  });

  it('seeds the defaults once, then leaves edits alone', async () => {
    const { store } = await setup();
    expect((await seedDefaults(store)).seeded.sort()).toEqual(['iot', 'payments', 'registrations', 'risk', 'sequence']);
    await store.put({ ...spree, condition: 'count > 50' });
    expect((await seedDefaults(store)).seeded).toEqual([]);
    const listed = await store.list();
    expect(listed).toHaveLength(defaultRules.length);
    expect(listed.find((r) => r.id === 'payments-spree')).toMatchObject({ condition: 'count > 50', version: 2 });
  });
});

describe('RuleCache over DynamoDB', () => {
  it('picks up a change once its TTL has passed, and not before', async () => {
    let now = 0;
    const { store } = await setup(() => now);
    const cache = new RuleCache({ store, now: () => now, ttlMs: 30_000 });
    const window = { count: 15, amount: 100 };

    // Nothing stored: the defaults apply (count > 10 alerts).
    expect((await cache.evaluate('payments', window)).alerts.map((a) => a.id)).toEqual(['payments-spree']);

    await store.put({ ...spree, condition: 'count > 20' });
    now = 29_999;
    expect((await cache.evaluate('payments', window)).alerts.map((a) => a.id)).toEqual(['payments-spree']);
    expect((await cache.rulesFor('payments'))[0]?.version).toBe(0);

    now = 30_000;
    expect((await cache.evaluate('payments', window)).alerts).toEqual([]);
    expect((await cache.rulesFor('payments'))[0]).toMatchObject({ condition: 'count > 20', version: 1 });

    // Deleting the pipeline's only stored rule brings its default back, after the next TTL.
    await store.delete('payments-spree');
    now = 45_000;
    expect((await cache.evaluate('payments', window)).alerts).toEqual([]);
    now = 60_000;
    expect((await cache.evaluate('payments', window)).alerts.map((a) => [a.id, a.version])).toEqual([['payments-spree', 0]]);
  });

  it('applies stored risk rules as the CASE, replacing the defaults', async () => {
    let now = 0;
    const { store } = await setup(() => now);
    await store.put({ id: 'risk-critical', pipeline: 'risk', condition: 'devices > 3', level: 'HIGH', alertType: 'account_takeover', priority: 1 });
    await store.put({ id: 'risk-else', pipeline: 'risk', condition: 'true', level: 'INFO', priority: 99 });
    const cache = new RuleCache({ store, now: () => now });
    const many = { events: 9, devices: ['a', 'b', 'c', 'd'], cities: ['x'], logins: 9 };
    const few = { events: 9, devices: ['a', 'b'], cities: ['x', 'y'], logins: 9 };
    expect(await cache.evaluate('risk', many)).toMatchObject({ level: 'HIGH', alerts: [{ id: 'risk-critical', alertType: 'account_takeover' }] });
    // The default HIGH/MEDIUM rules are gone for risk: devices and cities both changed is now INFO.
    expect(await cache.evaluate('risk', few)).toMatchObject({ level: 'INFO', alerts: [] });
  });
});
