/**
 * What the dev benchmarks in bench/ share: their command line (options declared once with the
 * parser devpager's own commands use; --help printed from the declarations; a bad value named,
 * with exit status 2), the "median (min..max)" they print, the one-process refault loop over
 * /dev/foo0 that several of them time, and the builds a --lib list names.
 */
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PAGE_SIZE } from '../src/constants.js';
import { UsageError, optionsHelp, parseOptions, type OptionSpecs, type OptionValues } from '../src/cli/args.js';
import { Runtime, type RuntimeOptions } from '../src/index.js';
import { spread } from '../src/util/stats.js';

const HELP = { kind: 'flag', short: 'h', help: 'show this help' } as const;

/**
 * Parse this script's arguments. `--help` prints the usage and exits 0; a usage error prints the
 * message and the usage on stderr and exits 2.
 */
export function benchArgs<const T extends OptionSpecs>(script: string, about: string, specs: T, argv = process.argv.slice(2)): OptionValues<T> {
  const all = { ...specs, help: HELP };
  const usage = `usage: node dist/bench/${script}.js [options]\n\n${about}\n\noptions:\n${optionsHelp(all)}`;
  let v: OptionValues<typeof all>;
  try {
    v = parseOptions(argv, all);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`${script}: ${e.message}\n\n${usage}`);
    process.exit(2);
  }
  if (v.help) {
    console.log(usage);
    process.exit(0);
  }
  return v as OptionValues<T>;
}

/** "median (min..max)" of the finite values, each formatted by `f`; "-" if there are none. */
export function fmtSpread(xs: readonly number[], f: (x: number) => string): string {
  const s = spread(xs);
  return s.n === 0 ? '-' : `${f(s.median)} (${f(s.min)}..${f(s.max)})`;
}

export const FOO_DRIVER = new URL('../src/drivers/foo.js', import.meta.url);
const REFAULT_LOOP = new URL('./workers/refault-loop.js', import.meta.url);

/** A Runtime (64 MiB) whose /dev/foo0 has `pages` pages in its first region. */
export function fooRuntime(pages: number, options: Omit<RuntimeOptions, 'devices'> = {}): Promise<Runtime> {
  return Runtime.create({ memory: 64 << 20, ...options, devices: [{ name: 'foo', driver: FOO_DRIVER, config: { size1: pages * PAGE_SIZE } }] });
}

/**
 * One process maps `pages` pages of /dev/foo0, then `rounds` times drops their PTEs and touches
 * each page (one fault each): ns per fault of every round, timed in the process.
 */
export async function refaultRounds(rt: Runtime, pages: number, rounds: number): Promise<number[]> {
  const out = (await rt.run(REFAULT_LOOP, pages, rounds)) as { nsPerFault: number[] };
  return out.nsPerFault;
}

/**
 * The builds a `--lib` list names (comma-separated paths of a build's dist/src/index.js), or this
 * build: the scripts that take it alternate them run by run, so two builds meet the same machine.
 */
export function libBuilds(lib: string | undefined): { name: string; url: URL }[] {
  const here = fileURLToPath(new URL('../src/index.js', import.meta.url));
  return (lib ?? here).split(',').map((l) => {
    const url = pathToFileURL(resolve(l));
    return { name: fileURLToPath(url), url };
  });
}
