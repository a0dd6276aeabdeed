import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { BUNDLER_OPTIONS, WORKFLOWS_PATH } from './bundle-options';

/** Where `npm run build` puts the prebuilt workflow bundle, next to the compiled worker. */
export const BUNDLE_PATH = join(__dirname, '..', 'workflow-bundle.js');

/** Bundle workflows/ once at build time, so that a worker starts without webpack. */
export async function writeWorkflowBundle(path = BUNDLE_PATH): Promise<{ path: string; bytes: number }> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, ...BUNDLER_OPTIONS, logger: new DefaultLogger('WARN') });
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, code);
  return { path, bytes: code.length };
}

if (require.main === module) {
  writeWorkflowBundle().then(
    ({ path, bytes }) => process.stdout.write(`workflow bundle: ${path} (${Math.round(bytes / 1024)} KiB)\n`),
    (error: unknown) => {
      process.stderr.write(`workflow bundle failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
