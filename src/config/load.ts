import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { LineCounter, parseDocument, type YAMLError } from 'yaml';
import { applyEnvOverrides, CONFIG_FILE_ENV, ENV_OVERRIDES } from './env';
import { ConfigError, MISSING_VALUE, ROOT_PATH, type ConfigIssue } from './errors';
import { renderValue, validate } from './issues';
import { guardianConfigSchema, type GuardianConfig } from './schema';

/**
 * Reading the guardian's config: a YAML or JSON file, then environment overrides, then validation. The only
 * file in src/config that touches Node: workflow code must never import it.
 */

export { CONFIG_FILE_ENV, ENV_OVERRIDES };
export type { EnvOverride } from './env';

/** Where to read the config from. */
export interface LoadConfigOptions {
  /** Path of a .yaml, .yml or .json file; defaults to $ETCD_GUARDIAN_CONFIG. */
  file?: string;
  /** Environment to read overrides from; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

/** Validates an already-parsed config document; throws ConfigError listing every problem. */
export function parseConfig(raw: unknown, source: string): GuardianConfig {
  return validated(raw, source, new Map());
}

/** Reads the config file, applies environment overrides and validates; throws ConfigError listing every problem. */
export function loadConfig(options: LoadConfigOptions = {}): GuardianConfig {
  const env = options.env ?? process.env;
  const file = options.file ?? presentValue(env[CONFIG_FILE_ENV]);
  if (file === undefined) {
    throw new ConfigError('the environment', [
      { path: CONFIG_FILE_ENV, message: 'expected the path of a YAML or JSON config file', value: MISSING_VALUE },
    ]);
  }
  const { raw, applied } = applyEnvOverrides(readConfigFile(file), env);
  // A bad value from the environment is reported under the variable's name: the file is not where to fix it.
  const labels = new Map(
    applied.flatMap(({ override, paths }) =>
      paths.map((path): [string, string] => [path, `${override.name} (${override.path})`]),
    ),
  );
  return validated(raw, file, labels);
}

function validated(raw: unknown, source: string, pathLabels: ReadonlyMap<string, string>): GuardianConfig {
  const result = validate(guardianConfigSchema, raw, { pathLabels });
  if (!result.ok) throw new ConfigError(source, result.issues);
  return result.value;
}

function readConfigFile(file: string): unknown {
  // YAML reads JSON too; a .json file is held to JSON's rules, so `yes` or an unquoted word is an error there.
  const language = extname(file).toLowerCase() === '.json' ? 'JSON' : 'YAML';
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error: unknown) {
    throw new ConfigError(file, [{ path: ROOT_PATH, message: readFailure(error, file), value: MISSING_VALUE }], true);
  }

  const lineCounter = new LineCounter();
  const document = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    schema: language === 'JSON' ? 'json' : 'core',
    // Merge keys (`<<: *defaults`) let several clusters share thresholds; SREs expect them to work.
    merge: language === 'YAML',
  });
  if (document.errors.length > 0) {
    throw new ConfigError(
      file,
      document.errors.map((error) => syntaxIssue(error, language, text, lineCounter)),
    );
  }
  try {
    return document.toJS();
  } catch (error: unknown) {
    // toJS fails only on alias abuse (a "billion laughs" document).
    const message = property(error, 'message') ?? String(error);
    throw new ConfigError(file, [
      { path: ROOT_PATH, message: `cannot expand the ${language}: ${message}`, value: MISSING_VALUE },
    ]);
  }
}

function syntaxIssue(error: YAMLError, language: string, text: string, lineCounter: LineCounter): ConfigIssue {
  const { line, col } = lineCounter.linePos(error.pos[0]);
  const sourceLine = text.split(/\r?\n/)[line - 1];
  return {
    path: ROOT_PATH,
    message: `${language} syntax error at line ${line}, column ${col}: ${error.message}`,
    value: renderValue(sourceLine),
  };
}

function readFailure(error: unknown, file: string): string {
  const where = resolve(file);
  switch (property(error, 'code')) {
    case 'ENOENT':
      return `config file not found at ${where}`;
    case 'EISDIR':
      return `${where} is a directory, not a config file`;
    case 'EACCES':
      return `permission denied reading ${where}`;
    default:
      return `cannot read ${where}: ${property(error, 'message') ?? String(error)}`;
  }
}

// Duck-typed: fs errors come from Node's own realm, where `instanceof Error` can be false (under Jest, say).
function property(error: unknown, key: 'code' | 'message'): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const value: unknown = Reflect.get(error, key);
  return typeof value === 'string' ? value : undefined;
}

function presentValue(text: string | undefined): string | undefined {
  return text === undefined || text.trim() === '' ? undefined : text.trim();
}
