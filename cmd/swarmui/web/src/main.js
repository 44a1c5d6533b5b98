// SwarmUI page entry: login, the live stream, the hive canvas, console,
// read-only panels, replay, and the window.cohesixUI inspection hook.
import { getJSON, postBytes, postJSON } from './api.js';
import { Hive } from './hive.js';
import { HiveState } from './state.js';

const $ = (id) => document.getElementById(id);
const live = new HiveState();
const replay = { on: false, frames: [], state: new HiveState() };
let hive = null;
let stream = null;
let ready = false;
let firstPaintMs = 0;
// When the first hive event arrived and the renderer was up (performance.now()):
// what the first paint waited for (BenchmarkSwarmUILive reports them).
const marks = { streamOpenMs: 0, hiveEventMs: 0, rendererMs: 0 };
let panelTimer = null;
let workerTimer = null;

function current() {
  return replay.on ? replay.state : live;
}

function status() {
  const s = current();
  $('hive-status').textContent = `${replay.on ? 'replay' : 'live'} · seq ${s.seq} · ${s.workers.size} workers · queen ${s.queen.lifecycle || '?'}`;
}

function redraw() {
  if (!hive) return;
  hive.show(current());
  status();
}

// ---- login ----
async function whoami() {
  try {
    const me = await getJSON('/api/whoami');
    loggedIn(me);
  } catch {
    $('login').hidden = false;
  }
}

function loggedIn(me) {
  $('login').hidden = true;
  $('whoami').textContent = `${me.role}${me.subject ? ` · ${me.subject}` : ''}`;
  if (!stream || stream.readyState === EventSource.CLOSED) openStream();
  refreshPanels();
  clearInterval(panelTimer);
  panelTimer = setInterval(refreshPanels, 5000);
}

$('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = $('login-ticket');
  const ticket = input.value;
  input.value = ''; // the ticket lives only in this request, never stored
  $('login-error').textContent = '';
  try {
    loggedIn(await postJSON('/api/login', { ticket }));
  } catch (err) {
    $('login-error').textContent = err.message;
  }
});

// ---- live stream ----
function openStream() {
  if (stream) stream.close();
  stream = new EventSource('/api/stream');
  if (!marks.streamOpenMs) marks.streamOpenMs = performance.now();
  stream.addEventListener('hive', (e) => {
    if (!marks.hiveEventMs) marks.hiveEventMs = performance.now();
    live.replace(JSON.parse(e.data));
    if (!replay.on) redraw();
    ready = hive !== null;
  });
  stream.addEventListener('diff', (e) => {
    if (live.applyDiff(JSON.parse(e.data)) && !replay.on) redraw();
  });
  stream.addEventListener('error', (e) => {
    // a server `event: error` carries data; a transport drop does not (EventSource retries)
    if (e.data) $('hive-status').textContent = JSON.parse(e.data).error;
  });
}

// ---- panels ----
async function refreshPanels() {
  for (const name of ['scheduler', 'lease', 'gpu']) {
    try {
      const p = await getJSON(`/api/panel?name=${name}`);
      $(`panel-${name}`).textContent = (p.lines || []).join('\n');
    } catch (err) {
      $(`panel-${name}`).textContent = err.message;
    }
  }
}

async function refreshWorker(id) {
  if (replay.on) return;
  try {
    const w = await getJSON(`/api/worker?id=${encodeURIComponent(id)}`);
    if ($('worker-panel').dataset.workerId !== id) return;
    $('worker-telemetry').textContent = (w.telemetry || []).join('\n');
    $('worker-lease').textContent = (w.lease || []).join('\n');
    $('worker-gpu').textContent = (w.gpu || []).join('\n');
  } catch (err) {
    $('worker-telemetry').textContent = err.message;
  }
}

function onSelect(id) {
  const panel = $('worker-panel');
  clearInterval(workerTimer);
  if (!id) {
    panel.hidden = true;
    panel.removeAttribute('data-worker-id');
    return;
  }
  panel.dataset.workerId = id;
  $('worker-title').textContent = id;
  for (const p of ['worker-telemetry', 'worker-lease', 'worker-gpu']) $(p).textContent = '';
  panel.hidden = false;
  refreshWorker(id);
  workerTimer = setInterval(() => refreshWorker(id), 2000);
}

// ---- console ----
const history = [];
let historyAt = 0;

function consoleLine(text, cls) {
  const div = document.createElement('div');
  div.className = cls;
  div.textContent = text;
  $('console-output').appendChild(div);
  $('console-output').scrollTop = $('console-output').scrollHeight;
}

// tail -f: one EventSource on /api/console/follow, cohsh's follow loop on
// the server; Escape or the next command stops it.
let following = null;

function stopFollow() {
  if (!following) return;
  following.close();
  following = null;
  consoleLine('tail -f stopped', 'console-prompt');
}

function startFollow(path) {
  const es = new EventSource(`/api/console/follow?path=${encodeURIComponent(path)}`);
  following = es;
  es.addEventListener('line', (ev) => consoleLine(JSON.parse(ev.data).line, 'console-line'));
  es.addEventListener('end', (ev) => {
    const d = JSON.parse(ev.data);
    for (const l of d.lines || []) consoleLine(l, 'console-line');
    if (d.error) consoleLine(d.error, 'console-error');
    es.close();
    if (following === es) following = null;
  });
  // No automatic reconnect: it would print the tail again from the start.
  es.onerror = () => {
    if (following !== es) return;
    es.close();
    following = null;
    consoleLine('tail -f ended', 'console-error');
  };
}

$('console-input').addEventListener('keydown', async (e) => {
  const input = e.target;
  if (e.key === 'Escape') {
    stopFollow();
    return;
  }
  if (e.key === 'ArrowUp' || e.key === 'ArrowDown') {
    e.preventDefault();
    historyAt = Math.max(0, Math.min(history.length, historyAt + (e.key === 'ArrowUp' ? -1 : 1)));
    input.value = history[historyAt] || '';
    return;
  }
  if (e.key !== 'Enter') return;
  e.preventDefault();
  const line = input.value.trim();
  input.value = '';
  if (!line) return;
  history.push(line);
  historyAt = history.length;
  consoleLine(`coh> ${line}`, 'console-prompt');
  stopFollow();
  const follow = line.match(/^tail\s+-f\s+(\S+)$/);
  if (follow) {
    startFollow(follow[1]);
    return;
  }
  try {
    const res = await postJSON('/api/console', { line });
    for (const l of res.lines || []) consoleLine(l, 'console-line');
  } catch (err) {
    consoleLine(err.message, 'console-error');
  }
});

// ---- replay ----
function showFrame(i) {
  const f = replay.frames[i];
  if (!f) return;
  replay.state.replace(f);
  $('replay-frame').textContent = `frame ${i + 1}/${replay.frames.length} · t ${f.t_ms} ms`;
  redraw();
  hive.renderNow();
}

$('replay-file').addEventListener('change', async (e) => {
  const file = e.target.files[0];
  $('replay-error').textContent = '';
  if (!file) return;
  try {
    const res = await postBytes('/api/replay', await file.arrayBuffer());
    if (!res.frames || res.frames.length === 0) throw new Error('the file holds no frames');
    replay.on = true;
    replay.frames = res.frames;
    hive.animate = false;
    hive.select(null);
    hive.fit(Math.max(...res.frames.map((f) => (f.workers || []).length)));
    $('mode').textContent = `replay (${res.kind})`;
    $('mode').classList.add('replay');
    const scrub = $('replay-scrub');
    scrub.max = String(res.frames.length - 1);
    scrub.value = '0';
    scrub.disabled = false;
    $('replay-exit').disabled = false;
    showFrame(0);
    ready = true;
  } catch (err) {
    $('replay-error').textContent = err.message;
  } finally {
    e.target.value = '';
  }
});

$('replay-scrub').addEventListener('input', (e) => showFrame(Number(e.target.value)));

$('replay-exit').addEventListener('click', () => {
  replay.on = false;
  replay.frames = [];
  hive.animate = true;
  hive.select(null);
  hive.centre();
  $('mode').textContent = 'live';
  $('mode').classList.remove('replay');
  $('replay-scrub').disabled = true;
  $('replay-exit').disabled = true;
  $('replay-frame').textContent = '';
  redraw();
});

// ---- inspection hook (read-only; used by the browser tests) ----
Object.defineProperty(window, 'cohesixUI', {
  value: Object.freeze({
    get ready() {
      return ready;
    },
    workers: () => current().workers.size,
    fps: () => (hive ? hive.fps() : 0),
    framesSince: (t0) => (hive ? hive.framesSince(t0) : 0),
    worker: (id) => (hive ? hive.pagePoint(id) : null),
    selected: () => (hive ? hive.selectedId : null),
    stateHash: () => current().hash(),
    get firstPaintMs() {
      return firstPaintMs;
    },
    marks: () => ({ ...marks }),
  }),
});

async function start() {
  const h = new Hive($('hive-canvas'), $('hive'));
  h.onSelect = onSelect;
  h.onFirstHivePaint = (ms) => {
    firstPaintMs = ms;
  };
  // The stream opens at once, beside whoami, not after it: with a live
  // cookie the first hive event is then one round trip sooner (the first
  // paint waits for it); without one it fails with 401 and stays closed.
  openStream();
  whoami(); // login and the stream do not wait for the renderer
  await h.init();
  marks.rendererMs = performance.now();
  hive = h;
  if (live.seq >= 0) {
    ready = true;
    redraw();
  }
}

start().catch((err) => {
  $('hive-status').textContent = `renderer failed: ${err.message}`;
  throw err;
});
