/**
 * How the functions are bundled for deployment, in one place: the stack passes these to
 * NodejsFunction, and `npm run bench -- coldstart` bundles with the same settings to measure what
 * deploys (size and module initialisation).
 */
import { join } from 'node:path';

/** ESM-first packages; CommonJS ones (kafkajs) still get a `require` through the banner. */
export const BUNDLE_MAIN_FIELDS = ['module', 'main'];
export const BUNDLE_BANNER = 'import { createRequire as __sgCreateRequire } from "node:module"; const require = __sgCreateRequire(import.meta.url);';
export const BUNDLE_MINIFY = true;
/** Source maps beside the bundle (no sources inside), read through NODE_OPTIONS=--enable-source-maps: stack traces in the logs name our files. */
export const BUNDLE_SOURCE_MAP = true;

/** esbuild's target for a Lambda runtime name. */
export function bundleTarget(runtime: string): string {
  return runtime === 'nodejs24.x' ? 'node24' : 'node22';
}

/**
 * Whether the AWS SDK v3 (`@aws-sdk/*`) goes into each bundle (true) or is left to the copy the
 * Lambda Node.js runtime ships (false: the packages are marked external and resolved from the
 * runtime's own node_modules). The stack's `bundleAwsSdk` setting; the default is chosen by
 * `npm run bench -- coldstart`, which measures both (docs/design.md, "Cold start").
 */
export const BUNDLE_AWS_SDK_DEFAULT = true;

/** What esbuild leaves out of a bundle for that choice. */
export function bundleExternals(bundleAwsSdk: boolean): string[] {
  return bundleAwsSdk ? [] : ['@aws-sdk/*'];
}

/**
 * Module substitutions in the deployed bundles (esbuild `alias`), shared by the stack and the bench.
 * The SDK's default Node credential chain (profiles, SSO, web identity, processes, IMDS, and the
 * nested STS/SSO clients they bring) becomes lib/aws/lambda-credentials.ts: the environment keys
 * Lambda sets, then its container endpoint (docs/design.md, "Cold start"). Only where the SDK is
 * bundled: left to the runtime (`bundleAwsSdk: false`) its clients are external and keep their chain.
 */
export function bundleAliases(repoRoot: string): Record<string, string> {
  return {
    '@aws-sdk/credential-provider-node': join(repoRoot, 'lib/aws/lambda-credentials.ts'),
    // The MSK IAM signer's own import of every provider (closer, dispatcher): lib/aws/lambda-credential-providers.ts.
    '@aws-sdk/credential-providers': join(repoRoot, 'lib/aws/lambda-credential-providers.ts'),
  };
}

/** The same as NodejsFunction's `esbuildArgs` (it has no `alias` option): `--alias:from=to` each. */
export function bundleAliasArgs(repoRoot: string): Record<string, string[]> {
  return { '--alias': Object.entries(bundleAliases(repoRoot)).map(([from, to]) => `${from}=${to}`) };
}
