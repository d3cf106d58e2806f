// The rule editor of a decision's path (DESIGN.md §6.2): a group ("all" or "any" of its items)
// of rules and nested groups. Each rule picks a field by its label (tags, contact columns,
// custom fields, the deal, email engagement), a comparison the field allows, and a value
// in the widget its kind needs — stages, pipelines and users by name, never by id.
// The problems validation found are shown on the rule they are about (`problems` by rule path).
(function () {
  "use strict";
  const S = window.Stagecraft;
  const { ScIcon } = S;
  const CUSTOM = "__custom__";
  const PREFIX = "contact.fields.";
  const GROUPS = [["tags", "Tags"], ["contact.", "Contact"], ["opportunity.", "Deal"], ["email.", "Email of this campaign"]];

  const modeOf = (group) => (group && Array.isArray(group.any) ? "any" : "all");
  const itemsOf = (group) => group[modeOf(group)] || [];
  const isGroup = (item) => item && (Array.isArray(item.all) || Array.isArray(item.any));

  // One rule: field, comparison, value.
  const ScRule = {
    name: "ScRule",
    components: { ScIcon },
    inject: ["canvas"],
    props: { rule: { type: Object, required: true }, path: String, index: Number, idPrefix: String, readOnly: Boolean,
             problem: { type: String, default: "" } },
    emits: ["input", "commit", "remove"],
    data() { return { customKey: this.rule.field && this.rule.field.startsWith(PREFIX) ? this.rule.field.slice(PREFIX.length) : "" }; },
    computed: {
      fields() { return this.canvas.catalog.rule_fields || []; },
      opLabels() { return this.canvas.catalog.rule_ops || {}; },
      fieldGroups() {
        return GROUPS.map(([prefix, label]) => ({ label, fields: this.fields.filter((f) => f.name === prefix || (prefix.endsWith(".") && f.name.startsWith(prefix))) }))
          .filter((g) => g.fields.length);
      },
      custom() { return !!this.rule.field && this.rule.field.startsWith(PREFIX); },
      spec() {
        if (this.custom) return { name: this.rule.field, label: `Custom field “${this.customKey}”`, kind: "any",
                                  ops: ["eq", "ne", "gt", "gte", "lt", "lte", "contains", "empty", "not_empty"], choices: [] };
        return this.fields.find((f) => f.name === this.rule.field) || null;
      },
      fieldValue() { return this.custom ? CUSTOM : (this.rule.field || ""); },
      needsValue() { return this.rule.op && !["empty", "not_empty"].includes(this.rule.op); },
      widget() {
        const f = this.spec;
        if (!f) return "text";
        if (f.kind === "id") return { "opportunity.stage_id": "stage", "opportunity.pipeline_id": "pipeline" }[f.name] || "user";
        if (f.choices && f.choices.length) return "choice";
        return { tags: "tag", number: "number", date: "date", boolean: "boolean" }[f.kind] || "text";
      },
      lookups() { return this.canvas.lookups; },
      stageGroups() {
        return (this.lookups.pipelines || []).map((p) => ({ id: p.id, name: p.name, stages: [...(p.stages || [])].sort((a, b) => a.number - b.number) }));
      },
      n() { return this.index + 1; },
      valueText() { return this.rule.value === undefined || this.rule.value === null ? "" : String(this.rule.value); },
    },
    methods: {
      changed(commit) { this.$emit("input"); if (commit) this.$emit("commit"); },
      setField(ev) {
        const name = ev.target.value;
        if (name === CUSTOM) { this.rule.field = PREFIX + (this.customKey || ""); }
        else this.rule.field = name;
        const spec = this.spec;
        if (spec && !spec.ops.includes(this.rule.op)) this.rule.op = spec.ops[0];
        if (!this.needsValue) delete this.rule.value; else this.rule.value = spec && spec.kind === "boolean" ? true : "";
        this.changed(true);
      },
      setCustomKey(ev, commit) {
        this.customKey = ev.target.value.trim();
        this.rule.field = PREFIX + this.customKey;
        this.changed(commit);
      },
      setOp(ev) {
        this.rule.op = ev.target.value;
        if (!this.needsValue) delete this.rule.value;
        else if (this.rule.value === undefined) this.rule.value = this.spec && this.spec.kind === "boolean" ? true : "";
        this.changed(true);
      },
      setValue(raw, commit) {
        const w = this.widget;
        let v = raw;
        if (w === "number") v = raw === "" ? "" : Number(raw);
        else if (["stage", "pipeline", "user"].includes(w)) v = raw === "" ? "" : Number(raw);
        else if (w === "boolean") v = raw === "true";
        else if (this.custom && typeof raw === "string" && raw.trim() !== "" && !Number.isNaN(Number(raw))) v = Number(raw);
        this.rule.value = v;
        this.changed(commit);
      },
    },
    template: `
      <div class="rule-row" :class="{ bad: problem }" :data-rule="path">
        <div class="rule-line">
          <select class="rule-field" :id="idPrefix + '-field'" :value="fieldValue" :disabled="readOnly" :aria-label="'Rule ' + n + ': what it checks'" @change="setField">
            <option value="" disabled>Choose what to check…</option>
            <optgroup v-for="g in fieldGroups" :key="g.label" :label="g.label">
              <option v-for="f in g.fields" :key="f.name" :value="f.name">{{ f.label }}</option>
            </optgroup>
            <optgroup label="Custom fields"><option :value="CUSTOM">Custom field…</option></optgroup>
          </select>
          <input v-if="custom" class="rule-custom" type="text" :value="customKey" :disabled="readOnly" placeholder="field name"
                 :aria-label="'Rule ' + n + ': custom field name'" @input="setCustomKey($event, false)" @change="setCustomKey($event, true)">
          <select v-if="spec" class="rule-op" :value="rule.op" :disabled="readOnly" :aria-label="'Rule ' + n + ': comparison'" @change="setOp">
            <option v-for="op in spec.ops" :key="op" :value="op">{{ opLabels[op] || op }}</option>
          </select>
          <template v-if="spec && needsValue">
            <template v-if="widget === 'tag'">
              <input class="rule-value" type="text" :value="valueText" :list="idPrefix + '-tags'" :disabled="readOnly" placeholder="tag"
                     :aria-label="'Rule ' + n + ': tag'" @input="setValue($event.target.value, false)" @change="setValue($event.target.value.trim(), true)">
              <datalist :id="idPrefix + '-tags'"><option v-for="t in lookups.tags || []" :key="t" :value="t"></option></datalist>
            </template>
            <select v-else-if="widget === 'choice'" class="rule-value" :value="valueText" :disabled="readOnly" :aria-label="'Rule ' + n + ': value'"
                    @change="setValue($event.target.value, true)">
              <option value="" disabled>Choose…</option>
              <option v-for="c in spec.choices" :key="c" :value="c">{{ c }}</option>
            </select>
            <select v-else-if="widget === 'boolean'" class="rule-value" :value="rule.value === false ? 'false' : 'true'" :disabled="readOnly"
                    :aria-label="'Rule ' + n + ': yes or no'" @change="setValue($event.target.value, true)">
              <option value="true">Yes</option><option value="false">No</option>
            </select>
            <select v-else-if="widget === 'stage'" class="rule-value" :value="valueText" :disabled="readOnly" :aria-label="'Rule ' + n + ': stage'"
                    @change="setValue($event.target.value, true)">
              <option value="" disabled>Choose a stage…</option>
              <optgroup v-for="g in stageGroups" :key="g.id" :label="g.name">
                <option v-for="st in g.stages" :key="st.id" :value="String(st.id)">{{ st.name }}</option>
              </optgroup>
            </select>
            <select v-else-if="widget === 'pipeline'" class="rule-value" :value="valueText" :disabled="readOnly" :aria-label="'Rule ' + n + ': pipeline'"
                    @change="setValue($event.target.value, true)">
              <option value="" disabled>Choose a pipeline…</option>
              <option v-for="p in lookups.pipelines || []" :key="p.id" :value="String(p.id)">{{ p.name }}</option>
            </select>
            <select v-else-if="widget === 'user'" class="rule-value" :value="valueText" :disabled="readOnly" :aria-label="'Rule ' + n + ': user'"
                    @change="setValue($event.target.value, true)">
              <option value="" disabled>Choose a user…</option>
              <option v-for="u in lookups.users || []" :key="u.id" :value="String(u.id)">{{ u.name || u.username }}</option>
            </select>
            <input v-else :type="widget === 'number' ? 'number' : widget === 'date' ? 'date' : 'text'" class="rule-value" :value="valueText"
                   :disabled="readOnly" :aria-label="'Rule ' + n + ': value'" :step="widget === 'number' ? 'any' : undefined"
                   @input="setValue($event.target.value, false)" @change="setValue($event.target.value, true)">
          </template>
          <button v-if="!readOnly" type="button" class="mini rule-remove" :aria-label="'Remove rule ' + n" title="Remove this rule" @click="$emit('remove')">
            <sc-icon name="x" :size="14" /></button>
        </div>
        <p v-if="problem" class="rule-problem">{{ problem }}</p>
      </div>`,
    setup() { return { CUSTOM }; },
  };

  // A group: "all" or "any" of its rules and nested groups.
  const ScRuleGroup = {
    name: "ScRuleGroup",
    components: { ScIcon, ScRule },
    props: { group: { type: Object, required: true }, path: { type: String, default: "" }, depth: { type: Number, default: 0 },
             idPrefix: String, readOnly: Boolean, problems: { type: Object, default: () => ({}) } },
    emits: ["input", "commit", "remove"],
    computed: {
      mode() { return modeOf(this.group); },
      items() { return itemsOf(this.group); },
      where() { return this.path ? `${this.path}.${this.mode}` : this.mode; },
      groupProblem() { return this.problems[this.where] || this.problems[this.path] || ""; },
    },
    methods: {
      isGroup,
      changed(commit) { this.$emit("input"); if (commit) this.$emit("commit"); },
      setMode(ev) {
        const items = this.items;
        delete this.group.all; delete this.group.any;
        this.group[ev.target.value] = items;
        this.changed(true);
      },
      addRule() { this.items.push({ field: "tags", op: "has", value: "" }); this.changed(true); this.focusLast(); },
      addGroup() { this.items.push({ any: [{ field: "tags", op: "has", value: "" }] }); this.changed(true); this.focusLast(); },
      remove(i) { this.items.splice(i, 1); this.changed(true); },
      focusLast() {
        this.$nextTick(() => {
          const rows = this.$el.querySelectorAll(":scope > .rule-items > li");
          rows[rows.length - 1]?.querySelector("select, input")?.focus();
        });
      },
    },
    template: `
      <div class="rule-group" :class="{ nested: depth > 0, bad: groupProblem }" :data-rule-group="where">
        <div class="rule-group-head">
          <label class="rule-mode">Match
            <select :value="mode" :disabled="readOnly" @change="setMode" :aria-label="depth ? 'Nested group: match all or any' : 'Match all or any of these rules'">
              <option value="all">all of</option><option value="any">any of</option>
            </select></label>
          <button v-if="depth && !readOnly" type="button" class="linklike rule-group-remove" @click="$emit('remove')">Remove group</button>
        </div>
        <p v-if="groupProblem" class="rule-problem">{{ groupProblem }}</p>
        <ol class="rule-items">
          <li v-for="(item, i) in items" :key="i">
            <sc-rule-group v-if="isGroup(item)" :group="item" :path="where + '.' + i" :depth="depth + 1" :id-prefix="idPrefix + '-' + i"
                           :read-only="readOnly" :problems="problems" @input="$emit('input')" @commit="$emit('commit')" @remove="remove(i)" />
            <sc-rule v-else :rule="item" :path="where + '.' + i" :index="i" :id-prefix="idPrefix + '-' + i" :read-only="readOnly"
                     :problem="problems[where + '.' + i] || ''" @input="$emit('input')" @commit="$emit('commit')" @remove="remove(i)" />
          </li>
        </ol>
        <div v-if="!readOnly" class="rule-add">
          <button type="button" class="mini-btn rule-add-rule" @click="addRule"><sc-icon name="plus" :size="14" /> Rule</button>
          <button v-if="depth < 4" type="button" class="mini-btn rule-add-group" @click="addGroup"><sc-icon name="plus" :size="14" /> Group</button>
        </div>
      </div>`,
  };
  ScRuleGroup.components.ScRuleGroup = ScRuleGroup;

  S.canvas = Object.assign(S.canvas || {}, { ScRuleGroup, ScRule, ruleModeOf: modeOf });
})();
