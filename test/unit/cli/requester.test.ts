import { cliRequester } from '../../../src/cli/context';

describe('cliRequester: who the history records as having asked', () => {
  const account = (name: string) => () => name;
  const noAccount = () => {
    throw new Error('ENOENT: no such user');
  };

  it.each([
    ['$USER', { USER: 'alice' }, account('root'), 'cli:alice'],
    ['$LOGNAME without $USER', { LOGNAME: 'bob' }, account('root'), 'cli:bob'],
    ['the OS account when neither is set (cron, containers)', {}, account('svc-etcd'), 'cli:svc-etcd'],
    ['the OS account when $USER is blank', { USER: '  ' }, account('svc-etcd'), 'cli:svc-etcd'],
    ['unknown only when there is no account either', {}, noAccount, 'cli:unknown'],
  ])('%s', (_name, env, userName, expected) => {
    expect(cliRequester(env as NodeJS.ProcessEnv, userName)).toBe(expected);
  });
});
