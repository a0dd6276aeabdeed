import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * The compiled CLI, as a user runs it: `node main.js sandbox ...`. It is compiled into a temporary directory from the
 * sources (only what src/cli/main.ts reaches), so the test neither needs nor disturbs `npm run build`'s dist/.
 */

const repoRoot = resolve(__dirname, '../../..');

/** A compiled CLI: its entry point, and the directory to remove afterwards. */
export interface BuiltCli {
  main: string;
  outDir: string;
}

/** Compiles the CLI into a fresh temporary directory. */
export function buildCli(): BuiltCli {
  const outDir = mkdtempSync(join(tmpdir(), 'etcd-guardian-cli-'));
  execFileSync(join(repoRoot, 'node_modules/.bin/tsc'), ['-p', join(__dirname, 'tsconfig.cli.json'), '--outDir', outDir], {
    cwd: repoRoot,
    stdio: 'pipe',
  });
  return { main: join(outDir, 'src/cli/main.js'), outDir };
}

/** What one CLI run printed and returned. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in `cwd`; never rejects on a non-zero exit. */
export function runCli(main: string, args: readonly string[], cwd: string): Promise<CliResult> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [main, ...args],
      // The compiled files live outside the repository: point module resolution at its node_modules.
      { cwd, env: { ...process.env, NODE_PATH: join(repoRoot, 'node_modules') }, timeout: 170_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        done({ code, stdout, stderr });
      },
    );
  });
}
