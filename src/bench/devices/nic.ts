/**
 * NIC echo: devpager (devpager/devices/nic: a program process, the host's Nic in echo mode) against
 * the hand-written echo (hand-nic.ts), in the same run, round for round, in alternating order.
 * Both move the same packets (packets.ts) with every byte checked; a round is timed from the
 * host's go to the last client's done (rounds.ts).
 */
import { once } from 'node:events';
import { PAGE_SIZE } from '../../constants.js';
import { Nic, type NicStats } from '../../devices/nic/index.js';
import { Runtime } from '../../runtime/runtime.js';
import type { CtlState } from './ctl-driver.js';
import { HandEchoHost, makeShared, startHandNicWorker } from './hand-nic.js';
import { RoundControl } from './rounds.js';

export const NIC_DRIVER = new URL('../../devices/nic/index.js', import.meta.url);
export const CTL_DRIVER = new URL('./ctl-driver.js', import.meta.url);

export interface PairedRounds {
  /** wall time of each timed round, ms */
  devpagerMs: number[];
  handMs: number[];
  /** per pair of rounds: hand-written time / devpager time (> 1: devpager faster) */
  ratios: number[];
}

export interface NicEchoResult extends PairedRounds {
  packets: number;
  queueSize: number;
  /** the devpager side's notifications per round, averaged: kicks and interrupts per packet */
  kicksPerPacket: number;
  interruptsPerPacket: number;
  bad: number;
}

export interface NicEchoOptions {
  packets: number;
  rounds: number;
  warmup: number;
  queueSize: number;
  spin: number;
  seed: number;
  timeoutMs: number;
  /** the Runtime's pin option */
  pin?: 'auto' | boolean;
  onStep?: (label: string) => void;
}

/** Run `warmup` untimed then `rounds` timed pairs of rounds, alternating which side goes first. */
export async function pairRounds(o: { rounds: number; warmup: number; onStep?: (label: string) => void; what: string }, dp: () => Promise<{ ms: number; bad: number }>, hand: () => Promise<{ ms: number; bad: number }>): Promise<PairedRounds & { bad: number }> {
  const out: PairedRounds & { bad: number } = { devpagerMs: [], handMs: [], ratios: [], bad: 0 };
  for (let i = 0; i < o.warmup; i++) {
    o.onStep?.(`${o.what}: warm-up ${i + 1}/${o.warmup}`);
    out.bad += (await dp()).bad + (await hand()).bad;
  }
  for (let i = 0; i < o.rounds; i++) {
    o.onStep?.(`${o.what}: round ${i + 1}/${o.rounds}`);
    let a: { ms: number; bad: number };
    let b: { ms: number; bad: number };
    if (i % 2 === 0) {
      a = await dp();
      b = await hand();
    } else {
      b = await hand();
      a = await dp();
    }
    out.devpagerMs.push(a.ms);
    out.handMs.push(b.ms);
    out.ratios.push(b.ms / a.ms);
    out.bad += a.bad + b.bad;
  }
  return out;
}

export async function runNicEcho(o: NicEchoOptions): Promise<NicEchoResult> {
  const rt = await Runtime.create({
    memory: 64 << 20,
    maxProcesses: 2,
    prestart: 1,
    pin: o.pin ?? 'auto',
    devices: [
      { name: 'nic', unit: 0, driver: NIC_DRIVER, config: { queueSize: o.queueSize, bufferSize: 2048 } },
      { name: 'devbench', unit: 0, driver: CTL_DRIVER },
    ],
  });
  const shared = makeShared(o.queueSize);
  const host = new HandEchoHost(shared);
  const worker = startHandNicWorker(shared, o.packets, o.seed, o.spin);
  const workerExit = once(worker, 'exit');
  try {
    const nic = new Nic(rt, '/dev/nic0', { echo: true });
    const ctl = rt.device('/dev/devbench0').state as CtlState;
    const v = rt.kernel.view(ctl.ctl, PAGE_SIZE);
    const dpRounds = new RoundControl(new Int32Array(v.buffer, v.byteOffset, PAGE_SIZE / 4), 1);
    const handRounds = new RoundControl(new Int32Array(shared.ctl), 1);
    const proc = rt.spawn(new URL('./nic-prog.js', import.meta.url), o.packets, o.seed, o.spin);
    let failed: unknown = null;
    void proc.exited.then((s) => {
      if (s.signal || s.error) failed = s.error ?? new Error(`the NIC echo process died: ${s.signal}`);
    });
    const check = (r: { ms: number; bad: number }) => {
      if (failed) throw failed;
      return r;
    };
    const before = nic.stats;
    const paired = await pairRounds(
      { rounds: o.rounds, warmup: o.warmup, onStep: o.onStep, what: 'nic echo' },
      async () => check(await dpRounds.run(o.timeoutMs)),
      () => handRounds.run(o.timeoutMs),
    );
    const st: NicStats = nic.stats;
    dpRounds.stop();
    handRounds.stop();
    await proc.exited;
    const total = (o.rounds + o.warmup) * o.packets;
    return {
      ...paired,
      packets: o.packets,
      queueSize: o.queueSize,
      kicksPerPacket: (st.kicks - before.kicks) / total,
      interruptsPerPacket: (st.interrupts - before.interrupts) / total,
    };
  } finally {
    host.close();
    new RoundControl(new Int32Array(shared.ctl), 1).stop();
    await Promise.race([workerExit, new Promise((r) => setTimeout(r, 5000))]);
    await worker.terminate();
    await rt.close();
  }
}
