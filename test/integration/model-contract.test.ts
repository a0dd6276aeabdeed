import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findEtcdBinary } from '../../src/sandbox/binaries';
import { resolveEtcdVersion } from '../../src/sandbox/options';
import { peersMarkSilentPeerInactive } from '../../src/domain/etcd-version';
import { acquireSlot, type SlotLease } from '../../src/sandbox/slot-lock';
import { startEtcdTarget } from '../simulation/contract/etcd-target';
import { modelTarget } from '../simulation/contract/model-target';
import { modelSpaceOptions, runScenario, type Outcome, type Scenario, type StepResult } from '../simulation/contract/scenario';
import { SCENARIOS } from '../simulation/contract/scenarios';
import { aWorld } from '../simulation/model/builders';

/**
 * The contract test of the in-memory model (issue 11, "Ports and fakes"): every scripted scenario runs against the
 * model and against a fresh cluster of real etcd processes through the real EtcdGateway, and every step must end
 * the same way on both. A difference means the model drifted from etcd: etcd is right, fix the model.
 *
 * No scenario is skipped: a missing etcd binary fails the suite with the installer to run. One sandbox slot is held
 * for the whole file, so that the members' loopback addresses never collide with a sandbox of another suite.
 */

/** The gateway's per-call deadline: long enough for a membership change on a loaded 2-core machine. */
const REAL_TIMEOUT_MS = 5_000;

function show(outcome: Outcome): string {
  return JSON.stringify(outcome);
}

/** The steps where the two targets differ, each said in a line a reader can act on. */
function differences(scenario: Scenario, model: StepResult[], real: StepResult[]): string[] {
  const lines: string[] = [];
  const steps = Math.max(model.length, real.length);
  for (let i = 0; i < steps; i++) {
    const m = model[i];
    const r = real[i];
    if (m && r && m.step === r.step && show(m.actual) === show(r.actual)) continue;
    const step = m ?? r;
    lines.push(
      [
        `scenario "${scenario.name}", step ${step?.step ?? i} (${step?.call ?? '?'}, ${JSON.stringify(scenario.steps[step?.step ?? i])}):`,
        `  expected ${step ? show(step.expected) : '?'}`,
        `  model    ${m ? `${show(m.actual)}  (${m.detail})` : 'no result'}`,
        `  etcd     ${r ? `${show(r.actual)}  (${r.detail})` : 'no result'}`,
      ].join('\n'),
    );
  }
  return lines;
}

/** One line a step, both targets side by side, for the run's log. */
function table(scenario: Scenario, model: StepResult[], real: StepResult[], ms: number): string {
  const rows = model.map((m, i) => `  step ${m.step} ${m.call.padEnd(13)} model ${show(m.actual).padEnd(70)} etcd ${real[i] ? show(real[i].actual) : 'no result'}`);
  return [`contract "${scenario.name}" (${scenario.members} members, real etcd ${Math.round(ms / 100) / 10} s):`, ...rows].join('\n');
}

describe('the model against real etcd: the contract scenarios', () => {
  let base: string;
  let lease: SlotLease | undefined;
  let failed = false;

  beforeAll(async () => {
    // The members run the etcd of $ETCD_GUARDIAN_ETCD_VERSION (default 3.6); throws
    // "etcd 3.6 is missing from ~/.cache/etcd-guardian/etcd/v3.6.<patch>/bin: run scripts/install-components.sh to install it".
    findEtcdBinary(resolveEtcdVersion(undefined), 'etcd');
    base = mkdtempSync(join(tmpdir(), 'etcd-guardian-contract-'));
    lease = await acquireSlot(base);
  });

  afterAll(() => {
    lease?.release();
    // Data and logs stay for a failed run (the failure message names them); a green run leaves nothing behind.
    if (!failed && base !== undefined) rmSync(base, { recursive: true, force: true });
  });

  // The members run $ETCD_GUARDIAN_ETCD_VERSION (default 3.6); a scenario written for another version's behaviour is left out.
  const minor = resolveEtcdVersion(undefined);
  const silentPeersStayActive = !peersMarkSilentPeerInactive({ major: 3, minor: Number(minor.split('.')[1]), patch: 0, text: '' });
  // The model answers as that version does where versions differ (a learner's refusal code).
  const version = minor === '3.4' ? '3.4.23' : `${minor}.0`;
  const scenarios = SCENARIOS.filter((s) => s.silentPeersStayActive === undefined || s.silentPeersStayActive === silentPeersStayActive);

  it.each(scenarios.map((s) => [s.name, s, SCENARIOS.indexOf(s)] as const))('%s: the same outcome at every step', async (_name, scenario, index) => {
    const model = await runScenario(modelTarget(aWorld({ members: scenario.members, etcd: { silentPeersStayActive, version, ...modelSpaceOptions(scenario) } })), scenario);
    if (!lease) throw new Error('no sandbox slot');
    const started = Date.now();
    const real = await startEtcdTarget({
      members: scenario.members,
      slot: lease.slot,
      dir: join(base, `scenario-${index}`),
      timeoutMs: REAL_TIMEOUT_MS,
      token: `contract-${process.pid}-${index}`,
      ...(scenario.space ? { quotaBytes: scenario.space.quotaBytes } : {}),
    });
    let actual: StepResult[];
    try {
      actual = await runScenario(real.target, scenario);
    } catch (error) {
      failed = true;
      throw new Error(`scenario "${scenario.name}" could not run on real etcd: ${(error as Error).message}\nlogs: ${real.logs().join(', ')}`, { cause: error });
    } finally {
      await real.stop();
    }
    process.stdout.write(`${table(scenario, model, actual, Date.now() - started)}\n`);
    const diff = differences(scenario, model, actual);
    if (diff.length > 0) {
      failed = true;
      throw new Error(`the model and real etcd disagree:\n${diff.join('\n')}\nlogs: ${real.logs().join(', ')}`);
    }
    expect(actual.map((r) => r.actual)).toEqual(model.map((r) => r.actual));
  });
});
