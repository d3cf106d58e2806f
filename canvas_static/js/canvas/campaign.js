// The campaign as a whole, from the header: rename it, and the "More" menu's export to
// JSON, import of a JSON file as a new campaign, and duplicate.
(function () {
  "use strict";
  const S = window.Stagecraft;

  // useCampaign(ctx) -> {renameCampaign, exportJson, duplicate, pickImport, importFile}
  function useCampaign(ctx) {
    const { state, CID } = ctx;

    async function renameCampaign(ev) {
      const name = ev.target.value.trim();
      if (!name || name === state.campaign.name) { ev.target.value = state.campaign.name; return; }
      try { await S.api("PATCH", `/campaigns/${CID}`, { name }); state.campaign.name = name; document.title = `${name} · Stagecraft`; }
      catch (err) { ev.target.value = state.campaign.name; ctx.showToast(err.message, "error"); }
    }
    async function exportJson() {
      state.menu = false;
      try {
        await ctx.flushSave();
        const data = await S.api("GET", `/campaigns/${CID}/export`);
        const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
        const a = document.createElement("a");
        a.href = URL.createObjectURL(blob);
        a.download = `${(state.campaign.name || "campaign").replace(/[^\w-]+/g, "_")}.stagecraft.json`;
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(a.href), 1000);
      } catch (err) { ctx.showToast(err.message, "error"); }
    }
    async function duplicate() {
      state.menu = false;
      try {
        await ctx.flushSave();
        const c = await S.api("POST", `/campaigns/${CID}/duplicate`);
        window.location.href = `/campaigns/${c.id}`;
      } catch (err) { ctx.showToast(err.message, "error"); }
    }
    function pickImport() { state.menu = false; document.getElementById("import-file")?.click(); }
    // The new campaign opens with a note of what this CRM lacks (kept in sessionStorage across the navigation).
    async function importFile(ev) {
      const file = ev.target.files && ev.target.files[0];
      ev.target.value = "";
      if (!file) return;
      try {
        const data = JSON.parse(await file.text());
        const c = await S.api("POST", "/campaigns/import", data);
        const missing = c.missing_references || [];
        if (missing.length) sessionStorage.setItem(`stagecraft.missing.${c.id}`, JSON.stringify(missing));
        window.location.href = `/campaigns/${c.id}`;
      } catch (err) { ctx.showToast(`Import failed: ${err.message}`, "error"); }
    }

    return { renameCampaign, exportJson, duplicate, pickImport, importFile };
  }

  S.canvas = Object.assign(S.canvas || {}, { useCampaign });
})();
