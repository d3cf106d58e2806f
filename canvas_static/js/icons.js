// Line icons for the catalog's icon names (24x24, stroke), drawn as SVG paths.
// <sc-icon name="mail" /> renders them; unknown names fall back to a dot.
(function () {
  "use strict";
  const c = (cx, cy, r) => `M${cx - r} ${cy}a${r} ${r} 0 1 0 ${2 * r} 0a${r} ${r} 0 1 0 ${-2 * r} 0`;
  const l = (x1, y1, x2, y2) => `M${x1} ${y1}L${x2} ${y2}`;
  const p = (pts) => "M" + pts.trim().split(/\s+/).reduce((acc, v, i, a) => (i % 2 ? acc : acc.concat(`${v} ${a[i + 1]}`)), []).join("L");
  const r = (x, y, w, h, rx) => `M${x + rx} ${y}h${w - 2 * rx}a${rx} ${rx} 0 0 1 ${rx} ${rx}v${h - 2 * rx}a${rx} ${rx} 0 0 1 ${-rx} ${rx}h${-(w - 2 * rx)}a${rx} ${rx} 0 0 1 ${-rx} ${-rx}v${-(h - 2 * rx)}a${rx} ${rx} 0 0 1 ${rx} ${-rx}z`;
  const TAG = "M20.59 13.41l-7.17 7.17a2 2 0 0 1-2.83 0L2 12V2h10l8.59 8.59a2 2 0 0 1 0 2.82z";
  const ICONS = {
    "arrow-right-circle": [c(12, 12, 10), p("12 16 16 12 12 8"), l(8, 12, 16, 12)],
    "arrow-right": [l(5, 12, 19, 12), p("12 5 19 12 12 19")],
    tag: [TAG, l(7, 7, 7.01, 7)],
    "tag-off": [TAG, l(7, 7, 7.01, 7), l(3, 21, 21, 3)],
    clipboard: ["M16 4h2a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2h2", r(8, 2, 8, 4, 1)],
    link: ["M10 13a5 5 0 0 0 7.54.54l3-3a5 5 0 0 0-7.07-7.07l-1.72 1.71", "M14 11a5 5 0 0 0-7.54-.54l-3 3a5 5 0 0 0 7.07 7.07l1.71-1.71"],
    code: [p("16 18 22 12 16 6"), p("8 6 2 12 8 18")],
    "check-square": [p("9 11 12 14 22 4"), "M21 12v7a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h11"],
    "shopping-cart": [c(9, 21, 1), c(20, 21, 1), "M1 1h4l2.68 13.39a2 2 0 0 0 2 1.61h9.72a2 2 0 0 0 2-1.61L23 6H6"],
    "clock-alert": [c(12, 12, 10), p("12 6 12 12 15 14"), l(19, 2, 22, 5)],
    flag: ["M4 15s1-1 4-1 5 2 8 2 4-1 4-1V3s-1 1-4 1-5-2-8-2-4 1-4 1z", l(4, 22, 4, 15)],
    clock: [c(12, 12, 10), p("12 6 12 12 16 14")],
    hourglass: ["M5 22h14", "M5 2h14", "M17 22v-4.17a2 2 0 0 0-.59-1.42L12 12l-4.41 4.41A2 2 0 0 0 7 17.83V22", "M7 2v4.17a2 2 0 0 0 .59 1.42L12 12l4.41-4.41A2 2 0 0 0 17 6.17V2"],
    calendar: [r(3, 4, 18, 18, 2), l(16, 2, 16, 6), l(8, 2, 8, 6), l(3, 10, 21, 10)],
    mail: ["M4 4h16c1.1 0 2 .9 2 2v12c0 1.1-.9 2-2 2H4c-1.1 0-2-.9-2-2V6c0-1.1.9-2 2-2z", p("22 6 12 13 2 6")],
    "sticky-note": ["M15.5 3H5a2 2 0 0 0-2 2v14c0 1.1.9 2 2 2h14a2 2 0 0 0 2-2V8.5L15.5 3z", "M15 3v6h6"],
    briefcase: [r(2, 7, 20, 14, 2), "M16 21V5a2 2 0 0 0-2-2h-4a2 2 0 0 0-2 2v16"],
    "user-check": ["M16 21v-2a4 4 0 0 0-4-4H5a4 4 0 0 0-4 4v2", c(8.5, 7, 4), p("17 11 19 13 23 9")],
    edit: ["M11 4H4a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2v-7", "M18.5 2.5a2.12 2.12 0 0 1 3 3L12 15l-4 1 1-4 9.5-9.5z"],
    globe: [c(12, 12, 10), l(2, 12, 22, 12), "M12 2a15.3 15.3 0 0 1 4 10 15.3 15.3 0 0 1-4 10 15.3 15.3 0 0 1-4-10 15.3 15.3 0 0 1 4-10z"],
    bell: ["M18 8A6 6 0 0 0 6 8c0 7-3 9-3 9h18s-3-2-3-9", "M13.73 21a2 2 0 0 1-3.46 0"],
    list: [l(8, 6, 21, 6), l(8, 12, 21, 12), l(8, 18, 21, 18), l(3, 6, 3.01, 6), l(3, 12, 3.01, 12), l(3, 18, 3.01, 18)],
    flag: ["M4 15s1-1 4-1 5 2 8 2 4-1 4-1V3s-1 1-4 1-5-2-8-2-4 1-4 1z", l(4, 22, 4, 15)],
    search: [c(11, 11, 8), l(21, 21, 16.65, 16.65)],
    undo: [p("1 4 1 10 7 10"), "M3.51 15a9 9 0 1 0 2.13-9.36L1 10"],
    redo: [p("23 4 23 10 17 10"), "M20.49 15a9 9 0 1 1-2.12-9.36L23 10"],
    trash: [p("3 6 5 6 21 6"), "M19 6v14a2 2 0 0 1-2 2H7a2 2 0 0 1-2-2V6m3 0V4a2 2 0 0 1 2-2h4a2 2 0 0 1 2 2v2"],
    layout: [r(3, 3, 7, 7, 1), r(14, 3, 7, 7, 1), r(14, 14, 7, 7, 1), "M10 6.5h4M17.5 10v4"],
    alert: [c(12, 12, 10), l(12, 8, 12, 12), l(12, 16, 12.01, 16)],
    x: [l(18, 6, 6, 18), l(6, 6, 18, 18)],
    plus: [l(12, 5, 12, 19), l(5, 12, 19, 12)],
    "chevron-up": [p("18 15 12 9 6 15")],
    "chevron-down": [p("6 9 12 15 18 9")],
    grip: [c(9, 6, 1), c(15, 6, 1), c(9, 12, 1), c(15, 12, 1), c(9, 18, 1), c(15, 18, 1)],
    play: [p("5 3 19 12 5 21 5 3")],
    pause: [r(6, 4, 4, 16, 1), r(14, 4, 4, 16, 1)],
    download: ["M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4", p("7 10 12 15 17 10"), l(12, 15, 12, 3)],
    upload: ["M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4", p("17 8 12 3 7 8"), l(12, 3, 12, 15)],
    history: [c(12, 12, 10), p("12 6 12 12 16 14")],
    copy: [r(9, 9, 13, 13, 2), "M5 15H4a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v1"],
    more: [c(5, 12, 1), c(12, 12, 1), c(19, 12, 1)],
    send: [l(22, 2, 11, 13), p("22 2 15 22 11 13 2 9 22 2")],
    dot: [c(12, 12, 3)],
    diamond: [p("12 2 22 12 12 22 2 12 12 2")],
    split: [p("16 3 21 3 21 8"), l(4, 20, 21, 3), p("21 16 21 21 16 21"), l(15, 15, 21, 21), l(4, 4, 9, 9)],
    beaker: ["M9 3h6", "M10 3v6L4.5 19a2 2 0 0 0 1.7 3h11.6a2 2 0 0 0 1.7-3L14 9V3"],
  };

  const ScIcon = {
    name: "ScIcon",
    props: { name: { type: String, default: "dot" }, size: { type: Number, default: 16 } },
    computed: { paths() { return ICONS[this.name] || ICONS.dot; } },
    template: `<svg class="sc-icon" :width="size" :height="size" viewBox="0 0 24 24" fill="none" stroke="currentColor"
                    stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">
                 <path v-for="(d, i) in paths" :key="i" :d="d" /></svg>`,
  };

  window.Stagecraft = Object.assign(window.Stagecraft || {}, { icons: ICONS, ScIcon });
})();
