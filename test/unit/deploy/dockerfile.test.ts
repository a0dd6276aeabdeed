import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { CONFIG_FILE_ENV } from '../../../src/config/env';
import { parseConfig } from '../../../src/config/load';

/**
 * The Dockerfile cannot be built here (no Docker engine): its instructions are read and checked against what the
 * project needs (Node 20.19+, the prebuilt workflow bundle, the CLI entry of package.json) and against the
 * Deployment and the compose file that run the image.
 */

const ROOT = join(__dirname, '..', '..', '..');
const readText = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions in order: comments dropped, `\` continuations joined. */
function instructions(dockerfile: string): Instruction[] {
  const logical: string[] = [];
  let pending = '';
  for (const line of dockerfile.split('\n')) {
    // Docker drops comment lines, even inside a continued instruction.
    if (/^\s*#/.test(line)) continue;
    const continued = /\\\s*$/.test(line);
    pending += `${line.replace(/\\\s*$/, '')} `;
    if (!continued) {
      if (pending.trim() !== '') logical.push(pending.trim().replace(/\s+/g, ' '));
      pending = '';
    }
  }
  return logical.map((line) => {
    const [keyword = '', ...rest] = line.split(' ');
    return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
  });
}

const all = instructions(readText('Dockerfile'));

/** `ARG NAME=default` values declared before the first FROM, as FROM lines see them. */
const globalArgs = Object.fromEntries(
  all
    .slice(0, all.findIndex((i) => i.keyword === 'FROM'))
    .filter((i) => i.keyword === 'ARG')
    .map((i) => {
      const [name = '', value = ''] = i.args.split('=');
      return [name, value];
    }),
);

interface Stage {
  image: string;
  name: string;
  body: Instruction[];
}

const stages: Stage[] = all.reduce<Stage[]>((acc, instruction) => {
  if (instruction.keyword === 'FROM') {
    const match = /^(\S+)(?: AS (\S+))?$/i.exec(instruction.args);
    const image = (match?.[1] ?? '').replace(/\$\{(\w+)\}/g, (_, name: string) => globalArgs[name] ?? '');
    acc.push({ image, name: match?.[2] ?? String(acc.length), body: [] });
  } else {
    acc.at(-1)?.body.push(instruction);
  }
  return acc;
}, []);

const [, build, runtime] = stages;
const runs = (stage: Stage | undefined): string => (stage?.body ?? []).filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
const only = (stage: Stage | undefined, keyword: string): Instruction[] => (stage?.body ?? []).filter((i) => i.keyword === keyword);
const jsonArgs = (instruction: Instruction | undefined): unknown => JSON.parse(instruction?.args ?? 'null');

/** `ENV KEY=value` pairs of a stage. */
function envOf(stage: Stage | undefined): Record<string, string> {
  return Object.fromEntries(
    only(stage, 'ENV').flatMap((i) => i.args.split(' ').map((pair) => pair.split('=') as [string, string])),
  );
}

const packageJson = JSON.parse(readText('package.json')) as { bin: Record<string, string>; engines: { node: string } };
const defaultConfig = parseConfig({ clusters: [{ name: 'main', podSelector: 'app=etcd', addressing: { mode: 'host-network' } }] }, 'a minimal config');

describe('Dockerfile', () => {
  it('builds in two stages, both on a Debian bookworm slim Node 20 of at least 20.19, beside etcd\'s release image', () => {
    expect(stages.map((s) => s.name)).toEqual(['etcd', 'build', 'runtime']);
    for (const stage of stages.filter((s) => s.name !== 'etcd')) {
      const version = /^node:(\d+)\.(\d+)\.(\d+)-bookworm-slim$/.exec(stage.image);
      expect(version).not.toBeNull();
      const [major, minor] = [Number(version?.[1]), Number(version?.[2])];
      expect(major).toBe(20);
      expect(minor).toBeGreaterThanOrEqual(19);
    }
    // The engines floor of package.json, which the image must meet.
    expect(packageJson.engines.node).toBe('>=20.19');
  });

  it('installs from the lockfile, compiles, and writes the prebuilt workflow bundle in the build stage', () => {
    const script = runs(build);
    expect(script).toMatch(/npm ci\b/);
    expect(script).toContain('npm run build');
    expect(script).toContain('node dist/worker/bundle.js');
    expect(script).toContain('test -f dist/workflow-bundle.js');
  });

  it('copies every source root that tsconfig.build.json compiles', () => {
    const tsconfig = JSON.parse(readText('tsconfig.build.json')) as { include: string[] };
    const copied = only(build, 'COPY').flatMap((i) => i.args.split(' ').slice(0, -1));
    expect(copied).toEqual(expect.arrayContaining([...tsconfig.include, 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json']));
  });

  it('installs production dependencies only in the runtime stage, and takes dist from the build stage', () => {
    expect(runs(runtime)).toMatch(/npm ci --omit=dev\b/);
    expect(only(runtime, 'COPY').map((i) => i.args)).toContain('--from=build /app/dist ./dist');
  });

  it("carries etcd and etcdutl of etcd's release image where the restore drill looks by default", () => {
    expect(stages[0]?.image).toMatch(/^gcr\.io\/etcd-development\/etcd:v3\.6\.\d+$/);
    const copies = only(runtime, 'COPY').filter((i) => i.args.startsWith('--from=etcd '));
    expect(copies.map((i) => i.args)).toEqual([`--from=etcd /usr/local/bin/etcd /usr/local/bin/etcdutl ${defaultConfig.clusters[0]?.backup.drill.etcdBinDirectory ?? '?'}/`]);
  });

  it('runs as the numeric non-root user the Deployment expects', () => {
    const users = only(runtime, 'USER').map((i) => i.args);
    expect(users).toEqual(['10001:10001']);
    const deployment = parseAllDocuments(readText('deploy/deployment.yaml'))
      .map((d) => d.toJS() as { kind?: string; spec?: { template?: { spec?: { securityContext?: { runAsUser?: number } } } } })
      .find((d) => d.kind === 'Deployment');
    expect(deployment?.spec?.template?.spec?.securityContext?.runAsUser).toBe(10001);
  });

  it('starts the CLI of package.json with the worker command', () => {
    const entrypoint = jsonArgs(only(runtime, 'ENTRYPOINT')[0]);
    expect(entrypoint).toEqual(['node', 'dist/src/cli/main.js']);
    expect(Object.values(packageJson.bin)).toEqual(['dist/src/cli/main.js']);
    expect(jsonArgs(only(runtime, 'CMD')[0])).toEqual(['worker']);
  });

  it("exposes the worker's default metrics port", () => {
    expect(only(runtime, 'EXPOSE').map((i) => i.args)).toEqual([String(defaultConfig.worker.metricsPort)]);
  });

  it('reads its config from where the compose file mounts it', () => {
    const path = envOf(runtime)[CONFIG_FILE_ENV];
    expect(path).toBe('/etc/etcd-guardian/config.yaml');
    const compose = parse(readText('docker-compose.yml')) as { services: { worker: { environment: Record<string, string> } } };
    expect(compose.services.worker.environment[CONFIG_FILE_ENV]).toBe(path);
  });

  it('prepares the default backup directory for the guardian user', () => {
    expect(runs(runtime)).toContain(`mkdir -p /etc/etcd-guardian ${defaultConfig.clusters[0]?.backup.directory}`);
    expect(runs(runtime)).toContain('chown -R 10001:10001 /var/lib/etcd-guardian');
  });
});

describe('.dockerignore', () => {
  const ignored = readText('.dockerignore')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));

  it('keeps host builds, dependencies and sandbox state out of the build context', () => {
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.sandbox', 'coverage']));
  });

  it('keeps in everything the Dockerfile copies from the context', () => {
    const copied = [...(build?.body ?? []), ...(runtime?.body ?? [])]
      .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from='))
      .flatMap((i) => i.args.split(' ').slice(0, -1));
    expect(copied.filter((source) => ignored.includes(source))).toEqual([]);
  });
});
