/**
 * How a Kafka partition and a record are named across streamguard: `<topic>-<partition>`, the
 * key AWS gives a partition's records in a Kafka event and expects back in batchItemFailures, and
 * `<topic>-<partition>@<offset>` for one record. Built here only; stores (offset marks, side-output
 * keys), verify and the bench import these.
 */

/** "<topic>-<partition>": topic names may themselves contain dashes, the partition never does. */
export function partitionIdOf(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/** "<topic>-<partition>@<offset>": one record, as logs and reports name it. */
export function recordIdOf(topic: string, partition: number, offset: number | string): string {
  return `${partitionIdOf(topic, partition)}@${offset}`;
}
