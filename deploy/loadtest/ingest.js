// Load on the event ingestor, as `meridian bench ingest` does: POST /events one CloudEvent at a time (its
// `--mode single`) and, for a share of the iterations, POST /events/batch with BATCH_SIZE events as NDJSON (its
// `--mode batch`). Every event has a fresh id, so none is a duplicate.
//
//   k6 run deploy/loadtest/ingest.js                              # SCENARIO=load: RATE requests/s for DURATION
//   k6 run -e SCENARIO=spike -e RATE=500 deploy/loadtest/ingest.js
//   k6 run -e SCENARIO=soak -e DURATION=2h deploy/loadtest/ingest.js
//
// Environment: BASE_URL (http://127.0.0.1:8080), API_KEY (sent as X-API-Key), SCENARIO (load, spike, soak),
// RATE (200 requests/s), SOAK_RATE (RATE/2), DURATION (1m for load, 30m for soak), BATCH_SHARE (0.1 of the
// requests), BATCH_SIZE (100 events), MAX_VUS (200), P99_MS (50: single events), BATCH_P99_MS (250).
import http from 'k6/http';
import { check } from 'k6';
import { Counter, Rate } from 'k6/metrics';
import { BASE_URL, buildOptions, envNumber, jsonParams, uuid } from './lib.js';

const BATCH_SHARE = envNumber('BATCH_SHARE', 0.1);
const BATCH_SIZE = Math.max(1, Math.floor(envNumber('BATCH_SIZE', 100)));
const MAX_VUS = Math.max(1, Math.floor(envNumber('MAX_VUS', 200)));

export const options = buildOptions({
  rate: 200,
  preAllocatedVUs: Math.min(MAX_VUS, 50),
  maxVUs: MAX_VUS,
  // The targets of docs/benchmarks.md: single p99 under 50 ms; a batch of 500 answered in about 50-60 ms.
  p99: { 'http_req_duration{name:event}': [50, 'P99_MS'], 'http_req_duration{name:batch}': [250, 'BATCH_P99_MS'] },
});

// 202 accepted and 429 rate limited are answers the ingestor is meant to give under load; 200 is a batch's
// answer (each item has its own outcome, checked below) or a duplicate. Anything else counts in http_req_failed.
http.setResponseCallback(http.expectedStatuses(200, 202, 429));

/** Events the server accepted: their count and rate are the run's events/s (bench's events_per_second). */
const eventsAccepted = new Counter('events_accepted');
/** Requests answered 429: the ingestor's rate limit (`ingest.globalRate`, `ingest.clientRate`) pushing back
 * (expected, so no threshold: watch its share). */
const rateLimited = new Rate('events_rate_limited');

// The same event bench sends (page.viewed, 1000 paths, 5000 users), as a structured CloudEvent.
function cloudEvent(n) {
  return JSON.stringify({
    specversion: '1.0',
    id: uuid(),
    source: '/loadtest/k6',
    type: 'page.viewed',
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data: { path: `/products/${n % 1000}`, user: `u${n % 5000}`, n },
  });
}

function sendOne(n) {
  const res = http.post(
    `${BASE_URL}/events`,
    cloudEvent(n),
    jsonParams('event', { contentType: 'application/cloudevents+json' }),
  );
  rateLimited.add(res.status === 429);
  const ok = check(res, {
    'event: 202 accepted or 429 rate limited': (r) => r.status === 202 || r.status === 429,
    'event: 202 names its id': (r) => r.status !== 202 || (r.json('status') === 'accepted' && !!r.json('id')),
  });
  if (ok && res.status === 202) eventsAccepted.add(1);
}

function sendBatch(n) {
  const lines = [];
  for (let i = 0; i < BATCH_SIZE; i++) lines.push(cloudEvent(n * BATCH_SIZE + i));
  const res = http.post(
    `${BASE_URL}/events/batch`,
    lines.join('\n'),
    jsonParams('batch', { contentType: 'application/x-ndjson' }),
  );
  rateLimited.add(res.status === 429);
  const accepted = res.status === 200 ? Number(res.json('accepted')) || 0 : 0;
  check(res, {
    'batch: 200 or 429 rate limited': (r) => r.status === 200 || r.status === 429,
    'batch: every event accepted': (r) => r.status !== 200 || accepted === BATCH_SIZE,
  });
  eventsAccepted.add(accepted);
}

export default function () {
  const n = __VU * 1000003 + __ITER;
  if (Math.random() < BATCH_SHARE) sendBatch(n);
  else sendOne(n);
}
