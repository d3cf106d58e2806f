// Account pages: "My account" (password, API tokens), admin "Users" and "Audit log".
// Every value is rendered as text through Stagecraft.el; nothing is parsed as HTML.
"use strict";
Stagecraft.page("account-page", ({ root, $, api, el }) => {
  const when = (iso) => Stagecraft.dates.dateTime(iso);
  const message = (err) => (err && err.details && err.details.errors && err.details.errors.length
    ? err.details.errors.map((e) => `${e.field}: ${e.message}`).join("; ") : (err && err.message) || String(err));
  function show(node, text) { node.textContent = text || ""; }

  // --- My account ---------------------------------------------------------
  async function accountView() {
    const user = await api("GET", "/users/me");
    const teams = await api("GET", "/teams");
    const team = teams.find((t) => t.id === user.team_id);
    $("profile").replaceChildren(
      el("dt", {}, "Username"), el("dd", {}, user.username),
      el("dt", {}, "Name"), el("dd", {}, user.name),
      el("dt", {}, "Email"), el("dd", {}, user.email || "—"),
      el("dt", {}, "Role"), el("dd", {}, user.role),
      el("dt", {}, "Team"), el("dd", {}, team ? team.name : "—"),
      el("dt", {}, "Daily task capacity"), el("dd", {}, String(user.daily_task_capacity)));

    $("password-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      show($("pw-error")); show($("pw-status"));
      const current = $("pw-current").value, next = $("pw-new").value;
      if (next.length < 8) return show($("pw-error"), "The new password needs at least 8 characters.");
      if (next !== $("pw-confirm").value) return show($("pw-error"), "The two new passwords differ.");
      try {
        await api("POST", "/users/me/password", { current_password: current, new_password: next });
        event.target.reset();
        show($("pw-status"), "Password changed. Other sessions were logged out.");
      } catch (err) { show($("pw-error"), message(err)); }
    });

    async function loadTokens() {
      const rows = await api("GET", "/auth/tokens");
      const now = Date.now();
      $("tokens-table").tBodies[0].replaceChildren(...rows.slice().reverse().map((t) => {
        const expired = new Date(t.expires_at).getTime() <= now;
        const status = t.revoked_at ? "revoked" : expired ? "expired" : "active";
        const revoke = status === "active"
          ? el("button", { type: "button", class: "danger", "data-token-id": t.id, onclick: async () => {
              try { await api("DELETE", `/auth/tokens/${t.id}`); await loadTokens(); }
              catch (err) { show($("token-error"), message(err)); }
            } }, "Revoke") : "";
        return el("tr", { "data-token-id": t.id, class: "token-row " + status },
          el("td", {}, t.label || "(no label)"), el("td", {}, when(t.created_at)),
          el("td", {}, when(t.expires_at)), el("td", {}, el("span", { class: "badge" }, status)), el("td", {}, revoke));
      }));
    }
    $("token-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      show($("token-error"));
      try {
        const made = await api("POST", "/auth/tokens", { label: $("token-label").value, days: Number($("token-days").value) });
        $("new-token-value").value = made.token;
        $("new-token").hidden = false;
        $("new-token-value").select();
        $("token-label").value = "";
        await loadTokens();
      } catch (err) { show($("token-error"), message(err)); }
    });
    $("new-token-copy").addEventListener("click", async () => {
      try { await navigator.clipboard.writeText($("new-token-value").value); show($("token-error")); }
      catch (_e) { $("new-token-value").select(); }
    });
    $("new-token-done").addEventListener("click", () => { $("new-token-value").value = ""; $("new-token").hidden = true; });
    await loadTokens();
  }

  // --- Users (admins) -------------------------------------------------------
  async function usersView() {
    let teams = [];
    const roleSelect = (value) => el("select", { "aria-label": "Role", name: "role" },
      ["rep", "marketer", "admin"].map((r) => el("option", { value: r, selected: r === value }, r)));
    const teamSelect = (value, label) => el("select", { "aria-label": label || "Team", name: "team_id" },
      el("option", { value: "" }, "— none —"),
      teams.map((t) => el("option", { value: t.id, selected: t.id === value }, t.name)));

    function userRow(user) {
      const role = roleSelect(user.role);
      const capacity = el("input", { type: "number", min: 1, max: 500, value: user.daily_task_capacity,
                                     "aria-label": "Daily task capacity", name: "daily_task_capacity" });
      const team = teamSelect(user.team_id);
      const status = el("span", { class: "status", role: "status" });
      const save = el("button", { type: "button", class: "primary", onclick: async () => {
        show($("users-error")); show(status);
        try {
          await api("PATCH", `/users/${user.id}`, {
            role: role.value, daily_task_capacity: Number(capacity.value),
            team_id: team.value ? Number(team.value) : null });
          show(status, "Saved");
        } catch (err) { show($("users-error"), `${user.username}: ${message(err)}`); }
      } }, "Save");
      const toggle = el("button", { type: "button", class: user.active ? "danger" : "", onclick: async () => {
        show($("users-error"));
        if (user.active && !window.confirm(`Deactivate ${user.username}? They will be logged out everywhere.`)) return;
        try { await api("PATCH", `/users/${user.id}`, { active: !user.active }); await loadUsers(); }
        catch (err) { show($("users-error"), `${user.username}: ${message(err)}`); }
      } }, user.active ? "Deactivate" : "Reactivate");
      return el("tr", { "data-user-id": user.id, "data-username": user.username, class: user.active ? "" : "inactive" },
        el("td", {}, user.username), el("td", {}, user.name), el("td", {}, role), el("td", {}, capacity),
        el("td", {}, team), el("td", {}, user.active ? "active" : "deactivated"),
        el("td", {}, el("div", { class: "row-actions" }, save, toggle, status)));
    }
    async function loadUsers() {
      const users = await api("GET", "/users");
      $("users-table").tBodies[0].replaceChildren(...users.map(userRow));
    }
    async function loadTeams() {
      teams = await api("GET", "/teams");
      $("teams-list").replaceChildren(...teams.map((t) => el("li", { "data-team-id": t.id }, t.name)));
      $("nu-team").replaceChildren(el("option", { value: "" }, "— none —"),
        ...teams.map((t) => el("option", { value: t.name }, t.name)));
    }
    $("user-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      show($("nu-error")); show($("nu-status"));
      const body = { username: $("nu-username").value.trim(), name: $("nu-name").value.trim(),
        email: $("nu-email").value.trim(), password: $("nu-password").value, role: $("nu-role").value,
        daily_task_capacity: Number($("nu-capacity").value || 10), team: $("nu-team").value || null };
      try {
        const made = await api("POST", "/users", body);
        event.target.reset();
        show($("nu-status"), `Created ${made.username}`);
        await loadUsers();
      } catch (err) { show($("nu-error"), message(err)); }
    });
    $("team-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      show($("team-error"));
      try {
        await api("POST", "/teams", { name: $("team-name").value.trim() });
        event.target.reset();
        await loadTeams(); await loadUsers();
      } catch (err) { show($("team-error"), message(err)); }
    });
    await loadTeams();
    await loadUsers();
  }

  // --- Audit log (admins) ---------------------------------------------------
  const ACTIONS = {
    "campaign.published": "published", "campaign.paused": "paused", "campaign.resumed": "resumed",
    "campaign.rolled_back": "rolled back", "campaign.archived": "archived",
    "user.role_changed": "changed the role of", "user.team_changed": "changed the team of",
    "user.created": "created", "user.deactivated": "deactivated", "user.activated": "reactivated",
    "user.capacity_changed": "changed the task capacity of", "user.password_set": "set the password of",
    "user.password_changed": "changed their password", "team.created": "created team",
    "opportunity.shared": "shared", "opportunity.unshared": "revoked a share of",
  };
  async function auditView() {
    const [users, teams] = await Promise.all([api("GET", "/users"), api("GET", "/teams")]);
    const userName = (id) => (users.find((u) => u.id === id) || {}).name || (id ? `user #${id}` : "");
    const teamName = (id) => (teams.find((t) => t.id === id) || {}).name || (id ? `team #${id}` : "");
    function target(entry) {
      const id = entry.target_id;
      if (entry.target_type === "campaign") return el("a", { href: `/campaigns/${id}` }, `campaign #${id}`);
      if (entry.target_type === "opportunity") return el("a", { href: `/opportunities/${id}` }, `opportunity #${id}`);
      if (entry.target_type === "user") return userName(id);
      if (entry.target_type === "team") return teamName(id);
      return `${entry.target_type} #${id}`;
    }
    function details(entry) {
      const d = entry.details || {};
      if (entry.action.startsWith("opportunity.")) return d.user_id ? `with ${userName(d.user_id)}` : `with team ${teamName(d.team_id)}`;
      if (entry.action === "user.team_changed") return `${teamName(d.from) || "none"} → ${teamName(d.to) || "none"}`;
      if ("from" in d || "to" in d) return `${d.from ?? ""} → ${d.to ?? ""}`;
      if (d.version) return `version ${d.version}` + (d.rolled_back_from ? ` (from version ${d.rolled_back_from})` : "");
      return Object.entries(d).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => `${k}: ${v}`).join(", ");
    }
    async function load() {
      show($("audit-error"));
      const action = $("audit-filter").value;
      try {
        const rows = await api("GET", "/audit?limit=500" + (action ? "&action=" + encodeURIComponent(action) : ""));
        $("audit-table").tBodies[0].replaceChildren(...rows.map((a) => el("tr", { "data-action": a.action },
          el("td", {}, when(a.at)), el("td", {}, a.actor || "the runtime"),
          el("td", {}, ACTIONS[a.action] || a.action), el("td", {}, target(a)),
          el("td", { class: "audit-details" }, details(a)))));
      } catch (err) { show($("audit-error"), message(err)); }
    }
    $("audit-filter").addEventListener("change", load);
    await load();
  }

  const views = { account: accountView, users: usersView, audit: auditView };
  (views[root.dataset.view] || (() => null))().catch((err) => {
    const box = root.querySelector(".form-error") || root;
    box.textContent = "Could not load: " + message(err);
  });
});
