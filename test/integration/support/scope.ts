/**
 * How much of the long suites to run. `scripts/test.sh` (CI) runs the `ci` scope: every fault kind and etcd version at
 * least once, within CI's 30 minutes. `full` (the default, and what `scripts/test-matrix.sh` runs) adds the repeats:
 * every scenario of the StatefulSet game day, and the worker killed at every step of a migration, not a sample.
 */
export type TestScope = 'ci' | 'full';

export const TEST_SCOPE_ENV = 'ETCD_GUARDIAN_TEST_SCOPE';

export function testScope(env: NodeJS.ProcessEnv = process.env): TestScope {
  const value = env[TEST_SCOPE_ENV];
  if (value === undefined || value === '' || value === 'full') return 'full';
  if (value === 'ci') return 'ci';
  throw new Error(`${TEST_SCOPE_ENV}=${JSON.stringify(value)}: choose "ci" or "full"`);
}
