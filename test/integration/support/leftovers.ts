import { readdirSync, readFileSync } from 'node:fs';

/**
 * What a stopped sandbox must not leave behind, read straight from Linux's /proc: listening TCP sockets on its
 * addresses, and processes whose command line names its state directory.
 */

/** A listening socket. */
export interface Listener {
  address: string;
  port: number;
}

function decodeIpv4(hex: string): string {
  // /proc/net/tcp prints the address as a little-endian 32-bit number.
  const bytes = (hex.match(/../g) ?? []).map((byte) => parseInt(byte, 16)).reverse();
  return bytes.join('.');
}

/** Every IPv4 socket in LISTEN state. */
export function listeners(): Listener[] {
  const lines = readFileSync('/proc/net/tcp', 'utf8').trim().split('\n').slice(1);
  return lines.flatMap((line) => {
    const [, local, , state] = line.trim().split(/\s+/);
    if (state !== '0A' || local === undefined) return [];
    const [ip, port] = local.split(':');
    return [{ address: decodeIpv4(ip ?? ''), port: parseInt(port ?? '0', 16) }];
  });
}

/** Listeners on a slot's addresses: control-plane ports on 127.0.0.1 and anything on the slot's node addresses. */
export function sandboxListeners(slot: number): Listener[] {
  const low = 20_000 + slot * 100;
  return listeners().filter(
    (l) => (l.address === '127.0.0.1' && l.port >= low && l.port < low + 100) || l.address.startsWith(`127.${20 + slot}.`),
  );
}

/** Pids and command lines of live processes whose command line contains `text`. */
export function processesMentioning(text: string): Array<{ pid: number; cmdline: string }> {
  const found: Array<{ pid: number; cmdline: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmdline.includes(text)) found.push({ pid: Number(entry), cmdline: cmdline.slice(0, 160) });
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}
