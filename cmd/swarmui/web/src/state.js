// The hive model the canvas draws: full `hive` snapshots and seq-ordered
// `diff`s from /api/stream, or replay frames. Pure data, no rendering.

export class HiveState {
  constructor() {
    this.seq = -1;
    this.queen = {};
    this.workers = new Map();
  }

  replace(snapshot) {
    this.seq = typeof snapshot.seq === 'number' ? snapshot.seq : -1;
    this.queen = snapshot.queen || {};
    this.workers = new Map();
    for (const w of snapshot.workers || []) this.workers.set(w.id, w);
  }

  // applyDiff returns false for a stale or duplicate diff (seq not newer).
  applyDiff(diff) {
    if (typeof diff.seq === 'number' && diff.seq <= this.seq) return false;
    if (typeof diff.seq === 'number') this.seq = diff.seq;
    for (const id of diff.remove || []) this.workers.delete(id);
    for (const w of diff.upsert || []) this.workers.set(w.id, w);
    if (diff.queen) this.queen = diff.queen;
    return true;
  }

  // sortedIds parses each id once (not per comparison): 1,000 ids sort in
  // well under a millisecond, which matters when every frame changes state.
  sortedIds() {
    const keys = [...this.workers.keys()].map((id) => {
      const m = /(\d+)$/.exec(id);
      return m ? [id.slice(0, m.index), Number(m[1]), id] : [id, -1, id];
    });
    keys.sort((a, b) => (a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] - b[1] || (a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0)));
    return keys.map((k) => k[2]);
  }

  // hash is FNV-1a over the canonical state (sorted workers, every drawn
  // field), so equal states hash equal regardless of arrival order.
  hash() {
    let h = 0x811c9dc5;
    const feed = (s) => {
      for (let i = 0; i < s.length; i++) {
        h ^= s.charCodeAt(i);
        h = Math.imul(h, 0x01000193) >>> 0;
      }
    };
    feed(String(this.queen.lifecycle || ''));
    for (const id of this.sortedIds()) {
      const w = this.workers.get(id);
      feed(`|${id},${w.role},${w.state},${w.pressure},${w.reachable},${w.cut},${(w.spark || []).join(' ')}`);
    }
    return h.toString(16).padStart(8, '0');
  }
}
