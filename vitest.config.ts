import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    // Two cores: one for the tests, one for the JVM and the broker.
    maxWorkers: 2,
    testTimeout: 60_000,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'WARN' },
    hookTimeout: 60_000,
    projects: [
      // Pure logic: no services, seconds to run (`npm run test:unit`).
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'services',
          include: ['test/**/*.test.ts'],
          exclude: ['test/unit/**'],
          // One DynamoDB Local for the whole run; each test file makes its own tables in it. The
          // broker host is built once here too, so parallel files share it.
          globalSetup: ['test/setup/mock-kafka-host.ts', 'test/setup/dynamodb-local.ts'],
        },
      },
    ],
  },
});
