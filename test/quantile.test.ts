/**
 * One quantile estimator (src/quantile.ts), chosen by measurement: samples drawn from known
 * distributions go into the runtime's log-linear buckets, and both candidate estimators — the
 * bucket midpoint that rt.stats() used, and interpolation inside the bucket — are compared with
 * the exact nearest-rank quantiles of the same samples. Then: rt.stats(), the text report and
 * the HTML report print the same p50/p99 for one histogram.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Runtime } from '../src/index.js';
import { HBUCKETS, HIST_NAMES } from '../src/layout.js';
import { buildProfileReport } from '../src/profile/analyze.js';
import { bucketQuantile, histogramQuantile, QUANTILE_REL_ERROR } from '../src/quantile.js';
import { renderHtmlReport } from '../src/report/html.js';
import { renderTextReport } from '../src/report/text.js';
import { BUCKET_BOUNDS, bucketOf, ThreadStats } from '../src/stats.js';
import { fmtNs } from '../src/util/format.js';
import { mulberry32 } from '../src/util/prng.js';
import { withTimeout } from './helpers.js';

const QS = [0.5, 0.9, 0.99, 0.999];

/** The estimator rt.stats() used before: the midpoint of the bucket holding the nearest rank. */
function midpointQuantile(counts: Float64Array, q: number): number {
  let total = 0;
  for (const c of counts) total += c;
  const rank = Math.ceil(q * total);
  let acc = 0;
  for (let i = 0; i < counts.length; i++) {
    acc += counts[i];
    if (acc >= rank) return (BUCKET_BOUNDS[i] + BUCKET_BOUNDS[i + 1]) / 2;
  }
  return NaN;
}

function distributions(seed: number): Record<string, () => number> {
  const rnd = mulberry32(seed);
  const normal = () => {
    let u = 0;
    while (u === 0) u = rnd();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
  };
  return {
    'lognormal around 1 µs (a fault round trip)': () => Math.exp(Math.log(1000) + 0.4 * normal()),
    'wide lognormal (parks)': () => Math.exp(Math.log(5000) + 1.5 * normal()),
    exponential: () => -Math.log(1 - rnd()) * 2000,
    // Flat inside each bucket: the one shape where geometric interpolation is not closer than
    // the midpoint (both stay within the bound).
    'uniform 0.5-2 µs (flat)': () => 500 + rnd() * 1500,
    'bimodal: spin-answered and parked': () => (rnd() < 0.9 ? 900 + 100 * normal() : 50_000 + 5000 * normal()),
    'pareto tail': () => 800 / Math.pow(1 - rnd(), 1 / 1.5),
    // Below 16 ns every bucket is one integer: both estimators stay within 1 ns.
    'small integers (flat: one value per bucket)': () => Math.floor(rnd() * 15),
  };
}

test('interpolation beats the bucket midpoint on latency-shaped distributions, and stays within one bucket on all', () => {
  const N = 100_000;
  let interpSum = 0;
  let midSum = 0;
  for (const [name, gen] of Object.entries(distributions(7))) {
    const xs = new Float64Array(N);
    const counts = new Float64Array(HBUCKETS);
    for (let i = 0; i < N; i++) {
      const v = Math.max(0, Math.round(gen()));
      xs[i] = v;
      counts[bucketOf(v)]++;
    }
    xs.sort();
    let interpErr = 0;
    let midErr = 0;
    for (const q of QS) {
      const exact = xs[Math.ceil(q * N) - 1];
      const est = bucketQuantile(counts, BUCKET_BOUNDS, q);
      const mid = midpointQuantile(counts, q);
      // The stated bound: the estimate lies in the exact value's bucket.
      const b = bucketOf(exact);
      assert.ok(est >= BUCKET_BOUNDS[b] && est < BUCKET_BOUNDS[b + 1], `${name} q=${q}: estimate ${est} outside the bucket of ${exact}`);
      const bound = exact < 16 ? 1 : QUANTILE_REL_ERROR * exact;
      assert.ok(Math.abs(est - exact) < bound, `${name} q=${q}: |${est} - ${exact}| >= ${bound}`);
      interpErr += Math.abs(est - exact) / Math.max(1, exact);
      midErr += Math.abs(mid - exact) / Math.max(1, exact);
    }
    if (name.includes('flat')) continue;
    assert.ok(interpErr <= midErr, `${name}: interpolation error ${interpErr} > midpoint error ${midErr}`);
    interpSum += interpErr;
    midSum += midErr;
  }
  // Over the latency-shaped ones, interpolation is several times more exact.
  assert.ok(interpSum * 3 < midSum, `mean errors: interpolation ${interpSum}, midpoint ${midSum}`);
});

test('bucketQuantile: empty is NaN, one sample stays in its bucket, q is clamped', () => {
  const counts = new Float64Array(HBUCKETS);
  assert.ok(Number.isNaN(bucketQuantile(counts, BUCKET_BOUNDS, 0.5)));
  counts[bucketOf(1000)] = 1;
  for (const q of [-1, 0, 0.5, 1, 2]) {
    const v = bucketQuantile(counts, BUCKET_BOUNDS, q);
    assert.ok(v >= 960 && v < 1024, `q=${q}: ${v}`);
  }
});

test('rt.stats(), the text report and the HTML report show the same p50 and p99', () =>
  withTimeout(30_000, async () => {
    const rt = await Runtime.create({ memory: 8 << 20, maxProcesses: 1, prestart: 0 });
    try {
      // Fill the host thread's fault histogram with a known spread of values.
      const st = new ThreadStats(rt.sab, rt.layout, 0);
      const rnd = mulberry32(3);
      const fault = HIST_NAMES.indexOf('fault');
      for (let i = 0; i < 5000; i++) st.record(fault, 700 + 4000 * rnd() ** 4);
      const stats = rt.stats();
      const lat = stats.latency.fault;
      const h = rt.histogram('fault');
      assert.is(histogramQuantile(h, 0.5), lat.p50Ns);
      assert.is(histogramQuantile(h, 0.99), lat.p99Ns);
      const report = buildProfileReport({
        title: 't', machine: {}, options: {}, stats, windowMs: 100, sweep: [], trace: null,
        histograms: { fault: h, queueWait: rt.histogram('queueWait'), service: rt.histogram('service'), park: rt.histogram('park') },
        overhead: null,
      });
      const want = `p50 ${fmtNs(lat.p50Ns)} · p90 ${fmtNs(lat.p90Ns)} · p99 ${fmtNs(lat.p99Ns)}`;
      assert.ok(renderTextReport(report).includes(want), `text report shows ${want}`);
      assert.ok(renderHtmlReport(report).includes(want), `HTML report shows ${want}`);
      assert.ok(renderHtmlReport(report).includes(`p50 ${fmtNs(lat.p50Ns)}</text>`), 'the histogram marker too');
    } finally {
      await rt.close();
    }
  }, 'one set of statistics'));

test.run();
