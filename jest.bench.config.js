/** Benchmarks: real sandboxes, run one at a time by `npm run bench`; never part of the test suite. */
const base = require('./jest.config.js');
const integration = base.projects.find((p) => p.displayName === 'integration');

/** @type {import('jest').Config} */
module.exports = {
  ...integration,
  displayName: 'bench',
  roots: ['<rootDir>/bench'],
  testMatch: ['**/*.bench.ts'],
  testTimeout: 1_800_000,
};
