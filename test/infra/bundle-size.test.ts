/**
 * What each function weighs as deployed (bench/coldstart.ts bundles it with the stack's esbuild
 * settings). Size is deterministic, so it is held here; initialisation time lives in the bench.
 *
 * The target is 300 KB a function (BUNDLE_TARGET_BYTES). Today's budgets hold what was reached so a
 * change cannot silently bring back what was removed (zod's locales, about 360 KB, came back with
 * one `import { z } from 'zod'`); lower them as the bundles shrink.
 */
import { describe, expect, it } from 'vitest';
import { bundleFunction, FUNCTIONS, functionFiles } from '../../bench/coldstart.ts';

// Measured 2026-12-01 with the SDK bundled (the stack's default, bundleAwsSdk: true): ingest 535,
// closer 989, dispatcher 909 KB. With bundleAwsSdk false they would be 206, 486 and 449 KB, but
// initialise slower (bench -- coldstart measures both). What loads lazily (kafkajs, the MSK IAM
// signer: lib/sinks/msk.ts) is still in the one file and counted here.
const BUDGET_KB: Record<(typeof FUNCTIONS)[number]['name'], number> = {
  // Ingest evaluates early rules (lib/rules) since the alerts-in-seconds change, and sequence
  // rules' CEL conditions (@marcbachmann/cel-js, 81 KB minified) since issue 15: 535 -> 634 KB.
  // Sequence state read per batch (readMany, BatchGetItem) and the plain-ASCII fast path of the
  // hostile-input checks, both issue 12/13 work: 638 -> 640 KB.
  // zod/mini for every schema (lib/zod.ts): zod 92 -> 29 KB in each bundle, 640 -> 580 KB.
  // The Lambda credential chain in place of the SDK's default Node chain (infra/bundling.ts
  // bundleAliases): credential-provider-ini/sso/login/process/web-identity, IMDS and the nested
  // STS/SSO clients leave, 580 -> 452 KB.
  ingest: 457,
  // The closer closes hopping windows from their buckets since issue 14 (lib/closer/close-buckets.ts): 989 -> 997 KB.
  // zod/mini: 997 -> 936 KB (the dispatcher 910 -> 846 KB).
  // The Lambda credential chain: 936 -> 933 KB (the dispatcher 846 -> 843 KB) only, as the MSK IAM
  // signer (CommonJS, loaded on first Kafka use) requires all of @aws-sdk/credential-providers,
  // which brings the other providers and nested-clients back, and @aws-sdk/client-sts.
  // That package aliased too (lib/aws/lambda-credential-providers.ts: the signer's
  // fromNodeProviderChain is the Lambda chain): 933 -> 782 KB (the dispatcher 843 -> 691 KB).
  closer: 787,
  dispatcher: 696,
};

describe('deployed bundle sizes', () => {
  it('knows every function the stack deploys', () => {
    expect(FUNCTIONS.map((f) => f.entry).sort()).toEqual(functionFiles().sort());
  });

  for (const f of FUNCTIONS) {
    it(`keeps ${f.name} within ${BUDGET_KB[f.name]} KB minified`, async () => {
      const { bytes, byModule } = await bundleFunction(f.entry);
      const largest = [...byModule].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([m, b]) => `${m} ${Math.round(b / 1024)} KB`).join(', ');
      expect(bytes / 1024, `${f.entry}: ${Math.round(bytes / 1024)} KB (${largest})`).toBeLessThanOrEqual(BUDGET_KB[f.name]);
      // zod/mini through lib/zod.ts (about 29 KB); one import of classic zod's methods brings all of it back (92 KB).
      expect(byModule.get('zod') ?? 0, 'zod in the bundle').toBeLessThan(50 * 1024);
    });
  }

  // Held apart from the budgets: dropping either alias (infra/bundling.ts) puts the SDK's provider
  // packages and their nested clients back (in the closer and dispatcher through the MSK IAM signer).
  for (const f of FUNCTIONS) {
    it(`bundles ${f.name} with the Lambda credential chain, not the SDK's default Node chain`, async () => {
      const { byModule } = await bundleFunction(f.entry);
      expect(byModule.has('lib/aws'), 'lib/aws/lambda-credentials.ts in the bundle').toBe(true);
      for (const pkg of ['@aws-sdk/credential-provider-node', '@aws-sdk/credential-providers', '@aws-sdk/credential-provider-ini', '@aws-sdk/credential-provider-sso', '@aws-sdk/nested-clients', '@smithy/credential-provider-imds']) {
        expect(byModule.has(pkg), `${pkg} in ${f.entry}`).toBe(false);
      }
    });
  }
});
