// Autosave of the draft: every edit marks the draft dirty and saves it SAVE_DELAY ms after
// the last one (PUT /campaigns/<id>/draft, whose answer carries the validation issues).
// A network failure retries with exponential backoff; a refusal (4xx) stops and says so.
// While anything is unsaved, leaving the page asks for confirmation.
(function () {
  "use strict";
  const S = window.Stagecraft;
  const Vue = window.Vue;
  const SAVE_DELAY = 800;
  const LABELS = { saved: "All changes saved", pending: "Unsaved changes…", saving: "Saving…",
                   retrying: "Save failed — retrying", failed: "Save failed" };

  // useAutosave(ctx) -> {touch, commit, flushSave, saveLabel}
  //   touch(): the draft changed (e.g. a keystroke) — save soon.
  //   commit(): a finished edit — record an undo step, and save soon if anything changed.
  //   flushSave(): save now; resolves true once everything is stored.
  function useAutosave(ctx) {
    const { state, graph, history, readOnly } = ctx;
    let saveTimer = null, saving = null, savedUpTo = 0, edits = 0, retryDelay = 1000;

    function touch() {
      if (readOnly.value) return;
      edits += 1;
      if (state.save !== "retrying") state.save = "pending";
      clearTimeout(saveTimer);
      saveTimer = setTimeout(saveNow, SAVE_DELAY);
      ctx.refreshSummaries();  // a config may have changed: the server re-summarises it
    }
    function commit() {
      if (history.push(ctx.snapshot())) touch();
      ctx.refreshHistoryFlags();
    }
    async function saveNow() {
      clearTimeout(saveTimer);
      if (saving) { await saving; if (savedUpTo < edits) return saveNow(); return; }
      if (savedUpTo >= edits) { state.save = "saved"; return; }
      const upTo = edits;
      const body = S.canvas.graph.serialize(graph);
      state.save = "saving";
      saving = (async () => {
        try {
          const result = await S.api("PUT", `/campaigns/${ctx.CID}/draft`, { graph: body });
          savedUpTo = Math.max(savedUpTo, upTo);
          retryDelay = 1000;
          ctx.applyValidation(result);
          state.saveError = "";
          state.campaign.has_unpublished_changes = true;
          if (savedUpTo >= edits) state.save = "saved";
          else { clearTimeout(saveTimer); saveTimer = setTimeout(saveNow, SAVE_DELAY); }
        } catch (err) {
          state.saveError = err.message || "network error";
          if (err.status === 400 || err.status === 403 || err.status === 409 || err.status === 422) {
            state.save = "failed";  // the server refuses this graph; retrying won't help
            ctx.showToast(`Save refused: ${err.message}`, "error");
          } else {
            state.save = "retrying";
            saveTimer = setTimeout(saveNow, retryDelay);
            retryDelay = Math.min(retryDelay * 2, 30000);
          }
        }
      })();
      try { await saving; } finally { saving = null; }
    }
    async function flushSave() {
      for (let i = 0; i < 5 && (savedUpTo < edits || saving); i++) await saveNow();
      return savedUpTo >= edits;
    }
    window.addEventListener("beforeunload", (ev) => {
      if (savedUpTo < edits || saving) { ev.preventDefault(); ev.returnValue = "Changes are still being saved."; return ev.returnValue; }
      return undefined;
    });

    return { touch, commit, flushSave, saveLabel: Vue.computed(() => LABELS[state.save]) };
  }

  S.canvas = Object.assign(S.canvas || {}, { useAutosave });
})();
