/**
 * The packets of the NIC echo, the same for the devpager program and the hand-written worker: a
 * pool of 64 packets of 60..1500 bytes with seeded contents; packet `seq` is pool[seq % 64] with
 * seq in its first four bytes, and the receiver checks every byte of it.
 */
import { mulberry32u } from '../../util/prng.js';

export const POOL = 64;
export const MIN_LEN = 60;
export const MAX_LEN = 1500;

export function makePool(seed: number): Uint8Array[] {
  const next = mulberry32u(seed);
  const pool: Uint8Array[] = [];
  for (let i = 0; i < POOL; i++) {
    const p = new Uint8Array(MIN_LEN + (next() % (MAX_LEN - MIN_LEN + 1)));
    for (let j = 0; j < p.length; j++) p[j] = next() & 255;
    pool.push(p);
  }
  return pool;
}

/** Packet seq, ready to send (the pool's array with seq written into it). */
export function packet(pool: Uint8Array[], seq: number): Uint8Array {
  const p = pool[seq & (POOL - 1)];
  p[0] = seq & 255;
  p[1] = (seq >>> 8) & 255;
  p[2] = (seq >>> 16) & 255;
  p[3] = (seq >>> 24) & 255;
  return p;
}

/** Bytes of got[0, len) that differ from packet seq (the whole packet when the length differs). */
export function badBytes(pool: Uint8Array[], seq: number, got: Uint8Array, len: number): number {
  const p = pool[seq & (POOL - 1)];
  if (len !== p.length) return Math.max(len, p.length);
  let bad = 0;
  if (got[0] !== (seq & 255) || got[1] !== ((seq >>> 8) & 255) || got[2] !== ((seq >>> 16) & 255) || got[3] !== ((seq >>> 24) & 255)) bad++;
  for (let j = 4; j < len; j++) if (got[j] !== p[j]) bad++;
  return bad;
}
