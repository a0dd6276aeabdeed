import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FALLBACK_MESSAGE_BYTES, fallbackTerminationMessage, lastLines } from '../../../src/sandbox/pods/termination-message';

describe("the sandbox kubelet's FallbackToLogsOnError message", () => {
  const dir = mkdtempSync(join(tmpdir(), 'termination-'));

  it('is the end of the log: at most 80 lines', () => {
    const file = join(dir, 'lines.log');
    writeFileSync(file, Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n') + '\n');
    const message = fallbackTerminationMessage(file) ?? '';
    expect(message.split('\n')).toHaveLength(80);
    expect(message.endsWith('line 99')).toBe(true);
    expect(message.startsWith('line 20')).toBe(true);
  });

  it('and at most 2048 bytes', () => {
    const file = join(dir, 'long.log');
    writeFileSync(file, `${'x'.repeat(5000)}\nthe last words\n`);
    const message = fallbackTerminationMessage(file) ?? '';
    expect(Buffer.byteLength(message)).toBeLessThanOrEqual(FALLBACK_MESSAGE_BYTES);
    expect(message.endsWith('the last words')).toBe(true);
  });

  it('is absent when there is no log or it is empty', () => {
    writeFileSync(join(dir, 'empty.log'), '');
    expect(fallbackTerminationMessage(join(dir, 'empty.log'))).toBeUndefined();
    expect(fallbackTerminationMessage(join(dir, 'none.log'))).toBeUndefined();
  });

  it.each([
    ['a b c', 2, 'a b c'],
    ['a\nb\nc\n', 2, 'b\nc'],
    ['a\nb\nc', 5, 'a\nb\nc'],
  ])('lastLines(%j, %d)', (text, n, expected) => {
    expect(lastLines(text, n)).toBe(expected);
  });
});
