// Publishing: the dry run (saved draft → diff against the live version, or the problems
// that block it), the publish dialog, versions and rollback, pause and resume.
(function () {
  "use strict";
  const S = window.Stagecraft;
  const Vue = window.Vue;
  const STATUS = { draft: "Draft", live: "Live", paused: "Paused", archived: "Archived" };

  const openDialog = (id) => Vue.nextTick(() => document.getElementById(id)?.showModal());
  const closeDialog = (id) => { document.getElementById(id)?.close(); };
  const fmtDate = (iso) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "");

  // usePublish(ctx) -> {statusLabel, refreshCampaign, openPublish, confirmPublish, openVersions, rollback, setPaused, …}
  function usePublish(ctx) {
    const { state, CID } = ctx;
    const statusLabel = Vue.computed(() => STATUS[state.campaign.status] || state.campaign.status);

    // Re-read the campaign's summary (status, versions); returns its draft.
    async function refreshCampaign() {
      const c = await S.api("GET", `/campaigns/${CID}`);
      const { draft, ...summary } = c;
      Object.assign(state.campaign, summary);
      return draft;
    }
    async function openPublish() {
      state.busy = true;
      try {
        if (!(await ctx.flushSave())) { ctx.showToast("Can't publish until the draft is saved.", "error"); return; }
        const res = await S.api("POST", `/campaigns/${CID}/publish?dry_run=1`);
        state.publish = { diff: res.diff, warnings: res.warnings || [], error: "" };
        openDialog("publish-dialog");
      } catch (err) {
        if (err.code === "invalid_graph") {
          ctx.applyValidation(err.details || {});
          state.drawer = true;
          ctx.showToast("Fix the problems listed before publishing.", "error");
        } else ctx.showToast(err.message, "error");
      } finally { state.busy = false; }
    }
    async function confirmPublish() {
      state.busy = true;
      try {
        const res = await S.api("POST", `/campaigns/${CID}/publish`);
        closeDialog("publish-dialog");
        state.publish = null;
        await refreshCampaign();
        ctx.showToast(`Published version ${res.version}. The campaign is ${res.status}.`);
        ctx.fetchStats();
      } catch (err) {
        if (state.publish) state.publish.error = err.message;
        if (err.code === "invalid_graph") ctx.applyValidation(err.details || {});
      } finally { state.busy = false; }
    }
    async function openVersions() {
      try {
        state.versions = await S.api("GET", `/campaigns/${CID}/versions`);
        openDialog("versions-dialog");
      } catch (err) { ctx.showToast(err.message, "error"); }
    }
    async function rollback(number) {
      if (!window.confirm(`Publish version ${number} again as a new version? Contacts continue where their step still exists.`)) return;
      try {
        const res = await S.api("POST", `/campaigns/${CID}/versions/${number}/rollback`);
        closeDialog("versions-dialog");
        await refreshCampaign();
        ctx.showToast(`Rolled back: version ${number} is live again as version ${res.version}.`);
        ctx.fetchStats();
      } catch (err) { ctx.showToast(err.message, "error"); }
    }
    async function setPaused(paused) {
      try {
        const res = await S.api("POST", `/campaigns/${CID}/${paused ? "pause" : "resume"}`);
        Object.assign(state.campaign, res);
        ctx.showToast(paused ? "Campaign paused: no new contacts start, timers wait." : "Campaign resumed.");
      } catch (err) { ctx.showToast(err.message, "error"); }
    }

    return { statusLabel, refreshCampaign, openPublish, confirmPublish, closeDialog, openVersions, rollback, setPaused, fmtDate };
  }

  S.canvas = Object.assign(S.canvas || {}, { usePublish });
})();
