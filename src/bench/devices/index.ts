/**
 * `devpager bench --devices`: the ready devices against hand-written worker_threads +
 * SharedArrayBuffer equivalents in the same run, and the device kit's latencies against their
 * baselines.
 *
 *   - NIC echo (nic.ts) and mailbox (mailbox.ts): rounds of devpager and of the hand-written
 *     version alternate (ABBA), after untimed warm-up rounds (every program realm and worker
 *     compiles its loop on its own, and eight of them take a few rounds); the figure is the median over the
 *     pairs of hand-written time / devpager time, so > 1 means devpager is faster. Target >= 1.
 *   - MMIO load round trip / fault round trip (target <= 1.5), doorbell -> handler / postMessage,
 *     interrupt -> wake / Atomics.notify (latency.ts): ratios of medians, blocks alternated.
 *
 * Figures from a busy machine are noisy: every table says the load average it ran under.
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { machineInfo } from '../report.js';
import { Runtime } from '../../runtime/runtime.js';
import { fmtNs, fmtRate, fmtX } from '../../util/format.js';
import { spread } from '../../util/stats.js';
import { doorbellVsPostMessage, interruptVsNotify, mmioVsFault, type LatencyOptions, type LatencyPair } from './latency.js';
import { runMailbox, type MailboxResult } from './mailbox.js';
import { CTL_DRIVER, runNicEcho, type NicEchoResult } from './nic.js';

export interface DeviceBenchOptions {
  /** fewer rounds, packets, calls and samples: a smoke run, not a measurement */
  quick?: boolean;
  /** packets per NIC echo round (default 10000) */
  packets?: number;
  /** timed rounds of each side (default 15) */
  rounds?: number;
  /** mailbox clients (default 8) and calls per client per round (default 1000) */
  clients?: number;
  calls?: number;
  /** latency samples per block, 4 blocks a side (default 60) */
  samples?: number;
  /** called before each step, for progress displays */
  onStep?: (label: string) => void;
}

export interface DeviceBenchTarget {
  name: string;
  value: number;
  op: '>=' | '<=';
  target: number;
  pass: boolean;
}

export interface DeviceBenchResult {
  options: Required<Omit<DeviceBenchOptions, 'onStep'>>;
  loadavgStart: number[];
  loadavgEnd: number[];
  nic: (NicEchoResult & { ratio: ReturnType<typeof spread> }) | { error: string };
  mailbox: (MailboxResult & { ratio: ReturnType<typeof spread> }) | { error: string };
  latency: { mmioVsFault: LatencyPair; doorbellVsPostMessage: LatencyPair; interruptVsNotify: LatencyPair } | { error: string };
  targets: DeviceBenchTarget[];
  elapsedMs: number;
}

const msg = (e: unknown) => (e instanceof Error ? e.message : String(e));

export async function runDeviceBench(opts: DeviceBenchOptions = {}): Promise<DeviceBenchResult> {
  const t0 = performance.now();
  const quick = opts.quick === true;
  const o = {
    quick,
    packets: opts.packets ?? (quick ? 4000 : 10_000),
    rounds: opts.rounds ?? (quick ? 3 : 15),
    clients: opts.clients ?? 8,
    calls: opts.calls ?? (quick ? 300 : 1000),
    samples: opts.samples ?? (quick ? 15 : 60),
  };
  const step = opts.onStep;
  const loadavgStart = loadavg().map((x) => Math.round(x * 100) / 100);
  const timeoutMs = 120_000;

  let nic: DeviceBenchResult['nic'];
  try {
    const r = await runNicEcho({ packets: o.packets, rounds: o.rounds, warmup: quick ? 1 : 3, queueSize: 256, spin: 64, seed: 42, timeoutMs, onStep: step });
    nic = { ...r, ratio: spread(r.ratios) };
  } catch (e) {
    nic = { error: msg(e) };
  }

  let mailbox: DeviceBenchResult['mailbox'];
  try {
    const r = await runMailbox({ clients: o.clients, calls: o.calls, size: 64, rounds: o.rounds, warmup: quick ? 1 : 3, spin: 0, timeoutMs, onStep: step });
    mailbox = { ...r, ratio: spread(r.ratios) };
  } catch (e) {
    mailbox = { error: msg(e) };
  }

  let latency: DeviceBenchResult['latency'];
  try {
    const lo: LatencyOptions = { blocks: 4, samples: o.samples, gapMs: 1, mmioRounds: quick ? 4 : 9, mmioOps: 4096, timeoutMs: 60_000, onStep: step };
    const rt = await Runtime.create({ memory: 16 << 20, maxProcesses: 2, prestart: 1, devices: [{ name: 'devbench', unit: 0, driver: CTL_DRIVER }] });
    try {
      latency = {
        mmioVsFault: await mmioVsFault(rt, lo),
        doorbellVsPostMessage: await doorbellVsPostMessage(rt, lo),
        interruptVsNotify: await interruptVsNotify(rt, lo),
      };
    } finally {
      await rt.close();
    }
  } catch (e) {
    latency = { error: msg(e) };
  }

  const targets: DeviceBenchTarget[] = [];
  const target = (name: string, value: number, op: '>=' | '<=', t: number) => targets.push({ name, value, op, target: t, pass: op === '>=' ? value >= t : value <= t });
  if (!('error' in nic)) target('nic echo: devpager / hand-written throughput', nic.ratio.median, '>=', 1);
  if (!('error' in mailbox)) target('mailbox: devpager / hand-written throughput', mailbox.ratio.median, '>=', 1);
  if (!('error' in latency)) target('mmio load / fault round trip', latency.mmioVsFault.ratio, '<=', 1.5);
  return { options: o, loadavgStart, loadavgEnd: loadavg().map((x) => Math.round(x * 100) / 100), nic, mailbox, latency, targets, elapsedMs: performance.now() - t0 };
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

const ratioText = (r: ReturnType<typeof spread>) => `${fmtX(r.median)} [${fmtX(r.min)}–${fmtX(r.max)}]`;
/** The overall median with the range of the block medians. */
const latText = (overall: number, blocks: number[]) => {
  const s = spread(blocks);
  return `${fmtNs(overall)} [${fmtNs(s.min)}–${fmtNs(s.max)}]`;
};

/** The device bench as a table, for the terminal. */
export function deviceBenchText(r: DeviceBenchResult): string {
  const out: string[] = [];
  out.push(`device bench — load average ${r.loadavgStart.join(' ')} -> ${r.loadavgEnd.join(' ')}${r.options.quick ? ' (--quick: a smoke run, not a measurement)' : ''}`);
  out.push('throughput, alternated rounds; ratio = hand-written time / devpager time per pair (> 1: devpager faster), median [min–max]:');
  const rows: string[][] = [['', 'devpager', 'hand-written', 'ratio']];
  if ('error' in r.nic) rows.push(['nic echo', `failed: ${r.nic.error}`, '', '']);
  else {
    const rate = (ms: number[]) => fmtRate((r.options.packets / spread(ms).median) * 1000);
    rows.push([`nic echo (${r.nic.packets} packets of 60..1500 B, queue ${r.nic.queueSize})`, `${rate(r.nic.devpagerMs)} pkt/s`, `${rate(r.nic.handMs)} pkt/s`, ratioText(r.nic.ratio)]);
  }
  if ('error' in r.mailbox) rows.push(['mailbox', `failed: ${r.mailbox.error}`, '', '']);
  else {
    const m = r.mailbox;
    const rate = (ms: number[]) => fmtRate(((m.clients * m.calls) / spread(ms).median) * 1000);
    rows.push([`mailbox (${m.clients} clients x ${m.calls} calls of ${m.size} B)`, `${rate(m.devpagerMs)} calls/s`, `${rate(m.handMs)} calls/s`, ratioText(m.ratio)]);
  }
  const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((x) => x[i].length)));
  for (const row of rows) out.push(`  ${row.map((c, i) => pad(c, w[i])).join('   ')}`.trimEnd());
  if (!('error' in r.nic)) out.push(`  nic notifications per packet (devpager): ${r.nic.kicksPerPacket.toFixed(4)} kicks, ${r.nic.interruptsPerPacket.toFixed(4)} interrupts`);
  const bad = ('error' in r.nic ? 0 : r.nic.bad) + ('error' in r.mailbox ? 0 : r.mailbox.bad);
  if (bad > 0) out.push(`  WRONG BYTES: ${bad} bytes came back wrong`);
  out.push('');
  out.push('latency, median of all samples [range of the block medians]; ratio = devpager / baseline:');
  if ('error' in r.latency) out.push(`  failed: ${r.latency.error}`);
  else {
    const l = r.latency;
    const lrows: string[][] = [['', 'devpager', 'baseline', 'ratio']];
    const row = (name: string, base: string, x: LatencyPair) => [name, latText(x.devpagerMedianNs, x.devpagerNs), `${base} ${latText(x.baselineMedianNs, x.baselineNs)}`, fmtX(x.ratio)];
    lrows.push(row('mmio load vs fault round trip', 'fault', l.mmioVsFault));
    lrows.push(row('doorbell store -> handler', 'postMessage', l.doorbellVsPostMessage));
    lrows.push(row('interrupt -> waitInterrupt returns', 'Atomics.notify', l.interruptVsNotify));
    const lw = [0, 1, 2, 3].map((i) => Math.max(...lrows.map((x) => x[i].length)));
    for (const row of lrows) out.push(`  ${row.map((c, i) => pad(c, lw[i])).join('   ')}`.trimEnd());
  }
  out.push('');
  out.push('targets:');
  for (const t of r.targets) out.push(`  ${t.pass ? 'PASS' : 'MISS'}  ${t.name}: ${fmtX(t.value)} (target ${t.op} ${t.target})`);
  if (r.targets.length === 0) out.push('  (none measured)');
  out.push(`device bench took ${(r.elapsedMs / 1000).toFixed(1)} s; figures from a busy machine are noisy`);
  return out.join('\n');
}

/**
 * `devpager bench --devices [--quick] [--json FILE]`: run the device bench, print its table and
 * write it as JSON ({ machine, command, devices }). Returns the exit code: 1 if a part failed
 * or bytes came back wrong (a missed target is a figure, not a failure).
 */
export async function deviceBenchCommand(o: { quick: boolean; json?: string; command: string }): Promise<number> {
  const machine = machineInfo();
  const r = await runDeviceBench({ quick: o.quick, onStep: (s) => process.stderr.isTTY && process.stderr.write(`\r\x1b[2K${s}`) });
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
  console.log(`devpager bench --devices — ${machine.cpus} x ${machine.model}, node ${machine.node}, ${machine.platform} ${machine.release}`);
  console.log(deviceBenchText(r));
  if (o.json) {
    writeFileSync(o.json, `${JSON.stringify({ machine, command: o.command, devices: r }, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
    console.log(`wrote ${o.json}`);
  }
  const failed = 'error' in r.nic || 'error' in r.mailbox || 'error' in r.latency;
  const bad = ('error' in r.nic ? 0 : r.nic.bad) + ('error' in r.mailbox ? 0 : r.mailbox.bad);
  return failed || bad > 0 ? 1 : 0;
}
