import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SandboxArgumentError } from './errors';
import { isPortFree } from './port-check';
import { allPorts, CONTROL_PLANE_HOST, ETCD_CLIENT_PORT, nodeAddress, portsForSlot, SLOT_COUNT } from './ports';
import { isRunning } from './proc';

/**
 * Slot allocation across processes. A slot is held by a directory under the system temp dir: mkdir is atomic, so
 * two test suites starting at the same moment never get the same slot. A lock whose owner died is taken over.
 */

/** The directory holding one lock directory per slot in use. */
export function slotLockRoot(): string {
  return join(tmpdir(), 'etcd-guardian-sandbox-slots');
}

/** Who holds a slot. */
interface SlotOwner {
  pid: number;
  stateDir: string;
  since: string;
}

/** A slot held by this process until `release()`. */
export interface SlotLease {
  slot: number;
  release(): void;
}

/** A lock younger than this without an owner file is being written right now; older, it is debris. */
const OWNERLESS_GRACE_MS = 10_000;

function ownerOf(lockDir: string): SlotOwner | undefined {
  try {
    return JSON.parse(readFileSync(join(lockDir, 'owner.json'), 'utf8')) as SlotOwner;
  } catch {
    return undefined;
  }
}

function isStale(lockDir: string): boolean {
  const owner = ownerOf(lockDir);
  if (owner !== undefined) return !isRunning(owner.pid);
  try {
    return Date.now() - statSync(lockDir).mtimeMs > OWNERLESS_GRACE_MS;
  } catch {
    return false;
  }
}

/** Takes the lock directory of a slot, taking over a stale one; false when someone else holds it. */
function tryLock(slot: number, stateDir: string): boolean {
  const lockDir = join(slotLockRoot(), String(slot));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      mkdirSync(lockDir);
      const owner: SlotOwner = { pid: process.pid, stateDir, since: new Date().toISOString() };
      writeFileSync(join(lockDir, 'owner.json'), JSON.stringify(owner));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !isStale(lockDir)) return false;
      // Rename first: of two processes taking over the same stale lock, only one rename succeeds.
      try {
        const debris = `${lockDir}.stale-${process.pid}-${Date.now()}`;
        renameSync(lockDir, debris);
        rmSync(debris, { recursive: true, force: true });
      } catch {
        return false;
      }
    }
  }
  return false;
}

/** Ports a foreign process may hold: check the control plane's and one node address before settling on a slot. */
async function portsFree(slot: number): Promise<boolean> {
  const checks = allPorts(portsForSlot(slot)).map((port) => isPortFree(CONTROL_PLANE_HOST, port));
  checks.push(isPortFree(nodeAddress(slot, 0), ETCD_CLIENT_PORT));
  return (await Promise.all(checks)).every(Boolean);
}

/** Allocates a slot (the given one, or the first free one) for a sandbox in `stateDir`. */
export async function acquireSlot(stateDir: string, wanted?: number): Promise<SlotLease> {
  mkdirSync(slotLockRoot(), { recursive: true });
  const candidates = wanted === undefined ? Array.from({ length: SLOT_COUNT }, (_, slot) => slot) : [wanted];
  for (const slot of candidates) {
    if (!tryLock(slot, stateDir)) continue;
    const lease: SlotLease = {
      slot,
      release: () => {
        const lockDir = join(slotLockRoot(), String(slot));
        if (ownerOf(lockDir)?.pid === process.pid) rmSync(lockDir, { recursive: true, force: true });
      },
    };
    if (await portsFree(slot)) return lease;
    lease.release();
  }
  if (wanted !== undefined) {
    throw new SandboxArgumentError(
      `slot ${wanted} is in use (another sandbox holds it, or a process listens on one of its ports): choose another slot or leave it out`,
    );
  }
  throw new SandboxArgumentError(`all ${SLOT_COUNT} sandbox slots are in use: stop a sandbox first`);
}

/** Releases a slot whose owner is dead or is `pid`; used by `sandbox down` after the owner died. */
export function releaseSlotOf(slot: number, pid: number): void {
  const lockDir = join(slotLockRoot(), String(slot));
  const owner = ownerOf(lockDir);
  if (owner !== undefined && (owner.pid === pid || !isRunning(owner.pid))) rmSync(lockDir, { recursive: true, force: true });
}
