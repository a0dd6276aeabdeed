import { CliArgumentError } from '../../../src/cli/context';
import { createDisplay, LineDisplay, PanelDisplay } from '../../../src/cli/demo/display';
import { demoKeys, describeKeyCheck, keyCheckPassed, type KeyCheck } from '../../../src/cli/demo/keys';
import { parseDemoOptions, type DemoFlags } from '../../../src/cli/demo/options';
import { snapshotOf } from '../../../src/cli/demo/view';

/** The demo's flags, its key check and its two displays. */

const defaults: DemoFlags = { fault: 'node-down', faultAfter: '5', timeout: '600', stateDir: '.sandbox' };

describe('demo flags', () => {
  it('resolves the state directory and turns seconds into milliseconds', () => {
    expect(parseDemoOptions({ ...defaults, exitAfterMigration: true }, '/work')).toEqual({
      fault: 'node-down',
      faultAfterMs: 5000,
      timeoutMs: 600_000,
      stateDir: '/work/.sandbox',
      exitAfterMigration: true,
      keep: false,
    });
    expect(parseDemoOptions({ ...defaults, fault: 'node-pressure', faultAfter: '0.5', stateDir: '/tmp/x', keep: true }, '/work')).toMatchObject({
      fault: 'node-pressure',
      faultAfterMs: 500,
      stateDir: '/tmp/x',
      keep: true,
    });
  });

  it.each<[string, Partial<DemoFlags>, string]>([
    ['an unknown fault', { fault: 'node-melt' }, '--fault: expected one of node-down, node-pressure, got "node-melt"'],
    ['a pod fault, which the demo does not inject', { fault: 'pod-freeze' }, '--fault: expected one of node-down, node-pressure, got "pod-freeze"'],
    ['a delay that is not a number', { faultAfter: 'soon' }, '--fault-after: expected a number of seconds from 0 to 600, got "soon"'],
    ['an empty delay', { faultAfter: '' }, '--fault-after: expected a number of seconds from 0 to 600, got ""'],
    ['a negative delay', { faultAfter: '-1' }, '--fault-after: expected a number of seconds from 0 to 600, got "-1"'],
    ['a timeout too short for a migration', { timeout: '10' }, '--timeout: expected a number of seconds from 30 to 3600, got "10"'],
    ['an empty state directory', { stateDir: ' ' }, '--state-dir: expected a directory, got ""'],
  ])('refuses %s with one line naming the flag and the value', (_name, flags, message) => {
    const parse = (): unknown => parseDemoOptions({ ...defaults, ...flags }, '/work');
    expect(parse).toThrow(CliArgumentError);
    expect(parse).toThrow(message);
  });

  it('gives argument errors the code that makes the CLI exit with 2', () => {
    expect(() => parseDemoOptions({ ...defaults, fault: 'x' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
  });
});

describe('the demo keys', () => {
  it('are numbered to the same width, so that they sort as written', () => {
    const keys = demoKeys(100);
    expect([keys.length, keys[0], keys[99]]).toEqual([100, { key: 'demo/key-001', value: 'value-001' }, { key: 'demo/key-100', value: 'value-100' }]);
  });

  const copy = (name: string, keys: number, hash: string) => ({ name, endpoint: `http://${name}:2379`, keys, hash });
  it.each<[string, KeyCheck, boolean, string]>([
    [
      'every key on every voter with one hash passes',
      { expected: 100, revision: 101, members: [copy('etcd-0', 100, '7'), copy('etcd-2', 100, '7'), copy('etcd-3', 100, '7')] },
      true,
      'keys under demo/: etcd-0 100/100, etcd-2 100/100, etcd-3 100/100; same HashKV 7 at revision 101 on all 3',
    ],
    [
      'a voter missing keys fails',
      { expected: 100, revision: 101, members: [copy('etcd-0', 100, '7'), copy('etcd-3', 40, '7')] },
      false,
      'keys under demo/: etcd-0 100/100, etcd-3 40/100; same HashKV 7 at revision 101 on all 2',
    ],
    [
      'different hashes fail and are all shown',
      { expected: 100, revision: 101, members: [copy('etcd-0', 100, '7'), copy('etcd-3', 100, '9')] },
      false,
      'keys under demo/: etcd-0 100/100, etcd-3 100/100; HashKV differs at revision 101: etcd-0 7, etcd-3 9',
    ],
    ['no voter at all fails', { expected: 100, revision: 0, members: [] }, false, 'keys under demo/: ; HashKV differs at revision 0: '],
  ])('%s', (_name, check, passed, sentence) => {
    expect([keyCheckPassed(check), describeKeyCheck(check)]).toEqual([passed, sentence]);
  });
});

/** A stream that records what is written. */
function recorder(tty: boolean): { write(text: string): boolean; isTTY: boolean; columns: number; rows: number; text: () => string } {
  const chunks: string[] = [];
  return {
    isTTY: tty,
    columns: 80,
    rows: 30,
    write(text: string) {
      chunks.push(text);
      return true;
    },
    text: () => chunks.join(''),
  };
}

describe('the displays', () => {
  const start = Date.parse('2026-01-01T00:00:00Z');

  it('writes lines with the clock when the output is not a terminal, and never an escape sequence', () => {
    const out = recorder(false);
    let now = start;
    const display = createDisplay(out, 'demo', start, () => now);
    expect(display).toBeInstanceOf(LineDisplay);
    display.activity('starting the sandbox');
    display.activity('starting the sandbox');
    now += 65_000;
    display.update(snapshotOf('main', undefined, undefined, 'not started yet'));
    display.update(snapshotOf('main', undefined, undefined, 'not started yet'));
    display.note('wrote 100 keys under demo/');
    display.print('report');
    display.close();
    expect(out.text()).toBe('[0:00] starting the sandbox\n[1:05] monitor: not started yet\n[1:05] wrote 100 keys under demo/\nreport\n');
  });

  it('redraws the panel in place on a terminal: up to its first line, clear, draw; the cursor comes back at the end', () => {
    const out = recorder(true);
    const display = createDisplay(out, 'demo', start, () => start);
    expect(display).toBeInstanceOf(PanelDisplay);
    display.activity('starting');
    display.activity('waiting');
    display.close();
    const text = out.text();
    expect(text.startsWith('\u001b[?25l')).toBe(true);
    expect(text.endsWith('\u001b[?25h')).toBe(true);
    // First draw: 3 lines (title, blank, activity), nothing to go up over; each later draw goes up those 3 lines.
    expect(text.split('\u001b[0J')).toEqual(['\u001b[?25l', 'demo · 0:00\n\n▸ starting\n\u001b[3F', 'demo · 0:00\n\n▸ waiting\n\u001b[3F', 'demo · 0:00\n\n▸ waiting\n\u001b[?25h']);
  });
});
