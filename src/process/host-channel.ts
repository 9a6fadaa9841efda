/**
 * Requests from a thread to the host that a thread cannot serve itself: start a thread, fork,
 * join a thread, wait for a child, end the thread group. They are rare, so they travel as
 * messages on the task's MessagePort; but the program's call is synchronous, so the thread then
 * blocks on its slot's S_HOSTSEQ word (CPU given back) until the host has posted the answer and
 * stored the request's number there, and takes the answer with receiveMessageOnPort. Answers to
 * requests that timed out on this side are recognised by their number and dropped.
 *
 * Host side: runtime/process-table.ts.
 */
import { type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import { S_HOSTSEQ } from '../layout.js';
import type { SlotViews } from '../pager/protocol.js';
import type { Requester } from './requester.js';

export type HostRequest =
  | { op: 'thread'; url: string; args: unknown[] }
  | { op: 'fork-reserve' }
  | { op: 'fork-start'; child: number; url: string; args: unknown[] }
  | { op: 'fork-abort'; child: number }
  | { op: 'join'; tid: number }
  | { op: 'joined'; tid: number }
  | { op: 'wait'; pid: number }
  | { op: 'waited'; pid: number }
  | { op: 'exit-group' };

/** The host's answer: errno 0 and a value, or an errno with its detail. */
export interface HostAnswer {
  id: number;
  errno: number;
  detail?: string;
  value?: unknown;
  /** join: the value is what the thread's main threw */
  thrown?: boolean;
}

export class HostChannel {
  private next = 1;

  constructor(private readonly port: MessagePort, private readonly slot: SlotViews, private readonly req: Requester) {}

  /** Post without waiting for an answer. */
  tell(r: HostRequest): void {
    this.port.postMessage({ id: 0, ...r });
  }

  /**
   * Post and block until the host answers or `timeoutMs` passes (undefined: no limit). Returns the
   * answer, or null on timeout.
   */
  ask(r: HostRequest, timeoutMs?: number): HostAnswer | null {
    const id = this.next++;
    const seqWord = this.slot.status;
    const before = Atomics.load(seqWord, S_HOSTSEQ);
    this.port.postMessage({ id, ...r });
    const deadline = timeoutMs === undefined ? Infinity : performance.now() + timeoutMs;
    return this.req.blocked(() => {
      let seen = before;
      for (;;) {
        for (;;) {
          const m = receiveMessageOnPort(this.port);
          if (m === undefined) break;
          const a = m.message as HostAnswer;
          if (a.id === id) return a;
          // an answer to a request that timed out here: dropped
        }
        const left = deadline - performance.now();
        if (left <= 0) return null;
        const now = Atomics.load(seqWord, S_HOSTSEQ);
        if (now === seen) Atomics.wait(seqWord, S_HOSTSEQ, now, left === Infinity ? undefined : left);
        seen = Atomics.load(seqWord, S_HOSTSEQ);
      }
    });
  }
}
