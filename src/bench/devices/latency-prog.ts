/**
 * The devpager side of the device bench's latencies (latency.ts), one mode per measurement:
 *
 *   mmio-fault  rounds of `ops` register loads and of `ops` refaults (pmapRemove the data pages,
 *               touch each: one fault each), timed here; returns ns per load and per fault
 *   doorbell    for each sample the host asks for (CTL_ACK), wait `gapMs`, stamp the clock into
 *               CTL_STAMP and store to the doorbell; the host's handler reads the stamp
 *   irq         block in waitInterrupt; on each wake read the host's stamp and keep now - stamp;
 *               acknowledge (CTL_ACK); a stamp of -1 ends it and returns the latencies
 */
import { clockMs } from '../../clock.js';
import { MAP_SHARED, O_RDWR, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../../constants.js';
import type { Process } from '../../process/types.js';
import { BELL, CTL_ACK, CTL_STAMP, DATA, DATA_PAGES, REGS } from './ctl-driver.js';

/** A float64 in two 32-bit words (the Process API moves 32 bits at a time). */
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

function storeF64(p: Process, va: number, x: number): void {
  f64[0] = x;
  p.store32(va, u32[0]);
  p.store32(va + 4, u32[1]);
}

function loadF64(p: Process, va: number): number {
  u32[0] = p.load32(va);
  u32[1] = p.load32(va + 4);
  return f64[0];
}

export default function main(p: Process, mode: string, a: number, b: number): unknown {
  const fd = p.open('/dev/devbench0', O_RDWR);
  const ctl = p.mmap(null, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  switch (mode) {
    case 'mmio-fault': {
      const [rounds, ops] = [a, b];
      const regs = p.mmap(null, PAGE_SIZE, PROT_READ, MAP_SHARED, fd, REGS);
      const data = p.mmap(null, DATA_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, DATA);
      const mmioNs: number[] = [];
      const faultNs: number[] = [];
      let sink = 0;
      for (let r = 0; r < rounds; r++) {
        let t0 = performance.now();
        for (let i = 0; i < ops; i++) sink += p.load32(regs);
        mmioNs.push(((performance.now() - t0) * 1e6) / ops);
        const passes = Math.max(1, Math.round(ops / DATA_PAGES));
        t0 = performance.now();
        for (let k = 0; k < passes; k++) {
          p.pmapRemove(data, DATA_PAGES * PAGE_SIZE);
          for (let pg = 0; pg < DATA_PAGES; pg++) sink += p.load32(data + pg * PAGE_SIZE);
        }
        faultNs.push(((performance.now() - t0) * 1e6) / (passes * DATA_PAGES));
      }
      return { mmioNs, faultNs, sink };
    }
    case 'doorbell': {
      const gapMs = a;
      const bell = p.mmap(null, PAGE_SIZE, PROT_WRITE, MAP_SHARED, fd, BELL);
      for (let seen = 0; ; ) {
        let ack: number;
        while ((ack = p.atomicLoad32(ctl + CTL_ACK)) === seen) p.wait32(ctl + CTL_ACK, seen);
        if (ack === 0xffffffff) return 'stopped';
        seen = ack;
        p.wait32(ctl + CTL_ACK, seen, gapMs); // the host goes back to sleep meanwhile
        storeF64(p, ctl + CTL_STAMP, clockMs());
        p.store32(bell, seen);
      }
    }
    case 'irq': {
      const lat: number[] = [];
      p.atomicStore32(ctl + CTL_ACK, 1); // waiting from here on
      p.notify32(ctl + CTL_ACK);
      for (;;) {
        p.waitInterrupt(fd, 60_000);
        const now = clockMs();
        const stamp = loadF64(p, ctl + CTL_STAMP);
        if (stamp < 0) return lat;
        lat.push((now - stamp) * 1e6);
        p.atomicAdd32(ctl + CTL_ACK, 1);
        p.notify32(ctl + CTL_ACK);
      }
    }
    default:
      throw new Error(`latency-prog: unknown mode ${mode}`);
  }
}
