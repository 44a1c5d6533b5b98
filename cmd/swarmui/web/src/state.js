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

  sortedIds() {
    return [...this.workers.keys()].sort(compareIds);
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

// compareIds orders worker-2 before worker-10 (numeric suffix), then by text.
export function compareIds(a, b) {
  const na = /(\d+)$/.exec(a);
  const nb = /(\d+)$/.exec(b);
  const pa = na ? a.slice(0, na.index) : a;
  const pb = nb ? b.slice(0, nb.index) : b;
  if (pa !== pb) return pa < pb ? -1 : 1;
  if (na && nb) return Number(na[1]) - Number(nb[1]);
  return a < b ? -1 : a > b ? 1 : 0;
}
