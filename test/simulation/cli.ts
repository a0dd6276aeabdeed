import { maintenanceScenarioFor, simulateMaintenanceSeed } from './simulate-maintenance';
import { scenarioFor, simulateSeed, type SeedResult } from './simulate';

/**
 * `npm run simulate -- --runs N [--maintenance-runs M] --seed S`: run N migration seeds and M maintenance seeds (N by
 * default) from S and report violations.
 * A failing seed prints its scenario, its steps and its whole schedule; `--runs 1 --seed <it>` replays it exactly.
 */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const value = (flag: string, fallback: number): number => {
    const i = args.indexOf(flag);
    if (i === -1) return fallback;
    const parsed = Number(args[i + 1]);
    if (!Number.isInteger(parsed) || parsed < 0) {
      console.error(`${flag}: expected a whole number, got "${args[i + 1] ?? ''}"`);
      process.exit(2);
    }
    return parsed;
  };
  const runs = value('--runs', 1000);
  const maintenanceRuns = value('--maintenance-runs', runs);
  const seed = value('--seed', 1);
  const verbose = args.includes('--verbose');
  const started = Date.now();
  const outcomes = new Map<string, number>();
  const failing: SeedResult[] = [];
  for (let s = seed; s < seed + runs; s++) {
    const result = await simulateSeed(scenarioFor(s));
    const key = result.outcome === 'succeeded' ? 'succeeded' : `failed (${result.failureType ?? 'untyped'})`;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    if (result.violations.length > 0) failing.push(result);
    if (verbose) console.log(`seed ${s}: ${key}${result.failure ? `: ${result.failure}` : ''}`);
  }
  const seconds = (Date.now() - started) / 1000;
  console.log(`simulate: ${runs} seeds from ${seed} in ${seconds.toFixed(1)} s (${(runs / seconds).toFixed(0)} seeds/s)`);
  for (const [key, n] of [...outcomes].sort()) console.log(`  ${key}: ${n}`);
  console.log(`  violations: ${failing.length} seed(s)`);
  for (const result of failing.slice(0, 3)) {
    console.log(`\nseed ${result.scenario.seed}: ${JSON.stringify(result.scenario)}`);
    for (const v of result.violations) console.log(`  VIOLATION ${v.invariant}: ${v.detail} (at ${v.atMs} ms, step ${v.step ?? '-'})`);
    console.log(`  outcome: ${result.outcome}${result.failure ? `: ${result.failure}` : ''}`);
    for (const r of result.steps) console.log(`  ${r.status.padEnd(11)} ${r.step}: ${r.detail ?? ''}`);
    console.log('  schedule:');
    console.log(result.schedule.split('\n').map((l) => `    ${l}`).join('\n'));
  }
  // The maintenance (defragmentation, NOSPACE recovery) over the same model, the same number of seeds.
  const maintenanceStarted = Date.now();
  const maintenanceOutcomes = new Map<string, number>();
  const maintenanceFailing: string[] = [];
  for (let s = seed; s < seed + maintenanceRuns; s++) {
    const result = await simulateMaintenanceSeed(maintenanceScenarioFor(s));
    const key = result.outcome === 'succeeded' ? 'succeeded' : `failed (${result.failureType ?? 'untyped'})`;
    maintenanceOutcomes.set(key, (maintenanceOutcomes.get(key) ?? 0) + 1);
    if (verbose) console.log(`maintenance seed ${s}: ${key}${result.failure ? `: ${result.failure}` : ''}`);
    if (result.violations.length === 0) continue;
    maintenanceFailing.push(
      [
        `\nmaintenance seed ${s}: ${JSON.stringify(result.scenario)}`,
        ...result.violations.map((v) => `  VIOLATION ${v.invariant}: ${v.detail} (at ${v.atMs} ms, step ${v.step ?? '-'})`),
        `  outcome: ${result.outcome}${result.failure ? `: ${result.failure}` : ''}`,
        ...result.steps.map((r) => `  ${r.status.padEnd(11)} ${r.step}: ${r.detail ?? ''}`),
        result.schedule.split('\n').map((l) => `    ${l}`).join('\n'),
      ].join('\n'),
    );
  }
  const maintenanceSeconds = (Date.now() - maintenanceStarted) / 1000;
  console.log(`simulate maintenance: ${maintenanceRuns} seeds from ${seed} in ${maintenanceSeconds.toFixed(1)} s`);
  for (const [key, n] of [...maintenanceOutcomes].sort()) console.log(`  ${key}: ${n}`);
  console.log(`  violations: ${maintenanceFailing.length} seed(s)`);
  for (const text of maintenanceFailing.slice(0, 3)) console.log(text);
  process.exit(failing.length > 0 || maintenanceFailing.length > 0 ? 1 : 0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
