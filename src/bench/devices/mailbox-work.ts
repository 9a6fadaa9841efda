/**
 * What the mailbox bench's clients ask and the host answers, the same for devpager and the
 * hand-written mailbox: a request of `size` bytes, and a reply of the same bytes reversed.
 */

export function fillRequest(req: Uint8Array, client: number, i: number): void {
  for (let j = 0; j < req.length; j++) req[j] = (client * 31 + i * 7 + j) & 255;
}

/** The server's work: reverse `req` into `reply`; returns the reply's length. */
export function answer(req: Uint8Array, reply: Uint8Array): number {
  const n = req.length;
  for (let j = 0; j < n; j++) reply[j] = req[n - 1 - j];
  return n;
}

/** Bytes of the reply that are wrong (all of it when its length is). */
export function replyBad(req: Uint8Array, reply: Uint8Array, len: number): number {
  const n = req.length;
  if (len !== n) return Math.max(len, n);
  let bad = 0;
  for (let j = 0; j < n; j++) if (reply[j] !== req[n - 1 - j]) bad++;
  return bad;
}
