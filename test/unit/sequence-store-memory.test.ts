/** The in-memory sequence store against the contract the DynamoDB adapter passes too. */
import { MemorySequenceStore } from '../../lib/store/memory/sequence-store.ts';
import { sequencePk } from '../../lib/store/dynamodb/sequence-store.ts';
import { sequenceStoreContract } from '../support/sequence-store-contract.ts';

sequenceStoreContract('in memory', async () => {
  const store = new MemorySequenceStore();
  return { store, expiresAt: async (key) => Math.ceil((store.items.get(sequencePk(key))?.expiresAt ?? NaN) / 1000) };
});
