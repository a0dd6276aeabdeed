import { testScope } from '../integration/support/scope';

describe('ETCD_GUARDIAN_TEST_SCOPE', () => {
  it.each([
    [undefined, 'full'],
    ['', 'full'],
    ['full', 'full'],
    ['ci', 'ci'],
  ])('%p runs the %s scope', (value, scope) => {
    expect(testScope(value === undefined ? {} : { ETCD_GUARDIAN_TEST_SCOPE: value })).toBe(scope);
  });

  it('refuses any other value, naming the variable, the value and the choices', () => {
    expect(() => testScope({ ETCD_GUARDIAN_TEST_SCOPE: 'CI' })).toThrow('ETCD_GUARDIAN_TEST_SCOPE="CI": choose "ci" or "full"');
  });
});
