/**
 * Number formatting shared by every report devpager prints or writes (bench tables, profile
 * reports, HTML charts), so one figure reads the same everywhere.
 */

function trim(v: number, digits: number): string {
  const s = v.toFixed(digits);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** A duration in nanoseconds with its unit: "850 ns", "1.2 µs", "3.4 ms", "2.01 s". */
export function fmtNs(ns: number): string {
  if (!Number.isFinite(ns)) return String(ns);
  const a = Math.abs(ns);
  if (a < 1e3) return `${trim(ns, a < 10 ? 1 : 0)} ns`;
  if (a < 1e6) return `${trim(ns / 1e3, a < 1e4 ? 2 : a < 1e5 ? 1 : 0)} µs`;
  if (a < 1e9) return `${trim(ns / 1e6, a < 1e7 ? 2 : a < 1e8 ? 1 : 0)} ms`;
  return `${trim(ns / 1e9, 2)} s`;
}

/** Nanoseconds as a bare number of µs for table columns headed "µs": 6400 -> "6.4"; "-" for no data. */
export function fmtNsAsUs(ns: number): string {
  if (!Number.isFinite(ns) || ns <= 0) return '-';
  const us = ns / 1000;
  if (us < 10) return us.toFixed(2);
  if (us < 100) return us.toFixed(1);
  return Math.round(us).toLocaleString('en-US');
}

/** Compact count: 950, 1.2k, 34k, 1.5M, 2.1G. */
export function fmtCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a < 1e3) return trim(n, a < 10 && !Number.isInteger(n) ? 2 : 0);
  if (a < 1e6) return `${trim(n / 1e3, a < 1e4 ? 1 : 0)}k`;
  if (a < 1e9) return `${trim(n / 1e6, a < 1e7 ? 1 : 0)}M`;
  return `${trim(n / 1e9, 1)}G`;
}

/** A rate with three significant digits: 1234567 -> "1.23M", 45678 -> "45.7k"; "-" for no data. */
export function fmtRate(n: number): string {
  if (!Number.isFinite(n)) return '-';
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(a >= 1e7 ? 1 : 2)}M`;
  if (a >= 1e3) return `${(n / 1e3).toFixed(a >= 1e5 ? 0 : a >= 1e4 ? 1 : 2)}k`;
  return n.toFixed(0);
}

/** A ratio: "2.53x", "67.4x", "173x"; "n/a" when it could not be computed. */
export function fmtX(r: number): string {
  if (!Number.isFinite(r)) return 'n/a';
  return r >= 100 ? `${r.toFixed(0)}x` : r >= 10 ? `${r.toFixed(1)}x` : r >= 0.1 ? `${r.toFixed(2)}x` : `${r.toPrecision(2)}x`;
}
