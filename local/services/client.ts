/** A DynamoDB client for a local endpoint (DynamoDB Local, LocalStack), with placeholder credentials when none are set. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export function localDynamoClient(endpoint: string, options: { maxAttempts?: number } = {}): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'local', secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'local' },
    maxAttempts: options.maxAttempts ?? 3,
  });
}
