import { approvalReasons, approvalRequirement, DEFAULT_APPROVAL_RULES, samePlanAsApproved, verdictProblem, type ApprovalRules, type PlanForApproval } from '../../../src/domain/approval';

const step = (name: string, faultTolerance: number, healthyVoters = 3, voters = 3) => ({ step: name, projected: { faultTolerance, healthyVoters, voters } });
const surge: PlanForApproval = { cluster: 'main', operation: 'migration', steps: [step('add-learner', 1), step('promote-learner', 1, 4, 4), step('remove-member', 1)] };
const replaceDead: PlanForApproval = { cluster: 'main', operation: 'migration', steps: [step('remove-member', 0, 2, 2), step('add-learner', 0, 2, 2), step('promote-learner', 1)] };
const rules = (over: Partial<ApprovalRules>): ApprovalRules => ({ ...DEFAULT_APPROVAL_RULES, ...over });

describe('approvalReasons: which plans wait for a person', () => {
  it.each<[string, ApprovalRules, PlanForApproval, string[]]>([
    ['no rule: nothing waits', rules({}), { ...surge, targetNode: 'node-4' }, []],
    ['critical: every plan', rules({ critical: true }), surge, ['main is critical (approval.critical): every plan on it waits for a person']],
    ['critical: a maintenance too', rules({ critical: true }), { cluster: 'main', operation: 'maintenance', steps: [{ step: 'defragment' }] }, ['main is critical (approval.critical): every plan on it waits for a person']],
    ['fault tolerance 0: a surge keeps one failure to spare', rules({ faultToleranceZero: true }), surge, []],
    [
      'fault tolerance 0: replacing a dead member names the exposed steps',
      rules({ faultToleranceZero: true }),
      replaceDead,
      ['steps remove-member, add-learner leave main with no failure to spare (2/2 healthy voters; approval.faultToleranceZero)'],
    ],
    ['fault tolerance 0: steps without a projection never count', rules({ faultToleranceZero: true }), { cluster: 'main', operation: 'maintenance', steps: [{ step: 'compact' }] }, []],
    ['manual target: a node named by hand', rules({ manualTarget: true }), { ...surge, targetNode: 'node-4' }, ['the target node node-4 was named by hand (approval.manualTarget)']],
    ['manual target: the guardian\'s own choice', rules({ manualTarget: true }), surge, []],
    ['manual target: only migrations have one', rules({ manualTarget: true }), { ...surge, operation: 'repair', targetNode: 'node-4' }, []],
    [
      'every rule met: every reason, in order',
      rules({ critical: true, faultToleranceZero: true, manualTarget: true }),
      { ...replaceDead, steps: [step('remove-member', 0, 2, 2)], targetNode: 'node-5' },
      [
        'main is critical (approval.critical): every plan on it waits for a person',
        'step remove-member leaves main with no failure to spare (2/2 healthy voters; approval.faultToleranceZero)',
        'the target node node-5 was named by hand (approval.manualTarget)',
      ],
    ],
  ])('%s', (_name, r, plan, expected) => {
    expect(approvalReasons(r, plan)).toEqual(expected);
  });

  it('carries the timeout with the reasons, and nothing when no rule holds', () => {
    expect(approvalRequirement(rules({ critical: true, timeoutMs: 600_000 }), surge)).toEqual({ reasons: [expect.stringContaining('critical')], timeoutMs: 600_000 });
    expect(approvalRequirement(rules({ timeoutMs: 600_000 }), surge)).toBeUndefined();
  });
});

describe('verdictProblem: what the approve and reject signals accept', () => {
  it.each([
    [{ by: 'alice' }, undefined],
    [{ by: 'cli:bob', reason: 'change 42' }, undefined],
    [{}, 'by: expected who answers, such as "alice" or "cli:alice", got nothing'],
    [{ by: '  ' }, 'by: expected who answers, such as "alice" or "cli:alice", got "  "'],
    [{ by: 7 }, 'by: expected who answers, such as "alice" or "cli:alice", got 7'],
    [{ by: 'alice', reason: 3 }, 'reason: expected a sentence, got 3'],
    ['alice', 'expected {"by": "<who>", "reason": "<why>"}, got "alice"'],
    [null, 'expected {"by": "<who>", "reason": "<why>"}, got null'],
    [undefined, 'expected {"by": "<who>", "reason": "<why>"}, got undefined'],
  ])('%j → %s', (raw, expected) => {
    expect(verdictProblem(raw)).toBe(expected);
  });
});

describe('samePlanAsApproved: a plan that changed while it waited is not run', () => {
  const approved = { member: 'etcd-0', strategy: 'surge', target: 'node-3', steps: ['add-learner', 'promote-learner', 'remove-member'] };
  it.each([
    ['the same plan', approved, { same: true }],
    ['another member', { ...approved, member: 'etcd-1' }, { same: false, why: 'it now moves etcd-1, not etcd-0' }],
    ['another strategy', { ...approved, strategy: 'replace' }, { same: false, why: 'it is now a replace, not a surge' }],
    ['another target', { ...approved, target: 'node-4' }, { same: false, why: 'its target is now node-4, not node-3' }],
    ['other steps', { ...approved, steps: ['remove-member', 'add-learner'] }, { same: false, why: 'its steps are now remove-member, add-learner, not add-learner, promote-learner, remove-member' }],
  ])('%s', (_name, now, expected) => {
    expect(samePlanAsApproved(approved, now)).toEqual(expected);
  });
});
