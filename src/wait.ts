/**
 * Wait strategies, shared by requesters and pagers: pure spinning is fastest while every
 * spinning thread has a core, and collapses when threads outnumber cores; pure parking pays a
 * futex wake-up per handoff; spinning for a while and then parking keeps most of both. The
 * adaptive rules are in docs/architecture.md, "Wait strategies".
 */
export const WAIT_ADAPTIVE = 0;
export const WAIT_SPIN = 1;
export const WAIT_PARK = 2;
export type WaitMode = typeof WAIT_ADAPTIVE | typeof WAIT_SPIN | typeof WAIT_PARK;
export type WaitStrategy = 'adaptive' | 'spin' | 'park';

const WAIT_SHIFT = 2;
const WAIT_BITS = 3 << WAIT_SHIFT;

export function waitModeOf(flags: number): WaitMode {
  return ((flags & WAIT_BITS) >> WAIT_SHIFT) as WaitMode;
}
export function waitMode(s: WaitStrategy): WaitMode {
  return s === 'spin' ? WAIT_SPIN : s === 'park' ? WAIT_PARK : WAIT_ADAPTIVE;
}
export function waitFlags(s: WaitStrategy): number {
  return waitMode(s) << WAIT_SHIFT;
}
export const WAIT_STRATEGIES: readonly WaitStrategy[] = ['spin', 'park', 'adaptive'];
