/**
 * lib/aws/lambda-credentials.ts, the credential chain of the deployed bundles: the execution role's
 * keys from the environment, the container endpoint when one is advertised, else an error naming
 * what it looked for. The container case runs against a real HTTP endpoint on loopback.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fromIni, fromNodeProviderChain, fromTemporaryCredentials } from '../../lib/aws/lambda-credential-providers.ts';
import { defaultProvider, LambdaCredentialsError } from '../../lib/aws/lambda-credentials.ts';

const CREDENTIAL_VARS = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_CREDENTIAL_EXPIRATION',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
  'AWS_PROFILE',
];

/** A clean slate: whatever the machine running the tests has set is not read. */
function clearCredentialEnv(): void {
  for (const name of CREDENTIAL_VARS) vi.stubEnv(name, undefined);
}

let server: Server | undefined;
afterEach(async () => {
  vi.unstubAllEnvs();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

describe('Lambda credential chain', () => {
  it('returns the execution role keys Lambda puts in the environment', async () => {
    clearCredentialEnv();
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'ASIAEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret-example');
    vi.stubEnv('AWS_SESSION_TOKEN', 'session-example');
    const creds = await defaultProvider()();
    expect(creds).toMatchObject({ accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret-example', sessionToken: 'session-example' });
  });

  it('fetches from the container endpoint when Lambda advertises one instead, with its authorization token', async () => {
    clearCredentialEnv();
    const seen: (string | undefined)[] = [];
    server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ AccessKeyId: 'ASIACONTAINER', SecretAccessKey: 'container-secret', Token: 'container-token', Expiration: new Date(Date.now() + 3_600_000).toISOString() }));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    vi.stubEnv('AWS_CONTAINER_CREDENTIALS_FULL_URI', `http://127.0.0.1:${(server.address() as AddressInfo).port}/credentials`);
    vi.stubEnv('AWS_CONTAINER_AUTHORIZATION_TOKEN', 'auth-example');
    const creds = await defaultProvider()();
    expect(creds).toMatchObject({ accessKeyId: 'ASIACONTAINER', secretAccessKey: 'container-secret', sessionToken: 'container-token' });
    expect(creds.expiration).toBeInstanceOf(Date);
    expect(seen).toEqual(['auth-example']);
  });

  it('fails naming both places it looked when neither is there', async () => {
    clearCredentialEnv();
    const failure = defaultProvider()();
    await expect(failure).rejects.toBeInstanceOf(LambdaCredentialsError);
    await expect(failure).rejects.toThrow(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.*AWS_CONTAINER_CREDENTIALS_FULL_URI or AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/);
  });
});

describe('@aws-sdk/credential-providers in the deployed bundles', () => {
  it("answers the MSK IAM signer's fromNodeProviderChain, with its options, through the Lambda chain", async () => {
    clearCredentialEnv();
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'ASIAEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret-example');
    // What aws-msk-iam-sasl-signer-js passes (mskCredentialProvider.js, getDefaultCredentials).
    const creds = await fromNodeProviderChain({ maxRetries: 3, roleSessionName: 'MSKSASLDefaultSession', clientConfig: { region: 'eu-west-1' } } as never)();
    expect(creds).toMatchObject({ accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret-example' });
  });

  it('refuses profiles and assumed roles, saying why', () => {
    expect(() => fromIni()).toThrow(LambdaCredentialsError);
    expect(() => fromIni()).toThrow(/fromIni \(shared config profiles\) is not in the deployed bundle/);
    expect(() => fromTemporaryCredentials()).toThrow(/fromTemporaryCredentials \(an assumed role\)/);
  });
});
