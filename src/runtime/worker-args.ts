/**
 * Node options for the runtime's worker threads.
 *
 * Normally a worker inherits the parent's options (so --cpu-prof, --trace-gc and friends reach
 * it). Process workers need two more: --experimental-vm-modules (each program's realm links its
 * ES modules through node:vm, process/loader.ts) and --experimental-import-meta-resolve (Node's
 * own resolution from a parent URL). An explicit execArgv may not carry V8 options or options
 * that belong to the whole process, and entry-point options (-e, -p, --input-type) make no sense
 * for a worker: those are left out, and what a worker still refuses is dropped after one try.
 */
import { Worker } from 'node:worker_threads';

const ENTRY = (x: string) => ['-e', '--eval', '-p', '--print', '--input-type', '-r', '--require', '--import', '--loader', '--experimental-loader'].includes(x) || /^--(input-type|eval|print|require|import|loader|experimental-loader)=/.test(x);

/** The parent's options a worker may take. */
function inherited(): string[] {
  const a = process.execArgv;
  const out: string[] = [];
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    if (ENTRY(x)) {
      if (!x.includes('=')) i++; // skip its value too
      continue;
    }
    if (process.allowedNodeEnvironmentFlags.has(x.split('=')[0])) out.push(x);
  }
  return out;
}

/** For pagers: undefined (inherit everything) unless the parent has options a worker refuses. */
export function workerExecArgv(): string[] | undefined {
  if (!process.execArgv.some(ENTRY)) return undefined;
  return accepted(inherited());
}

let processArgv: string[] | null = null;

/** For process workers: the parent's options plus the two the program loader needs. */
export function processExecArgv(): string[] {
  const own = ['--experimental-vm-modules', '--experimental-import-meta-resolve'];
  processArgv ??= process.execArgv.length === 0 ? own : accepted([...inherited(), ...own]);
  return processArgv;
}

/** `argv` minus what Worker refuses (it names them in ERR_WORKER_INVALID_EXEC_ARGV). */
function accepted(argv: string[]): string[] {
  for (let tries = 0; tries < 4; tries++) {
    let w: Worker | null = null;
    try {
      w = new Worker('', { eval: true, execArgv: argv, stdout: true, stderr: true });
      void w.terminate();
      return argv;
    } catch (e) {
      const m = /invalid execArgv flags: (.*)$/.exec((e as Error).message);
      if (!m) return argv;
      const bad = new Set(m[1].split(',').map((x) => x.trim()));
      argv = argv.filter((x) => !bad.has(x) && !bad.has(x.split('=')[0]));
    }
  }
  return argv;
}
