/** Command-line argument helpers shared by the devpager subcommands. */

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
