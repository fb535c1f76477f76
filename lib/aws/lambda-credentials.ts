/**
 * The AWS SDK's credential chain as the deployed functions need it, and nothing more: infra/bundling.ts
 * aliases `@aws-sdk/credential-provider-node` to this module in the Lambda bundles only (the local
 * runtime and the tests run unbundled and keep the SDK's full default chain).
 *
 * Why that is enough: Lambda hands a function its execution role's temporary keys in the reserved
 * environment variables AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html, "Defined runtime
 * environment variables"). Where Lambda serves them from a container endpoint instead
 * (AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN, as SnapStart does:
 * https://docs.aws.amazon.com/lambda/latest/dg/snapstart-activate.html#snapstart-credentials; SnapStart
 * serves Java, Python and .NET, not Node.js, today) the SDK's HTTP provider reads them: a few KB kept
 * so that a runtime or mode that moves to the endpoint does not break the functions. Profiles, SSO, web identity, credential processes and IMDS never
 * apply inside Lambda; dropping them takes their code (and the nested STS/SSO clients they bring)
 * out of every bundle. Both links are the SDK's own providers.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { fromHttp, type FromHttpOptions } from '@aws-sdk/credential-provider-http';

type CredentialProvider = ReturnType<typeof fromEnv>;

/** What the SDK clients pass to `defaultProvider` (their config) that the two links read. */
export type LambdaProviderInit = FromHttpOptions;

/** The container-credentials variables the SDK's HTTP provider reads (its own names). */
const CONTAINER_URI_VARS = ['AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'] as const;

/** No credentials where Lambda puts them: says what was looked for, so a misconfigured environment is obvious in the logs. */
export class LambdaCredentialsError extends Error {
  override readonly name = 'LambdaCredentialsError';
}

/**
 * Drop-in for `@aws-sdk/credential-provider-node`'s `defaultProvider` in the deployed bundles: the
 * execution role's keys from the environment, else the container credentials endpoint when Lambda
 * advertises one, else a {@link LambdaCredentialsError}. The SDK client memoizes and refreshes what
 * this returns, as it does for the default chain.
 */
export const defaultProvider = (init: LambdaProviderInit = {}): CredentialProvider => {
  const env = fromEnv(init);
  let http: CredentialProvider | undefined;
  return async (props) => {
    try {
      return await env(props);
    } catch (envError) {
      const containerUri = CONTAINER_URI_VARS.some((name) => process.env[name]) || init.awsContainerCredentialsFullUri || init.awsContainerCredentialsRelativeUri;
      // fromHttp throws as it is created when no endpoint is set, so it is only made when one is.
      if (containerUri) return (http ??= fromHttp(init))(props);
      throw new LambdaCredentialsError(
        'no AWS credentials in this Lambda environment: looked for AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY ' +
          `(the execution role's keys), then ${CONTAINER_URI_VARS.join(' or ')} (container credentials). ` +
          'The deployed bundle carries only these two providers (infra/bundling.ts aliases the SDK default chain).',
        { cause: envError },
      );
    }
  };
};
