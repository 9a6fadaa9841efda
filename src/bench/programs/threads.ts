/**
 * A cell's tasks as threads of one process (will-it-scale's threads mode): this first thread
 * starts a thread per task beyond the first, runs task 0 itself, and joins the others. Every
 * task runs the workload program's main unchanged, on the address space they all share.
 */
import type { Process } from '../../process/types.js';
import type { ProgramOptions, ProgramResult } from './common.js';

export interface ThreadsOptions {
  /** the workload program's URL */
  program: string;
  /** one entry per task, task 0 first */
  tasks: ProgramOptions[];
  /** how long a join may wait for a task that saw the stop word, ms */
  joinTimeoutMs: number;
}

export default async function main(p: Process, o: ThreadsOptions): Promise<ProgramResult[]> {
  const mod = (await import(o.program)) as { default: (p: Process, o: ProgramOptions) => ProgramResult };
  const threads = o.tasks.slice(1).map((t) => p.spawnThread(o.program, t));
  const first = mod.default(p, o.tasks[0]);
  return [first, ...threads.map((t) => t.join(o.joinTimeoutMs) as ProgramResult)];
}
