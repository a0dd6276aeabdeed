import { modelTarget } from '../../simulation/contract/model-target';
import { modelSpaceOptions, runScenario } from '../../simulation/contract/scenario';
import { SCENARIOS } from '../../simulation/contract/scenarios';
import { aWorld } from '../../simulation/model/builders';

describe('contract scenarios on the model', () => {
  it.each(SCENARIOS.map((s) => [s.name, s] as const))('%s', async (_name, scenario) => {
    const etcd = { silentPeersStayActive: scenario.silentPeersStayActive ?? false, ...modelSpaceOptions(scenario) };
    const results = await runScenario(modelTarget(aWorld({ members: scenario.members, etcd })), scenario);
    expect(results.map((r) => ({ step: r.step, call: r.call, outcome: r.actual }))).toEqual(results.map((r) => ({ step: r.step, call: r.call, outcome: r.expected })));
  });
});
