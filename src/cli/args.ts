/** Command-line argument helpers shared by the devpager subcommands. */
import { parseArgs as nodeParseArgs } from 'node:util';

/** A usage error: main prints the message and the command's usage, and exits with status 2. */
export class UsageError extends Error {
  constructor(message: string, readonly command?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** "1,2,4" -> [1, 2, 4]: positive integers in [min, max], no duplicates, in the given order. */
export function intList(option: string, s: string, min: number, max: number): number[] {
  const parts = s.split(',').map((x) => x.trim());
  const out: number[] = [];
  for (const p of parts) {
    const v = Number(p);
    if (p === '' || !Number.isInteger(v) || v < min || v > max) {
      throw new UsageError(`--${option} must be a comma-separated list of integers in [${min}, ${max}], got '${s}'`);
    }
    if (!out.includes(v)) out.push(v);
  }
  return out;
}

/** "a,b" -> ['a', 'b'], each one of `allowed`. */
export function choiceList<T extends string>(option: string, s: string, allowed: readonly T[]): T[] {
  const out: T[] = [];
  for (const p of s.split(',').map((x) => x.trim())) {
    if (!allowed.includes(p as T)) throw new UsageError(`--${option}: unknown value '${p}' (choose from ${allowed.join(', ')})`);
    if (!out.includes(p as T)) out.push(p as T);
  }
  return out;
}

export function posInt(option: string, s: string, min: number, max: number): number {
  const v = Number(s);
  if (s.trim() === '' || !Number.isInteger(v) || v < min || v > max) throw new UsageError(`--${option} must be an integer in [${min}, ${max}], got '${s}'`);
  return v;
}

/** "64M", "1G", "512k", "1048576" -> bytes. */
export function bytes(option: string, s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgG]?)(?:i?[bB])?$/.exec(s.trim());
  if (!m) throw new UsageError(`--${option} must be a size such as 64M, 1G or a number of bytes, got '${s}'`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.floor(Number(m[1]) * mult);
}

// ------------------------------------------------------------------ declared options

/**
 * One command-line option, declared once: how its value is read and checked, and its line in the
 * help. `arg` names the value in the help (default by kind). An option without a `default` is
 * undefined when not given, so a command can pick a default that depends on other options.
 */
export type OptionSpec =
  | { kind: 'int'; min: number; max: number; default?: number; arg?: string; help: string }
  | { kind: 'ints'; min: number; max: number; default?: readonly number[]; arg?: string; help: string }
  | { kind: 'choice'; choices: readonly string[]; default?: string; arg?: string; help: string }
  | { kind: 'choices'; choices: readonly string[]; default?: readonly string[]; arg?: string; help: string }
  | { kind: 'size'; default?: number; arg?: string; help: string }
  | { kind: 'string'; default?: string; arg?: string; help: string }
  | { kind: 'flag'; short?: string; help: string };

export type OptionSpecs = Record<string, OptionSpec>;

type ValueOf<S extends OptionSpec> =
  S extends { kind: 'int' | 'size' } ? number
  : S extends { kind: 'ints' } ? number[]
  : S extends { kind: 'choice'; choices: readonly (infer C)[] } ? C
  : S extends { kind: 'choices'; choices: readonly (infer C)[] } ? C[]
  : S extends { kind: 'flag' } ? boolean
  : string;

/** The parsed values: flags are booleans, options with a default always have a value. */
export type OptionValues<T extends OptionSpecs> = {
  [K in keyof T]: T[K] extends { kind: 'flag' } | { default: unknown } ? ValueOf<T[K]> : ValueOf<T[K]> | undefined;
};

const ARG: Record<OptionSpec['kind'], string> = { int: 'N', ints: 'LIST', choice: 'NAME', choices: 'LIST', size: 'SIZE', string: 'VALUE', flag: '' };

function readValue(name: string, s: OptionSpec, v: string): unknown {
  switch (s.kind) {
    case 'int': return posInt(name, v, s.min, s.max);
    case 'ints': return intList(name, v, s.min, s.max);
    case 'choices': return choiceList(name, v, s.choices);
    case 'choice': {
      const l = choiceList(name, v, s.choices);
      if (l.length !== 1) throw new UsageError(`--${name} takes one of ${s.choices.join(', ')}, got '${v}'`);
      return l[0];
    }
    case 'size': return bytes(name, v);
    case 'string':
      if (v === '') throw new UsageError(`--${name} needs a value`);
      return v;
    case 'flag': return true;
  }
}

/**
 * Parse `argv` against `specs`. Throws UsageError naming the option for an unknown option, a
 * missing or bad value, or a positional argument.
 */
export function parseOptions<const T extends OptionSpecs>(argv: readonly string[], specs: T): OptionValues<T> {
  const config: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, s] of Object.entries(specs)) config[name] = s.kind === 'flag' ? { type: 'boolean', ...(s.short ? { short: s.short } : {}) } : { type: 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = nodeParseArgs({ args: [...argv], strict: true, allowPositionals: false, options: config }));
  } catch (e) {
    // parseArgs appends advice about '--' that does not apply here; keep the first sentence.
    throw new UsageError((e as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  const out: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(specs)) {
    const v = values[name];
    if (s.kind === 'flag') out[name] = v === true;
    else if (typeof v === 'string') out[name] = readValue(name, s, v);
    else out[name] = s.default;
  }
  return out as OptionValues<T>;
}

/** The options section of a usage text, one entry per option, help lines aligned and wrapped as written. */
export function optionsHelp(specs: OptionSpecs, width = 20): string {
  const lines: string[] = [];
  for (const [name, s] of Object.entries(specs)) {
    const arg = s.kind === 'flag' ? '' : ` ${s.arg ?? ARG[s.kind]}`;
    const flag = `${s.kind === 'flag' && s.short ? `-${s.short}, ` : ''}--${name}${arg}`;
    const [first, ...rest] = s.help.split('\n');
    lines.push(flag.length + 2 >= width ? `  ${flag}\n  ${''.padEnd(width)}${first}` : `  ${flag.padEnd(width)}${first}`);
    for (const r of rest) lines.push(`  ${''.padEnd(width)}${r}`);
  }
  return lines.join('\n');
}
