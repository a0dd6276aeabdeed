/** Jest projects: `unit` is pure and fast; integration and e2e suites run against real components. */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      roots: ['<rootDir>/test/unit'],
      transform: { '^.+\\.ts$': tsJest },
    },
  ],
  collectCoverageFrom: ['src/domain/**/*.ts', 'src/config/**/*.ts'],
  coverageThreshold: { './src/domain/': { lines: 90 } },
  coverageReporters: ['text-summary', 'text'],
};
