/**
 * How the functions are bundled for deployment, in one place: the stack passes these to
 * NodejsFunction, and `npm run bench -- coldstart` bundles with the same settings to measure what
 * deploys (size and module initialisation).
 */

/** ESM-first packages; CommonJS ones (kafkajs) still get a `require` through the banner. */
export const BUNDLE_MAIN_FIELDS = ['module', 'main'];
export const BUNDLE_BANNER = 'import { createRequire as __sgCreateRequire } from "node:module"; const require = __sgCreateRequire(import.meta.url);';
export const BUNDLE_MINIFY = true;

/** esbuild's target for a Lambda runtime name. */
export function bundleTarget(runtime: string): string {
  return runtime === 'nodejs24.x' ? 'node24' : 'node22';
}
