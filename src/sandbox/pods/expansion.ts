/**
 * Kubernetes' `$(VAR)` expansion in command, args and env values: `$(NAME)` becomes the variable's value when it is
 * defined and stays as written when not; `$$` is an escaped `$`, so `$$(NAME)` yields the literal `$(NAME)`.
 * Pure.
 */
export function expandVars(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  let i = 0;
  while (i < input.length) {
    const char = input[i];
    if (char !== '$' || i + 1 >= input.length) {
      out += char;
      i++;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close === -1) {
        // An unclosed reference is kept as written.
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      const value = lookup(name);
      out += value ?? input.slice(i, close + 1);
      i = close + 1;
      continue;
    }
    // A `$` before anything else is literal.
    out += char;
    i++;
  }
  return out;
}
