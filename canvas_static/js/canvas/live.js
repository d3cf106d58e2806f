// Live counts on the canvas's nodes (and per path of decisions and splits): GET /campaigns/<id>/stats, re-read whenever the
// campaign's room (through the shared live.js) hints at a change, and once each time the
// room is joined (hints may have been missed before). Publish and status pushes update the header.
(function () {
  "use strict";
  const S = window.Stagecraft;
  const SHOWN = { live: "live", down: "connecting", off: "off" };  // live.js state -> .cv-live data-state

  // useLive(ctx) -> {fetchStats, connectLive}
  function useLive(ctx) {
    const { state, CID } = ctx;
    let link = null;

    async function fetchStats() {
      try {
        const res = await S.api("GET", `/campaigns/${CID}/stats`);
        state.stats = res.nodes || {};
        state.branchStats = res.branches || {};
        state.emailStats = res.emails || {};
      } catch (_e) { /* counts are best-effort; the next hint retries */ }
    }
    function connectLive() {
      link = S.live({
        rooms: [`campaign:${CID}`],
        status: null,
        onStatus: (s) => {
          state.live = SHOWN[s] || "connecting";
          if (s === "live" && link) link.resync();
        },
        events: {
          stats: true,
          campaign_published: () => { ctx.refreshCampaign().catch(() => {}); },
          campaign_status: (p) => { if (p && p.status) state.campaign.status = p.status; return false; },
        },
        resync: fetchStats,
      });
    }

    return { fetchStats, connectLive };
  }

  S.canvas = Object.assign(S.canvas || {}, { useLive });
})();
