import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { SandboxInfo } from '../../src/sandbox';
import { processesMentioning, sandboxListeners } from './support/leftovers';

/**
 * `etcd-guardian demo`, run as the README says, from the built CLI: a real sandbox, a node failing under etcd-1, the
 * guardian noticing and moving the member step by step, the keys checked on every member, the Temporal UI address
 * and the post-mortem; then nothing of it left running. Ctrl-C in the middle leaves nothing running either.
 */

jest.setTimeout(600_000);

const repoRoot = resolve(__dirname, '../..');
const cli = join(repoRoot, 'dist/src/cli/main.js');

/** A demo process: its output so far and its end. */
interface DemoProcess {
  pid: number;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once stdout contains `text`; rejects if the demo exits first. */
  printed(text: string): Promise<void>;
}

function startDemo(args: readonly string[]): DemoProcess {
  const child = spawn(process.execPath, [cli, 'demo', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('exit', (code, signal) => done({ code, signal })));
  let ended = false;
  void exited.then(() => (ended = true));
  return {
    pid: child.pid ?? 0,
    stdout: () => out,
    stderr: () => err,
    exited,
    async printed(text: string) {
      while (!out.includes(text)) {
        if (ended) throw new Error(`the demo exited before printing "${text}":\n${out}\n${err}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
  };
}

function slotOf(stateDir: string): number {
  return (JSON.parse(readFileSync(join(stateDir, 'sandbox.json'), 'utf8')) as { info: SandboxInfo }).info.slot;
}

/** The steps of a `replace` migration (the member is down), in the order they must run. */
const REPLACE_STEPS = ['plan', 'backup-snapshot', 'remove-member', 'delete-pod', 'choose-node', 'schedule-pod', 'rejoin', 'verify-member', 'verify-quorum'];

describe('etcd-guardian demo', () => {
  const workDir = mkdtempSync(join(tmpdir(), 'etcd-guardian-demo-test-'));

  beforeAll(() => {
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first (this test runs the built CLI, as the README does)`);
  });

  afterAll(() => {
    rmSync(workDir, { recursive: true, force: true });
  });

  it('refuses an unknown fault with exit code 2 and one line, and starts nothing', async () => {
    const stateDir = join(workDir, 'refused');
    const demo = startDemo(['--fault', 'node-melt', '--state-dir', stateDir]);
    expect(await demo.exited).toEqual({ code: 2, signal: null });
    expect([demo.stdout(), demo.stderr()]).toEqual(['', 'etcd-guardian: --fault: expected one of node-down, node-pressure, got "node-melt"\n']);
    expect(existsSync(stateDir)).toBe(false);
  });

  it('shows the fault, the detection, each migration step, the keys verified, the UI address and the report, then exits leaving nothing running', async () => {
    const stateDir = join(workDir, 'full');
    const started = Date.now();
    const demo = startDemo(['--exit-after-migration', '--state-dir', stateDir]);
    const end = await demo.exited;
    const seconds = (Date.now() - started) / 1000;
    const out = demo.stdout();
    const lines = out.split('\n');
    const detected = /DETECTED (\d+\.\d) s after the fault/.exec(out)?.[1];
    process.stdout.write(`demo --exit-after-migration: ${seconds.toFixed(1)} s wall time, detection ${detected ?? '?'} s after the fault\n`);

    expect({ end, stderr: demo.stderr() }).toEqual({ end: { code: 0, signal: null }, stderr: '' });
    expect(lines.some((l) => /^\[\d+:\d\d\] FAULT node-down on node-\d \(etcd-1\): /.test(l))).toBe(true);
    expect(detected).toBeDefined();

    // Each step once, as it ended, in the order of a replace migration, before the keys are checked.
    const stepAt = REPLACE_STEPS.map((step) => lines.findIndex((l) => l.includes(`] ✔ ${step} (`)));
    expect(REPLACE_STEPS.filter((_, i) => (stepAt[i] ?? -1) < 0)).toEqual([]);
    expect([...stepAt].sort((a, b) => a - b)).toEqual(stepAt);
    const verified = lines.findIndex((l) => /\] VERIFIED: keys under demo\/: etcd-\d 100\/100, etcd-\d 100\/100, etcd-\d 100\/100; same HashKV \d+ at revision \d+ on all 3$/.test(l));
    expect(verified).toBeGreaterThan(stepAt.at(-1) ?? Infinity);

    expect(out).toMatch(/^Temporal UI +http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/migrate-main\/[0-9a-f-]{36}\/history$/m);
    expect(out).toContain('# Post-mortem: migration of etcd-1 in cluster main');
    expect(out).toContain('| # | step | activity | start (UTC) | offset | duration | attempts | result |');
    for (const step of REPLACE_STEPS.filter((s) => s !== 'plan')) expect(out).toMatch(new RegExp(`^\\| \\d+ \\| ${step} \\| \\w+ \\| `, 'm'));
    expect(lines.at(-2)).toMatch(/\] stopped: nothing of the demo is left running$/);

    expect(processesMentioning(stateDir)).toEqual([]);
    expect(sandboxListeners(slotOf(stateDir))).toEqual([]);
  });

  it('stops on Ctrl-C once the sandbox is up, exits with 130 and leaves nothing running', async () => {
    const stateDir = join(workDir, 'interrupted');
    const demo = startDemo(['--state-dir', stateDir]);
    await demo.printed('] sandbox ready in ');
    expect(processesMentioning(stateDir).length).toBeGreaterThanOrEqual(6);

    // A second demo in the same directory is refused and leaves the first one alone.
    const second = startDemo(['--state-dir', stateDir]);
    expect(await second.exited).toEqual({ code: 2, signal: null });
    expect(second.stdout()).toBe('');
    expect(second.stderr()).toMatch(/^etcd-guardian: --state-dir: a sandbox already runs in .+ \(pid \d+\); the demo starts its own: stop that one with `etcd-guardian sandbox down --state-dir .+` or choose another directory\n$/);

    process.kill(demo.pid, 'SIGINT');
    const end = await demo.exited;

    expect({ end, stderr: demo.stderr() }).toEqual({ end: { code: 130, signal: null }, stderr: '' });
    expect(demo.stdout()).toMatch(/\] SIGINT: stopping everything the demo started/);
    expect(demo.stdout()).toMatch(/\] sandbox stopped\n/);
    expect(processesMentioning(stateDir)).toEqual([]);
    expect(sandboxListeners(slotOf(stateDir))).toEqual([]);
  });
});
