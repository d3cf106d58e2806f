// Configuration forms generated from the catalog's field specs
// ({name, label, type, required, help, default, options, widget, depends_on, fields}),
// and the safe merge-field preview. (The one-line summaries of configs come from the
// server: see canvas/summaries.js.) Everything renders through Vue text interpolation:
// user strings are never HTML.
(function () {
  "use strict";
  const Vue = window.Vue;
  const { ScIcon } = window.Stagecraft;

  const SAMPLE = {
    "contact.first_name": "Jane", "contact.last_name": "Doe", "contact.email": "jane.doe@example.com",
    "opportunity.title": "Website redesign", "opportunity.value": "12,500", "opportunity.stage": "Proposed",
    "owner.name": "Sam Seller", "owner.email": "sam@example.com",
  };
  const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

  // Replace {{merge.fields}} with sample values; unknown ones stay visible as typed.
  function preview(text) {
    return String(text || "").replace(/\{\{\s*([\w.<>-]+)\s*\}\}/g, (m, name) => {
      if (name in SAMPLE) return SAMPLE[name];
      if (name.startsWith("contact.fields.")) return `‹${name.slice(15)}›`;
      return m;
    });
  }

  const isEmpty = (v) => v === undefined || v === null || v === "" || (Array.isArray(v) && !v.length);

  // Config defaults worth storing up front (selects and counters), not required inputs.
  function defaults(fields) {
    const out = {};
    for (const f of fields || []) {
      if (f.default !== null && f.default !== undefined && f.type !== "window" && f.type !== "object") out[f.name] = JSON.parse(JSON.stringify(f.default));
      if (f.type === "object" && f.default && typeof f.default === "object" && !Array.isArray(f.default) && f.widget !== "weekday_set") out[f.name] = JSON.parse(JSON.stringify(f.default));
    }
    return out;
  }

  // --- one field ---------------------------------------------------------------------
  const ScField = {
    name: "ScField",
    components: { ScIcon },
    inject: ["canvas"],
    props: { spec: { type: Object, required: true }, config: { type: Object, required: true },
             siblings: { type: Array, default: () => [] }, idPrefix: { type: String, default: "f" }, readOnly: Boolean },
    emits: ["input", "commit"],
    data() { return { jsonText: null, jsonError: "", otherForm: false }; },
    computed: {
      value() { return this.config[this.spec.name]; },
      inputId() { return `${this.idPrefix}-${this.spec.name}`; },
      lookups() { return this.canvas.lookups; },
      mergeFields() { return (this.canvas.catalog.merge_fields || []); },
      isMerge() { return this.spec.widget === "merge_text"; },
      kind() {
        const t = this.spec.type;
        if (this.spec.widget === "weekday_set") return "weekdays";
        return t;
      },
      pipelineChoices() { return this.lookups.pipelines || []; },
      stageGroups() {
        const dep = this.spec.depends_on;
        const pid = dep ? this.config[dep] : null;
        const all = this.lookups.pipelines || [];
        const list = isEmpty(pid) ? all : all.filter((p) => p.id === Number(pid));
        return list.map((p) => ({ id: p.id, name: p.name, stages: [...(p.stages || [])].sort((a, b) => a.number - b.number) }));
      },
      userChoices() { return this.lookups.users || []; },
      tagListId() { return `${this.inputId}-tags`; },
      linkListId() { return `${this.inputId}-links`; },
      formChoices() { return this.lookups.forms || []; },
      knownForm() { return this.formChoices.some((f) => f.slug === this.value); },
      formChoice() {
        if (this.otherForm || (this.value && !this.knownForm)) return "__other__";
        return this.value ?? "";
      },
      linkChoices() { return this.lookups.links || []; },
      linkHelp() {
        return this.linkChoices.length ? "Pick one of the links in this campaign’s emails, or type an address."
          : "No links in this campaign’s emails yet: type an address.";
      },
      objectText() {
        if (this.jsonText !== null) return this.jsonText;
        const v = this.value;
        if (v === undefined || v === null) return "";
        return typeof v === "string" ? v : JSON.stringify(v, null, 2);
      },
    },
    methods: {
      set(v, commit) {
        if (isEmpty(v)) delete this.config[this.spec.name];
        else this.config[this.spec.name] = v;
        this.$emit("input");
        if (commit) this.$emit("commit");
      },
      onNumber(ev, commit) {
        const raw = ev.target.value;
        if (raw === "") return this.set(null, commit);
        const n = this.spec.type === "integer" ? parseInt(raw, 10) : parseFloat(raw);
        if (!Number.isNaN(n)) this.set(n, commit);
      },
      onSelect(ev) {
        const raw = ev.target.value;
        const opt = (this.spec.options || []).find((o) => String(o.value) === raw);
        let v = opt ? opt.value : raw;
        if (!opt && raw !== "" && /^\d+$/.test(raw) && ["pipeline", "stage", "user", "assignee"].includes(this.spec.type)) v = Number(raw);
        if (this.spec.type === "pipeline") {
          // A stage chosen for another pipeline no longer fits.
          for (const sib of this.siblings) {
            if (sib.depends_on === this.spec.name && !isEmpty(this.config[sib.name])) {
              const p = (this.lookups.pipelines || []).find((x) => x.id === Number(v));
              if (p && !(p.stages || []).some((s) => s.id === Number(this.config[sib.name]))) delete this.config[sib.name];
            }
          }
        }
        this.set(v === "" ? null : v, true);
      },
      onFormChoice(ev) {
        const raw = ev.target.value;
        this.otherForm = raw === "__other__";
        if (this.otherForm) { if (this.knownForm) this.set(null, true); return; }
        this.set(raw || null, true);
      },
      toggleWindow(ev) {
        if (ev.target.checked) {
          const w = {};
          for (const f of this.spec.fields || []) if (f.default !== null && f.default !== undefined) w[f.name] = JSON.parse(JSON.stringify(f.default));
          this.config[this.spec.name] = w;
        } else delete this.config[this.spec.name];
        this.$emit("input");
        this.$emit("commit");
      },
      toggleDay(d) {
        const cur = Array.isArray(this.value) ? [...this.value] : [];
        const i = cur.indexOf(d);
        if (i >= 0) cur.splice(i, 1); else cur.push(d);
        cur.sort((a, b) => a - b);
        this.config[this.spec.name] = cur;
        this.$emit("input");
        this.$emit("commit");
      },
      onObject(ev, commit) {
        const raw = ev.target.value;
        this.jsonText = raw;
        if (!commit) return;
        this.jsonError = "";
        if (raw.trim() === "") { this.jsonText = null; return this.set(null, true); }
        try {
          const v = JSON.parse(raw);
          this.jsonText = null;
          this.set(v, true);
        } catch (_e) {
          if (this.spec.name === "value") { this.jsonText = null; this.set(raw, true); }  // set_field: plain text is a string
          else this.jsonError = "Not valid JSON; the previous value is kept.";
        }
      },
      insertMerge(ev) {
        const name = ev.target.value;
        ev.target.value = "";
        if (!name) return;
        const field = this.mergeFields.find((m) => m.name === name);
        const token = field ? field.placeholder : `{{${name}}}`;
        const input = this.$refs.input;
        const cur = String(this.value || "");
        const at = input && typeof input.selectionStart === "number" ? input.selectionStart : cur.length;
        const end = input && typeof input.selectionEnd === "number" ? input.selectionEnd : at;
        this.set(cur.slice(0, at) + token + cur.slice(end), true);
        this.$nextTick(() => { if (input) { input.focus(); input.setSelectionRange(at + token.length, at + token.length); } });
      },
    },
    template: `
      <div class="sc-field" :class="'sc-field-' + kind" :data-field="spec.name">
        <template v-if="kind === 'boolean'">
          <label class="sc-check"><input type="checkbox" :checked="!!value" :disabled="readOnly"
                 @change="set($event.target.checked ? true : false, true)"> {{ spec.label }}</label>
        </template>
        <template v-else-if="kind === 'window'">
          <label class="sc-check"><input type="checkbox" :checked="!!value" :disabled="readOnly" @change="toggleWindow">
            {{ spec.label }}…</label>
          <div v-if="value" class="sc-subform">
            <sc-config-form :fields="spec.fields || []" :config="value" :id-prefix="inputId" :read-only="readOnly"
                            @input="$emit('input')" @commit="$emit('commit')" />
          </div>
        </template>
        <template v-else>
          <label class="sc-label" :for="inputId">{{ spec.label }}<span v-if="spec.required" class="sc-req" title="Required">*</span></label>
          <select v-if="kind === 'pipeline'" :id="inputId" :value="value ?? ''" :disabled="readOnly" @change="onSelect">
            <option value="">{{ spec.required ? 'Choose a pipeline…' : 'Any pipeline' }}</option>
            <option v-for="p in pipelineChoices" :key="p.id" :value="p.id">{{ p.name }}</option>
          </select>
          <select v-else-if="kind === 'stage'" :id="inputId" :value="value ?? ''" :disabled="readOnly" @change="onSelect">
            <option value="">Choose a stage…</option>
            <optgroup v-for="g in stageGroups" :key="g.id" :label="g.name">
              <option v-for="s in g.stages" :key="s.id" :value="s.id">{{ s.name }}</option>
            </optgroup>
          </select>
          <select v-else-if="kind === 'user' || kind === 'assignee'" :id="inputId" :value="value ?? spec.default ?? ''" :disabled="readOnly" @change="onSelect">
            <option v-if="!spec.default" value="">Choose a user…</option>
            <option v-for="o in spec.options" :key="'o' + o.value" :value="o.value">{{ o.label }}</option>
            <optgroup label="Users">
              <option v-for="u in userChoices" :key="u.id" :value="u.id">{{ u.name }}</option>
            </optgroup>
          </select>
          <select v-else-if="kind === 'select'" :id="inputId" :value="value ?? spec.default ?? ''" :disabled="readOnly" @change="onSelect">
            <option v-if="spec.default === null" value="">Choose…</option>
            <option v-for="o in spec.options" :key="o.value" :value="o.value">{{ o.label }}</option>
          </select>
          <template v-else-if="kind === 'tag'">
            <input :id="inputId" type="text" :value="value ?? ''" :list="tagListId" :disabled="readOnly" autocomplete="off"
                   placeholder="Tag name" @input="set($event.target.value)" @change="set($event.target.value.trim(), true)">
            <datalist :id="tagListId"><option v-for="t in lookups.tags || []" :key="t" :value="t"></option></datalist>
          </template>
          <template v-else-if="kind === 'form'">
            <select :id="inputId" :value="formChoice" :disabled="readOnly" @change="onFormChoice">
              <option value="">Choose a form…</option>
              <option v-for="f in formChoices" :key="f.slug" :value="f.slug">{{ f.name }}</option>
              <option value="__other__">A form reported by the API…</option>
            </select>
            <template v-if="formChoice === '__other__'">
              <label class="sc-label" :for="inputId + '-other'">Form name reported by the API</label>
              <input :id="inputId + '-other'" type="text" :value="knownForm ? '' : (value ?? '')" :disabled="readOnly"
                     autocomplete="off" @input="set($event.target.value)" @change="set($event.target.value.trim(), true)">
            </template>
            <p v-if="!formChoices.length" class="sc-help">No hosted forms yet: build one under Forms.</p>
          </template>
          <template v-else-if="kind === 'link'">
            <input :id="inputId" type="text" :value="value ?? ''" :list="linkListId" :disabled="readOnly" autocomplete="off"
                   placeholder="https://…" @focus="canvas.refreshLinks && canvas.refreshLinks()"
                   @input="set($event.target.value)" @change="set($event.target.value.trim(), true)">
            <datalist :id="linkListId"><option v-for="l in linkChoices" :key="l.url" :value="l.url">{{ l.steps.map((s) => s.subject).join(', ') }}</option></datalist>
            <p class="sc-help">{{ linkHelp }}</p>
          </template>
          <input v-else-if="kind === 'integer' || kind === 'number'" :id="inputId" type="number" :value="value ?? ''"
                 :step="kind === 'integer' ? 1 : 'any'" :disabled="readOnly" @input="onNumber($event, false)" @change="onNumber($event, true)">
          <input v-else-if="kind === 'datetime' || kind === 'date'" :id="inputId" :type="kind === 'date' ? 'date' : 'datetime-local'"
                 :value="value ?? ''" :disabled="readOnly" @change="set($event.target.value, true)">
          <div v-else-if="kind === 'weekdays'" class="sc-weekdays" role="group" :aria-label="spec.label">
            <button v-for="(d, i) in weekdays" :key="i" type="button" :disabled="readOnly"
                    :class="{ on: (value || []).includes(i) }" :aria-pressed="(value || []).includes(i) ? 'true' : 'false'"
                    @click="toggleDay(i)">{{ d }}</button>
          </div>
          <template v-else-if="kind === 'object'">
            <textarea :id="inputId" rows="3" class="sc-mono" :value="objectText" :disabled="readOnly"
                      @input="onObject($event, false)" @change="onObject($event, true)"></textarea>
            <p v-if="jsonError" class="sc-field-error">{{ jsonError }}</p>
          </template>
          <textarea v-else-if="kind === 'text'" :id="inputId" ref="input" rows="5" :value="value ?? ''" :disabled="readOnly"
                    @input="set($event.target.value)" @change="set($event.target.value, true)"></textarea>
          <input v-else :id="inputId" ref="input" type="text" :value="value ?? ''" :disabled="readOnly"
                 @input="set($event.target.value)" @change="set($event.target.value, true)">
          <select v-if="isMerge && !readOnly" class="sc-merge-picker" :aria-label="'Insert merge field into ' + spec.label" @change="insertMerge">
            <option value="">+ Merge field</option>
            <option v-for="m in mergeFields" :key="m.name" :value="m.name">{{ m.label }}</option>
          </select>
          <p v-if="spec.help" class="sc-help">{{ spec.help }}</p>
        </template>
      </div>`,
    setup() { return { weekdays: WEEKDAYS }; },
  };

  // --- a whole form ------------------------------------------------------------------
  const ScConfigForm = {
    name: "ScConfigForm",
    components: { ScField },
    props: { fields: { type: Array, required: true }, config: { type: Object, required: true },
             idPrefix: { type: String, default: "f" }, readOnly: Boolean },
    emits: ["input", "commit"],
    template: `
      <div class="sc-form">
        <sc-field v-for="f in fields" :key="f.name" :spec="f" :config="config" :siblings="fields"
                  :id-prefix="idPrefix" :read-only="readOnly" @input="$emit('input')" @commit="$emit('commit')" />
      </div>`,
  };
  ScField.components.ScConfigForm = ScConfigForm;

  // Safe preview of a step's merge texts (text only, merge fields filled with samples).
  const ScPreview = {
    name: "ScPreview",
    props: { type: String, config: Object },
    computed: {
      isEmail() { return this.type === "send_email"; },
      subject() { return preview(this.config.subject); },
      body() { return preview(this.config.body || this.config.description || this.config.message || this.config.title); },
    },
    template: `
      <div class="sc-preview" aria-label="Preview with sample contact">
        <div class="sc-preview-head">Preview · sample contact Jane Doe</div>
        <div v-if="isEmail" class="sc-preview-subject">{{ subject || '(no subject)' }}</div>
        <div class="sc-preview-body">{{ body }}</div>
      </div>`,
  };

  window.Stagecraft = Object.assign(window.Stagecraft || {}, {
    forms: { ScConfigForm, ScField, ScPreview, preview, defaults, SAMPLE, isEmpty },
  });
})();
