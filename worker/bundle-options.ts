/**
 * How the workflow code is bundled, the same for the prebuilt bundle, a worker bundling at start, the replay
 * tests and the over-model harness, so that every one of them runs the code the way production does.
 */

/** The workflows' entry point. */
export const WORKFLOWS_PATH = require.resolve('../workflows');

/**
 * Modules evaluated once per worker and shared by every workflow in it. The SDK reuses one V8 context and gives
 * each workflow its own copy of every other module; a copy of zod and of the input schemas cost each cached
 * workflow about 1.8 MB (`node --expose-gc`, 50 workflows created from the bundle), most of a monitor's memory.
 * A shared module must hold no state of one workflow: workflow-inputs.ts holds only schemas, which parse
 * the same for everyone. The SDK deep-freezes a shared module's exports: it exports functions, not schemas.
 */
export const BUNDLER_OPTIONS = {
  preloadModules: [require.resolve('../src/config/workflow-inputs')],
};
