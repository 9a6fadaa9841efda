/**
 * devpager/devices/framebuffer through the public API: programs draw with the program-side
 * helper, the host reads the pixels (snapshot), encodes them (png) and asks what was redrawn
 * (dirtyRects).
 */
import { inflateSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Runtime } from '../src/index.js';
import { Framebuffer, rgba } from '../src/devices/framebuffer/index.js';
import { FOODRV, fixture, withRuntime, withTimeout } from './fixtures/pager-host.js';

const PROG = fixture('devfb-prog');
const FBDRV = new URL('../src/devices/framebuffer/index.js', import.meta.url);
const fbDevice = (width: number, height: number) => ({ name: 'fb', unit: 0, driver: FBDRV, config: { width, height } });

/** Rows named by a list of rectangles. */
function rowsOf(rects: { x: number; y: number; width: number; height: number }[]): number[] {
  const rows: number[] = [];
  for (const r of rects) for (let y = r.y; y < r.y + r.height; y++) rows.push(y);
  return rows;
}

/** CRC-32 bit by bit (independent of the encoder's table). */
function crcBitwise(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** Parse a PNG: chunks with their CRCs checked, IHDR fields, and the inflated IDAT. */
function decodePng(png: Buffer): { width: number; height: number; depth: number; colorType: number; raw: Buffer; types: string[] } {
  assert.equal([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  const types: string[] = [];
  const idat: Buffer[] = [];
  let ihdr: Buffer | null = null;
  for (let at = 8; at < png.length; ) {
    const len = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + len);
    assert.is(png.readUInt32BE(at + 8 + len), crcBitwise(png.subarray(at + 4, at + 8 + len)), `CRC of ${type}`);
    types.push(type);
    if (type === 'IHDR') ihdr = data;
    if (type === 'IDAT') idat.push(data);
    at += 12 + len;
  }
  assert.ok(ihdr, 'IHDR');
  return { width: ihdr!.readUInt32BE(0), height: ihdr!.readUInt32BE(4), depth: ihdr![8], colorType: ihdr![9], raw: inflateSync(Buffer.concat(idat)), types };
}

test('the program reads the geometry from the registers; a bad config rejects create, naming the option', () =>
  withRuntime({ memory: 16 << 20, devices: [fbDevice(320, 200)] }, 60_000, 'fb geometry', async (rt) => {
    assert.equal(await rt.run(PROG, 'geometry'), { width: 320, height: 200, stride: 1280 });
    const fb = new Framebuffer(rt, '/dev/fb0');
    assert.is(fb.pixels.length, 320 * 200 * 4);
    await withTimeout(15_000, async () => {
      for (const [cfg, name] of [[{ width: 0, height: 10 }, 'config.width'], [{ width: 10, height: 1.5 }, 'config.height'], [{ width: 10, height: 10, depth: 16 }, 'depth']] as const) {
        let err: Error | null = null;
        try {
          const bad = await Runtime.create({ memory: 4 << 20, devices: [{ name: 'fb', unit: 0, driver: FBDRV, config: cfg }] });
          await bad.close();
        } catch (e) {
          err = e as Error;
        }
        assert.ok(err && err.message.includes(name), `${JSON.stringify(cfg)}: ${err?.message}`);
      }
    }, 'bad configs');
  }));

test('dirtyRects: a process drawing rows 10..19 makes exactly those rows dirty (one page per row); an idle frame reports nothing', () =>
  withRuntime({ memory: 16 << 20, devices: [fbDevice(1024, 64)] }, 60_000, 'fb dirty rows', async (rt) => {
    const fb = new Framebuffer(rt, '/dev/fb0');
    assert.equal(fb.dirtyRects(), [], 'nothing drawn since attach');
    assert.is(await rt.run(PROG, 'rows', 10, 10, 200, 100, 50), 'drawn');
    assert.equal(fb.dirtyRects(), [{ x: 0, y: 10, width: 1024, height: 10 }]);
    assert.equal(fb.dirtyRects(), [], 'idle frame: nothing since the previous call');
    const snap = fb.snapshot();
    const words = new Uint32Array(snap.buffer);
    const c = rgba(200, 100, 50);
    for (let y = 0; y < 64; y++) assert.is(words[y * 1024 + 517], y >= 10 && y < 20 ? c : 0, `row ${y}`);
    // Two separate regions give two rectangles; a second draw of the same rows reports them again.
    await rt.run(PROG, 'rows', 3, 2, 1, 2, 3);
    await rt.run(PROG, 'rows', 40, 5, 1, 2, 3);
    assert.equal(fb.dirtyRects(), [{ x: 0, y: 3, width: 1024, height: 2 }, { x: 0, y: 40, width: 1024, height: 5 }]);
    // A read is not a write.
    await rt.run(PROG, 'pixel', 0, 50, c);
    assert.equal(fb.dirtyRects(), [{ x: 0, y: 50, width: 1024, height: 1 }]);
    assert.equal(fb.dirtyRects(), []);
    // snapshot is a copy, pixels is live
    assert.is(new Uint32Array(fb.pixels.buffer, fb.pixels.byteOffset, 1024 * 64)[50 * 1024], c);
    snap.fill(0);
    assert.is(fb.pixels[10 * 4096], 200, 'the copy is not the device');
  }));

test('dirtyRects: rows that do not fill whole pages report the written row and only neighbours sharing its pages', () =>
  withRuntime({ memory: 16 << 20, devices: [fbDevice(640, 480)] }, 60_000, 'fb dirty 640', async (rt) => {
    const fb = new Framebuffer(rt, '/dev/fb0');
    fb.dirtyRects();
    await rt.run(PROG, 'rows', 100, 1, 9, 9, 9);
    const rows = rowsOf(fb.dirtyRects());
    assert.ok(rows.includes(100), JSON.stringify(rows));
    const lo = Math.floor((100 * 2560) / 4096) * 4096;
    const hi = Math.ceil((101 * 2560) / 4096) * 4096;
    for (const y of rows) assert.ok(y * 2560 < hi && (y + 1) * 2560 > lo, `row ${y} shares no page with row 100`);
    assert.equal(fb.dirtyRects(), []);
  }));

test('four processes draw interleaved rows at once; the snapshot is exactly their drawing, and png() decodes to it', () =>
  withRuntime({ memory: 16 << 20, maxProcesses: 4, devices: [fbDevice(200, 120)] }, 90_000, 'fb png', async (rt) => {
    const fb = new Framebuffer(rt, '/dev/fb0');
    const n = 4;
    const hs = Array.from({ length: n }, (_, k) => rt.spawn(PROG, 'band', k, n));
    for (const h of hs) assert.is((await h.exited).result, 'drawn');
    const snap = fb.snapshot();
    const words = new Uint32Array(snap.buffer);
    for (let y = 0; y < 120; y++) {
      for (let x = 0; x < 200; x += 7) assert.is(words[y * 200 + x], rgba((x + y) & 255, ((y % n) * 60) & 255, (x * 3) & 255), `pixel ${x},${y}`);
    }
    assert.equal(fb.dirtyRects(), [{ x: 0, y: 0, width: 200, height: 120 }]);
    const png = fb.png();
    const d = decodePng(png);
    assert.equal(d.types, ['IHDR', 'IDAT', 'IEND']);
    assert.equal([d.width, d.height, d.depth, d.colorType], [200, 120, 8, 6]);
    assert.is(d.raw.length, (200 * 4 + 1) * 120, 'IDAT inflates to (4w + 1) * h bytes');
    for (let y = 0; y < 120; y++) {
      assert.is(d.raw[y * 801], 0, 'filter None');
      assert.ok(Buffer.compare(d.raw.subarray(y * 801 + 1, (y + 1) * 801), Buffer.from(snap.subarray(y * 800, (y + 1) * 800))) === 0, `row ${y} of the PNG`);
    }
  }));

test('bad input: errors name the problem (ENODEV for another device, RangeError for pixels outside, TypeError for the wrong device on the host)', () =>
  withRuntime({ memory: 16 << 20, devices: [fbDevice(64, 64), { name: 'foo', unit: 0, driver: FOODRV }] }, 60_000, 'fb errors', async (rt) => {
    const r = (await rt.run(PROG, 'errors')) as Record<string, { name: string; code?: string; message: string } | boolean>;
    const e = (k: string) => r[k] as { name: string; code?: string; message: string };
    assert.is(e('notFb').code, 'ENODEV', JSON.stringify(r.notFb));
    assert.match(e('notFb').message, /not a devpager framebuffer/);
    assert.is(e('missing').code, 'ENOENT');
    assert.is(e('outside').name, 'RangeError');
    assert.match(e('outside').message, /framebuffer x/);
    assert.is(e('badValue').name, 'RangeError');
    assert.match(e('tooWide').message, /fillRect width/);
    assert.is(r.isSyscallError, true, "the program's own SyscallError class");
    assert.throws(() => new Framebuffer(rt, '/dev/foo0'), (x: Error) => x instanceof TypeError && /not a framebuffer device/.test(x.message));
    assert.throws(() => new Framebuffer(rt, '/dev/fb9'), /no device/);
  }));

test.run();
