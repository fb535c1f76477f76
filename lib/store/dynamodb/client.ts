/** The DynamoDB client every adapter shares; endpoints come from AWS_ENDPOINT_URL(_DYNAMODB). */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export interface ClientOptions {
  /** Attempts per request before a throttle is reported as transient (SDK default 3). */
  maxAttempts?: number;
}

export function createDynamoClient(options: ClientOptions = {}): DynamoDBClient {
  return new DynamoDBClient({ maxAttempts: options.maxAttempts ?? 4 });
}
