import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The one-shot jobs of docker-compose.yml run two shell scripts in the temporalio/admin-tools image. Here they run
 * against stand-ins for `temporal-sql-tool`, `temporal` and `sleep` that record their arguments and answer as told,
 * so the order of the steps, their idempotence and their failures are checked without Temporal or PostgreSQL.
 */

const ROOT = join(__dirname, '..', '..', '..');
const SETUP_SCHEMA = join(ROOT, 'deploy', 'temporal', 'setup-schema.sh');
const CREATE_NAMESPACE = join(ROOT, 'deploy', 'temporal', 'create-namespace.sh');

const STUBS: Record<string, string> = {
  'temporal-sql-tool': `
case "$*" in
  *create-database*) [ "\${DATABASES_EXIST:-no}" = no ] ;;
  *setup-schema*) [ "\${POSTGRES_DOWN:-no}" = no ] ;;
  *update-schema*) [ "\${UPDATE_FAILS:-no}" = no ] ;;
  *) exit 0 ;;
esac`,
  temporal: `
case "$*" in
  "operator cluster health"*)
    seen=$(cat "$STUB_DIR/health" 2>/dev/null || echo 0)
    echo $((seen + 1)) > "$STUB_DIR/health"
    [ "$seen" -ge "\${HEALTH_FAILURES:-0}" ] ;;
  "operator namespace describe"*) [ "\${NAMESPACE_EXISTS:-no}" = yes ] ;;
  *) exit 0 ;;
esac`,
  sleep: 'exit 0',
};

let stubDir = '';

beforeEach(() => {
  stubDir = mkdtempSync(join(tmpdir(), 'guardian-deploy-'));
  for (const [name, body] of Object.entries(STUBS)) {
    const path = join(stubDir, name);
    writeFileSync(path, `#!/bin/sh\necho "${name} $*" >> "$STUB_DIR/calls"\n${body}\n`);
    chmodSync(path, 0o755);
  }
});

afterEach(() => {
  rmSync(stubDir, { recursive: true, force: true });
});

/** Runs a script with the stand-ins first on PATH; returns its exit code, the calls it made and what it printed. */
function run(script: string, env: Record<string, string>): { status: number | null; calls: string[]; output: string } {
  const result = spawnSync('sh', [script], {
    env: { PATH: `${stubDir}:${process.env['PATH'] ?? '/usr/bin:/bin'}`, STUB_DIR: stubDir, ...env },
    encoding: 'utf8',
  });
  const callsFile = join(stubDir, 'calls');
  const calls = existsSync(callsFile) ? readFileSync(callsFile, 'utf8').trim().split('\n') : [];
  return { status: result.status, calls, output: `${result.stdout}${result.stderr}` };
}

const SQL = { SQL_HOST: 'postgresql', SQL_USER: 'temporal', SCHEMA_ROOT: '/etc/temporal/schema/postgresql/v12' };

describe('deploy/temporal/setup-schema.sh', () => {
  const schemaSteps = [
    'temporal-sql-tool --db temporal setup-schema -v 0.0',
    'temporal-sql-tool --db temporal update-schema -d /etc/temporal/schema/postgresql/v12/temporal/versioned',
    'temporal-sql-tool --db temporal_visibility setup-schema -v 0.0',
    'temporal-sql-tool --db temporal_visibility update-schema -d /etc/temporal/schema/postgresql/v12/visibility/versioned',
  ];

  it('creates both databases, then sets up and updates each schema from the versioned directories', () => {
    const { status, calls } = run(SETUP_SCHEMA, SQL);
    expect(status).toBe(0);
    expect(calls).toEqual([
      'temporal-sql-tool --db temporal create-database',
      ...schemaSteps.slice(0, 2),
      'temporal-sql-tool --db temporal_visibility create-database',
      ...schemaSteps.slice(2),
    ]);
  });

  it('succeeds again on databases that already exist, running every schema step', () => {
    const { status, calls } = run(SETUP_SCHEMA, { ...SQL, DATABASES_EXIST: 'yes' });
    expect(status).toBe(0);
    expect(calls.filter((call) => !call.endsWith('create-database'))).toEqual(schemaSteps);
  });

  it('fails, and goes no further, when the schema cannot be set up', () => {
    const { status, calls } = run(SETUP_SCHEMA, { ...SQL, POSTGRES_DOWN: 'yes' });
    expect(status).not.toBe(0);
    expect(calls.at(-1)).toBe('temporal-sql-tool --db temporal setup-schema -v 0.0');
  });

  it('fails when a schema update fails, leaving the visibility database alone', () => {
    const { status, calls } = run(SETUP_SCHEMA, { ...SQL, UPDATE_FAILS: 'yes' });
    expect(status).not.toBe(0);
    expect(calls.at(-1)).toBe(schemaSteps[1]);
  });

  it('says which variable is missing when the connection is not configured', () => {
    const { status, output, calls } = run(SETUP_SCHEMA, {});
    expect(status).not.toBe(0);
    expect(output).toContain('set SQL_HOST to the PostgreSQL host');
    expect(calls).toEqual([]);
  });
});

describe('deploy/temporal/create-namespace.sh', () => {
  const TEMPORAL = { TEMPORAL_ADDRESS: 'temporal:7233', NAMESPACE: 'default' };
  const searchAttributes =
    'temporal operator search-attribute create --namespace default --address temporal:7233' +
    ' --name EtcdCluster --type Keyword --name EtcdMember --type Keyword --name SourceNode --type Keyword' +
    ' --name TargetNode --type Keyword --name ClusterHealth --type Keyword --name MigrationStrategy --type Keyword';

  it('waits for the server, registers the namespace with a 30-day retention, then creates the search attributes', () => {
    const { status, calls } = run(CREATE_NAMESPACE, { ...TEMPORAL, HEALTH_FAILURES: '2' });
    expect(status).toBe(0);
    expect(calls).toEqual([
      'temporal operator cluster health --address temporal:7233',
      'sleep 2',
      'temporal operator cluster health --address temporal:7233',
      'sleep 2',
      'temporal operator cluster health --address temporal:7233',
      'temporal operator namespace describe --namespace default --address temporal:7233',
      'temporal operator namespace create --namespace default --retention 30d --address temporal:7233',
      searchAttributes,
    ]);
  });

  it('keeps a namespace that exists, and still makes sure of the search attributes', () => {
    const { status, calls } = run(CREATE_NAMESPACE, { ...TEMPORAL, NAMESPACE_EXISTS: 'yes' });
    expect(status).toBe(0);
    expect(calls.filter((call) => call.includes('namespace create'))).toEqual([]);
    expect(calls.at(-1)).toBe(searchAttributes);
  });

  it('gives up with a message naming the server after the allowed attempts', () => {
    const { status, output, calls } = run(CREATE_NAMESPACE, { ...TEMPORAL, HEALTH_FAILURES: '99', ATTEMPTS: '3' });
    expect(status).toBe(1);
    expect(output).toContain('gave up waiting for Temporal at temporal:7233 after 3 attempts');
    expect(calls.filter((call) => call.startsWith('temporal '))).toHaveLength(3);
  });
});
