import type { WorldEvent } from './model/events';
import type { Fault, PortCall } from './model/faults';
import type { Random } from './model/random';
import type { World } from './model/world';

/** What a schedule does at each port call besides the guardian's own checks. */
export interface ChaosOptions {
  world: World;
  random: Random;
  /** Chance of a fault at each call. */
  faultRate: number;
  /** Chance, at each call, that the next disruption happens there. */
  disruptionChance: number;
  /** World events left to inject. */
  disruptions: number;
  /** Picks the next disruption (a member killed, cut off, its node down), or none. */
  disruption(): WorldEvent | undefined;
  /** Calls whose effect may happen with the answer lost. */
  mutating: ReadonlySet<string>;
}

/**
 * The rest of a fault schedule, the same for every simulation: a client writing every fourth call (every acknowledged
 * write must survive), the disruptions, and errors, timeouts and lost answers at random. The draws come in this order
 * on every call, so a seed's schedule replays exactly.
 */
export function chaos(options: ChaosOptions): (call: PortCall) => Fault | undefined {
  const { world, random } = options;
  let writes = 0;
  let disruptionsLeft = options.disruptions;
  return (call) => {
    if (call.index % 4 === 0) {
      writes += 1;
      world.put(`sim-${writes}`, `v${writes}`);
    }
    if (disruptionsLeft > 0 && random.chance(options.disruptionChance)) {
      const event = options.disruption();
      if (event) {
        disruptionsLeft -= 1;
        return { kind: 'event', event };
      }
    }
    if (random.chance(options.faultRate)) {
      const kinds: Fault['kind'][] = options.mutating.has(call.method) ? ['error', 'timeout', 'lost-response'] : ['error', 'timeout'];
      const kind = random.pick(kinds);
      return kind === 'error' ? { kind: 'error' } : kind === 'timeout' ? { kind: 'timeout' } : { kind: 'lost-response' };
    }
    return undefined;
  };
}
