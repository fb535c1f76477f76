/** The layering the design promises: the domain entry pulls in no AWS SDK, and one error family. */
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import * as domain from '../../lib/index.ts';
import { loadIngestConfig } from '../../lib/config/ingest-config.ts';

describe('lib/index.ts', () => {
  it('imports nothing of the AWS SDK or kafkajs: adapters stay behind lib/store/dynamodb and lib/sinks', async () => {
    const out = await build({ entryPoints: ['lib/index.ts'], bundle: true, write: false, metafile: true, platform: 'node', format: 'esm', logLevel: 'silent' });
    const inputs = Object.keys(out.metafile.inputs);
    expect(inputs.filter((i) => /node_modules\/(@aws-sdk|@smithy|kafkajs)\//.test(i))).toEqual([]);
    expect(inputs.some((i) => i.startsWith('lib/ingest/'))).toBe(true);
  });

  it('raises every error it means to as a StreamguardError with its own name', () => {
    const classes = Object.entries(domain).filter(([name, v]) => typeof v === 'function' && name.endsWith('Error'));
    expect(classes.map(([name]) => name).sort()).toEqual(
      ['AlertRecordError', 'ConfigError', 'ExpressionError', 'InputError', 'PipelineDefinitionError', 'RejectedWriteError', 'RuleValidationError', 'StoreError', 'StoreInconsistencyError', 'StreamguardError', 'TransientStoreError'].sort(),
    );
    const cause = new Error('throttled');
    const err = new domain.TransientStoreError('window write', { cause });
    expect(err).toBeInstanceOf(domain.StoreError);
    expect(err).toBeInstanceOf(domain.StreamguardError);
    expect(err.name).toBe('TransientStoreError');
    expect(err.cause).toBe(cause);
    expect(() => loadIngestConfig({})).toThrow(domain.ConfigError);
    expect(() => loadIngestConfig({})).toThrow(/WINDOWS_TABLE/);
    expect(() => domain.assertKafkaEvent({})).toThrow(domain.InputError);
    expect(() => domain.tumbling(0)).toThrow(domain.PipelineDefinitionError);
  });
});
