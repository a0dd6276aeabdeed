/** Jest projects: `unit` is pure and fast; integration and e2e suites run against real components. */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];

// @kubernetes/client-node 1.x and the OIDC packages it imports ship only ES modules. Node 20.19+ can require() them,
// but Jest's module loader cannot (before Node 24.9), so the integration project compiles them to CommonJS.
const esmOnlyPackages = ['@kubernetes/client-node', 'openid-client', 'oauth4webapi', 'jose'];
const esmToCommonJs = [
  'ts-jest',
  { tsconfig: { allowJs: true, module: 'commonjs', target: 'ES2022', esModuleInterop: true, isolatedModules: true } },
];

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      roots: ['<rootDir>/test/unit'],
      transform: { '^.+\\.ts$': tsJest },
    },
    {
      // Real processes (kube-apiserver, etcd, Temporal); the long timeout is set in support/setup.ts.
      displayName: 'integration',
      testEnvironment: 'node',
      roots: ['<rootDir>/test/integration'],
      transform: { '^.+\\.ts$': tsJest, '^.+\\.js$': esmToCommonJs },
      transformIgnorePatterns: [`/node_modules/(?!(${esmOnlyPackages.join('|')})/)`],
      setupFilesAfterEnv: ['<rootDir>/test/integration/support/setup.ts'],
    },
  ],
  collectCoverageFrom: ['src/domain/**/*.ts', 'src/config/**/*.ts'],
  coverageThreshold: { './src/domain/': { lines: 90 } },
  coverageReporters: ['text-summary', 'text'],
};
