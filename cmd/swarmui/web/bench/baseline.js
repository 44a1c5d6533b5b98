// The fair-peer baseline of BenchmarkSwarmUILive (docs/BENCHMARKS.md): a
// bare PixiJS page with 1,000 sprites, built by bench/build.mjs with the
// same PixiJS and renderer options as the SwarmUI page (WebGL, no
// antialias, resolution 1, the CSP-safe shader path), redrawn on every
// animation frame (the camera's scale oscillates, as the benchmark's wheel
// driver makes SwarmUI's), on a canvas of ?w=&h= pixels (the benchmark
// passes the SwarmUI hive canvas's size: software WebGL is bound by the
// pixels it fills). window.baseline.framesSince(t0) counts frames.
import 'pixi.js/unsafe-eval';
import { Application, Container, Graphics, Sprite } from 'pixi.js';

const N = 1000;
const frames = [];

async function start() {
  const q = new URLSearchParams(location.search);
  const w = Number(q.get('w')) || window.innerWidth;
  const h = Number(q.get('h')) || window.innerHeight;
  const app = new Application();
  await app.init({
    canvas: document.getElementById('c'),
    width: w,
    height: h,
    background: 0x0e1116,
    antialias: false,
    resolution: 1,
    autoStart: false,
    sharedTicker: false,
    preference: 'webgl',
    hello: false,
  });
  const g = new Graphics().circle(16, 16, 16).fill(0xffffff);
  const tex = app.renderer.generateTexture({ target: g, antialias: false, resolution: 1 });
  const world = new Container();
  app.stage.addChild(world);
  for (let i = 0; i < N; i++) {
    const s = new Sprite(tex);
    s.anchor.set(0.5);
    s.width = s.height = 10;
    s.tint = [0x4f9dde, 0x5cc98f, 0xe0a84e, 0xc97bd9][i % 4];
    s.x = (i % 40) * 16;
    s.y = Math.floor(i / 40) * 16;
    world.addChild(s);
  }
  world.position.set(w / 2 - 320, h / 2 - 200);
  let n = 0;
  const loop = (t) => {
    frames.push(t);
    world.scale.set(n++ % 2 ? 1.002 : 1);
    app.renderer.render(app.stage);
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
  window.baseline = { ready: true, framesSince: (t0) => frames.filter((f) => f >= t0).length };
}

start();
