/**
 * `npm run synth`, exactly as the README shows it: the CDK CLI runs the app (cdk.json) on
 * infra/config.example.json, bundles the functions with esbuild and runs cdk-nag, offline and
 * without credentials. The template it writes is the one that deploys, so what the other infra
 * tests assert on an in-process synth is checked here on that file too, for what changed with it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/streamguard-stack.ts';

const out = mkdtempSync(join(tmpdir(), 'streamguard-synth-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

it('npm run synth writes a deployable template: Kafka mappings in on-demand mode, the alert stream mapping bounded, the ingest role able to read its marks', async () => {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('AWS_') || k.startsWith('CDK_')) delete env[k];
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile('npm', ['run', '-s', 'synth', '--', '-o', out, '--quiet'], { cwd: REPO_ROOT, env, timeout: 240_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? -1) : 0, stdout, stderr }),
    ),
  );
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  const template = JSON.parse(readFileSync(join(out, 'StreamGuard.template.json'), 'utf8')) as { Resources: Record<string, { Type: string; Properties: any }> };
  const resources = Object.entries(template.Resources);
  const all = resources.filter(([, r]) => r.Type === 'AWS::Lambda::EventSourceMapping').map(([, r]) => r.Properties);
  // Kafka mappings name their topics; the alerts table's stream mapping does not.
  const mappings = all.filter((m) => m.Topics);
  expect(mappings.length).toBeGreaterThan(0);
  const streams = all.filter((m) => !m.Topics);
  expect(streams).toHaveLength(1);
  expect(streams[0]).toMatchObject({ MaximumRetryAttempts: 10, MaximumRecordAgeInSeconds: 3600, BisectBatchOnFunctionError: true, FunctionResponseTypes: ['ReportBatchItemFailures'] });
  for (const m of mappings) {
    expect(m.ProvisionedPollerConfig).toBeUndefined();
    for (const control of ['MaximumRetryAttempts', 'MaximumRecordAgeInSeconds', 'BisectBatchOnFunctionError', 'FunctionResponseTypes']) expect(m[control], control).toBeUndefined();
  }
  const ingestStatements = resources
    .filter(([, r]) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((role: { Ref: string }) => role.Ref.startsWith('IngestRole')))
    .flatMap(([, r]) => r.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
  const batchGet = ingestStatements.find((s) => ([] as string[]).concat(s.Action).includes('dynamodb:BatchGetItem'));
  expect(batchGet, 'ingest may BatchGetItem').toBeDefined();
  expect(JSON.stringify(batchGet!.Resource)).toMatch(/StateTable/);
}, 300_000);
