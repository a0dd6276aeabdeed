import { clientEndpointsOf, endpointsConfigMapData, endpointsConfigMapName } from '../../../src/domain/endpoints';
import type { ClusterObservation } from '../../../src/domain/observation';
import { aCluster, aDeadStatus, aMember, withMember } from '../../builders';

/** Where clients find the cluster: the voters' client URLs, published in a ConfigMap named after the cluster. */

const urls = (obs: ClusterObservation) => clientEndpointsOf(obs)?.endpoints;

describe('the client endpoints of a cluster', () => {
  it.each<[string, ClusterObservation, string[] | undefined]>([
    ['every voter, in name order', { ...aCluster(3), members: [...aCluster(3).members].reverse() }, ['http://127.0.1.1:2379', 'http://127.0.1.2:2379', 'http://127.0.1.3:2379']],
    ['a voter that is down stays listed: it is still a member, and clients fail over', withMember(aCluster(3), 1, { status: aDeadStatus() }), ['http://127.0.1.1:2379', 'http://127.0.1.2:2379', 'http://127.0.1.3:2379']],
    ['a learner is left out: it refuses writes and linearizable reads', { ...aCluster(3), members: [...aCluster(3).members, aMember(3, { isLearner: true })] }, ['http://127.0.1.1:2379', 'http://127.0.1.2:2379', 'http://127.0.1.3:2379']],
    ['a member that has not started (no client URL yet) is left out', withMember(aCluster(3), 2, { name: '', clientURLs: [] }), ['http://127.0.1.1:2379', 'http://127.0.1.2:2379']],
    ['nothing when the member list could not be read: a guess never replaces what clients have', { ...aCluster(3), membershipUnknown: 'context deadline exceeded' }, undefined],
    ['nothing when no voter has a client URL', { ...aCluster(1), members: [aMember(0, { clientURLs: [] })] }, undefined],
  ])('%s', (_name, obs, expected) => {
    expect(urls(obs)).toEqual(expected);
  });

  it('is published as a comma-separated list (the form of --etcd-servers) and the members with their nodes', () => {
    const endpoints = clientEndpointsOf(aCluster(2));
    if (!endpoints) throw new Error('expected endpoints');
    expect(endpointsConfigMapName('main')).toBe('etcd-guardian-main-endpoints');
    expect(endpointsConfigMapData(endpoints)).toEqual({
      endpoints: 'http://127.0.1.1:2379,http://127.0.1.2:2379',
      'members.json': '[{"name":"etcd-0","clientURL":"http://127.0.1.1:2379","node":"node-0"},{"name":"etcd-1","clientURL":"http://127.0.1.2:2379","node":"node-1"}]',
    });
  });
});
