/** Lost commits in the local event source mappings: a processed batch comes again, whole or re-cut. */
import type { StreamDeliveryFaults } from '../esm/dynamodb-stream-mapping.ts';
import type { AfterSuccess, DeliveryFaults } from '../esm/event-source-mapping.ts';
import type { Chaos } from './chaos.ts';

export function deliveryFaults(chaos: Chaos): DeliveryFaults {
  return {
    afterSuccess(_partitionId: string, records: number): AfterSuccess {
      if (chaos.random.chance(chaos.rates.redelivery)) {
        chaos.count('redelivery');
        return { commit: false };
      }
      if (records > 1 && chaos.random.chance(chaos.rates.recut)) {
        chaos.count('recut');
        // Smaller than the batch just processed: the redelivery ends inside it, so the next
        // batch straddles what was applied and what was not.
        return { commit: false, redeliverAs: chaos.random.int(1, records - 1) };
      }
      return { commit: true };
    },
  };
}

/** Lost checkpoints of the alerts table's stream mapping: the dispatcher gets a batch it already sent. */
export function streamDeliveryFaults(chaos: Chaos): StreamDeliveryFaults {
  return {
    afterSuccess(_shardId: string, records: number): AfterSuccess {
      if (!chaos.random.chance(chaos.rates.dispatcherRedelivery)) return { commit: true };
      chaos.count('dispatcherRedelivery');
      return records > 1 && chaos.random.chance(0.5) ? { commit: false, redeliverAs: chaos.random.int(1, records - 1) } : { commit: false };
    },
  };
}
