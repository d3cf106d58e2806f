// Live updates over Socket.IO, shared by the workspace pages and the canvas: connect with
// the session cookie, join rooms, and re-fetch over REST when a hint arrives or the
// connection comes back. Pushes are hints only (ids), so every screen re-reads through the API.
(function () {
  "use strict";

  // live({rooms, events: {name: handler}, resync, status, onStatus}) -> {socket, resync, close}
  //   events: a handler `true` resyncs on that event; a function runs first and resyncs
  //           unless it returns false.
  //   resync: runs (debounced) on every hint and after each reconnect.
  //   status: the element showing the connection (default #live-status; null for none).
  //   onStatus(state): hears every change of state too: "live" (every room joined),
  //           "down" (connecting or reconnecting), "off" (no Socket.IO, or a join refused).
  function live(options) {
    const rooms = options.rooms || [];
    const status = options.status === undefined ? document.getElementById("live-status") : options.status;
    const setStatus = (state, label) => {
      if (options.onStatus) options.onStatus(state);
      if (!status) return;
      status.dataset.state = state;
      status.textContent = label;
      status.title = state === "live" ? "Live updates on" : state === "off" ? "Live updates off" : "Live updates paused; reconnecting";
    };
    if (typeof window.io !== "function") {
      setStatus("off", "Offline");
      return { socket: null, resync() {}, close() {} };
    }
    let timer = null;
    const resync = () => {
      clearTimeout(timer);
      timer = setTimeout(() => { if (options.resync) options.resync(); }, 120);
    };
    const socket = window.io({ withCredentials: true });
    let connectedBefore = false;
    socket.on("connect", () => {
      let pending = rooms.length, refused = false;
      const joined = (ack) => {
        if (ack && ack.ok === false) refused = true;
        if (--pending <= 0) { if (refused) setStatus("off", "Offline"); else setStatus("live", "Live"); }
      };
      if (!pending) setStatus("live", "Live");
      for (const room of rooms) socket.emit("join", { room }, joined);
      if (connectedBefore) resync();   // we may have missed hints while away
      connectedBefore = true;
    });
    socket.on("disconnect", () => setStatus("down", "Reconnecting…"));
    socket.on("connect_error", () => setStatus("down", "Reconnecting…"));
    for (const [name, handler] of Object.entries(options.events || {})) {
      socket.on(name, (payload) => {
        if (handler === true || (typeof handler === "function" && handler(payload) !== false)) resync();
      });
    }
    setStatus("down", "Connecting…");
    return { socket, resync, close: () => socket.close() };
  }

  window.Stagecraft = Object.assign(window.Stagecraft || {}, { live });
})();
