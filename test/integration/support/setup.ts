import { stopAllLoops } from '../harness/invariants';

/**
 * Runs before every integration test file. Real processes take real time (a sandbox starts in seconds, a node-down
 * fault needs its grace period), and Jest 30 takes the timeout from the global config, not from a project's, so it
 * is set here for the integration project only.
 */
jest.setTimeout(180_000);

// A test that fails half-way leaves its writer and quorum sampler running; they would keep Jest from exiting.
afterEach(stopAllLoops);
