// Shared browser helpers: JSON fetch with the CSRF header, text-only DOM building, and
// Stagecraft.page(), the one opening every page script shares.
(function () {
  "use strict";
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  class ApiError extends Error {
    constructor(status, body) {
      const err = (body && body.error) || {};
      super(err.message || `HTTP ${status}`);
      this.status = status;
      this.code = err.code || "http_error";
      this.details = err.details || {};
    }
  }

  async function api(method, path, body) {
    const opts = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (method !== "GET") opts.headers["X-CSRFToken"] = csrf();
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const res = await fetch("/api/v1" + path, opts);
    if (res.status === 204) return null;
    const data = await res.json().catch(() => null);
    if (!res.ok) throw new ApiError(res.status, data);
    return data;
  }

  // upload(path, formData): a multipart POST (a file and its fields) with the CSRF header.
  async function upload(path, form) {
    const res = await fetch("/api/v1" + path, { method: "POST", body: form, credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrf() } });
    const data = await res.json().catch(() => null);
    if (!res.ok) throw new ApiError(res.status, data);
    return data;
  }

  // el("div", {class: "x", onclick: fn}, "text", child) — children are text nodes or elements, never HTML.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // Stagecraft.page(rootId, init): run a page script's `init` when its root element is on
  // the page (scripts load at the end of <body>, so the DOM is there). `init` receives the
  // Stagecraft helpers (api, el, money, me, ws, live, …) plus `root` and `$` (getElementById).
  function page(rootId, init) {
    const root = document.getElementById(rootId);
    if (!root) return;
    init({ ...window.Stagecraft, root, $: (id) => document.getElementById(id) });
  }

  // One date format on every page, in the viewer's time zone (their account setting). A calendar
  // date ("2026-03-05") is a day, not a moment: it is shown as is, never shifted by a zone.
  const zoneName = document.querySelector('meta[name="user-timezone"]')?.content || undefined;
  const zone = (() => { try { new Intl.DateTimeFormat(undefined, { timeZone: zoneName }); return zoneName; } catch (e) { return undefined; } })();
  const parse = (iso) => { const [y, m, d] = iso.split("-").map(Number); return new Date(y, m - 1, d); };
  const dates = {
    zone, parse,
    date(iso, opts) {
      if (!iso) return "";
      const calendar = iso.length === 10;
      return (calendar ? parse(iso) : new Date(iso)).toLocaleDateString(undefined,
        { ...(opts || { month: "short", day: "numeric", year: "numeric" }), timeZone: calendar ? undefined : zone });
    },
    dateTime(iso) {
      if (!iso) return "";
      return new Date(iso).toLocaleString(undefined, { month: "short", day: "numeric", year: "numeric", hour: "numeric",
                                                       minute: "2-digit", timeZone: zone });
    },
  };

  window.Stagecraft = Object.assign(window.Stagecraft || {}, {
    api, ApiError, el, page, dates, upload,
    me: { id: Number(document.querySelector('meta[name="user-id"]')?.content || 0),
          role: document.querySelector('meta[name="user-role"]')?.content || "",
          timezone: document.querySelector('meta[name="user-timezone"]')?.content || undefined },
    money: (v) => new Intl.NumberFormat(undefined, { style: "currency", currency: "USD", maximumFractionDigits: 0 }).format(v || 0),
  });
})();
