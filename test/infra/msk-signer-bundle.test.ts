/**
 * The MSK IAM signer as the closer and the dispatcher deploy it: bundled with the stack's esbuild
 * settings, so `@aws-sdk/credential-providers` is the Lambda chain (infra/bundling.ts,
 * lib/aws/lambda-credential-providers.ts), then run in a fresh Node process with the environment
 * Lambda gives a function. The token must be signed with the execution role's keys.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { deployedBuild } from '../../bench/coldstart.ts';

const ROOT = join(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'streamguard-signer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function bundleSigner(): Promise<{ file: string; inputs: string[] }> {
  const result = await build({
    stdin: {
      contents: "import { generateAuthToken } from 'aws-msk-iam-sasl-signer-js';\nconst { token } = await generateAuthToken({ region: 'eu-west-1' });\nprocess.stdout.write(token);\n",
      resolveDir: ROOT,
      loader: 'ts',
    },
    ...deployedBuild('nodejs22.x', true),
    metafile: true,
    write: false,
    logLevel: 'error',
  });
  const file = join(dir, 'signer.mjs');
  writeFileSync(file, result.outputFiles[0]!.contents);
  return { file, inputs: Object.keys(result.metafile.inputs) };
}

const lambdaEnv = (extra: Record<string, string>) => ({ PATH: process.env.PATH ?? '', AWS_REGION: 'eu-west-1', ...extra });

describe('the MSK IAM signer in the deployed bundles', () => {
  it('signs with the execution role keys Lambda puts in the environment, without the SDK provider packages', async () => {
    const { file, inputs } = await bundleSigner();
    expect(inputs.some((p) => p.includes('node_modules/@aws-sdk/credential-providers/'))).toBe(false);
    expect(inputs.some((p) => p.includes('node_modules/@aws-sdk/credential-provider-ini/'))).toBe(false);
    const token = execFileSync(process.execPath, [file], {
      env: lambdaEnv({ AWS_ACCESS_KEY_ID: 'ASIAEXAMPLEKEY', AWS_SECRET_ACCESS_KEY: 'secret-example', AWS_SESSION_TOKEN: 'session-example' }),
      encoding: 'utf8',
      // The SDK's notice that Node 20 is near its end of support would only be noise here.
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const url = new URL(Buffer.from(token, 'base64url').toString('utf8'));
    expect(url.hostname).toBe('kafka.eu-west-1.amazonaws.com');
    expect(url.searchParams.get('Action')).toBe('kafka-cluster:Connect');
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(/^ASIAEXAMPLEKEY\/\d{8}\/eu-west-1\/kafka-cluster\/aws4_request$/);
    expect(url.searchParams.get('X-Amz-Security-Token')).toBe('session-example');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('fails naming what it looked for when the environment has no credentials', async () => {
    const { file } = await bundleSigner();
    let stderr = '';
    try {
      execFileSync(process.execPath, [file], { env: lambdaEnv({}), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      stderr = String((err as { stderr?: string }).stderr);
    }
    // Minified, Node prints the error as `<mangled class> [LambdaCredentialsError]: ...`; its name survives.
    expect(stderr).toMatch(/LambdaCredentialsError\]?: no AWS credentials in this Lambda environment: looked for AWS_ACCESS_KEY_ID/);
  });
});
