// The Switchyard console: polls GET /admin/status, /admin/stats and /admin/rollouts, draws what
// they say, and calls the admin API for the operator's actions. Plain JavaScript, no library;
// served from the binary with a Content-Security-Policy that forbids inline script and style,
// so everything here builds the DOM with createElement and sets text with textContent.
'use strict';

const POLL_MS = 1500;
const TOKEN_KEY = 'switchyard-admin-token';
const CHART_W = 220;
const CHART_H = 64;

const state = {
  status: null,
  stats: null,
  rollouts: [],
  layout: '',        // route and pool names the DOM was built for
  needToken: false,
  tokenDeclined: false,
  polling: false,
};

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === 'text') node.textContent = value;
    else if (name === 'class') node.className = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }

// One admin API call; resolves {status, body}. A 401 asks for the token once and retries.
async function api(method, path, body, retried) {
  const headers = {};
  if (token()) headers.Authorization = 'Bearer ' + token();
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, { method, headers, body, cache: 'no-store', credentials: 'omit' });
  let parsed;
  const text = await response.text();
  try { parsed = JSON.parse(text); } catch (e) { parsed = text; }
  if (response.status === 401 && !retried && !state.tokenDeclined) {
    state.needToken = true;
    document.getElementById('token-button').hidden = false;
    if (await askToken()) return api(method, path, body, true);
  }
  return { status: response.status, body: parsed };
}

function askToken() {
  const dialog = document.getElementById('token-dialog');
  const input = document.getElementById('token-input');
  input.value = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      if (dialog.returnValue === 'ok' && input.value) {
        sessionStorage.setItem(TOKEN_KEY, input.value);
        resolve(true);
      } else {
        state.tokenDeclined = true;  // asked again only from the Token button
        resolve(false);
      }
    }, { once: true });
    if (!dialog.open) dialog.showModal();
  });
}

function confirmAction(text) {
  const dialog = document.getElementById('confirm-dialog');
  document.getElementById('confirm-text').textContent = text;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.returnValue = '';
    dialog.showModal();
  });
}

function showAnswer(what, result) {
  const pre = document.getElementById('answer');
  pre.className = result.status >= 400 ? 'error' : '';
  const body = typeof result.body === 'string' ? result.body : JSON.stringify(result.body, null, 2);
  pre.textContent = what + ' → ' + result.status + '\n' + body;
}

// Runs one change: confirm when it moves traffic, call, show the answer, refresh.
async function act(description, method, path, options) {
  const opts = options || {};
  if (opts.moves !== false && !(await confirmAction(description + '?'))) {
    document.getElementById('answer').textContent = description + ': cancelled';
    return;
  }
  let result;
  try {
    result = await api(method, path, opts.body);
  } catch (e) {
    result = { status: 0, body: String(e) };
  }
  showAnswer(method + ' ' + path, result);
  await poll();
}

function q(params) {
  return Object.entries(params).filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => encodeURIComponent(k) + '=' + encodeURIComponent(v)).join('&');
}

function poolOptions(select, pools, selected) {
  select.replaceChildren(...pools.map((p) => el('option', { value: p, text: p })));
  if (selected) select.value = selected;
}

// ---- charts --------------------------------------------------------------------------------

function chart(id, label) {
  return el('div', { class: 'chart' },
    el('span', {}, el('span', { text: label + ' ' }), el('span', { class: 'value', 'data-value': id, text: '–' })),
    el('canvas', { width: CHART_W, height: CHART_H, 'data-chart': id }));
}

function drawChart(canvas, times, values, markers, percent) {
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!times || times.length < 2) return;
  const t0 = times[0];
  const t1 = times[times.length - 1];
  const span = Math.max(1, t1 - t0);
  let max = 0;
  for (const v of values) if (v !== null && v > max) max = v;
  if (percent) max = Math.max(max, 0.01);
  if (max === 0) max = 1;
  const x = (t) => ((t - t0) / span) * (canvas.width - 2) + 1;
  const y = (v) => canvas.height - 2 - (v / max) * (canvas.height - 12);
  ctx.strokeStyle = '#d97706';
  ctx.lineWidth = 1;
  for (const m of markers) {
    if (m.time < t0 || m.time > t1) continue;
    ctx.beginPath();
    ctx.moveTo(x(m.time), 0);
    ctx.lineTo(x(m.time), canvas.height);
    ctx.stroke();
  }
  ctx.strokeStyle = '#2563eb';
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  let pen = false;
  values.forEach((v, i) => {
    if (v === null) { pen = false; return; }
    if (pen) ctx.lineTo(x(times[i]), y(v)); else ctx.moveTo(x(times[i]), y(v));
    pen = true;
  });
  ctx.stroke();
  ctx.fillStyle = '#6b7280';
  ctx.font = '10px sans-serif';
  ctx.fillText(percent ? (max * 100).toFixed(1) + '%' : max.toFixed(max < 10 ? 2 : 0), 3, 10);
}

function fmt(value, kind) {
  if (value === null || value === undefined) return '–';
  if (kind === 'percent') return (value * 100).toFixed(2) + '%';
  if (kind === 'ms') return value.toFixed(1) + ' ms';
  return value.toFixed(1) + '/s';
}

function updateCharts(root, entity, markers) {
  const stats = state.stats;
  if (!stats || !entity) return;
  const window10 = entity.windows['10s'] || {};
  const series = entity.series;
  const kinds = { rps: 'rate', error_rate: 'percent', p50_ms: 'ms', p99_ms: 'ms' };
  for (const [key, kind] of Object.entries(kinds)) {
    const canvas = root.querySelector(`canvas[data-chart="${key}"]`);
    const value = root.querySelector(`[data-value="${key}"]`);
    if (value) value.textContent = fmt(window10[key], kind) + ' (10 s)';
    if (canvas) drawChart(canvas, stats.times, series[key], markers, kind === 'percent');
  }
}

function chartRow() {
  return el('div', { class: 'charts' }, chart('rps', 'requests/s'), chart('error_rate', 'errors'),
    chart('p50_ms', 'p50'), chart('p99_ms', 'p99'));
}

// ---- routes --------------------------------------------------------------------------------

function fact(list, name, key) {
  list.append(el('dt', { text: name }), el('dd', { 'data-field': key, text: '–' }));
}

function buildRoute(route, poolNames) {
  const name = route.name;
  const facts = el('dl', { class: 'facts' });
  for (const [label, key] of [['active', 'active'], ['previous', 'previous'], ['canary', 'canary'],
    ['mirror', 'mirror'], ['rules', 'rules'], ['sticky', 'sticky'], ['hosts / path', 'match']]) {
    fact(facts, label, key);
  }
  const switchTo = el('select', { 'data-input': 'switch-pool' });
  poolOptions(switchTo, poolNames);
  const canaryPool = el('select', { 'data-input': 'canary-pool' });
  poolOptions(canaryPool, poolNames);
  const weightLabel = el('span', { 'data-field': 'slider-weight', text: '0%' });
  const slider = el('input', { type: 'range', min: 0, max: 100, step: 1, value: 0, 'data-input': 'canary-weight' });
  slider.addEventListener('input', () => { slider.dataset.dirty = '1'; weightLabel.textContent = slider.value + '%'; });
  slider.addEventListener('change', async () => {
    const weight = slider.value;
    const pool = canaryPool.value;
    await act(`Send ${weight}% of route ${name} to canary pool ${pool}`, 'POST',
      '/admin/canary?' + q({ route: name, pool, weight }));
    delete slider.dataset.dirty;
  });
  const mirrorPool = el('select', { 'data-input': 'mirror-pool' });
  poolOptions(mirrorPool, poolNames);
  const mirrorPercent = el('input', { type: 'number', min: 0, max: 100, step: 1, value: 0, 'data-input': 'mirror-percent' });
  const card = el('div', { class: 'card route', 'data-route': name },
    el('h3', { text: 'route ' + name }),
    facts,
    el('div', { class: 'actions' },
      el('label', {}, 'switch to', switchTo,
        el('button', { type: 'button', class: 'moves', 'data-action': 'switch',
          onclick: () => act(`Switch route ${name} to pool ${switchTo.value}`, 'POST',
            '/admin/switch?' + q({ route: name, to: switchTo.value })) }, 'Switch')),
      el('button', { type: 'button', class: 'moves', 'data-action': 'rollback',
        onclick: () => act(`Roll route ${name} back to its previous pool`, 'POST',
          '/admin/rollback?' + q({ route: name })) }, 'Rollback'),
      el('button', { type: 'button', class: 'moves', 'data-action': 'promote',
        onclick: () => act(`Promote the canary of route ${name} to active`, 'POST',
          '/admin/promote?' + q({ route: name })) }, 'Promote canary')),
    el('div', { class: 'actions' },
      el('label', {}, 'canary', canaryPool, slider, weightLabel)),
    el('div', { class: 'actions' },
      el('label', {}, 'mirror', mirrorPool, mirrorPercent, '%',
        el('button', { type: 'button', class: 'moves', 'data-action': 'mirror',
          onclick: () => act(`Mirror ${mirrorPercent.value}% of route ${name} to pool ${mirrorPool.value}`,
            'POST', '/admin/mirror?' + q({ route: name, pool: mirrorPool.value, percent: mirrorPercent.value })) }, 'Set mirror'))),
    chartRow());
  return card;
}

function ruleText(rule) {
  const copy = Object.assign({}, rule);
  const pool = copy.pool;
  delete copy.pool;
  return JSON.stringify(copy) + ' → ' + pool;
}

function updateRoute(card, route) {
  const set = (key, text) => { card.querySelector(`[data-field="${key}"]`).textContent = text; };
  set('active', route.active);
  set('previous', route.previous || '–');
  set('canary', route.canary ? `${route.canary.pool} ${route.canary.weight}%` : '–');
  set('mirror', route.mirror ? `${route.mirror.pool} ${route.mirror.percent}%` : '–');
  set('rules', route.rules && route.rules.length ? route.rules.map(ruleText).join('; ') : '–');
  set('sticky', route.sticky || '–');
  set('match', ((route.hosts || []).join(', ') || 'any host') + ' ' + route.path_prefix);
  const slider = card.querySelector('[data-input="canary-weight"]');
  if (!slider.dataset.dirty) {
    slider.value = route.canary ? route.canary.weight : 0;
    set('slider-weight', slider.value + '%');
    if (route.canary) card.querySelector('[data-input="canary-pool"]').value = route.canary.pool;
  }
  const markers = ((state.stats && state.stats.markers) || []).filter((m) => !m.route || m.route === route.name);
  updateCharts(card, state.stats && state.stats.routes[route.name], markers);
}

// ---- pools ---------------------------------------------------------------------------------

function backendAction(pool, address, verb) {
  const path = `/admin/pools/${encodeURIComponent(pool)}/backends/${encodeURIComponent(address)}/${verb}`;
  return el('button', { type: 'button', class: verb === 'enable' ? '' : 'moves', 'data-action': verb,
    onclick: () => act(`${verb} backend ${address} of pool ${pool}`, 'POST', path) }, verb);
}

function buildPool(pool) {
  const tbody = el('tbody');
  for (const backend of pool.backends) {
    const row = el('tr', { 'data-pool': pool.name, 'data-backend': backend.address },
      el('td', { text: backend.address }),
      el('td', { 'data-field': 'health' }), el('td', { 'data-field': 'admin_state' }),
      el('td', { class: 'num', 'data-field': 'in_flight' }),
      el('td', { class: 'num', 'data-field': 'open_connections' }),
      el('td', { 'data-field': 'last_check' }), el('td', { 'data-field': 'last_error' }),
      el('td', {}, backendAction(pool.name, backend.address, 'drain'),
        backendAction(pool.name, backend.address, 'disable'),
        backendAction(pool.name, backend.address, 'enable')));
    tbody.append(row);
  }
  return el('div', { class: 'card pool', 'data-pool': pool.name },
    el('h3', {}, el('span', { text: 'pool ' + pool.name + ' ' }), el('span', { class: 'muted', 'data-field': 'summary' })),
    el('table', {},
      el('thead', {}, el('tr', {}, ...['backend', 'health', 'admin state', 'in flight', 'open conns',
        'last check', 'last error', ''].map((h) => el('th', { text: h })))),
      tbody),
    chartRow());
}

function updatePool(card, pool, routes) {
  const serving = routes.filter((r) => r.active === pool.name).map((r) => r.name);
  const canary = routes.filter((r) => r.canary && r.canary.pool === pool.name).map((r) => r.name);
  let summary = `${pool.balancer}, ${pool.eligible_backends}/${pool.backends.length} eligible`;
  if (serving.length) summary += ', active for ' + serving.join(', ');
  if (canary.length) summary += ', canary for ' + canary.join(', ');
  card.querySelector('[data-field="summary"]').textContent = summary;
  for (const backend of pool.backends) {
    const row = card.querySelector(`tr[data-backend="${CSS.escape(backend.address)}"]`);
    if (!row) continue;
    const cell = (key, text, cls) => {
      const td = row.querySelector(`[data-field="${key}"]`);
      td.textContent = text;
      if (cls) td.className = 'state-' + cls;
    };
    cell('health', backend.health, backend.health);
    cell('admin_state', backend.admin_state, backend.admin_state);
    cell('in_flight', String(backend.in_flight));
    cell('open_connections', String(backend.open_connections));
    const check = backend.last_check;
    cell('last_check', !check ? '–' : typeof check === 'string' ? check.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : JSON.stringify(check));
    cell('last_error', backend.last_error || '–');
  }
  updateCharts(card, state.stats && state.stats.pools[pool.name], (state.stats && state.stats.markers) || []);
}

// ---- rollouts and history ------------------------------------------------------------------

function renderRollouts() {
  const root = document.getElementById('rollouts');
  if (!state.rollouts.length) {
    root.replaceChildren(el('p', { class: 'muted', text: 'none' }));
    return;
  }
  root.replaceChildren(...state.rollouts.map((r) => {
    const route = r.route || '';
    const verb = (v) => el('button', { type: 'button', class: 'moves', 'data-action': 'rollout-' + v,
      onclick: () => act(`${v} the rollout of route ${route}`, 'POST',
        `/admin/rollouts/${encodeURIComponent(route)}/${v}`) }, v);
    const summary = ['state', 'step', 'weight', 'canary', 'baseline'].filter((k) => r[k] !== undefined)
      .map((k) => `${k} ${typeof r[k] === 'object' ? JSON.stringify(r[k]) : r[k]}`).join(', ');
    return el('div', { class: 'card', 'data-rollout': route },
      el('h3', { text: 'rollout of route ' + route }),
      el('p', { text: summary }),
      el('div', { class: 'actions' }, verb('pause'), verb('resume'), verb('promote'), verb('skip'), verb('abort')),
      el('details', {}, el('summary', { text: 'details' }), el('pre', { text: JSON.stringify(r, null, 2) })));
  }));
}

function renderHistory(history) {
  const tbody = document.querySelector('#history tbody');
  tbody.replaceChildren(...(history || []).slice(0, 15).map((h) => el('tr', {},
    el('td', { text: h.time }), el('td', { text: h.method + ' ' + h.target }),
    el('td', { text: h.by }), el('td', { text: h.from }), el('td', { text: String(h.status) }))));
}

// ---- polling -------------------------------------------------------------------------------

function render() {
  const status = state.status;
  if (!status) return;
  document.getElementById('version').textContent = `${status.version} · generation ${status.generation} · ${status.workers} workers`;
  const poolNames = status.pools.map((p) => p.name);
  const layout = JSON.stringify([status.routes.map((r) => r.name),
    status.pools.map((p) => [p.name, p.backends.map((b) => b.address)])]);
  if (layout !== state.layout) {
    state.layout = layout;
    document.getElementById('routes').replaceChildren(...status.routes.map((r) => buildRoute(r, poolNames)));
    document.getElementById('pools').replaceChildren(...status.pools.map(buildPool));
  }
  for (const route of status.routes) {
    const card = document.querySelector(`.route[data-route="${CSS.escape(route.name)}"]`);
    if (card) updateRoute(card, route);
  }
  for (const pool of status.pools) {
    const card = document.querySelector(`.pool[data-pool="${CSS.escape(pool.name)}"]`);
    if (card) updatePool(card, pool, status.routes);
  }
  renderHistory(status.history);
  renderRollouts();
}

async function poll() {
  if (state.polling) return;
  state.polling = true;
  const indicator = document.getElementById('poll-state');
  try {
    const [status, stats, rollouts] = await Promise.all([
      api('GET', '/admin/status'), api('GET', '/admin/stats'), api('GET', '/admin/rollouts')]);
    if (status.status === 200) {
      state.status = status.body;
      if (stats.status === 200) state.stats = stats.body;
      state.rollouts = rollouts.status === 200 && rollouts.body.rollouts ? rollouts.body.rollouts : [];
      indicator.textContent = 'live · ' + new Date().toLocaleTimeString();
      render();
    } else {
      indicator.textContent = `status: ${status.status} ${status.body && status.body.error ? status.body.error : ''}`;
    }
  } catch (e) {
    indicator.textContent = 'not reachable: ' + e;
  } finally {
    state.polling = false;
  }
}

document.addEventListener('DOMContentLoaded', () => {
  // Not a submit button: Enter in the token field must submit the token, not cancel.
  document.getElementById('token-cancel').addEventListener('click', () =>
    document.getElementById('token-dialog').close('cancel'));
  document.getElementById('token-button').addEventListener('click', async () => {
    state.tokenDeclined = false;
    await askToken();
    poll();
  });
  document.getElementById('rollout-start').addEventListener('click', () =>
    act('Start this rollout', 'POST', '/admin/rollouts', { body: document.getElementById('rollout-body').value }));
  poll();
  setInterval(poll, POLL_MS);
});
