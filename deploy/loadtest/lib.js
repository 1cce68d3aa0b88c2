// Shared helpers of the k6 scripts in deploy/loadtest (ingest.js, orders.js): the target, request headers,
// the scenario table selected by SCENARIO, the common thresholds. No k6 module is imported here, so the
// helpers also load in plain JavaScript (scripts/check-loadtest.sh checks the syntax with node).

/** An environment variable (-e NAME=value or the process environment), or the fallback when unset or empty. */
export function env(name, fallback) {
  const value = typeof __ENV === 'undefined' ? undefined : __ENV[name];
  return value === undefined || value === '' ? fallback : value;
}

/** A positive number from the environment; anything else stops the test before it starts. */
export function envNumber(name, fallback) {
  const text = env(name, undefined);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number >= 0, not "${text}"`);
  return value;
}

/** The server under test, without a trailing slash. */
export const BASE_URL = env('BASE_URL', 'http://127.0.0.1:8080').replace(/\/+$/, '');

// Load goes to this machine unless asked otherwise (a cluster through `kubectl port-forward` is on 127.0.0.1
// too); an ingress or another host needs ALLOW_REMOTE=1.
const LOOPBACK = /^https?:\/\/(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d+)?$/;
if (!LOOPBACK.test(BASE_URL) && env('ALLOW_REMOTE', '') !== '1') {
  throw new Error(`BASE_URL ${BASE_URL} is not on this machine: set ALLOW_REMOTE=1 to load it anyway`);
}

/** The ingest API key (X-API-Key), when the server has `ingest.apiKeys` set. */
export const API_KEY = env('API_KEY', '');

/** Request parameters: JSON content, the bearer token if any, extra headers, and a `name` tag for the metrics. */
export function jsonParams(name, { token, headers, contentType } = {}) {
  const all = { 'Content-Type': contentType || 'application/json', Accept: 'application/json' };
  if (token) all.Authorization = `Bearer ${token}`;
  if (API_KEY && !token) all['X-API-Key'] = API_KEY;
  Object.assign(all, headers || {});
  return { headers: all, tags: { name } };
}

/** A random (version 4) UUID: event ids and Idempotency-Keys. */
export function uuid() {
  return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (c) => {
    const r = (Math.random() * 16) | 0;
    return (c === 'x' ? r : (r & 0x3) | 0x8).toString(16);
  });
}

/** Milliseconds since the epoch of an RFC 3339 timestamp with any number of fractional digits, or NaN. */
export function rfc3339Millis(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):(\d{2}))$/.exec(text || '');
  if (!m) return NaN;
  const whole = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  const fraction = m[7] ? Number(`0${m[7]}`) * 1000 : 0;
  const offset = m[9] ? (m[9] === '-' ? -1 : 1) * (+m[10] * 60 + +m[11]) * 60000 : 0;
  return whole + fraction - offset;
}

/**
 * The scenario table. `rate` is iterations per second of the `load` scenario (RATE overrides it):
 * - load:  that rate, constant (arrival rate, not VUs: a slow server gets the same offered load), for DURATION (1m);
 * - spike: 30 s at the rate, 10 s up to 10 times it, 1 min there, 10 s back down, 1 min at the rate (recovery);
 * - soak:  half the rate (SOAK_RATE overrides it) for DURATION (30m).
 * Every scenario stops by itself: arrival-rate executors end after their duration or stages, and the VUs are capped.
 */
export function scenarioTable({ rate, preAllocatedVUs, maxVUs }) {
  const base = envNumber('RATE', rate);
  const common = { timeUnit: '1s', preAllocatedVUs, maxVUs, gracefulStop: '30s' };
  return {
    load: { ...common, executor: 'constant-arrival-rate', rate: base, duration: env('DURATION', '1m') },
    spike: {
      ...common,
      executor: 'ramping-arrival-rate',
      startRate: base,
      stages: [
        { duration: '30s', target: base },
        { duration: '10s', target: base * 10 },
        { duration: '1m', target: base * 10 },
        { duration: '10s', target: base },
        { duration: '1m', target: base },
      ],
    },
    soak: {
      ...common,
      executor: 'constant-arrival-rate',
      rate: envNumber('SOAK_RATE', Math.max(1, Math.round(base / 2))),
      duration: env('DURATION', '30m'),
    },
  };
}

/** The scenario SCENARIO names (load by default), as k6's `options.scenarios`. */
export function selectedScenario(settings) {
  const name = env('SCENARIO', 'load');
  const table = scenarioTable(settings);
  if (!(name in table)) throw new Error(`SCENARIO must be one of ${Object.keys(table).join(', ')}, not "${name}"`);
  return { [name]: table[name] };
}

/**
 * Options shared by both scripts: the selected scenario; thresholds on failed requests (a status the script's
 * response callback does not expect: under 1%) and on checks (above 99%); a p99 latency threshold per entry of
 * `p99` ({metric: [milliseconds, the environment variable that overrides them]}); the script's own thresholds.
 * A threshold crossed marks the run failed (k6 exits 99) but does not stop it early.
 */
export function buildOptions({ rate, preAllocatedVUs, maxVUs, p99, thresholds, setupTimeout }) {
  const latency = {};
  for (const [metric, [ms, variable]] of Object.entries(p99 || {})) {
    latency[metric] = [`p(99)<${envNumber(variable, ms)}`];
  }
  return {
    scenarios: selectedScenario({ rate, preAllocatedVUs, maxVUs }),
    thresholds: { http_req_failed: ['rate<0.01'], checks: ['rate>0.99'], ...latency, ...thresholds },
    summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(99)', 'p(99.9)', 'max'],
    setupTimeout: setupTimeout || '60s',
    userAgent: 'meridian-loadtest/k6',
  };
}
