// The Live Hive canvas (PixiJS v8). Speed in software WebGL comes from:
// shared textures and Sprites (one batch), no per-frame Graphics redraws,
// rendering only when something changed, and a fixed-step simulation
// (position easing) decoupled from the render loop. Level of detail: ids
// and sparklines only at zoom >= LOD_ZOOM_IN for on-screen workers; below
// that, one label per block of 100 workers.
import 'pixi.js/unsafe-eval'; // CSP-safe shader path: no new Function/eval
import { Application, Container, Graphics, Sprite, Text } from 'pixi.js';
import {
  BLOCK_COLS, BLOCK_PITCH, BLOCK_ROWS, CELL, COLORS, FRAME_CAP_FPS, LOD_ZOOM_IN, LOD_ZOOM_OUT,
  SIM_STEP_MS, ZOOM_MAX, ZOOM_MIN, roleColor,
} from './config.js';

const BLOCK = BLOCK_COLS * BLOCK_ROWS;
const LABEL_STYLE = { fontFamily: 'DejaVu Sans Mono, monospace', fontSize: 10, fill: COLORS.label };
const BLOCK_STYLE = { fontFamily: 'DejaVu Sans, sans-serif', fontSize: 18, fill: COLORS.muted };

// blockOrigin places block b on square rings around the queen (ring 1 has 8
// cells, ring 2 has 16, ...), in a fixed order, so layout depends only on
// the sorted index.
function blockOrigin(b) {
  let ring = 1;
  let n = b;
  while (n >= 8 * ring) {
    n -= 8 * ring;
    ring++;
  }
  n = (n + ring) % (8 * ring); // start each ring level with the queen, to her right
  const side = 2 * ring;
  const edge = Math.floor(n / side);
  const k = n % side;
  let x;
  let y;
  if (edge === 0) [x, y] = [ring, -ring + k];
  else if (edge === 1) [x, y] = [ring - k, ring];
  else if (edge === 2) [x, y] = [-ring, ring - k];
  else [x, y] = [-ring + k, -ring];
  return { x: x * BLOCK_PITCH, y: y * BLOCK_PITCH };
}

export function slot(index) {
  const b = Math.floor(index / BLOCK);
  const i = index % BLOCK;
  const o = blockOrigin(b);
  const half = ((BLOCK_COLS - 1) * CELL) / 2;
  return { x: o.x - half + (i % BLOCK_COLS) * CELL, y: o.y - half + Math.floor(i / BLOCK_COLS) * CELL };
}

export class Hive {
  constructor(canvas, host) {
    this.canvas = canvas;
    this.host = host;
    this.app = new Application();
    this.sprites = new Map(); // id -> view
    this.blockLabels = [];
    this.zoom = 1;
    this.detail = false;
    this.dirty = true;
    this.animate = true; // false in replay: positions snap, same snapshot, same pixels
    this.selectedId = null;
    this.frames = [];
    this.lastRender = -Infinity;
    this.acc = 0;
    this.lastT = null;
    this.onSelect = () => {};
    this.onFirstHivePaint = () => {};
    this.hivePainted = false;
    this.hasHive = false;
  }

  async init() {
    await this.app.init({
      canvas: this.canvas,
      resizeTo: this.host,
      background: COLORS.background,
      antialias: false,
      resolution: 1,
      autoStart: false,
      sharedTicker: false,
      preference: 'webgl',
      hello: false,
    });
    this.world = new Container();
    this.app.stage.addChild(this.world);
    this.layers = {
      aura: new Container(),
      body: new Container(),
      badge: new Container(),
      spark: new Container(),
      label: new Container(),
      block: new Container(),
    };
    for (const l of Object.values(this.layers)) this.world.addChild(l);
    this.tex = {
      disc: this.makeTexture((g) => g.circle(16, 16, 16).fill(0xffffff)),
      ring: this.makeTexture((g) => g.circle(16, 16, 14).stroke({ width: 3, color: 0xffffff })),
      square: this.makeTexture((g) => g.rect(0, 0, 8, 8).fill(0xffffff)),
    };
    this.queen = new Sprite(this.tex.disc);
    this.queen.anchor.set(0.5);
    this.queen.tint = COLORS.queen;
    this.queen.width = this.queen.height = 40;
    this.layers.body.addChild(this.queen);
    this.selRing = new Sprite(this.tex.ring);
    this.selRing.anchor.set(0.5);
    this.selRing.tint = COLORS.selected;
    this.selRing.width = this.selRing.height = 20;
    this.selRing.visible = false;
    this.layers.badge.addChild(this.selRing);
    this.centre();
    this.bindInput();
    this.app.renderer.on('resize', () => this.markDirty());
    requestAnimationFrame((t) => this.loop(t));
  }

  makeTexture(draw) {
    const g = new Graphics();
    draw(g);
    const t = this.app.renderer.generateTexture({ target: g, antialias: false, resolution: 1 });
    g.destroy();
    return t;
  }

  markDirty() {
    this.dirty = true;
  }

  centre(zoom = 1) {
    this.zoom = zoom;
    this.world.scale.set(zoom);
    this.world.position.set(this.app.screen.width / 2, this.app.screen.height / 2);
    this.updateDetail();
    this.markDirty();
  }

  // fit places the camera so n workers' blocks fit the canvas: a function of
  // n and the canvas size only (replay's fixed camera).
  fit(n) {
    const blocks = Math.max(1, Math.ceil(n / BLOCK));
    let ring = 1;
    let cap = 8;
    while (cap < blocks) cap += 8 * ++ring;
    const extent = (2 * ring + 1.5) * BLOCK_PITCH; // half a block of margin for labels
    const s = Math.min(this.app.screen.width, this.app.screen.height) / extent;
    // one block (<= 100 workers) fits at the detail zoom: show ids and sparklines
    const z = blocks === 1 ? Math.max(LOD_ZOOM_IN, s) : s;
    this.centre(Math.min(ZOOM_MAX, Math.max(ZOOM_MIN, z)));
  }

  // show syncs the sprites with a HiveState.
  show(state) {
    this.hasHive = true;
    this.queen.alpha = state.queen.lifecycle === 'ONLINE' || !state.queen.lifecycle ? 1 : 0.4;
    const ids = state.sortedIds();
    const live = new Set(ids);
    for (const [id, v] of this.sprites) if (!live.has(id)) this.drop(id, v);
    ids.forEach((id, i) => this.place(id, state.workers.get(id), slot(i)));
    this.relabelBlocks(ids);
    if (this.selectedId && !live.has(this.selectedId)) this.select(null);
    this.updateDetail(true);
    this.markDirty();
  }

  place(id, w, target) {
    let v = this.sprites.get(id);
    if (!v) {
      v = { id, aura: new Sprite(this.tex.disc), body: new Sprite(this.tex.disc), badge: new Sprite(this.tex.square) };
      for (const s of [v.aura, v.body, v.badge]) s.anchor.set(0.5);
      v.x = target.x;
      v.y = target.y;
      this.layers.aura.addChild(v.aura);
      this.layers.body.addChild(v.body);
      this.layers.badge.addChild(v.badge);
      this.sprites.set(id, v);
    }
    if (v.w === w && v.tx === target.x && v.ty === target.y) return; // unchanged: no sprite writes
    v.w = w;
    v.tx = target.x;
    v.ty = target.y;
    if (!this.animate) {
      v.x = v.tx;
      v.y = v.ty;
    }
    const color = roleColor(w.role);
    const p = Math.max(0, Math.min(1, Number(w.pressure) || 0));
    v.aura.tint = color;
    v.aura.alpha = 0.12 + 0.35 * p;
    v.aura.width = v.aura.height = 12 + 16 * p;
    v.body.tint = color;
    v.body.alpha = w.state === 'ACTIVE' ? 1 : 0.35;
    v.body.width = v.body.height = 10;
    v.badge.visible = Boolean(w.cut) || w.reachable === false;
    v.badge.tint = w.cut ? COLORS.cut : COLORS.unreachable;
    v.badge.width = v.badge.height = 5;
    v.sparkKey = null; // redraw the sparkline lazily if shown
    this.position(v);
  }

  drop(id, v) {
    for (const s of [v.aura, v.body, v.badge, v.label, v.spark]) if (s) s.destroy();
    this.sprites.delete(id);
  }

  position(v) {
    v.aura.position.set(v.x, v.y);
    v.body.position.set(v.x, v.y);
    v.badge.position.set(v.x + 5, v.y - 5);
    if (v.label) v.label.position.set(v.x, v.y + 7);
    if (v.spark) v.spark.position.set(v.x - 8, v.y - 12);
    if (v.id === this.selectedId) this.selRing.position.set(v.x, v.y);
  }

  relabelBlocks(ids) {
    const blocks = Math.ceil(ids.length / BLOCK);
    while (this.blockLabels.length > blocks) this.blockLabels.pop().destroy();
    for (let b = 0; b < blocks; b++) {
      let t = this.blockLabels[b];
      if (!t) {
        t = new Text({ text: '', style: BLOCK_STYLE });
        t.anchor.set(0.5, 1);
        this.layers.block.addChild(t);
        this.blockLabels[b] = t;
      }
      const first = ids[b * BLOCK];
      const last = ids[Math.min(ids.length, (b + 1) * BLOCK) - 1];
      const text = first === last ? first : `${first} … ${last.replace(/^.*?(\d+)$/, '$1')}`;
      if (t.text !== text) t.text = text;
      const o = blockOrigin(b);
      t.position.set(o.x, o.y - (BLOCK_ROWS * CELL) / 2 - 4);
    }
  }

  // updateDetail applies the LOD with hysteresis and culls per-worker
  // labels and sparklines to the visible rectangle.
  updateDetail(force = false) {
    const was = this.detail;
    if (this.zoom >= LOD_ZOOM_IN) this.detail = true;
    else if (this.zoom < LOD_ZOOM_OUT) this.detail = false;
    if (!force && was === this.detail && !this.detail) return;
    this.layers.block.visible = !this.detail;
    const view = this.visibleWorld();
    for (const v of this.sprites.values()) {
      const on = this.detail && v.x >= view.x0 && v.x <= view.x1 && v.y >= view.y0 && v.y <= view.y1;
      if (on) this.decorate(v);
      if (v.label) v.label.visible = on;
      if (v.spark) v.spark.visible = on;
    }
  }

  decorate(v) {
    if (!v.label) {
      // the number only: the block label carries the prefix, and full ids
      // would overlap at a 16 px cell
      v.label = new Text({ text: v.id.replace(/^.*?(\d+)$/, '$1'), style: LABEL_STYLE });
      v.label.anchor.set(0.5, 0);
      v.label.scale.set(0.6);
      this.layers.label.addChild(v.label);
    }
    const spark = v.w.spark || [];
    const key = spark.join(',');
    if (v.sparkKey !== key) {
      if (!v.spark) {
        v.spark = new Graphics();
        this.layers.spark.addChild(v.spark);
      }
      v.spark.clear();
      const max = Math.max(1, ...spark);
      spark.forEach((n, i) => {
        const x = spark.length > 1 ? (i * 16) / (spark.length - 1) : 8;
        const y = 4 - (4 * n) / max;
        if (i === 0) v.spark.moveTo(x, y);
        else v.spark.lineTo(x, y);
      });
      if (spark.length > 1) v.spark.stroke({ width: 0.75, color: COLORS.spark });
      v.sparkKey = key;
    }
    this.position(v);
  }

  visibleWorld() {
    const s = this.zoom;
    const x0 = (0 - this.world.x) / s - CELL;
    const y0 = (0 - this.world.y) / s - CELL;
    return { x0, y0, x1: x0 + this.app.screen.width / s + 2 * CELL, y1: y0 + this.app.screen.height / s + 2 * CELL };
  }

  select(id) {
    this.selectedId = id;
    const v = id ? this.sprites.get(id) : null;
    this.selRing.visible = Boolean(v);
    if (v) this.selRing.position.set(v.x, v.y);
    this.markDirty();
    this.onSelect(v ? id : null);
  }

  // workerAt returns the id of the worker under canvas point (cx, cy).
  workerAt(cx, cy) {
    const wx = (cx - this.world.x) / this.zoom;
    const wy = (cy - this.world.y) / this.zoom;
    let best = null;
    let bestD = (CELL / 2) ** 2;
    for (const v of this.sprites.values()) {
      const d = (v.x - wx) ** 2 + (v.y - wy) ** 2;
      if (d <= bestD) {
        best = v.id;
        bestD = d;
      }
    }
    return best;
  }

  // pagePoint maps a worker to page CSS pixels (for clicking in tests).
  pagePoint(id) {
    const v = this.sprites.get(id);
    if (!v) return null;
    const r = this.canvas.getBoundingClientRect();
    const sx = r.width / this.app.screen.width;
    const sy = r.height / this.app.screen.height;
    return {
      x: r.left + window.scrollX + (this.world.x + v.x * this.zoom) * sx,
      y: r.top + window.scrollY + (this.world.y + v.y * this.zoom) * sy,
    };
  }

  bindInput() {
    const c = this.canvas;
    let drag = null;
    c.addEventListener('pointerdown', (e) => {
      if (!this.animate) return; // replay keeps a fixed camera
      drag = { x: e.clientX, y: e.clientY, wx: this.world.x, wy: this.world.y, moved: false };
      c.setPointerCapture(e.pointerId);
    });
    c.addEventListener('pointermove', (e) => {
      if (!drag) return;
      const dx = e.clientX - drag.x;
      const dy = e.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 4) drag.moved = true;
      if (!drag.moved) return;
      this.world.position.set(drag.wx + dx, drag.wy + dy);
      this.updateDetail(true);
      this.markDirty();
    });
    const up = (e) => {
      const d = drag;
      drag = null;
      if (!d || d.moved) return;
      const r = c.getBoundingClientRect();
      const id = this.workerAt(
        ((e.clientX - r.left) * this.app.screen.width) / r.width,
        ((e.clientY - r.top) * this.app.screen.height) / r.height,
      );
      this.select(id);
    };
    c.addEventListener('pointerup', up);
    c.addEventListener('click', (e) => {
      if (this.animate) return;
      // replay: no drag, but selection still works
      const r = c.getBoundingClientRect();
      this.select(this.workerAt(e.clientX - r.left, e.clientY - r.top));
    });
    c.addEventListener(
      'wheel',
      (e) => {
        e.preventDefault();
        if (!this.animate) return;
        const r = c.getBoundingClientRect();
        const cx = e.clientX - r.left;
        const cy = e.clientY - r.top;
        const z = Math.min(ZOOM_MAX, Math.max(ZOOM_MIN, this.zoom * Math.exp(-e.deltaY * 0.0015)));
        const wx = (cx - this.world.x) / this.zoom;
        const wy = (cy - this.world.y) / this.zoom;
        this.zoom = z;
        this.world.scale.set(z);
        this.world.position.set(cx - wx * z, cy - wy * z);
        this.updateDetail(true);
        this.markDirty();
      },
      { passive: false },
    );
  }

  // step advances the fixed-step simulation: workers ease toward their slot.
  step() {
    let moving = false;
    for (const v of this.sprites.values()) {
      const dx = v.tx - v.x;
      const dy = v.ty - v.y;
      if (dx === 0 && dy === 0) continue;
      if (Math.abs(dx) < 0.5 && Math.abs(dy) < 0.5) {
        v.x = v.tx;
        v.y = v.ty;
      } else {
        v.x += dx * 0.25;
        v.y += dy * 0.25;
      }
      this.position(v);
      moving = true;
    }
    if (moving) this.markDirty();
  }

  loop(t) {
    this.frames.push(t);
    while (this.frames.length && this.frames[0] < t - 30000) this.frames.shift();
    if (this.lastT !== null) this.acc = Math.min(this.acc + (t - this.lastT), SIM_STEP_MS * 5);
    this.lastT = t;
    while (this.acc >= SIM_STEP_MS) {
      this.step();
      this.acc -= SIM_STEP_MS;
    }
    if (this.dirty && t - this.lastRender >= 1000 / FRAME_CAP_FPS - 1) {
      this.dirty = false;
      this.lastRender = t;
      this.app.renderer.render(this.app.stage);
      if (this.hasHive && !this.hivePainted) {
        this.hivePainted = true;
        this.onFirstHivePaint(performance.now());
      }
    }
    requestAnimationFrame((n) => this.loop(n));
  }

  // renderNow draws synchronously (replay frames: pixels ready on return).
  renderNow() {
    this.dirty = false;
    this.app.renderer.render(this.app.stage);
  }

  fps() {
    const now = performance.now();
    return this.frames.filter((f) => f >= now - 1000).length;
  }

  framesSince(t0) {
    return this.frames.filter((f) => f >= t0).length;
  }
}
