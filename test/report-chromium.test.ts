/**
 * Renders a synthetic profile report in headless Chromium: the DOM Chromium
 * builds must hold the four charts with real marks in them, hostile names
 * must stay text, and the screenshot must be a real, non-blank picture with
 * the charts' colors in it.
 *
 * Needs Debian's `chromium` (apt-get install chromium). Without it the tests
 * are registered as skipped. DEVPAGER_CHROMIUM=/path overrides the binary;
 * DEVPAGER_KEEP_ARTIFACTS=1 keeps the HTML and PNG and prints where.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { renderHtmlReport } from '../src/report/html.js';
import { sampleProfileReport } from '../src/report/sample.js';

const RUN_TIMEOUT_MS = 60_000;
const WIDTH = 1400;
const HEIGHT = 2400;
const CHART_IDS = ['throughput', 'latency', 'timeline', 'threadtime'];

function findChromium(): string | undefined {
  const env = process.env.DEVPAGER_CHROMIUM;
  if (env) return env;
  const candidates = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir) candidates.push(join(dir, 'chromium'), join(dir, 'chromium-browser'));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      /* next */
    }
  }
  return undefined;
}

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * Runs Chromium in its own process group with a fresh profile directory and
 * a hard timeout; on timeout (and after exit, for stragglers) the whole group
 * is killed.
 */
function runChromium(bin: string, profileDir: string, args: string[]): Promise<RunResult> {
  const flags = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--user-data-dir=${profileDir}`,
    ...args,
  ];
  return new Promise((resolve) => {
    const child = spawn(bin, flags, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, RUN_TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, stdout, stderr: stderr + String(err), timedOut });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      killGroup();
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

function describe(r: RunResult): string {
  return `exit ${r.code} signal ${r.signal}${r.timedOut ? ` (killed after ${RUN_TIMEOUT_MS / 1000} s)` : ''}; stderr tail:\n${r.stderr.split('\n').slice(-8).join('\n')}`;
}

/** The serialized <svg id=...>...</svg> element from a DOM dump. */
function svgOf(dom: string, id: string): string {
  const start = dom.search(new RegExp(`<svg[^>]*\\sid="${id}"`));
  assert.ok(start >= 0, `rendered DOM has svg#${id}`);
  return dom.slice(start, dom.indexOf('</svg>', start) + 6);
}

function count(s: string, re: RegExp): number {
  return (s.match(re) ?? []).length;
}

// ---------------------------------------------------------------- PNG

interface Png {
  width: number;
  height: number;
  /** RGB triples. */
  rgb: Uint8Array;
}

/** A minimal PNG decoder: 8-bit RGB/RGBA, non-interlaced (what Chromium writes). */
function decodePng(buf: Buffer): Png {
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.ok(buf.subarray(0, 8).equals(sig), 'PNG signature');
  let off = 8;
  let width = 0;
  let height = 0;
  let colorType = -1;
  let depth = 0;
  let interlace = 0;
  const idat: Buffer[] = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      depth = data[8]!;
      colorType = data[9]!;
      interlace = data[12]!;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    off += 12 + len;
  }
  assert.is(depth, 8, 'PNG bit depth 8');
  assert.ok(colorType === 2 || colorType === 6, `PNG color type RGB/RGBA, got ${colorType}`);
  assert.is(interlace, 0, 'PNG not interlaced');
  const bpp = colorType === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  assert.is(raw.length, height * (stride + 1), 'PNG data length');
  const cur = new Uint8Array(stride);
  const prev = new Uint8Array(stride);
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? cur[i - bpp]! : 0;
      const b = prev[i]!;
      const c = i >= bpp ? prev[i - bpp]! : 0;
      let v = line[i]!;
      if (f === 1) v += a;
      else if (f === 2) v += b;
      else if (f === 3) v += (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      cur[i] = v & 0xff;
    }
    for (let x = 0; x < width; x++) {
      rgb[(y * width + x) * 3] = cur[x * bpp]!;
      rgb[(y * width + x) * 3 + 1] = cur[x * bpp + 1]!;
      rgb[(y * width + x) * 3 + 2] = cur[x * bpp + 2]!;
    }
    prev.set(cur);
  }
  return { width, height, rgb };
}

/** Pixels within ±tol of a #rrggbb color. */
function pixelsNear(png: Png, hex: string, tol = 4): number {
  const r = parseInt(hex.slice(1, 3), 16);
  const g = parseInt(hex.slice(3, 5), 16);
  const b = parseInt(hex.slice(5, 7), 16);
  let n = 0;
  for (let i = 0; i < png.rgb.length; i += 3) {
    if (Math.abs(png.rgb[i]! - r) <= tol && Math.abs(png.rgb[i + 1]! - g) <= tol && Math.abs(png.rgb[i + 2]! - b) <= tol) n++;
  }
  return n;
}

// ---------------------------------------------------------------- tests

const chromium = findChromium();

if (!chromium || !existsSync(chromium)) {
  console.log('SKIP: chromium not found (apt-get install chromium); the headless-browser rendering tests are skipped');
  test.skip('report renders in headless Chromium (chromium not installed)', () => {});
} else {
  const bin = chromium;
  const dir = mkdtempSync(join(tmpdir(), 'devpager-report-'));
  const keep = process.env.DEVPAGER_KEEP_ARTIFACTS === '1';
  const report = sampleProfileReport(7);
  const htmlPath = join(dir, 'report.html');
  writeFileSync(htmlPath, renderHtmlReport(report));
  const url = `file://${htmlPath}`;
  let profiles = 0;
  const freshProfile = () => mkdtempSync(join(dir, `profile-${profiles++}-`));

  test.after(() => {
    if (keep) console.log(`artifacts kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });

  test('Chromium builds a DOM with the four charts and their marks', async () => {
    const r = await runChromium(bin, freshProfile(), ['--dump-dom', url]);
    assert.not.ok(r.timedOut, describe(r));
    assert.is(r.code, 0, describe(r));
    const dom = r.stdout;
    assert.ok(dom.includes('<html'), 'a DOM came back');
    assert.ok(dom.includes(report.verdict), 'verdict is in the DOM');
    const charts = CHART_IDS.map((id) => svgOf(dom, id));
    const [throughput, latency, timeline, threadtime] = charts as [string, string, string, string];
    assert.is(count(throughput, /<polyline\b/g), 3, 'one line per wait strategy');
    assert.ok(count(throughput, /<circle\b/g) >= 15, 'point markers');
    assert.ok(count(latency, /<rect\b/g) >= 4, 'histogram bars');
    assert.is(count(latency, /class="marker"/g), 2, 'p50 and p99 markers');
    assert.ok(count(timeline, /<rect\b/g) > 500, `timeline spans (${count(timeline, /<rect\b/g)})`);
    assert.ok(count(threadtime, /<rect\b/g) >= report.threadTimes.length * 2, 'stacked bar segments');
    for (const svg of charts) assert.not.match(svg, /NaN|Infinity|undefined/);
    // every section of the page made it
    assert.ok(count(dom, /<svg\b/g) >= 4 + (report.extraHistograms?.length ?? 0));
  });

  test('hostile thread names stay text in the rendered DOM', async () => {
    const r2 = sampleProfileReport(7);
    r2.timeline.threads[3]!.name = '<script>document.title="pwned"</script>';
    r2.threadTimes[3]!.thread = '<img src=x onerror="document.title=1">';
    const p = join(dir, 'hostile.html');
    writeFileSync(p, renderHtmlReport(r2));
    const r = await runChromium(bin, freshProfile(), ['--dump-dom', `file://${p}`]);
    assert.is(r.code, 0, describe(r));
    assert.not.match(r.stdout, /<script\b/i, 'no script element was created');
    assert.not.match(r.stdout, /<img\b/i, 'no img element was created');
    assert.ok(r.stdout.includes('&lt;script&gt;document.title="pwned"&lt;/script&gt;'), 'the name is shown as text');
    assert.match(r.stdout, /<title>[^<]*devpager profile/);
  });

  test('screenshot is a real picture with the charts in it', async () => {
    const png = join(dir, 'report.png');
    const r = await runChromium(bin, freshProfile(), [`--screenshot=${png}`, `--window-size=${WIDTH},${HEIGHT}`, url]);
    assert.not.ok(r.timedOut, describe(r));
    assert.is(r.code, 0, describe(r));
    assert.ok(existsSync(png), 'screenshot written');
    const size = statSync(png).size;
    assert.ok(size > 50_000, `screenshot is ${size} bytes`);
    const img = decodePng(readFileSync(png));
    assert.is(img.width, WIDTH);
    assert.is(img.height, HEIGHT);
    // Not blank: many colors, and a good share of non-background pixels.
    const colors = new Set<number>();
    let inked = 0;
    for (let i = 0; i < img.rgb.length; i += 3) {
      const c = (img.rgb[i]! << 16) | (img.rgb[i + 1]! << 8) | img.rgb[i + 2]!;
      if (colors.size < 5000) colors.add(c);
      if (img.rgb[i]! + img.rgb[i + 1]! + img.rgb[i + 2]! < 600) inked++;
    }
    assert.ok(colors.size > 200, `${colors.size} distinct colors`);
    assert.ok(inked / (WIDTH * HEIGHT) > 0.03, `${((100 * inked) / (WIDTH * HEIGHT)).toFixed(1)}% of pixels inked`);
    // The charts' solid fills are on screen: serving (stacked bars, serve spans), fault wait
    // and latency bars (blue), spinning / spin line (red), histogram teal, verdict box.
    for (const [what, hex] of [
      ['serving green', '#59a14f'],
      ['fault/latency blue', '#4e79a7'],
      ['spin red', '#e15759'],
      ['extra histogram teal', '#76b7b2'],
      ['verdict background', '#fff4e5'],
    ] as const) {
      const n = pixelsNear(img, hex);
      assert.ok(n > 400, `${what} ${hex}: ${n} pixels`);
    }
    if (keep) console.log(`screenshot: ${png}`);
  });
}

test.run();
