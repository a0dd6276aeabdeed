/**
 * Errors for a config file or a workflow input that does not validate. Each carries every problem found, not
 * just the first, so an operator fixes a file in one pass. Pure: workflow code may import this file.
 */

/** One problem with a config value or an input field. */
export interface ConfigIssue {
  /** Dot path of the value, such as "clusters.0.thresholds.nodeCpu"; "(root)" for the document itself. */
  path: string;
  /** What was expected ("expected a number between 0 and 1"), or a sentence that stands on its own. */
  message: string;
  /** The offending value as compact JSON, or "(missing)". */
  value: string;
}

/** The path of a problem with the document as a whole. */
export const ROOT_PATH = '(root)';

/** The rendering of a value that is absent. */
export const MISSING_VALUE = '(missing)';

/** One issue as one line: `clusters.0.thresholds.nodeCpu: expected a number between 0 and 1, got 1.5`. */
export function formatIssue(issue: ConfigIssue): string {
  // An expectation only makes sense next to what was found; other messages ("unknown key; did you mean ...")
  // already say everything, and a trailing value would bury the hint.
  const got = issue.message.startsWith('expected ') ? `, got ${issue.value}` : '';
  return `${issue.path}: ${issue.message}${got}`;
}

/** A headline followed by every issue, one per line. */
export function describeIssues(headline: string, issues: readonly ConfigIssue[]): string {
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  return [`${headline} (${count}):`, ...issues.map((issue) => `  ${formatIssue(issue)}`)].join('\n');
}

/** The guardian's config (file and environment) is invalid; nothing should start. */
export class ConfigError extends Error {
  /** Stable code to branch on; `instanceof` does not survive the workflow sandbox. */
  readonly code = 'INVALID_CONFIG' as const;
  readonly retryable = false;

  constructor(
    /** Where the config came from: a file path, or "the environment" when no file was named. */
    readonly source: string,
    readonly issues: ConfigIssue[],
    /** The file could not be read at all: the one sentence saying why is the whole message. */
    unreadable = false,
  ) {
    super(unreadable && issues.length === 1 && issues[0] ? issues[0].message : describeIssues(`invalid configuration in ${source}`, issues));
    this.name = 'ConfigError';
  }
}

/** A workflow was started with input it cannot act on; retrying the same input cannot help. */
export class InvalidInputError extends Error {
  /** Stable code to branch on and to use as the failure type. */
  readonly code = 'INVALID_INPUT' as const;
  /** The same input fails the same way: make it a non-retryable failure. */
  readonly retryable = false;

  constructor(
    /** What the input was for, such as "migrateMember". */
    readonly subject: string,
    readonly issues: ConfigIssue[],
  ) {
    super(describeIssues(`invalid ${subject} input`, issues));
    this.name = 'InvalidInputError';
  }
}
