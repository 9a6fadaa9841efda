/**
 * Canary words for the concurrent allocator test, shared by the test and its worker (kept apart
 * from the worker module so that importing them does not start a worker body).
 */
import { PAGE_SIZE } from '../../src/constants.js';

const W = PAGE_SIZE / 4; // Int32 words per frame

/** Canary words of a raw frame. */
export function rawCanary(id: number, seq: number, pfn: number): [number, number, number, number] {
  return [id, seq, pfn, (id ^ seq ^ pfn ^ 0x5a5a5a5a) | 0];
}
/** Canary words of page `i` of a kmAlloc. */
export function kmCanary(id: number, seq: number, i: number): [number, number, number, number] {
  return [id, seq, i, (id ^ seq ^ (i << 20) ^ 0x3c3c3c3c) | 0];
}
/** Where the four canary words sit in a frame (Int32 word offsets). */
export const CANARY_WORDS = [0, 1, W / 2, W - 1] as const;

