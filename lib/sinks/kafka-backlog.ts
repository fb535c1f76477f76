/**
 * SourceBacklog on Kafka: per partition, the log end offset minus the mapping's committed offset
 * (its consumer group's), as the event source mapping's OffsetLag metric counts it. One admin
 * client per container; any failure answers "unknown", so the closer falls back to its time rule
 * rather than failing a run over a lag lookup.
 */
import type { Admin, Kafka } from 'kafkajs';
import type { SourceBacklog } from '../closer/ports.ts';
import { silentLog, type Log } from '../log.ts';

export class KafkaSourceBacklog implements SourceBacklog {
  private admin: Promise<Admin> | undefined;

  constructor(
    private readonly kafka: () => Promise<Kafka>,
    /** The consumer group of each source topic's mapping. */
    private readonly groups: Readonly<Record<string, string>>,
    private readonly log: Log = silentLog,
  ) {}

  private connected(): Promise<Admin> {
    this.admin ??= (async () => {
      const admin = (await this.kafka()).admin();
      await admin.connect();
      return admin;
    })().catch((err: unknown) => {
      this.admin = undefined;
      throw err;
    });
    return this.admin;
  }

  async of(topic: string): Promise<ReadonlyMap<number, number> | undefined> {
    const groupId = this.groups[topic];
    if (groupId === undefined) return undefined;
    try {
      const admin = await this.connected();
      const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
      const at = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      // Nothing committed yet (-1): the mapping reads from the log start.
      return new Map(ends.map((e) => [e.partition, Math.max(0, Number(e.high) - ((at.get(e.partition) ?? -1) >= 0 ? at.get(e.partition)! : Number(e.low)))]));
    } catch (err) {
      this.log.warn('source backlog unknown; idle partitions are judged by time alone this run', { topic, error: String(err) });
      return undefined;
    }
  }

  async close(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    await (await admin?.catch(() => undefined))?.disconnect();
  }
}
