/** The in-memory adapters against the store contract the DynamoDB adapters pass too. */
import { memoryStores } from '../../lib/store/memory/index.ts';
import { windowPk } from '../../lib/store/tables.ts';
import { storeContract } from '../support/store-contract.ts';

const sortedValues = (v: unknown) =>
  v instanceof Set ? [...v].sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a) < String(b) ? -1 : 1)) : v;

storeContract('in memory', async ({ retentionMs, now }) => {
  const s = memoryStores({ retentionMs, now });
  return {
    ...s,
    probe: {
      async window(pipeline, key, windowStart) {
        const item = s.tables.window(windowPk(pipeline, key), windowStart);
        if (!item) return undefined;
        return {
          slots: Object.fromEntries([...item.slots].map(([k, v]) => [k, sortedValues(v) as number | (number | string)[]])),
          marks: Object.fromEntries(item.marks),
          closed: item.closedAt !== undefined,
          ttl: item.ttl,
          due: item.dueShard !== undefined || (item.finishedAt === undefined && item.setAsideAt === undefined),
        };
      },
      async sideOutput() {
        return [...s.tables.sideOutput.values()].map((r) => `${r.kind}#${r.topic}-${r.partition}@${r.offset}#${r.pipeline ?? ''}`).sort();
      },
      async alertExists(id) {
        return s.tables.alerts.has(id);
      },
      async alert(id) {
        const a = s.tables.alerts.get(id);
        // As stored: an absent level is no attribute at all.
        return a && (Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) as typeof a);
      },
      async resultLevel(pipeline, key, windowStart) {
        return s.tables.window(`${pipeline}#${key}`, windowStart)?.level;
      },
      async setAsideReason(pipeline, key, windowStart) {
        return s.tables.setAside.get(`${pipeline}#${key}#${windowStart}`)?.reason;
      },
    },
  };
});
