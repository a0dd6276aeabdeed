import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SandboxInfo, type SandboxStatus } from '../../src/sandbox';
import { buildCli, runCli, type BuiltCli, type CliResult } from './support/cli';
import { processesMentioning, sandboxListeners } from './support/leftovers';

/**
 * `etcd-guardian sandbox ...` from the compiled CLI: `up` leaves a sandbox running in the background after it
 * returns, the other commands reach it through its control endpoint, `down` leaves nothing behind, and a wrong
 * argument gets exit code 2 and one exact line.
 */
describe('etcd-guardian sandbox (CLI)', () => {
  const workDir = mkdtempSync(join(tmpdir(), 'etcd-guardian-cli-test-'));
  const stateDir = join(workDir, '.sandbox');
  let built: BuiltCli | undefined;
  const cli = (...args: string[]): Promise<CliResult> => runCli(built?.main ?? '', ['sandbox', ...args], workDir);

  beforeAll(() => {
    built = buildCli();
  });

  afterAll(async () => {
    if (built !== undefined) await cli('down');
    rmSync(workDir, { recursive: true, force: true });
    if (built !== undefined) rmSync(built.outDir, { recursive: true, force: true });
  });

  it('rejects a wrong argument with exit code 2 and one line naming the value and the choices, and creates nothing', async () => {
    expect(await cli('up', '--members', '4')).toEqual({ code: 2, stdout: '', stderr: 'etcd-guardian: invalid member count 4: choose one of 1, 3, 5, 7\n' });
    expect(await cli('up', '--members', '9')).toEqual({ code: 2, stdout: '', stderr: 'etcd-guardian: invalid member count 9: choose one of 1, 3, 5, 7\n' });
    expect(await cli('up', '--etcd-version', '3.7')).toEqual({ code: 2, stdout: '', stderr: 'etcd-guardian: invalid --etcd-version "3.7": choose one of 3.4, 3.5, 3.6\n' });
    expect(await cli('up', '--etcd-workload', 'deployment')).toEqual({
      code: 2,
      stdout: '',
      stderr: 'etcd-guardian: invalid --etcd-workload "deployment": choose one of pods, statefulset\n',
    });
    expect(await cli('fault', 'node-melt', 'node-1')).toEqual({
      code: 2,
      stdout: '',
      stderr: 'etcd-guardian: unknown fault kind "node-melt": choose one of node-down, node-pressure, pod-freeze, pod-crash\n',
    });
    expect(existsSync(stateDir)).toBe(false);
  });

  it('starts in the background, returns, and is safe to run twice', async () => {
    const started = Date.now();
    const up = await cli('up');
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(`sandbox up (CLI, to a healthy etcd cluster): ${seconds.toFixed(1)} s\n`);
    expect([up.code, up.stderr.includes('etcd cluster of 3 healthy')]).toEqual([0, true]);
    expect(up.stdout).toContain(`kubeconfig      ${join(stateDir, 'kubeconfig')}`);
    // The members run the version asked for ($ETCD_GUARDIAN_ETCD_VERSION in the test matrix, else 3.6).
    expect(up.stdout).toMatch(new RegExp(`etcd version    ${(process.env['ETCD_GUARDIAN_ETCD_VERSION'] || '3.6').replace('.', '\\.')}\\.\\d+\n`));
    expect(seconds).toBeLessThanOrEqual(30);

    const again = await cli('up');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^sandbox already running \(pid \d+\)/);
  });

  it('reports status as JSON, injects a fault, rejects an unknown node with exit code 2, and heals', async () => {
    const status = JSON.parse((await cli('status', '--json')).stdout) as SandboxStatus;
    expect(status.nodes.map((node) => [node.name, node.rack, node.domain, node.conditions['Ready']])).toEqual([
      ['node-0', 'rack-0', 'zone-0', 'True'],
      ['node-1', 'rack-1', 'zone-0', 'True'],
      ['node-2', 'rack-2', 'zone-1', 'True'],
      ['node-3', 'rack-0', 'zone-0', 'True'],
      ['node-4', 'rack-1', 'zone-0', 'True'],
      ['node-5', 'rack-2', 'zone-1', 'True'],
    ]);
    expect(status.members.map((m) => [m.name, m.node, m.rack, m.phase, m.healthy])).toEqual([
      ['etcd-0', 'node-0', 'rack-0', 'Running', true],
      ['etcd-1', 'node-1', 'rack-1', 'Running', true],
      ['etcd-2', 'node-2', 'rack-2', 'Running', true],
    ]);

    expect(await cli('fault', 'node-down', 'node-9')).toEqual({
      code: 2,
      stdout: '',
      stderr: 'etcd-guardian: unknown node "node-9": choose one of node-0, node-1, node-2, node-3, node-4, node-5\n',
    });

    const fault = await cli('fault', 'node-pressure', 'node-2', '--cpu', '0.95', '--memory', '0.92');
    expect(fault.stdout).toContain('node-2 reports cpu 0.95 and memory 0.92 of allocatable');
    const pressed = JSON.parse((await cli('status', '--json')).stdout) as SandboxStatus;
    const node2 = pressed.nodes.find((node) => node.name === 'node-2');
    expect([node2?.usage, node2?.faults]).toEqual([{ cpu: 0.95, memory: 0.92 }, ['node-pressure']]);

    expect(await cli('heal', 'node-2')).toMatchObject({ code: 0, stdout: 'healed node-2: node-pressure\n' });
    expect(await cli('heal', 'node-2')).toMatchObject({ code: 0, stdout: 'node-2 had no fault\n' });
  });

  it('stops every process on down and leaves no listener', async () => {
    const info = (JSON.parse(readFileSync(join(stateDir, 'sandbox.json'), 'utf8')) as { info: SandboxInfo }).info;
    expect(processesMentioning(stateDir).length).toBeGreaterThanOrEqual(5);
    expect(await cli('down')).toMatchObject({ code: 0, stdout: 'sandbox stopped\n' });
    expect(processesMentioning(stateDir)).toEqual([]);
    expect(sandboxListeners(info.slot)).toEqual([]);
    expect(await cli('down')).toMatchObject({ code: 0, stdout: `no sandbox was running in ${stateDir}\n` });
  });
});
