/**
 * shared: every process maps the same device range (device offset 0, same N pages, so the same
 * physical frames) and refaults it: { p.pmapRemove(whole range); touch each page }. All processes
 * fault one range at once; what they share is the device, its frames and their map counts.
 */
import type { Process } from '../../process/types.js';
import type { ProgramOptions, ProgramResult } from './common.js';
import { refaultLoop } from './refault.js';

export default function main(p: Process, o: ProgramOptions): ProgramResult {
  return refaultLoop(p, o, 0);
}
