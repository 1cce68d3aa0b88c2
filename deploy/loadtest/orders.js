// The order flow under load, as `meridian bench orders` does: customers register once (setup), then each
// iteration one customer adds a product to its cart and orders the cart with an Idempotency-Key and
// `Prefer: wait=10`, so the answer comes once the payment settled: CONFIRMED for a good card, FAILED for the
// declined share (DECLINE_SHARE, pm_card_chargeDeclined; bench uses none).
//
//   ADMIN_PASSWORD='a long admin password' k6 run deploy/loadtest/orders.js
//   k6 run -e SCENARIO=spike -e CUSTOMERS=128 -e ADMIN_PASSWORD=… deploy/loadtest/orders.js
//
// Environment: BASE_URL (http://127.0.0.1:8080), ADMIN_EMAIL (admin@example.com), ADMIN_PASSWORD (or
// MERIDIAN_BENCH_ADMIN_PASSWORD, as bench), SCENARIO (load, spike, soak), RATE (20 orders/s), SOAK_RATE (RATE/2),
// DURATION (1m for load, 30m for soak), CUSTOMERS (64: also the most VUs, one customer each, one order at a
// time), PRODUCTS (20), DECLINE_SHARE (0.05), P99_MS (1000: placement), CONFIRM_P99_MS (1000: confirmation).
//
// The gateway limits requests per user and per address (gateway.userRate, gateway.addressRate): every customer
// comes from this one address, so run the server with MERIDIAN_GATEWAY_USER_RATE=0 MERIDIAN_GATEWAY_ADDRESS_RATE=0
// as scripts/bench-orders.sh does; a 429 here counts as a failed request.
import http from 'k6/http';
import { check, fail } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';
import { BASE_URL, buildOptions, env, envNumber, jsonParams, rfc3339Millis, uuid } from './lib.js';

const CUSTOMERS = Math.max(1, Math.floor(envNumber('CUSTOMERS', 64)));
const PRODUCTS = Math.max(1, Math.floor(envNumber('PRODUCTS', 20)));
const DECLINE_SHARE = envNumber('DECLINE_SHARE', 0.05);
const ADMIN_EMAIL = env('ADMIN_EMAIL', 'admin@example.com');
const ADMIN_PASSWORD = env('ADMIN_PASSWORD', env('MERIDIAN_BENCH_ADMIN_PASSWORD', ''));
const WAIT = 'wait=10';

export const options = buildOptions({
  rate: 20,
  // One VU per customer at most: a customer has one cart, so two orders of one customer at once would take
  // each other's lines. When the customers cannot keep up with the rate, k6 counts dropped_iterations.
  preAllocatedVUs: CUSTOMERS,
  maxVUs: CUSTOMERS,
  p99: {
    'http_req_duration{name:place_order}': [1000, 'P99_MS'],
    'http_req_duration{name:add_to_cart}': [500, 'CART_P99_MS'],
    // bench's target on PostgreSQL + Kafka: confirmation p99 under 1 s.
    order_confirmation_time: [1000, 'CONFIRM_P99_MS'],
  },
  thresholds: { orders_confirmed: ['rate>0.99'] },
  // Registering and logging in the customers (bcrypt at the server's cost) happens before the load.
  setupTimeout: '5m',
});

http.setResponseCallback(http.expectedStatuses(200, 201));

/** Placement (created_at) to CONFIRMED (updated_at), from the server's own timestamps, as bench measures it. */
const confirmationTime = new Trend('order_confirmation_time', true);
/** Good-card orders that ended CONFIRMED (not FAILED, CANCELLED or still awaiting payment). */
const confirmed = new Rate('orders_confirmed');
/** Confirmed orders: count and per second (bench's confirmed_orders_per_second). */
const confirmedCount = new Counter('orders_confirmed_total');
/** Orders placed (201). */
const placed = new Counter('orders_placed');

function post(path, body, name, token, headers) {
  return http.post(`${BASE_URL}${path}`, JSON.stringify(body), jsonParams(name, { token, headers }));
}

function login(email, password) {
  const res = post('/api/auth/login', { email, password }, 'login');
  if (res.status !== 200) fail(`logging in as ${email}: ${res.status} ${res.body}`);
  return res.json('token');
}

/** Requests in parallel, at most `width` at a time; stops the test on an unexpected status. */
function inWaves(requests, width, expected, what) {
  const answers = [];
  for (let i = 0; i < requests.length; i += width) {
    for (const res of http.batch(requests.slice(i, i + width))) {
      if (res.status !== expected) {
        const hint = res.status === 429 ? ' (turn the gateway rate limits off: MERIDIAN_GATEWAY_ADDRESS_RATE=0)' : '';
        fail(`${what}: ${res.status} ${res.body}${hint}`);
      }
      answers.push(res);
    }
  }
  return answers;
}

export function setup() {
  if (!ADMIN_PASSWORD) fail('set ADMIN_PASSWORD (k6 run -e ADMIN_PASSWORD=…) to the password of ADMIN_EMAIL');
  const run = uuid().slice(0, 8);
  const admin = login(ADMIN_EMAIL, ADMIN_PASSWORD);
  const products = [];
  for (let i = 0; i < PRODUCTS; i++) {
    const res = post(
      '/api/products',
      { name: `k6-${run}-${i}`, category: 'loadtest', price_cents: 1000 + i, currency: 'USD', stock: 1000000000 },
      'create_product',
      admin,
    );
    if (res.status !== 201) fail(`creating a product as ${ADMIN_EMAIL}: ${res.status} ${res.body}`);
    products.push(res.json('id'));
  }
  const customers = [];
  for (let i = 0; i < CUSTOMERS; i++) {
    customers.push({ email: `k6-${run}-${i}@example.com`, password: `k6-password-${run}`, name: `Customer ${i}` });
  }
  const request = (path, body, name) => ['POST', `${BASE_URL}${path}`, JSON.stringify(body), jsonParams(name)];
  inWaves(customers.map((c) => request('/api/users', c, 'register')), 16, 201, 'registering a customer');
  const logins = inWaves(
    customers.map((c) => request('/api/auth/login', { email: c.email, password: c.password }, 'login')),
    16,
    200,
    'logging in a customer',
  );
  logins.forEach((res, i) => {
    customers[i].token = res.json('token');
  });
  return { products, customers };
}

// This VU's customer; its token is renewed when it expires (tokens last an hour, a soak may last longer).
let customer;

function call(send) {
  let res = send(customer.token);
  if (res.status === 401) {
    customer.token = login(customer.email, customer.password);
    res = send(customer.token);
  }
  return res;
}

export default function (data) {
  if (!customer) customer = Object.assign({}, data.customers[(__VU - 1) % data.customers.length]);
  const product = data.products[Math.floor(Math.random() * data.products.length)];
  const added = call((token) => post('/api/cart/items', { product_id: product, quantity: 1 }, 'add_to_cart', token));
  if (!check(added, { 'cart: 200': (r) => r.status === 200 })) return;

  const declined = Math.random() < DECLINE_SHARE;
  const key = uuid();
  const payment = declined ? 'pm_card_chargeDeclined' : 'pm_card_visa';
  const res = call((token) =>
    post('/api/orders', { payment_method: payment }, 'place_order', token, { 'Idempotency-Key': key, Prefer: WAIT }),
  );
  if (!check(res, { 'order: 201 placed': (r) => r.status === 201 })) {
    if (!declined) confirmed.add(false);
    return;
  }
  placed.add(1);
  let order = res.json();
  // The wait ran out (a slow saga): wait again on the order, a bounded number of times.
  for (let i = 0; i < 3 && order.status === 'AWAITING_PAYMENT'; i++) {
    const again = call((token) =>
      http.get(`${BASE_URL}/api/orders/${order.id}`, jsonParams('get_order', { token, headers: { Prefer: WAIT } })),
    );
    if (again.status !== 200) break;
    order = again.json();
  }

  if (declined) {
    check(order, {
      'declined card: FAILED': (o) => o.status === 'FAILED',
      'declined card: reason card_declined': (o) => o.status !== 'FAILED' || o.reason === 'card_declined',
    });
    return;
  }
  const ok = check(order, { 'good card: CONFIRMED': (o) => o.status === 'CONFIRMED' });
  confirmed.add(ok);
  if (ok) {
    confirmedCount.add(1);
    const ms = rfc3339Millis(order.updated_at) - rfc3339Millis(order.created_at);
    if (Number.isFinite(ms)) confirmationTime.add(Math.max(0, ms));
  }
}
