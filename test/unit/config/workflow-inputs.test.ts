import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatIssue, InvalidInputError } from '../../../src/config/errors';
import {
  parseMigrateMemberInput,
  parseMonitorClusterInput,
  parseMaintainClusterInput,
  parseRepairMembershipInput,
  type MonitorCarried,
} from '../../../src/config/workflow-inputs';
import { assessRisk } from '../../../src/domain/risk';
import { emptyWindow } from '../../../src/domain/window';
import { aCluster, aDownNode, aPolicy, withNode, withPod } from '../../builders';

/** The error `run` throws, which must be an InvalidInputError. */
function invalidInputOf(run: () => unknown): InvalidInputError {
  try {
    run();
  } catch (error: unknown) {
    if (error instanceof InvalidInputError) return error;
    throw error;
  }
  throw new Error('expected an InvalidInputError, but nothing was thrown');
}

function problems(run: () => unknown): string[] {
  return invalidInputOf(run).issues.map(formatIssue);
}

/** Carried monitor state, with `overrides` on top. */
function aCarried(overrides: Partial<MonitorCarried> = {}): MonitorCarried {
  return {
    cycles: 100,
    window: { samples: 12, streaks: { 'node-cpu/etcd-0': 2 }, counters: { 'leader-changes/etcd-0': 7 }, increments: { 'leader-changes/etcd-0': [0, 1, 0] } },
    migration: { lastEndedAt: '2025-01-31T12:00:00.000Z' },
    ...overrides,
  };
}

describe('parseMigrateMemberInput', () => {
  it('fills the defaults of a minimal request', () => {
    expect(parseMigrateMemberInput({ cluster: 'main', member: 'etcd-1' })).toEqual({
      cluster: 'main',
      member: 'etcd-1',
      reason: 'manual migration',
      strategy: 'auto',
      dryRun: false,
    });
  });

  it('keeps every field of a full request', () => {
    const request = {
      cluster: 'main',
      member: '8e9e05c52164694d',
      reason: 'node-3 disk is failing',
      strategy: 'replace',
      targetNode: 'node-7',
      dryRun: true,
      requestedBy: 'alice@example.com',
      excludedNodes: { 'node-3': 'failing disk', 'node-4.rack-b': 'maintenance' },
    };
    expect(parseMigrateMemberInput(request)).toEqual(request);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['an unknown strategy', { strategy: 'sideways' }, 'strategy: expected one of auto, replace, surge, got "sideways"'],
    ['an empty member', { member: '' }, 'member: expected a member name or hex id, such as "etcd-1" or "8e9e05c52164694d", got ""'],
    ['no member', { member: undefined }, 'member: expected a member name or hex id, such as "etcd-1" or "8e9e05c52164694d", got (missing)'],
    ['an upper-case cluster name', { cluster: 'Main' }, 'cluster: expected a cluster name of lowercase letters, digits and "-" (a DNS-1123 label of at most 63 characters), such as "main", got "Main"'],
    ['dryRun as a string', { dryRun: 'true' }, 'dryRun: expected true or false, got "true"'],
    ['a blank reason, reported as trimmed', { reason: ' ' }, 'reason: expected a non-empty reason, got ""'],
    ['a target that is not a node name', { targetNode: 'Node_7' }, 'targetNode: expected a Kubernetes node name of lowercase letters, digits, "-" and "." (a DNS-1123 subdomain), such as "node-1", got "Node_7"'],
    ['an excluded node that is not a node name', { excludedNodes: { 'Node 3': 'disk' } }, 'excludedNodes["Node 3"]: expected a Kubernetes node name of lowercase letters, digits, "-" and "." (a DNS-1123 subdomain), such as "node-1", got "Node 3"'],
    ['an excluded node without a reason', { excludedNodes: { 'node-3': '' } }, 'excludedNodes.node-3: expected a reason, got ""'],
    ['a target that is also excluded', { targetNode: 'node-3', excludedNodes: { 'node-3': 'disk' } }, 'targetNode: expected a node that is not in excludedNodes, got "node-3"'],
    ['a misspelt field', { strategie: 'surge' }, 'strategie: unknown key; did you mean "strategy"?'],
  ])('rejects %s, naming the field and the value', (_case, overrides, line) => {
    expect(problems(() => parseMigrateMemberInput({ cluster: 'main', member: 'etcd-1', ...overrides }))).toEqual([line]);
  });

  it.each([
    ['nothing', undefined, '(root): expected an object with cluster and member, got (missing)'],
    ['a bare string', 'etcd-1', '(root): expected an object with cluster and member, got "etcd-1"'],
  ])('rejects %s as a whole', (_case, raw, line) => {
    expect(problems(() => parseMigrateMemberInput(raw))).toEqual([line]);
  });

  it('throws an INVALID_INPUT error that lists every problem', () => {
    const error = invalidInputOf(() => parseMigrateMemberInput({ cluster: 'main', strategy: 'sideways' }));
    expect(error).toMatchObject({ name: 'InvalidInputError', code: 'INVALID_INPUT', subject: 'migrateMember' });
    expect(error.message).toBe(
      [
        'invalid migrateMember input (2 problems):',
        '  member: expected a member name or hex id, such as "etcd-1" or "8e9e05c52164694d", got (missing)',
        '  strategy: expected one of auto, replace, surge, got "sideways"',
      ].join('\n'),
    );
  });
});

describe('parseMonitorClusterInput', () => {
  const minimal = { cluster: 'main', intervalMs: 10_000, continueAsNewEvery: 100 };

  it('accepts what the schedule sends', () => {
    expect(parseMonitorClusterInput(minimal)).toEqual(minimal);
  });

  it('carries every part of the window the risk assessment builds across continue-as-new (a node that came back included)', () => {
    let window = emptyWindow();
    const down = withNode(withPod(aCluster(3), 1, { restartCount: 0 }), aDownNode(1));
    for (const [i, obs] of [down, down, aCluster(3), { ...aCluster(3), members: aCluster(3).members, pods: aCluster(3).pods.map((p) => ({ ...p, restartCount: 1 })) }].entries()) {
      window = assessRisk({ ...obs, observedAt: new Date(Date.parse('2026-12-01T12:00:00Z') + i * 1000).toISOString() }, aPolicy(), window).window;
    }
    expect(Object.keys(window).sort()).toEqual(['counters', 'gauges', 'increments', 'returns', 'samples', 'streaks']);
    const input = { ...minimal, carried: aCarried({ window }) };
    expect(parseMonitorClusterInput(JSON.parse(JSON.stringify(input)))).toEqual(input);
  });

  it('accepts the input after a trip through JSON, as workflow history stores it', () => {
    const input = { ...minimal, carried: aCarried({ migration: { inFlight: { workflowId: 'migrate-main', member: 'etcd-2' } } }) };
    expect(parseMonitorClusterInput(JSON.parse(JSON.stringify(input)))).toEqual(input);
  });

  it('rejects something that is not an object as a whole', () => {
    expect(problems(() => parseMonitorClusterInput('main'))).toEqual(['(root): expected an object with cluster, intervalMs and continueAsNewEvery, got "main"']);
  });

  it('fills an absent migration record of carried state', () => {
    const { migration: _migration, ...withoutMigration } = aCarried();
    expect(parseMonitorClusterInput({ ...minimal, carried: withoutMigration }).carried?.migration).toEqual({});
  });

  it.each<[string, unknown, string]>([
    ['an interval written as text', { ...minimal, intervalMs: '10s' }, 'intervalMs: expected a whole number of milliseconds of at least 1000, got "10s"'],
    ['an interval under a second', { ...minimal, intervalMs: 10 }, 'intervalMs: expected a whole number of milliseconds of at least 1000, got 10'],
    ['continue-as-new every 0 cycles', { ...minimal, continueAsNewEvery: 0 }, 'continueAsNewEvery: expected a whole number between 1 and 1000, got 0'],
    ['a missing window', { ...minimal, carried: { ...aCarried(), window: undefined } }, 'carried.window: expected a mapping of keys to values, got (missing)'],
    ['a negative streak', { ...minimal, carried: aCarried({ window: { samples: 1, streaks: { a: -1 }, counters: {}, increments: {} } }) }, 'carried.window.streaks.a: expected a whole number of at least 0, got -1'],
    ['an end time that is not ISO-8601', { ...minimal, carried: aCarried({ migration: { lastEndedAt: 'yesterday' } }) }, 'carried.migration.lastEndedAt: expected an ISO-8601 time such as "2025-01-31T12:00:00Z", got "yesterday"'],
    ['an in-flight migration without member', { ...minimal, carried: aCarried({ migration: { inFlight: { workflowId: 'w', member: '' } } }) }, 'carried.migration.inFlight.member: expected the member being migrated, got ""'],
  ])('rejects %s', (_case, input, line) => {
    expect(problems(() => parseMonitorClusterInput(input))).toEqual([line]);
  });

  it('names a missing cluster', () => {
    expect(problems(() => parseMonitorClusterInput({ intervalMs: 10_000, continueAsNewEvery: 5 }))[0]).toMatch(/^cluster: expected a cluster name/);
  });
});

describe('the modules workflow code imports', () => {
  // Workflow code runs in a sandbox without Node: these files, and what they import, must stay pure.
  it.each(['duration.ts', 'errors.ts', 'issues.ts', 'names.ts', 'schema.ts', 'env.ts', 'workflow-inputs.ts'])(
    '%s imports only zod, src/domain and its pure neighbours',
    (file) => {
      const source = readFileSync(join('src/config', file), 'utf8');
      const imports = [...source.matchAll(/from '([^']+)'/g)].map((match) => match[1]);
      const allowed = /^(zod|\.\.\/domain\/[a-z-]+|\.\/(duration|errors|issues|names|schema|env|size))$/;
      expect(imports.filter((specifier) => specifier === undefined || !allowed.test(specifier))).toEqual([]);
    },
  );
});

describe('workflow-inputs.ts, shared by every workflow of a worker', () => {
  // worker/bundle-options.ts preloads it: the SDK evaluates it and what it imports once, and deep-freezes their
  // exports. A frozen zod schema throws when first used, and so does a frozen RegExp (a test sets its lastIndex).
  function loadedBy(file: string, seen = new Set<string>()): Set<string> {
    seen.add(file);
    const source = readFileSync(`${file}.ts`, 'utf8');
    for (const [, specifier] of source.matchAll(/^import (?!type )[^;]*? from '(\.[^']+)';/gm)) {
      const next = join(file, '..', specifier ?? '');
      if (!seen.has(next)) loadedBy(next, seen);
    }
    return seen;
  }

  function frozenHazards(value: unknown, path: string, seen = new Set<unknown>()): string[] {
    if (value === null || typeof value !== 'object' || seen.has(value)) return [];
    seen.add(value);
    if (value instanceof RegExp) return [`${path} is a RegExp`];
    if ('_zod' in value) return [`${path} is a zod schema`];
    return Object.entries(value).flatMap(([key, inner]) => frozenHazards(inner, `${path}.${key}`, seen));
  }

  it('loads only modules that export no zod schema and no RegExp', async () => {
    const modules = [...loadedBy('src/config/workflow-inputs')];
    expect(modules).toEqual(expect.arrayContaining(['src/config/workflow-inputs', 'src/config/names', 'src/config/issues']));
    const exported = await Promise.all(modules.map(async (module) => [module, (await import(join(process.cwd(), module))) as Record<string, unknown>] as const));
    const hazards = exported.flatMap(([module, exports]) => Object.entries(exports).flatMap(([name, value]) => frozenHazards(value, `${module}.${name}`)));
    expect(hazards).toEqual([]);
  });
});

describe('parseRepairMembershipInput with an approved removal', () => {
  it('keeps the member and the approver', () => {
    expect(parseRepairMembershipInput({ cluster: 'main', approveRemoval: 'etcd-1', requestedBy: 'alice' })).toEqual({
      cluster: 'main',
      reason: 'manual repair',
      dryRun: false,
      approveRemoval: 'etcd-1',
      requestedBy: 'alice',
    });
  });

  it('refuses an approval with no approver, naming the field and the member', () => {
    expect(problems(() => parseRepairMembershipInput({ cluster: 'main', approveRemoval: 'etcd-1' }))).toEqual([
      expect.stringContaining("requestedBy: the approver's name is required with approveRemoval (etcd-1)") as unknown as string,
    ]);
  });

  it('refuses an empty member name', () => {
    expect(problems(() => parseRepairMembershipInput({ cluster: 'main', approveRemoval: '', requestedBy: 'alice' }))[0]).toContain('approveRemoval');
  });
});

describe('parseMaintainClusterInput', () => {
  it('defaults to mode auto, every fragmented member, no dry run', () => {
    expect(parseMaintainClusterInput({ cluster: 'main' })).toEqual({ cluster: 'main', mode: 'auto', all: false, dryRun: false });
  });

  it.each<[string, unknown, string[]]>([
    ['an unknown mode', { cluster: 'main', mode: 'vacuum' }, ['mode: expected one of auto, defragment, nospace']],
    ['members with a NOSPACE recovery', { cluster: 'main', mode: 'nospace', members: ['etcd-1'] }, ['members: expected no member selection with mode nospace']],
    ['both members and all', { cluster: 'main', members: ['etcd-1'], all: true }, ['all: expected either members or all, not both']],
    ['an empty member list', { cluster: 'main', members: [] }, ['members: expected at least one member name']],
    ['no cluster', { mode: 'defragment' }, ['cluster: expected a cluster name']],
  ])('refuses %s, naming the field', (_name, input, expected) => {
    const found = problems(() => parseMaintainClusterInput(input));
    for (const e of expected) expect(found.some((p) => p.includes(e))).toBe(true);
  });
});
