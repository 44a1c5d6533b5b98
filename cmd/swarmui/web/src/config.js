// Page constants. The LOD and frame-cap values mirror the manifest defaults
// swarmui.hive.lod_zoom_in / lod_zoom_out / frame_cap_fps
// (configs/root_task.toml); the page has no route to read them, so they are
// hard-coded here, in this one module (docs/SWARMUI.md "The page").
export const LOD_ZOOM_IN = 1.25; // detail (ids, sparklines) switches on at or above this zoom
export const LOD_ZOOM_OUT = 0.7; // and off below this one (hysteresis, no flicker)
export const FRAME_CAP_FPS = 60;
export const SIM_STEP_MS = 1000 / 60; // fixed simulation step, independent of rendering
export const ZOOM_MIN = 0.15;
export const ZOOM_MAX = 8;

// Layout: workers sorted by id fill blocks of BLOCK_COLS x BLOCK_ROWS cells;
// blocks sit on square rings around the queen.
export const CELL = 16;
export const BLOCK_COLS = 10;
export const BLOCK_ROWS = 10;
export const BLOCK_PITCH = 200;

export const COLORS = {
  background: 0x0a0d12,
  queen: 0xf2c14e,
  label: 0xe6edf3,
  muted: 0x8b949e,
  cut: 0xff6b6b,
  unreachable: 0xffa657,
  selected: 0xffffff,
  spark: 0x7ee787,
};

const ROLE_COLORS = {
  'worker-heartbeat': 0x39c5cf,
  'worker-gpu': 0xa371f7,
  'worker-bus': 0xf0883e,
  'worker-lora': 0xdb61a2,
  queen: 0xf2c14e,
};
const FALLBACK = [0x58a6ff, 0x56d364, 0xe3b341, 0xff7b72, 0xd2a8ff];

export function roleColor(role) {
  if (ROLE_COLORS[role] !== undefined) return ROLE_COLORS[role];
  let h = 0;
  for (const c of String(role)) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return FALLBACK[h % FALLBACK.length];
}
