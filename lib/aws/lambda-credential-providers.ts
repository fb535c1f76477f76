/**
 * `@aws-sdk/credential-providers` as the deployed bundles need it: infra/bundling.ts aliases the
 * package to this module in the Lambda bundles only. Its one user there is the MSK IAM signer
 * (aws-msk-iam-sasl-signer-js), which signs with `fromNodeProviderChain` unless told to use a
 * profile (`fromIni`) or to assume a role (`fromTemporaryCredentials`); lib/sinks/msk.ts asks for
 * neither. The whole package would bring every provider the SDK has and their nested clients
 * (about 150 KB) into the closer and the dispatcher, none of which can answer inside Lambda.
 */
import { defaultProvider, LambdaCredentialsError, type LambdaProviderInit } from './lambda-credentials.ts';

/** The signer's default: the Lambda chain (execution role keys, then the container endpoint). */
export const fromNodeProviderChain = (init: LambdaProviderInit = {}) => defaultProvider(init);

function notInLambda(provider: string, what: string): never {
  throw new LambdaCredentialsError(
    `${provider} (${what}) is not in the deployed bundle: infra/bundling.ts aliases @aws-sdk/credential-providers to the Lambda chain, ` +
      'and the functions sign MSK requests with their execution role (fromNodeProviderChain).',
  );
}

/** Shared config profiles never exist inside Lambda. */
export const fromIni = (): never => notInLambda('fromIni', 'shared config profiles');

/** Assuming another role for MSK is not something streamguard configures. */
export const fromTemporaryCredentials = (): never => notInLambda('fromTemporaryCredentials', 'an assumed role');
