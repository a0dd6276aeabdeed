import { confirmSuccessorName, nextMemberName, successorName, type SuccessorNameRequest } from '../../../src/domain/naming';

/** How successors are named: stable names where the name is the address, fresh ordinals elsewhere. */

const members = ['etcd-0', 'etcd-1', 'etcd-2'];
const request = (overrides: Partial<SuccessorNameRequest>): SuccessorNameRequest => ({ strategy: 'replace', leaving: 'etcd-1', prefix: 'etcd', taken: members, ...overrides });

describe('the name a successor is planned to get', () => {
  it.each<[string, Partial<SuccessorNameRequest>, string, boolean]>([
    ['a replace behind a headless Service keeps the removed member\'s name (its DNS name stays valid)', { addressing: 'headless-service' }, 'etcd-1', true],
    ['a surge behind a headless Service takes the next ordinal: both members run at once', { addressing: 'headless-service', strategy: 'surge' }, 'etcd-3', false],
    ['a replace with host networking takes the next ordinal: the address is the node\'s', { addressing: 'host-network' }, 'etcd-3', false],
    ['a cluster configured before names were reused (no addressing given) counts as host networking', {}, 'etcd-3', false],
    ['a member that never started has no name to reuse', { addressing: 'headless-service', leaving: '' }, 'etcd-3', false],
    ['a name outside the prefix is reused as it is', { addressing: 'headless-service', leaving: 'infra-a', taken: ['infra-a', 'etcd-4'] }, 'infra-a', true],
  ])('%s', (_name, overrides, name, reused) => {
    expect(successorName(request(overrides))).toMatchObject({ name, reused });
  });

  it('says why, in the words the plan prints', () => {
    expect(successorName(request({ addressing: 'headless-service' })).why).toBe(
      'a replace behind a headless Service keeps the name etcd-1, so its DNS name stays valid; reused only once the member and its pod are gone',
    );
  });
});

describe('the name confirmed when the node is chosen', () => {
  it.each<[string, string | undefined, string[], string[], string]>([
    ['the planned (reused) name, once the member and its pod are gone', 'etcd-1', ['etcd-0', 'etcd-2'], [], 'etcd-1'],
    ['not the reused name while the removed member is still listed', 'etcd-1', ['etcd-0', 'etcd-1', 'etcd-2'], [], 'etcd-3'],
    ['not the reused name while its pod is still there (terminating)', 'etcd-1', ['etcd-0', 'etcd-2', 'etcd-1'], [], 'etcd-3'],
    ['not a name this migration gave to a failed attempt (its data directory stays on that node)', 'etcd-1', ['etcd-0', 'etcd-2'], ['etcd-1'], 'etcd-3'],
    ['the next ordinal above the failed attempts too', 'etcd-3', ['etcd-0', 'etcd-2'], ['etcd-3'], 'etcd-4'],
    ['the next ordinal when nothing was planned', undefined, ['etcd-0', 'etcd-2'], [], 'etcd-3'],
  ])('%s', (_name, planned, taken, used, expected) => {
    expect(confirmSuccessorName('etcd', planned, taken, used)).toBe(expected);
  });

  it('never confirms a name a member or pod has, whatever was planned', () => {
    for (const planned of ['etcd-0', 'etcd-1', 'etcd-2', 'etcd-7', 'x']) {
      const taken = ['etcd-0', 'etcd-1', 'etcd-2'];
      expect(taken).not.toContain(confirmSuccessorName('etcd', planned, taken, []));
    }
  });
});

describe('the next ordinal', () => {
  it.each([
    [['etcd-0', 'etcd-1', 'etcd-2'], 'etcd-3'],
    [['etcd-0', 'etcd-7'], 'etcd-8'],
    [['other-9', 'etcd-x'], 'etcd-0'],
  ])('after %j is %s', (taken, expected) => {
    expect(nextMemberName('etcd', taken)).toBe(expected);
  });
});
