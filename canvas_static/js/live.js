// Live updates over Socket.IO: connect with the session cookie, join rooms, and
// re-fetch over REST when a hint arrives or the connection comes back.
// Pushes are hints only (ids), so every screen re-reads through the API.
(function () {
  "use strict";

  // live({rooms, events: {name: handler}, resync, status}) -> {socket, close}
  // `resync` runs (debounced) on every hint and after each reconnect.
  function live(options) {
    const rooms = options.rooms || [];
    const status = options.status || document.getElementById("live-status");
    const setStatus = (state, label) => {
      if (!status) return;
      status.dataset.state = state;
      status.textContent = label;
      status.title = state === "live" ? "Live updates on" : "Live updates paused; reconnecting";
    };
    if (typeof window.io !== "function") {
      setStatus("off", "Offline");
      return { socket: null, close() {} };
    }
    let timer = null;
    const resync = () => {
      clearTimeout(timer);
      timer = setTimeout(() => { if (options.resync) options.resync(); }, 120);
    };
    const socket = window.io({ withCredentials: true });
    let connectedBefore = false;
    socket.on("connect", () => {
      let pending = rooms.length;
      const done = () => { if (--pending <= 0) setStatus("live", "Live"); };
      if (!pending) setStatus("live", "Live");
      for (const room of rooms) socket.emit("join", { room }, done);
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
