// Hosted web forms: the list (create a form by name) and the builder (fields mapped to contact
// columns or custom fields, required flags, tags, thank-you text or redirect, embed snippets).
// Everything renders as text (Stagecraft.el); saving goes through PATCH /forms/{id}.
"use strict";
const FIELD_LABELS = { email: "Email", first_name: "First name", last_name: "Last name", phone: "Phone" };
const fieldTitle = (name) => FIELD_LABELS[name] || `Custom: ${name.replace(/^fields\./, "")}`;

Stagecraft.page("form-list", ({ $, api, el }) => {
  const showError = (msg) => { $("forms-error").textContent = msg || ""; $("forms-error").hidden = !msg; };

  async function load() {
    try {
      const forms = await api("GET", "/forms");
      $("forms-empty").hidden = forms.length > 0;
      $("forms-table").hidden = forms.length === 0;
      $("forms-table").querySelector("tbody").replaceChildren(...forms.map((f) => el("tr", { "data-form-id": f.id },
        el("td", {}, el("a", { href: `/forms/${f.id}` }, f.name)),
        el("td", {}, el("a", { href: f.url, target: "_blank", rel: "noopener" }, `/f/${f.slug}`)),
        el("td", { class: "num" }, String(f.submissions)))));
    } catch (err) { showError("Could not load the forms: " + err.message); }
  }

  $("new-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const name = $("new-form-name").value.trim();
    if (!name) { showError("Type a name for the new form."); return; }
    const button = $("new-form-create");
    button.disabled = true;
    showError("");
    try {
      const form = await api("POST", "/forms", { name, fields: [
        { name: "email", label: "Email", required: true }, { name: "first_name", label: "First name", required: false }] });
      window.location.href = `/forms/${form.id}`;
    } catch (err) { showError(err.message); button.disabled = false; }
  });
  load();
});

Stagecraft.page("form-builder", ({ root, $, api, el, ws }) => {
  const formId = Number(root.dataset.formId);
  const state = { fields: [] };

  function renderFields() {
    $("fb-fields-table").querySelector("tbody").replaceChildren(...state.fields.map((field, i) => {
      const label = el("input", { type: "text", value: field.label, maxlength: 120, "aria-label": `Label of ${fieldTitle(field.name)}` });
      label.addEventListener("input", () => { field.label = label.value; });
      const required = el("input", { type: "checkbox", "aria-label": `${fieldTitle(field.name)} is required`,
                                     checked: field.required || field.name === "email", disabled: field.name === "email" });
      required.addEventListener("change", () => { field.required = required.checked; });
      const actions = [];
      const move = (delta, text) => {
        const b = el("button", { type: "button", class: "small", "aria-label": `${text} ${fieldTitle(field.name)}`,
                                 disabled: i + delta < 0 || i + delta >= state.fields.length }, text);
        b.addEventListener("click", () => {
          const [f] = state.fields.splice(i, 1);
          state.fields.splice(i + delta, 0, f);
          renderFields();
        });
        return b;
      };
      actions.push(move(-1, "Up"), move(1, "Down"));
      if (field.name !== "email") {
        const remove = el("button", { type: "button", class: "small danger", "aria-label": `Remove ${fieldTitle(field.name)}` }, "Remove");
        remove.addEventListener("click", () => { state.fields.splice(i, 1); renderFields(); });
        actions.push(remove);
      }
      return el("tr", { "data-field": field.name }, el("td", {}, fieldTitle(field.name)), el("td", {}, label),
        el("td", {}, required), el("td", { class: "actions" }, actions));
    }));
  }

  function show(form) {
    state.fields = form.fields.map((f) => ({ ...f }));
    $("fb-name").value = form.name;
    $("form-title").textContent = form.name;
    $("crumb-name").textContent = form.name;
    document.title = `${form.name} · Stagecraft`;
    $("fb-title").value = form.title;
    $("fb-tags").value = form.tags.join(", ");
    $("fb-submit-label").value = form.submit_label;
    $("fb-thanks").value = form.thank_you;
    $("fb-redirect").value = form.redirect_url || "";
    $("fb-url").href = form.url;
    $("fb-url").textContent = form.url;
    $("fb-submissions").textContent = String(form.submissions);
    $("fb-iframe").value = form.embed.iframe;
    $("fb-html").value = form.embed.html;
    renderFields();
  }

  $("fb-add-field").addEventListener("change", () => { $("fb-custom-key").hidden = $("fb-add-field").value !== "custom"; });
  $("fb-add").addEventListener("click", () => {
    const choice = $("fb-add-field").value;
    let name = choice;
    if (choice === "custom") {
      const key = $("fb-custom-key").value.trim().toLowerCase().replace(/[^a-z0-9_]+/g, "_");
      if (!key) { ws.showError($("fb-error"), "Type the custom field's key (letters, digits and _)."); return; }
      name = `fields.${key}`;
    }
    if (!name) { ws.showError($("fb-error"), "Choose the field to add."); return; }
    if (state.fields.some((f) => f.name === name)) { ws.showError($("fb-error"), `The form already asks for ${fieldTitle(name)}.`); return; }
    ws.showError($("fb-error"), "");
    state.fields.push({ name, label: FIELD_LABELS[name] || name.replace(/^fields\./, "").replace(/_/g, " "), required: false });
    $("fb-add-field").value = "";
    $("fb-custom-key").value = "";
    $("fb-custom-key").hidden = true;
    renderFields();
  });

  $("form-settings").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const body = {
      name: $("fb-name").value.trim(), title: $("fb-title").value.trim(), fields: state.fields,
      tags: $("fb-tags").value.split(",").map((t) => t.trim()).filter(Boolean),
      submit_label: $("fb-submit-label").value.trim() || "Submit", thank_you: $("fb-thanks").value,
      redirect_url: $("fb-redirect").value.trim() || null,
    };
    $("fb-saved").textContent = "";
    ws.act($("fb-save"), $("fb-error"), async () => {
      show(await api("PATCH", `/forms/${formId}`, body));
      $("fb-saved").textContent = "Saved.";
    });
  });

  $("fb-delete").addEventListener("click", () => {
    if (!window.confirm("Delete this form? Its address stops working; contacts it made stay.")) return;
    ws.act($("fb-delete"), $("fb-error"), async () => {
      await api("DELETE", `/forms/${formId}`);
      window.location.href = "/forms";
    });
  });

  for (const button of root.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", async () => {
      const area = $(button.dataset.copy);
      try { await navigator.clipboard.writeText(area.value); $("fb-copied").textContent = "Copied."; }
      catch (_e) { area.select(); $("fb-copied").textContent = "Press Ctrl+C to copy the selected snippet."; }
    });
  }

  api("GET", `/forms/${formId}`).then(show).catch((err) => ws.showError($("fb-error"), "Could not load the form: " + err.message));
});
