// The console in a real browser (issue 18): Debian's chromium, headless, driven by puppeteer-core.
// Starts four demo backends (blue x2, green x2) and Switchyard with a demo-like configuration on
// free loopback ports, sends a trickle of traffic, and checks what an operator sees and does:
//   - the routes, pools and backends the page shows are those of /admin/status;
//   - "switch to green" with its confirmation: a plain HTTP request then reaches green, and the
//     page shows green active;
//   - a canary weight set with the slider (screenshot docs/console.png, with live charts);
//   - a backend drained from its row changes state on the page and in /admin/status;
//   - a page of another origin cannot switch through the operator's browser;
//   - with a token configured, the page without the token cannot act; with it, it can.
//
//   node tests/browser/console_test.mjs --binary build/switchyard [--screenshot FILE]
//       [--chromium /usr/bin/chromium]
// The screenshot goes to FILE, by default docs/console.png (the README's); ctest passes a file
// in the build folder.
// Exit status: 0 passed, 1 failed, 77 skipped (puppeteer-core or chromium missing).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, arg, i, all) => {
  if (arg.startsWith('--')) pairs.push([arg.slice(2), all[i + 1]]);
  return pairs;
}, []));
const binary = path.resolve(args.binary || 'build/switchyard');
const chromiumPath = args.chromium || '/usr/bin/chromium';
const screenshotPath = path.resolve(args.screenshot ||
  path.join(path.dirname(new URL(import.meta.url).pathname), '../../docs/console.png'));
const SKIP = 77;

let puppeteer;
try {
  puppeteer = (await import('puppeteer-core')).default;
} catch (e) {
  console.log(`SKIP: puppeteer-core is not installed (cd tests/browser && npm ci): ${e.message}`);
  process.exit(SKIP);
}
if (!fs.existsSync(chromiumPath)) {
  console.log(`SKIP: no chromium at ${chromiumPath} (scripts/setup.sh --test installs it)`);
  process.exit(SKIP);
}

const children = [];
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-console-'));
let browser;
let failures = 0;
let checks = 0;

function check(condition, what, detail) {
  checks += 1;
  if (condition) {
    console.log(`ok ${checks} - ${what}`);
  } else {
    failures += 1;
    console.log(`not ok ${checks} - ${what}${detail === undefined ? '' : ': ' + JSON.stringify(detail)}`);
  }
}

// Polls `probe` until it returns a truthy value or `ms` pass (generous: CI machines are slow).
async function waitFor(what, probe, ms = 20000) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

// Starts `binary` with `argv`; resolves with the first JSON log line whose event is `event`.
function start(argv, event, env) {
  const child = spawn(binary, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const output = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${argv.join(' ')}: no ${event} in 20 s\n${output.join('\n')}`)), 20000);
    for (const stream of [child.stdout, child.stderr]) {
      readline.createInterface({ input: stream }).on('line', (line) => {
        output.push(line);
        try {
          const json = JSON.parse(line);
          if (json.event === event) {
            clearTimeout(timer);
            resolve({ child, json });
          }
        } catch (e) { /* not a log line */ }
      });
    }
    child.on('exit', (code) => reject(new Error(`${argv.join(' ')} exited (${code})\n${output.join('\n')}`)));
  });
}

const portOf = (address) => Number(address.slice(address.lastIndexOf(':') + 1));

function request(port, method, target, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: target, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(body); } catch (e) { /* text */ }
        resolve({ status: res.statusCode, body, json });
      });
    });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

function config(backends, adminExtra) {
  const list = (name) => backends.filter((b) => b.name === name).map((b) => `"127.0.0.1:${b.port}"`).join(', ');
  return `[server]
workers = 2
accept_grace = "0s"
shutdown_timeout = "2s"

[admin]
listen = "127.0.0.1:0"
${adminExtra}

[[listeners]]
name = "http"
listen = "127.0.0.1:0"

[[pools]]
name = "blue"
backends = [${list('blue')}]
[pools.health_check]
path = "/health"
interval = "1s"

[[pools]]
name = "green"
backends = [${list('green')}]
[pools.health_check]
path = "/health"
interval = "1s"

[[routes]]
name = "default"
path_prefix = "/"
pool = "blue"
`;
}

// Starts the proxy and learns both ports (the admin line may come before or after "listening").
async function launch(backends, adminExtra) {
  const file = path.join(scratch, `switchyard-${children.length}.toml`);
  fs.writeFileSync(file, config(backends, adminExtra));
  const child = spawn(binary, ['-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const ports = {};
  const output = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`proxy did not start in 20 s\n${output.join('\n')}`)), 20000);
    for (const stream of [child.stdout, child.stderr]) {
      readline.createInterface({ input: stream }).on('line', (line) => {
        output.push(line);
        try {
          const json = JSON.parse(line);
          if (json.event === 'listening') ports.http = portOf(json.address);
          if (json.event === 'admin_listening') ports.admin = portOf(json.address);
          if (ports.http && ports.admin) { clearTimeout(timer); resolve(); }
        } catch (e) { /* not a log line */ }
      });
    }
    child.on('exit', (code) => reject(new Error(`proxy exited (${code})\n${output.join('\n')}`)));
  });
  child.removeAllListeners('exit');
  return { child, ...ports };
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
  await exited;
  clearTimeout(timer);
}

// A trickle of requests through the proxy, so the charts have something to draw.
function trafficTo(port) {
  let running = true;
  (async () => {
    while (running) {
      await request(port, 'GET', '/').catch(() => {});
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return () => { running = false; };
}

const servedBy = async (port) => (await request(port, 'GET', '/')).body.split('\n')[0];

async function confirmDialog(page) {
  await page.waitForSelector('#confirm-dialog[open]', { timeout: 10000 });
  await page.click('#confirm-ok');
  await page.waitForSelector('#confirm-dialog:not([open])', { timeout: 10000 });
}

async function fieldText(page, selector) {
  return page.$eval(selector, (node) => node.textContent).catch(() => null);
}

async function main() {
  const backends = [];
  for (const name of ['blue', 'blue', 'green', 'green']) {
    const { json } = await start(['backend', '--name', name, '--listen', '127.0.0.1:0'], 'backend_listening');
    backends.push({ name, port: portOf(json.address) });
  }
  const proxy = await launch(backends, '');
  const admin = `http://127.0.0.1:${proxy.admin}`;
  const stopTraffic = trafficTo(proxy.http);

  browser = await puppeteer.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--headless=new'],
    defaultViewport: { width: 1280, height: 1400 },
  });
  const page = await browser.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });

  const response = await page.goto(admin + '/', { waitUntil: 'domcontentloaded' });
  check(response.status() === 200, 'the console answers 200 at /');
  check((response.headers()['content-security-policy'] || '').includes("script-src 'self'"),
    'the page comes with its Content-Security-Policy');
  await page.waitForSelector('.route[data-route="default"] [data-field="active"]', { timeout: 20000 });
  await waitFor('the first render', () => fieldText(page, '.route[data-route="default"] [data-field="active"]')
    .then((t) => t === 'blue'));

  // What the page shows is what /admin/status says.
  const status = (await request(proxy.admin, 'GET', '/admin/status')).json;
  const shown = await page.evaluate(() => ({
    routes: [...document.querySelectorAll('.route')].map((r) => r.dataset.route),
    pools: [...document.querySelectorAll('.pool')].map((p) => p.dataset.pool),
    backends: [...document.querySelectorAll('tr[data-backend]')].map((r) => `${r.dataset.pool} ${r.dataset.backend}`),
    active: document.querySelector('.route [data-field="active"]').textContent,
  }));
  check(JSON.stringify(shown.routes) === JSON.stringify(status.routes.map((r) => r.name)), 'routes match /admin/status', shown.routes);
  check(JSON.stringify(shown.pools) === JSON.stringify(status.pools.map((p) => p.name)), 'pools match /admin/status', shown.pools);
  const expectedBackends = status.pools.flatMap((p) => p.backends.map((b) => `${p.name} ${b.address}`));
  check(JSON.stringify(shown.backends) === JSON.stringify(expectedBackends), 'backends match /admin/status', shown.backends);
  check(shown.active === status.routes[0].active, 'the active pool shown is the active pool', shown.active);
  await waitFor('health checks on the page', () => fieldText(page, 'tr[data-pool="blue"] [data-field="health"]')
    .then((t) => t === 'healthy'));
  check(true, 'backend health is shown (healthy)');

  // Switch to green, with the confirmation.
  await page.select('.route[data-route="default"] select[data-input="switch-pool"]', 'green');
  await page.click('.route[data-route="default"] button[data-action="switch"]');
  await confirmDialog(page);
  await waitFor('the switch answer', () => fieldText(page, '#answer').then((t) => t && t.includes('/admin/switch') && t.includes('→ 200')));
  check(await servedBy(proxy.http) === 'green', 'after the switch a plain HTTP request reaches green');
  await waitFor('green active on the page', () => fieldText(page, '.route[data-route="default"] [data-field="active"]').then((t) => t === 'green'));
  check(true, 'the page shows green active');
  check(await fieldText(page, '.route[data-route="default"] [data-field="previous"]') === 'blue', 'the page shows blue as previous');

  // Cancel means nothing happens.
  await page.click('.route[data-route="default"] button[data-action="rollback"]');
  await page.waitForSelector('#confirm-dialog[open]');
  await page.click('#confirm-cancel');
  await waitFor('the cancel', () => fieldText(page, '#answer').then((t) => t.includes('cancelled')));
  check((await request(proxy.admin, 'GET', '/admin/status')).json.routes[0].active === 'green', 'a cancelled rollback changes nothing');

  // A canary weight with the slider: blue (the previous version) gets a share again.
  await page.select('.route[data-route="default"] select[data-input="canary-pool"]', 'blue');
  const slider = await page.$('.route[data-route="default"] input[data-input="canary-weight"]');
  const box = await slider.boundingBox();
  await page.mouse.click(box.x + box.width * 0.3, box.y + box.height / 2);
  await confirmDialog(page);
  const canary = await waitFor('the canary in /admin/status', async () => {
    const s = (await request(proxy.admin, 'GET', '/admin/status')).json;
    return s.routes[0].canary && s.routes[0].canary.weight > 0 ? s.routes[0].canary : null;
  });
  check(canary.pool === 'blue' && canary.weight > 10 && canary.weight < 50, 'the slider set a canary weight', canary);
  await waitFor('the canary on the page', () => fieldText(page, '.route[data-route="default"] [data-field="canary"]')
    .then((t) => t === `blue ${canary.weight}%`));
  check(true, 'the page shows the canary and its weight');
  const split = { blue: 0, green: 0 };
  for (let i = 0; i < 60; i++) split[await servedBy(proxy.http)] += 1;
  check(split.blue > 0 && split.green > split.blue, 'traffic splits between green and the blue canary', split);

  // Live figures: wait until the charts show some seconds of the canary next to the baseline
  // (the sampler reads once a second), then the screenshot.
  await waitFor('stats of the canary', async () => {
    const stats = (await request(proxy.admin, 'GET', '/admin/stats')).json;
    const marker = stats.markers.find((m) => m.what === 'canary');
    return marker && stats.times.length > 0 && stats.times[stats.times.length - 1] - marker.time >= 8 &&
      stats.pools.blue.windows['10s'].requests > 0 && stats.pools.green.windows['10s'].requests > 0;
  }, 40000);
  await waitFor('rps on the page', () => fieldText(page, '.route[data-route="default"] [data-value="rps"]')
    .then((t) => t && /^[1-9]/.test(t)));
  check(true, 'the page shows requests per second');
  {
    fs.mkdirSync(path.dirname(screenshotPath), { recursive: true });
    await page.screenshot({ path: screenshotPath, fullPage: true });
    check(fs.statSync(screenshotPath).size > 10000, `screenshot saved to ${screenshotPath}`);
  }

  // Drain a green backend from its row.
  const drained = status.pools.find((p) => p.name === 'green').backends[0].address;
  const row = `tr[data-pool="green"][data-backend="${drained}"]`;
  await page.click(`${row} button[data-action="drain"]`);
  await confirmDialog(page);
  await waitFor('the drained state on the page', () => fieldText(page, `${row} [data-field="admin_state"]`)
    .then((t) => t === 'draining' || t === 'drained'));
  check(true, 'the drained backend changes state on the page');
  const after = (await request(proxy.admin, 'GET', '/admin/status')).json;
  const state = after.pools.find((p) => p.name === 'green').backends.find((b) => b.address === drained).admin_state;
  check(state === 'draining' || state === 'drained', '/admin/status agrees', state);
  await page.click(`${row} button[data-action="enable"]`);
  await confirmDialog(page);
  await waitFor('the enabled state', () => fieldText(page, `${row} [data-field="admin_state"]`).then((t) => t === 'ready'));
  check(true, 'enable brings it back to ready');

  // A page of another origin (the proxy's own listener, another port) tries to switch through
  // the operator's browser: refused, nothing changes.
  const evil = await browser.newPage();
  await evil.goto(`http://127.0.0.1:${proxy.http}/`);
  await evil.evaluate((url) => fetch(url, { method: 'POST', mode: 'no-cors' }).catch(() => null),
    `${admin}/admin/switch?to=blue&route=default`);
  await evil.close();
  const unchanged = (await request(proxy.admin, 'GET', '/admin/status')).json;
  check(unchanged.routes[0].active === 'green', 'a cross-origin POST from another page changes nothing', unchanged.routes[0].active);
  check(pageErrors.length === 0, 'no script errors on the page (CSP violations included)', pageErrors);
  stopTraffic();
  await page.close();
  await stopChild(proxy.child);

  // With a token: the page without it cannot act.
  const token = 'console-test-7d0a6f';
  const guarded = await launch(backends, `token = "${token}"`);
  const guardedAdmin = `http://127.0.0.1:${guarded.admin}`;
  const context = await browser.createBrowserContext();  // fresh sessionStorage
  const locked = await context.newPage();
  await locked.goto(guardedAdmin + '/', { waitUntil: 'domcontentloaded' });
  await locked.waitForSelector('#token-dialog[open]', { timeout: 20000 });
  check(true, 'with a token configured the page asks for it');
  await locked.click('#token-cancel');
  check(await locked.$('.route[data-route="default"]') === null, 'without the token nothing is shown');
  const refused = await locked.evaluate(async () => {
    const r = await fetch('/admin/switch?route=default&to=green', { method: 'POST' });
    return r.status;
  });
  check(refused === 401, 'a change from the page without the token is refused', refused);
  const stillBlue = (await request(guarded.admin, 'GET', '/admin/status', { Authorization: `Bearer ${token}` })).json;
  check(stillBlue.routes[0].active === 'blue', 'and changes nothing', stillBlue.routes[0].active);
  // Given the token (once), it shows and acts.
  await locked.click('#token-button');
  await locked.waitForSelector('#token-dialog[open]');
  await locked.type('#token-input', token);
  await locked.click('#token-ok');
  await locked.waitForSelector('.route[data-route="default"] [data-field="active"]', { timeout: 20000 });
  await locked.select('.route[data-route="default"] select[data-input="switch-pool"]', 'green');
  await locked.click('.route[data-route="default"] button[data-action="switch"]');
  await confirmDialog(locked);
  await waitFor('green active with the token', () => fieldText(locked, '.route[data-route="default"] [data-field="active"]').then((t) => t === 'green'));
  check(await servedBy(guarded.http) === 'green', 'with the token the page switches traffic');
  const stored = await locked.evaluate(() => sessionStorage.getItem('switchyard-admin-token'));
  check(stored === token, 'the token is kept in sessionStorage');
  await stopChild(guarded.child);
}

let exitCode = 0;
try {
  await main();
} catch (e) {
  console.log(`not ok - ${e.stack || e}`);
  failures += 1;
} finally {
  if (browser) await browser.close().catch(() => {});
  for (const child of children) await stopChild(child).catch(() => {});
  fs.rmSync(scratch, { recursive: true, force: true });
  console.log(`${checks} checks, ${failures} failed`);
  exitCode = failures === 0 ? 0 : 1;
}
process.exit(exitCode);
