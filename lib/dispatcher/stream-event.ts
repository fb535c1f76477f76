/**
 * The event a Lambda DynamoDB stream event source mapping delivers, as AWS documents it (a sample
 * is in events/dynamodb-stream.json), and the partial batch response it reads back. Only what the
 * dispatcher uses is typed; images stay in DynamoDB's attribute-value form.
 */

/** A DynamoDB attribute value as the stream carries it ({"S": "..."}, {"N": "..."}, ...). */
export interface StreamAttributeValue {
  S?: string;
  N?: string;
  B?: unknown;
  BOOL?: boolean;
  NULL?: boolean;
  L?: unknown[];
  M?: Record<string, unknown>;
  SS?: string[];
  NS?: string[];
  BS?: unknown[];
}

export type StreamImage = Record<string, StreamAttributeValue>;

/** One change record of a stream batch. */
export interface DynamoDBStreamRecord {
  eventID?: string;
  /** INSERT: the item did not exist before this write, whichever API wrote it. */
  eventName?: 'INSERT' | 'MODIFY' | 'REMOVE' | string;
  eventSource?: string;
  eventSourceARN?: string;
  eventVersion?: string;
  awsRegion?: string;
  dynamodb?: {
    /** Epoch seconds. */
    ApproximateCreationDateTime?: number;
    Keys?: StreamImage;
    NewImage?: StreamImage;
    OldImage?: StreamImage;
    SequenceNumber?: string;
    SizeBytes?: number;
    StreamViewType?: string;
  };
  /** Present on TTL deletions (`{"type": "Service", "principalId": "dynamodb.amazonaws.com"}`). */
  userIdentity?: unknown;
}

export interface DynamoDBStreamEvent {
  Records: DynamoDBStreamRecord[];
}

/** ReportBatchItemFailures: the mapping checkpoints before the lowest sequence number named. */
export interface StreamBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}
