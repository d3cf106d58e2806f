// Undo/redo as snapshots of the whole graph (JSON strings), capped near 100.
// push() ignores a snapshot equal to the present one, so no-op edits leave no step.
(function () {
  "use strict";
  function createHistory(limit) {
    const cap = limit || 100;
    let past = [], future = [], present = null;
    return {
      reset(snapshot) { past = []; future = []; present = snapshot; },
      push(snapshot) {
        if (snapshot === present) return false;
        if (present !== null) past.push(present);
        if (past.length > cap) past.splice(0, past.length - cap);
        present = snapshot;
        future = [];
        return true;
      },
      undo() {
        if (!past.length) return null;
        future.push(present);
        present = past.pop();
        return present;
      },
      redo() {
        if (!future.length) return null;
        past.push(present);
        present = future.pop();
        return present;
      },
      get present() { return present; },
      get canUndo() { return past.length > 0; },
      get canRedo() { return future.length > 0; },
      get size() { return past.length; },
    };
  }
  window.Stagecraft = Object.assign(window.Stagecraft || {}, { createHistory });
})();
