// Import page: choose a CSV, see its columns with their first values and a suggested field for each,
// adjust the mapping, add tags, import (multipart with the CSRF header), follow the job live.
"use strict";
Stagecraft.page("import-page", ({ $, el, upload, jobPanel }) => {
  const PREVIEW_BYTES = 256 * 1024;
  const LIMIT = 50 * 1024 * 1024;
  let columns = [];
  let fields = [];

  const say = (id, text) => { $(id).textContent = text || ""; };
  const message = (err) => (err && err.message) || String(err);

  function fieldSelect(column, suggested, index) {
    const custom = suggested && suggested.startsWith("fields.") ? suggested.slice(7) : "";
    const select = el("select", { id: `map-${index}`, "data-column": column, "aria-label": `Contact field for the column “${column}”` },
      el("option", { value: "" }, "— don't import —"),
      fields.map((f) => el("option", { value: f.name, selected: f.name === suggested }, f.label)),
      el("option", { value: "custom", selected: Boolean(custom) }, "Custom field…"));
    const key = el("input", { id: `map-key-${index}`, class: "bk-key", value: custom, maxlength: "64",
      "aria-label": `Custom field name for the column “${column}”`, hidden: !custom, placeholder: "field name" });
    select.addEventListener("change", () => {
      key.hidden = select.value !== "custom";
      if (!key.hidden && !key.value) key.value = column.trim().toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_|_$/g, "");
      if (!key.hidden) key.focus();
    });
    return el("div", { class: "bk-map-cell" }, select, key);
  }

  function mapping() {
    const out = {};
    columns.forEach((column, index) => {
      const value = $(`map-${index}`).value;
      out[column] = value === "custom" ? (($(`map-key-${index}`).value || "").trim() ? `fields.${$(`map-key-${index}`).value.trim()}` : null) : (value || null);
    });
    return out;
  }

  $("imp-file").addEventListener("change", async () => {
    say("imp-file-error"); say("imp-error"); say("imp-mapping-error");
    $("imp-mapping-card").hidden = true;
    const file = $("imp-file").files[0];
    if (!file) return;
    if (file.size > LIMIT) {
      say("imp-file-error", "The file is larger than 50 MB: split it, or import it on the server with `stagecraft contacts import`.");
      return;
    }
    const form = new FormData();
    form.append("file", file.slice(0, PREVIEW_BYTES), file.name);
    try {
      const preview = await upload("/contacts/import/preview", form);
      columns = preview.columns;
      fields = preview.fields;
      const sample = (i) => preview.sample.map((row) => row[i]).filter((v) => v !== undefined && v !== "").slice(0, 3).join(" · ");
      $("imp-mapping").tBodies[0].replaceChildren(...columns.map((column, i) => el("tr", { "data-column": column },
        el("th", { scope: "row" }, column), el("td", { class: "muted" }, sample(i)), el("td", {}, fieldSelect(column, preview.mapping[column], i)))));
      say("imp-summary", `${file.name}: ${columns.length} columns, separated by “${preview.delimiter === "\t" ? "tab" : preview.delimiter}”. Rows are counted when the import starts.`);
      $("imp-mapping-card").hidden = false;
      $("map-0").focus();
    } catch (err) {
      say("imp-file-error", message(err));
    }
  });

  $("imp-start").addEventListener("click", async () => {
    say("imp-error"); say("imp-mapping-error"); say("imp-tags-error");
    const file = $("imp-file").files[0];
    if (!file) return say("imp-file-error", "Choose a CSV file to import.");
    const tags = $("imp-tags").value.split(",").map((t) => t.trim()).filter(Boolean);
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("mapping", JSON.stringify(mapping()));
    form.append("tags", JSON.stringify(tags));
    $("imp-start").disabled = true;
    try {
      const started = await upload("/contacts/import", form);
      $("imp-progress").hidden = false;
      jobPanel($("imp-job"), started.job_id, { onDone: () => { $("imp-start").disabled = false; } });
      $("imp-progress-h").scrollIntoView({ block: "nearest" });
    } catch (err) {
      $("imp-start").disabled = false;
      const field = err.details && err.details.field;
      say(field === "mapping" ? "imp-mapping-error" : field === "file" ? "imp-file-error" : field === "tags" ? "imp-tags-error" : "imp-error",
        err.code === "invalid_tag" ? `Tags: ${message(err)}` : message(err));
    }
  });
});
