// Where a new node goes: the nearest free spot to where it was asked for, so a node added
// from the palette (Enter, double-click) or pasted never lands on top of another.
// Pure geometry on boxes {x, y, width, height} in flow coordinates.
(function () {
  "use strict";
  const GAP = 40;            // the least room kept around a placed node
  const STEP = 40;           // candidate spacing (two grid cells)
  const SIZE = { width: 240, height: 100 };

  const overlaps = (a, b) => a.x < b.x + b.width + GAP && b.x < a.x + a.width + GAP
                          && a.y < b.y + b.height + GAP && b.y < a.y + a.height + GAP;
  const free = (box, boxes) => !boxes.some((b) => overlaps(box, b));

  // Candidate offsets in rings around (0, 0): right and down first, then the rest of each ring.
  function* offsets(maxRing) {
    yield { x: 0, y: 0 };
    for (let ring = 1; ring <= maxRing; ring++) {
      const d = ring * STEP;
      const ringPts = [];
      for (let i = -ring; i <= ring; i++) {
        ringPts.push({ x: d, y: i * STEP }, { x: i * STEP, y: d }, { x: -d, y: i * STEP }, { x: i * STEP, y: -d });
      }
      ringPts.sort((a, b) => (Math.hypot(a.x, a.y) - Math.hypot(b.x, b.y)) || (b.x + b.y) - (a.x + a.y));
      yield* ringPts;
    }
  }

  // The top-left corner nearest `at` where a node of `size` overlaps none of `boxes`.
  function freeSpot(at, boxes, size) {
    const s = size || SIZE;
    for (const o of offsets(40)) {
      const box = { x: at.x + o.x, y: at.y + o.y, width: s.width, height: s.height };
      if (free(box, boxes)) return { x: box.x, y: box.y };
    }
    return { x: at.x, y: at.y };
  }

  // How far to move a group of new nodes (with positions) so none of them overlaps `boxes`.
  function groupShift(nodes, boxes) {
    const own = nodes.map((n) => ({ x: n.position.x, y: n.position.y, width: SIZE.width, height: SIZE.height }));
    for (const o of offsets(40)) {
      if (own.every((b) => free({ ...b, x: b.x + o.x, y: b.y + o.y }, boxes))) return o;
    }
    return { x: 0, y: 0 };
  }

  const S = (window.Stagecraft = window.Stagecraft || {});
  S.canvas = Object.assign(S.canvas || {}, { place: { freeSpot, groupShift, overlaps } });
})();
