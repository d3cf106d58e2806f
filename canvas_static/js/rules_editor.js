// The rule editor of segments (the rule language of decisions, DESIGN.md §6.2): groups of "all" or
// "any" rules, each a field, a comparison and a value, with controls fit for the field's kind
// (tags, text, number, a user or stage to choose, a date, yes/no). Fields, their labels and their
// comparisons come from GET /segments/fields; problems from the server show next to their rule.
(function () {
  "use strict";
  const { el } = window.Stagecraft;
  const NO_VALUE = new Set(["empty", "not_empty"]);
  const CUSTOM = "contact.fields.";
  const SECTIONS = [["Contact", (n) => n.startsWith("contact.") && !n.startsWith(CUSTOM)], ["Tags", (n) => n === "tags"],
    ["Deal (the contact's latest open one)", (n) => n.startsWith("opportunity.")], ["Email", (n) => n.startsWith("email.")]];

  // rulesEditor(container, {fields, rules, users, pipelines, tags, onChange}) -> {value, showProblems}
  function rulesEditor(container, options) {
    const fields = new Map(options.fields.map((f) => [f.name, f]));
    const allLabels = Object.assign({}, ...options.fields.map((f) => f.op_labels));
    const customSpec = { name: "custom", label: "Custom field", kind: "any", choices: [],
      ops: ["eq", "ne", "gt", "gte", "lt", "lte", "contains", "empty", "not_empty"], op_labels: allLabels };
    let root = normalise(options.rules || { all: [{ field: "tags", op: "has", value: "" }] });
    let counter = 0;

    function normalise(group) {
      const mode = "all" in group ? "all" : "any";
      return { mode, items: group[mode].map((item) => ("all" in item || "any" in item) ? normalise(item) : { ...item }) };
    }
    const specOf = (name) => (name && name.startsWith(CUSTOM) ? customSpec : fields.get(name));
    const changed = () => { render(); if (options.onChange) options.onChange(); };

    function valueControl(rule, spec, label) {
      const set = (v) => { rule.value = v; if (options.onChange) options.onChange(); };
      const common = { "aria-label": label, class: "bk-value" };
      if (spec.kind === "boolean") {
        if (typeof rule.value !== "boolean") rule.value = true;
        const s = el("select", common, el("option", { value: "true", selected: rule.value === true }, "yes"),
          el("option", { value: "false", selected: rule.value === false }, "no"));
        s.addEventListener("change", () => set(s.value === "true"));
        return s;
      }
      if (spec.choices.length) {
        if (!spec.choices.includes(rule.value)) rule.value = spec.choices[0];
        const s = el("select", common, spec.choices.map((c) => el("option", { value: c, selected: c === rule.value }, c)));
        s.addEventListener("change", () => set(s.value));
        return s;
      }
      if (spec.kind === "id") {
        const choices = idChoices(rule.field);
        if (!choices.some(([id]) => id === rule.value) && choices.length) rule.value = choices[0][0];
        const s = el("select", common, choices.map(([id, name]) => el("option", { value: id, selected: id === rule.value }, name)));
        s.addEventListener("change", () => set(Number(s.value)));
        return s;
      }
      const type = spec.kind === "number" ? "number" : spec.kind === "date" ? "date" : "text";
      const input = el("input", { ...common, type, value: rule.value ?? "", step: type === "number" ? "any" : undefined,
        list: spec.kind === "tags" ? "bk-tag-choices" : undefined, maxlength: type === "text" ? "200" : undefined });
      input.addEventListener("input", () => {
        const raw = input.value;
        if (spec.kind === "number") set(raw === "" ? null : Number(raw));
        else if (spec.kind === "any" && /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/.test(raw.trim())) set(Number(raw.trim()));
        else set(raw);
      });
      return input;
    }

    function idChoices(name) {
      if (name.endsWith("owner_id")) return (options.users || []).map((u) => [u.id, u.name || u.username]);
      if (name === "opportunity.pipeline_id") return (options.pipelines || []).map((p) => [p.id, p.name]);
      return (options.pipelines || []).flatMap((p) => (p.stages || []).map((s) => [s.id, `${p.name} › ${s.name}`]));
    }

    function ruleRow(rule, group, index, path) {
      const n = ++counter;
      const spec = specOf(rule.field) || fields.get("tags");
      const fieldSelect = el("select", { "aria-label": `Field of rule ${n}`, class: "bk-field-select" },
        SECTIONS.map(([label, test]) => el("optgroup", { label },
          [...fields.values()].filter((f) => test(f.name)).map((f) => el("option", { value: f.name, selected: f.name === rule.field }, f.label)))),
        el("optgroup", { label: "Custom fields" }, el("option", { value: "custom", selected: spec === customSpec }, "Custom field…")));
      fieldSelect.addEventListener("change", () => {
        const next = fieldSelect.value === "custom" ? customSpec : fields.get(fieldSelect.value);
        rule.field = fieldSelect.value === "custom" ? CUSTOM : fieldSelect.value;
        if (!next.ops.includes(rule.op)) rule.op = next.ops[0];
        rule.value = next.kind === "boolean" ? true : "";
        changed();
      });
      const parts = [fieldSelect];
      if (spec === customSpec) {
        const key = el("input", { "aria-label": `Custom field name of rule ${n}`, class: "bk-key", value: rule.field.slice(CUSTOM.length),
          placeholder: "field name", maxlength: "64" });
        key.addEventListener("input", () => { rule.field = CUSTOM + key.value.trim(); if (options.onChange) options.onChange(); });
        parts.push(key);
      }
      const opSelect = el("select", { "aria-label": `Comparison of rule ${n}` },
        spec.ops.map((op) => el("option", { value: op, selected: op === rule.op }, spec.op_labels[op] || op)));
      opSelect.addEventListener("change", () => { rule.op = opSelect.value; changed(); });
      parts.push(opSelect);
      if (!NO_VALUE.has(rule.op)) parts.push(valueControl(rule, spec, `Value of rule ${n}`));
      const remove = el("button", { type: "button", class: "small", "aria-label": `Remove rule ${n}`,
        disabled: group.items.length === 1 && group === root }, "Remove");
      remove.addEventListener("click", () => { group.items.splice(index, 1); changed(); });
      parts.push(remove);
      return el("li", { class: "bk-rule", "data-path": path }, el("div", { class: "bk-rule-controls" }, parts),
        el("p", { class: "field-error bk-problem", role: "alert" }));
    }

    function groupBox(group, path, depth, parent, index) {
      const mode = el("select", { "aria-label": depth ? "Match all or any of this group's rules" : "Match all or any of the rules" },
        el("option", { value: "all", selected: group.mode === "all" }, "all"), el("option", { value: "any", selected: group.mode === "any" }, "any"));
      mode.addEventListener("change", () => { group.mode = mode.value; changed(); });
      const head = el("div", { class: "bk-group-head" }, depth ? "…and in this group, " : "Contacts match ", mode,
        depth ? " of:" : " of these rules:");
      if (depth) {
        const drop = el("button", { type: "button", class: "small" }, "Remove group");
        drop.addEventListener("click", () => { parent.items.splice(index, 1); changed(); });
        head.append(" ", drop);
      }
      const list = el("ol", { class: "bk-rule-list" }, group.items.map((item, i) => {
        const at = `${path}.${group.mode}.${i}`.replace(/^\./, "");
        return "mode" in item ? groupBox(item, at, depth + 1, group, i) : ruleRow(item, group, i, at);
      }));
      const addRule = el("button", { type: "button" }, "Add rule");
      addRule.addEventListener("click", () => { group.items.push({ field: "tags", op: "has", value: "" }); changed(); });
      const buttons = [addRule];
      if (depth === 0) {
        const addGroup = el("button", { type: "button" }, "Add group");
        addGroup.addEventListener("click", () => {
          group.items.push({ mode: group.mode === "all" ? "any" : "all", items: [{ field: "tags", op: "has", value: "" }] });
          changed();
        });
        buttons.push(addGroup);
      }
      return el(depth ? "li" : "div", { class: "bk-group" + (depth ? " bk-nested" : ""), "data-path": path || group.mode },
        head, list, el("p", { class: "field-error bk-problem", role: "alert" }), el("div", { class: "actions" }, buttons));
    }

    function render() {
      counter = 0;
      const datalist = el("datalist", { id: "bk-tag-choices" }, (options.tags || []).map((t) => el("option", { value: t })));
      container.replaceChildren(groupBox(root, "", 0, null, 0), datalist);
    }

    function toJson(group) {
      return { [group.mode]: group.items.map((item) => ("mode" in item ? toJson(item)
        : NO_VALUE.has(item.op) ? { field: item.field, op: item.op } : { field: item.field, op: item.op, value: item.value })) };
    }

    function showProblems(problems) {
      container.querySelectorAll(".bk-problem").forEach((p) => { p.textContent = ""; });
      const unplaced = [];
      for (const problem of problems || []) {
        const ruleAt = container.querySelector(`[data-path="${CSS.escape(problem.path)}"] > .bk-problem`);
        if (ruleAt) ruleAt.textContent = problem.message;
        else unplaced.push(problem.message);
      }
      return unplaced;
    }

    render();
    return { value: () => toJson(root), showProblems };
  }

  window.Stagecraft = Object.assign(window.Stagecraft || {}, { rulesEditor });
})();
