// Autosave of the draft: a finished edit (commit) is saved at once, typing SAVE_DELAY ms after
// the last keystroke (PUT /campaigns/<id>/draft, whose answer carries the validation issues —
// so the badges follow an edit within a round trip — and whether the draft still differs
// from the live version).
// A network failure retries with exponential backoff; a refusal (4xx) stops and says so.
// While anything is unsaved, leaving the page asks for confirmation.
(function () {
  "use strict";
  const S = window.Stagecraft;
  const Vue = window.Vue;
  const SAVE_DELAY = 400;  // after the last keystroke; a finished edit saves at once
  const LABELS = { saved: "All changes saved", pending: "Unsaved changes…", saving: "Saving…",
                   retrying: "Save failed — retrying", failed: "Save failed" };

  // useAutosave(ctx) -> {touch, commit, flushSave, saveLabel}
  //   touch(): the draft changed (e.g. a keystroke) — save soon.
  //   commit(): a finished edit — record an undo step, and save soon if anything changed.
  //   flushSave(): save now; resolves true once everything is stored.
  function useAutosave(ctx) {
    const { state, graph, history, readOnly } = ctx;
    let saveTimer = null, saving = null, savedUpTo = 0, edits = 0, retryDelay = 1000;

    function touch(delay) {
      if (readOnly.value) return;
      edits += 1;
      if (state.save !== "retrying") state.save = "pending";
      clearTimeout(saveTimer);
      const soon = typeof delay === "number" && state.save !== "retrying" ? delay : SAVE_DELAY;
      saveTimer = setTimeout(saveNow, soon);
      ctx.refreshSummaries();  // a config may have changed: the server re-summarises it
    }
    function commit() {
      if (history.push(ctx.snapshot())) touch(0);
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
          if (savedUpTo >= edits) ctx.applyValidation(result);  // a newer edit's reply will carry newer issues
          state.saveError = "";
          state.campaign.has_unpublished_changes = result.has_unpublished_changes !== false;
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
