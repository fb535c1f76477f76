/**
 * Section `coldstart`: each function as bundled for deployment (the stack's esbuild settings,
 * infra/bundling.ts), its minified size, and its module initialisation time: the median, over
 * fresh Node processes, of importing the bundle with the environment the stack gives the function
 * (synthesized from infra/config.example.json). That is the part of a Lambda cold start our code
 * decides; the runtime's own start and the download of the code are not in it.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { build } from 'esbuild';
import { BUNDLE_AWS_SDK_DEFAULT, BUNDLE_BANNER, bundleAliases, BUNDLE_MAIN_FIELDS, BUNDLE_MINIFY, BUNDLE_SOURCE_MAP, bundleExternals, bundleTarget } from '../infra/bundling.ts';
import { loadStackConfig } from '../infra/config.ts';
import { StreamGuardStack } from '../infra/streamguard-stack.ts';
import { percentile } from './stats.ts';

const ROOT = join(import.meta.dirname, '..');

/** The deployed functions: the stack's construct id and the entry it bundles (every file of functions/ must be here). */
export const FUNCTIONS = [
  { name: 'ingest', construct: 'Ingest', entry: 'functions/ingest.ts' },
  { name: 'closer', construct: 'Closer', entry: 'functions/close-windows.ts' },
  { name: 'dispatcher', construct: 'Dispatcher', entry: 'functions/dispatch-alerts.ts' },
] as const;

/** Targets of the cold-start issue: what a function may weigh and take to initialise on this machine. */
export const BUNDLE_TARGET_BYTES = 300 * 1024;
export const INIT_TARGET_MS = 150;

export interface ColdStartRow {
  function: string;
  /** bundled: the AWS SDK inside the bundle; runtime: left to the Lambda runtime's copy (stack setting `bundleAwsSdk`). */
  sdk: 'bundled' | 'runtime';
  entry: string;
  bytes: number;
  kb: number;
  /** The largest packages in the bundle, KB each. */
  largest: { module: string; kb: number }[];
  initMs: { median: number; min: number; max: number; runs: number };
}

export interface ColdStartSection {
  runtime: string;
  /** The stack's default for `bundleAwsSdk` when the section ran. */
  bundleAwsSdkDefault: boolean;
  rows: ColdStartRow[];
  /**
   * What lib/sinks/msk.ts loads on first Kafka use instead of at init (kafkajs and the MSK IAM
   * signer): its import time alone, over the same fresh processes. That time moves to the first
   * backlog read (closer) or the first alert sent (dispatcher) of a container.
   */
  deferred: { modules: string[]; kb: number; initMs: { median: number; min: number; max: number; runs: number } };
}

/** The stack's esbuild settings for a function bundle (infra/bundling.ts), shared by both builds here and test/infra/msk-signer-bundle.test.ts. */
export const deployedBuild = (runtime: string, bundleAwsSdk: boolean) =>
  ({
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: bundleTarget(runtime),
    mainFields: BUNDLE_MAIN_FIELDS,
    banner: { js: BUNDLE_BANNER },
    external: bundleExternals(bundleAwsSdk),
    alias: bundleAliases(ROOT),
    minify: BUNDLE_MINIFY,
  }) as const;

/** Bundles one entry as the stack does; returns the code and what each package contributes. */
export async function bundleFunction(
  entry: string,
  runtime = 'nodejs22.x',
  bundleAwsSdk = BUNDLE_AWS_SDK_DEFAULT,
): Promise<{ code: string; bytes: number; sourceMap: string; byModule: Map<string, number> }> {
  const result = await build({
    entryPoints: [join(ROOT, entry)],
    ...deployedBuild(runtime, bundleAwsSdk),
    // As the stack deploys them (NODE_OPTIONS=--enable-source-maps reads the map at import): the
    // map sits beside the bundle as index.mjs.map, which writeBundle reproduces.
    sourcemap: BUNDLE_SOURCE_MAP,
    sourcesContent: false,
    metafile: true,
    write: false,
    outfile: 'index.mjs',
    tsconfig: join(ROOT, 'tsconfig.json'),
    logLevel: 'error',
  });
  const out = result.outputFiles.find((f) => f.path.endsWith('.mjs'))!;
  const map = result.outputFiles.find((f) => f.path.endsWith('.mjs.map'));
  const byModule = new Map<string, number>();
  for (const [path, input] of Object.entries(Object.entries(result.metafile.outputs).find(([name]) => name.endsWith('.mjs'))![1].inputs)) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? path.split('/').slice(0, 2).join('/');
    byModule.set(pkg, (byModule.get(pkg) ?? 0) + input.bytesInOutput);
  }
  return { code: out.text, bytes: out.contents.byteLength, sourceMap: map?.text ?? '', byModule };
}

/** Each function's environment as the stack sets it, tokens (table names, ARNs) replaced by plain strings. */
export function deployedEnvironments(): Map<string, Record<string, string>> {
  const config = loadStackConfig({ config: join(ROOT, 'infra/config.example.json') });
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const template = Template.fromStack(new StreamGuardStack(app, config.stackName, { config }));
  const envs = new Map<string, Record<string, string>>();
  for (const [logicalId, fn] of Object.entries(template.findResources('AWS::Lambda::Function'))) {
    const match = FUNCTIONS.find((f) => logicalId.startsWith(f.construct));
    if (!match) continue;
    const vars = (fn.Properties.Environment?.Variables ?? {}) as Record<string, unknown>;
    envs.set(match.name, Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, typeof v === 'string' ? v : `bench-${k.toLowerCase()}`])));
  }
  return envs;
}

/** Milliseconds one fresh process takes to import the bundle (its module initialisation). */
function initOnce(file: string, env: Record<string, string>): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', AWS_LAMBDA_FUNCTION_NAME: 'bench', ...env },
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`initialising ${file} failed (exit ${run.status}): ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return Number(run.stdout);
}

/** Both ways of shipping the AWS SDK, measured in one run so load on the machine hits both alike. */
const SDK_MODES = [
  { sdk: 'bundled', bundleAwsSdk: true },
  { sdk: 'runtime', bundleAwsSdk: false },
] as const;

/**
 * Each function in both SDK modes. With the SDK left to the runtime, the bundle imports `@aws-sdk/*`
 * from the repository's node_modules (the bundle is written under the repository for that), as
 * Lambda's runtime resolves it from its own: that load is part of the measured initialisation.
 * Runs alternate between the modes so that a busy machine slows both alike.
 */
export async function benchColdStart(o: { runs: number; runtime?: string }): Promise<ColdStartSection> {
  const runtime = o.runtime ?? 'nodejs22.x';
  const dir = join(ROOT, '.cache', 'bench-coldstart');
  mkdirSync(dir, { recursive: true });
  const envs = deployedEnvironments();
  const rows: ColdStartRow[] = [];
  for (const f of FUNCTIONS) {
    const env = envs.get(f.name);
    if (!env) throw new Error(`the stack has no function "${f.construct}" to take ${f.name}'s environment from`);
    const modes = await Promise.all(
      SDK_MODES.map(async (m) => {
        const bundle = await bundleFunction(f.entry, runtime, m.bundleAwsSdk);
        // Its own directory: the bundle names its map index.mjs.map, as deployed.
        const fnDir = join(dir, `${f.name}-sdk-${m.sdk}`);
        mkdirSync(fnDir, { recursive: true });
        const file = join(fnDir, 'index.mjs');
        writeFileSync(file, bundle.code);
        if (bundle.sourceMap) writeFileSync(join(fnDir, 'index.mjs.map'), bundle.sourceMap);
        return { ...m, bundle, file, times: [] as number[] };
      }),
    );
    for (let i = 0; i < o.runs; i++) for (const m of modes) m.times.push(initOnce(m.file, env));
    for (const { sdk, bundle, times } of modes) {
      rows.push({
        function: f.name,
        sdk,
        entry: f.entry,
        bytes: bundle.bytes,
        kb: Math.round(bundle.bytes / 1024),
        largest: [...bundle.byModule].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([module, bytes]) => ({ module, kb: Math.round(bytes / 1024) })),
        initMs: { median: +percentile(times, 0.5).toFixed(1), min: +Math.min(...times).toFixed(1), max: +Math.max(...times).toFixed(1), runs: o.runs },
      });
    }
  }
  const deferred = await bundleDeferred(runtime);
  const deferredFile = join(dir, 'deferred-kafka.mjs');
  writeFileSync(deferredFile, deferred.code);
  const times: number[] = [];
  for (let i = 0; i < o.runs; i++) times.push(initOnce(deferredFile, {}));
  return {
    runtime,
    bundleAwsSdkDefault: BUNDLE_AWS_SDK_DEFAULT,
    rows,
    deferred: { modules: [...DEFERRED_MODULES], kb: Math.round(deferred.bytes / 1024), initMs: { median: +percentile(times, 0.5).toFixed(1), min: +Math.min(...times).toFixed(1), max: +Math.max(...times).toFixed(1), runs: o.runs } },
  };
}

/** The packages lib/sinks/msk.ts imports on first use. */
const DEFERRED_MODULES = ['kafkajs', 'aws-msk-iam-sasl-signer-js'] as const;

/** Those packages alone, bundled as the functions are (their @aws-sdk parts counted again, so an upper bound). */
async function bundleDeferred(runtime: string): Promise<{ code: string; bytes: number }> {
  const result = await build({
    stdin: { contents: DEFERRED_MODULES.map((m) => `import ${JSON.stringify(m)};`).join('\n'), resolveDir: ROOT, loader: 'js' },
    ...deployedBuild(runtime, BUNDLE_AWS_SDK_DEFAULT),
    write: false,
    outfile: 'deferred.mjs',
    logLevel: 'error',
  });
  const out = result.outputFiles[0]!;
  return { code: out.text, bytes: out.contents.byteLength };
}

/** The entries of functions/, for the check that FUNCTIONS names them all. */
export function functionFiles(): string[] {
  return readdirSync(join(ROOT, 'functions')).filter((f) => f.endsWith('.ts')).map((f) => `functions/${f}`);
}
