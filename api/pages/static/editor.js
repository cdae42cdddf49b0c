// The policy editor: a guided form and the YAML text, kept in sync both ways through the
// server (which reads and writes the document with the rule language's own parser and
// printer), checked live in both views; clause proposals; save, simulate, submit; history.
"use strict";

(() => {
  const editor = document.getElementById("editor");
  if (!editor) return;
  const textEl = document.getElementById("policy-text");
  const gutter = document.getElementById("gutter");
  const guided = document.getElementById("guided");
  const canEdit = editor.dataset.canEdit === "true";
  const tz = editor.dataset.tz || "Asia/Shanghai";
  const LINE_H = 18;
  const TYPE_WORDS = { int: "整数", float: "数值", str: "文本", date: "日期", bool: "是/否" };
  const KIND_WORDS = { base: "", derived: "派生", declared: "申请人申报" };
  const GROUP_WORDS = { all: "全部满足", any: "满足其一", not: "不满足" };
  let state = { form: null, text: textEl.value, problems: [], valid: false, policy: null };
  let edits = 0;
  let timer = null;
  let proposals = [];
  const clause = { text: "", ref: "" }; // the pasted clause survives re-rendering
  const vocabularies = {};

  // ---- helpers ----------------------------------------------------------------------

  const vocab = async (entity) => {
    if (!vocabularies[entity]) {
      vocabularies[entity] = await api("GET", `/api/editor/vocabulary?entity=${entity}`);
    }
    return vocabularies[entity];
  };
  const fieldOf = (v, name) => v.fields.find((f) => f.name === name);
  const opsFor = (v, f) => (f ? v.operators[f.type] || [] : []);
  const get = (obj, path) => path.split(".").reduce((o, k) => (o == null ? o : o[k]), obj);
  function set(obj, path, value) {
    const keys = path.split(".");
    const last = keys.pop();
    const target = keys.reduce((o, k) => o[k], obj);
    target[last] = value;
  }
  const attr = (s) => esc(s === null || s === undefined ? "" : s);
  const fmt = (iso) => (iso ? new Date(iso).toLocaleString("zh-CN", {
    timeZone: tz, hour12: false, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit" }).replace(/\//g, "-") : "—");

  // ---- the text view ----------------------------------------------------------------

  function drawGutter() {
    const lines = textEl.value.split("\n").length;
    const bad = new Map();
    state.problems.forEach((p) => bad.set(p.line, [...(bad.get(p.line) || []), p.message]));
    let html = "";
    for (let i = 1; i <= lines; i++) {
      const m = bad.get(i);
      html += m ? `<div class="ln bad" title="${attr(m.join("\n"))}"><span class="mark">●</span>${i}</div>`
        : `<div class="ln">${i}</div>`;
    }
    gutter.innerHTML = html;
    gutter.scrollTop = textEl.scrollTop;
  }

  function gotoLine(line, column) {
    const lines = textEl.value.split("\n");
    let pos = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) pos += lines[i].length + 1;
    textEl.focus();
    textEl.setSelectionRange(pos + Math.max(0, column - 1), pos + (lines[line - 1] || "").length);
    textEl.scrollTop = Math.max(0, (line - 4) * LINE_H);
  }

  function drawValidation() {
    const out = document.getElementById("validation");
    if (state.valid) {
      out.innerHTML = `<span class="ok">✓ 检查通过：${esc(state.policy.title)}`
        + `（${state.policy.conditions.length} 个条件）</span>`;
      return;
    }
    out.innerHTML = state.problems.map((p) => `<div class="problem">`
      + `<a href="#" data-line="${p.line}" data-column="${p.column}">第 ${p.line} 行第 ${p.column} 列</a> `
      + `[${esc(p.code)}] ${esc(p.message)}${p.suggestion ? "；是否应为 " + esc(p.suggestion) : ""}</div>`)
      .join("");
    out.querySelectorAll("a[data-line]").forEach((a) => a.addEventListener("click", (ev) => {
      ev.preventDefault();
      gotoLine(Number(a.dataset.line), Number(a.dataset.column));
    }));
  }

  textEl.addEventListener("scroll", () => { gutter.scrollTop = textEl.scrollTop; });
  textEl.addEventListener("input", () => {
    edits += 1;
    drawGutter();
    clearTimeout(timer);
    timer = setTimeout(fromText, 400);
  });

  // ---- sync -------------------------------------------------------------------------

  async function apply(request) {
    const sent = edits;
    let r;
    try { r = await request(); } catch (e) { flash(e.message, true); return; }
    if (sent !== edits) return; // edited since: a newer sync follows
    state = r;
    if (textEl.value !== r.text) {
      const top = textEl.scrollTop;
      textEl.value = r.text;
      textEl.scrollTop = top;
    }
    drawGutter();
    drawValidation();
    await renderGuided();
  }
  const fromText = () => apply(() => api("POST", "/api/editor/from-text", { yaml: textEl.value }));
  const fromForm = () => apply(() => api("POST", "/api/editor/from-form",
    { form: state.form, base: state.text }));

  function changed({ now = false, redraw = false } = {}) {
    edits += 1;
    if (redraw) renderGuided();
    clearTimeout(timer);
    timer = setTimeout(fromForm, now ? 10 : 450);
  }

  // ---- the guided view --------------------------------------------------------------

  const input = (path, value, extra = "") =>
    `<input data-bind="${path}" value="${attr(value)}" ${extra}>`;
  const select = (path, value, options, extra = "") => `<select data-bind="${path}" ${extra}>`
    + options.map(([v, t]) => `<option value="${attr(v)}"${String(v) === String(value ?? "") ? " selected" : ""}>${esc(t)}</option>`).join("")
    + "</select>";

  function fieldSelect(v, path, value) {
    const groups = {};
    v.fields.forEach((f) => {
      const g = f.kind === "base" ? (f.source || "其他") : KIND_WORDS[f.kind];
      (groups[g] = groups[g] || []).push(f);
    });
    return `<select data-bind="${path}" data-redraw="field" class="field">`
      + Object.entries(groups).map(([g, fs]) => `<optgroup label="${attr(g)}">`
        + fs.map((f) => `<option value="${f.name}"${f.name === value ? " selected" : ""}>${esc(f.label)}</option>`).join("")
        + "</optgroup>").join("") + "</select>";
  }

  function valueWidget(v, f, row, path) {
    if (!f || ["true", "false", "is empty", "is known"].includes(row.op)) return "";
    const multi = row.op === "in" || row.op === "not in";
    if (f.values && multi) {
      const chosen = row.value.split(/[、,，]/).map((s) => s.trim());
      return `<span class="checks" data-multi="${path}.value">` + f.values.map((x) =>
        `<label class="inline"><input type="checkbox" value="${attr(x)}"${chosen.includes(x) ? " checked" : ""}> ${esc(x)}</label>`).join("")
        + "</span>";
    }
    if (f.values) return select(`${path}.value`, row.value, [["", "请选择"], ...f.values.map((x) => [x, x])]);
    if (f.type === "date") return input(`${path}.value`, row.value, 'type="date" class="value"');
    const list = f.format === "region_code" ? "dl-regions" : f.format === "industry_code" ? "dl-sets" : "";
    const hint = multi ? "多个值用、分隔" : f.format === "region_code" ? "如 广州市" : "如 300万、5.5%";
    return input(`${path}.value`, row.value, `class="value" placeholder="${hint}"${list ? ` list="${list}"` : ""}`)
      + (f.unit_word && !multi ? `<span class="unit">${esc(f.unit_word)}</span>` : "");
  }

  function rowHtml(v, row, path, rpath) {
    const f = fieldOf(v, row.field);
    let body;
    if (row.structured && f) {
      const hint = [TYPE_WORDS[f.type], f.unit_word, f.source || KIND_WORDS[f.kind],
        f.empty === "not_listed" ? "名单型(空=未列入)" : ""].filter(Boolean).join(" · ");
      body = `<div class="cond">${fieldSelect(v, `${path}.field`, row.field)}`
        + select(`${path}.op`, row.op, opsFor(v, f).map((o) => [o.op, o.word]), 'data-redraw="op" class="op"')
        + valueWidget(v, f, row, path) + `</div><div class="hint muted">${esc(hint)}</div>`;
    } else {
      body = `<div class="cond"><span class="muted">表达式</span> ${input(`${path}.when`, row.when, 'class="expr"')}</div>`;
    }
    return `<div class="row" data-row="${rpath}">${body}<div class="meta">`
      + `<label>说明 ${input(`${path}.label`, row.label, 'class="label" placeholder="留空则自动生成"')}</label>`
      + `<label>条款 ${input(`${path}.clause`, row.clause, 'class="clause" placeholder="如 第五条"')}</label>`
      + (row.structured ? `<button type="button" class="link-btn" data-act="expr" data-path="${path}">改为表达式</button>` : "")
      + `<button type="button" class="link-btn danger" data-act="del" data-path="${path}">删除</button>`
      + `</div><div class="row-problems"></div></div>`;
  }

  function groupHtml(v, g, path, rpath, top) {
    const kinds = Object.entries(GROUP_WORDS).map(([k, w]) => [k, w]);
    const items = g.items.map((item, i) => {
      const p = `${path}.items.${i}`;
      const rp = rpath === "" ? String(i) : `${rpath}.${i}`;
      return item.type === "group" ? groupHtml(v, item, p, rp, false) : rowHtml(v, item, p, rp);
    }).join("");
    return `<div class="group${top ? " top" : ""}" data-row="${rpath}"><div class="group-head">`
      + select(`${path}.kind`, g.kind, kinds, 'data-redraw="kind"')
      + ` ${input(`${path}.label`, g.label, 'placeholder="分组说明(可选)" class="label"')}`
      + (top ? "" : `<button type="button" class="link-btn danger" data-act="del" data-path="${path}">删除分组</button>`)
      + `</div><div class="items">${items}</div><div class="group-actions">`
      + (g.kind === "not" && g.items.length >= 1 ? "" :
        `<button type="button" class="small" data-act="add-row" data-path="${path}">＋ 条件</button>`
        + ` <button type="button" class="small secondary" data-act="add-group" data-path="${path}">＋ 分组</button>`)
      + `</div><div class="row-problems"></div></div>`;
  }

  function amountHtml(v, a) {
    const kind = a ? a.kind : "";
    let body = "";
    if (a && kind === "formula") {
      body = `<label>公式 ${input("amount.formula", a.formula, 'class="expr" placeholder="如 1500 * graduate_hires"')}</label>`;
    } else if (a && kind === "tiers") {
      body = `<label>分档依据 ${input("amount.by", a.by, 'class="expr" placeholder="如 age"')}</label>`
        + `<table class="grid compact tiers"><thead><tr><th>起点(≥)</th><th>金额</th><th></th></tr></thead><tbody>`
        + a.tiers.map((t, i) => `<tr><td>${input(`amount.tiers.${i}.from`, t.from)}</td>`
          + `<td>${input(`amount.tiers.${i}.value`, t.value)}</td>`
          + `<td><button type="button" class="link-btn danger" data-act="del" data-path="amount.tiers.${i}">删除</button></td></tr>`).join("")
        + `</tbody></table><button type="button" class="small" data-act="add-tier">＋ 档次</button>`;
    } else if (a && kind === "cases") {
      body = `<table class="grid compact"><thead><tr><th>情形(条件)</th><th>金额</th><th></th></tr></thead><tbody>`
        + a.cases.map((c, i) => `<tr><td>${c.when === null ? "其他情形" : input(`amount.cases.${i}.when`, c.when, 'class="expr"')}</td>`
          + `<td>${input(`amount.cases.${i}.value`, c.value)}</td>`
          + `<td><button type="button" class="link-btn danger" data-act="del" data-path="amount.cases.${i}">删除</button></td></tr>`).join("")
        + `</tbody></table><button type="button" class="small" data-act="add-case">＋ 情形</button>`;
    }
    const periods = Object.entries(v.periods);
    return `<fieldset data-key="amount"><legend>金额</legend>`
      + `<label>计算方式 <select data-act="amount-kind">${[["", "无金额"], ["formula", "公式"], ["tiers", "分档表"], ["cases", "分情形"]]
        .map(([k, w]) => `<option value="${k}"${k === kind ? " selected" : ""}>${w}</option>`).join("")}</select></label>`
      + (a ? `${body}<div class="cols"><label>周期 ${select("amount.period", a.period, periods)}</label>`
        + `<label>说明 ${input("amount.label", a.label, 'placeholder="如 每人补助1500元"')}</label></div>` : "")
      + `<div class="row-problems"></div></fieldset>`;
  }

  function parametersHtml(f) {
    return `<fieldset data-key="parameters"><legend>参数（按日期生效的取值）</legend>`
      + f.parameters.map((p, i) => `<div class="param"><label>名称 ${input(`parameters.${i}.name`, p.name)}</label>`
        + p.values.map((d, j) => `<label>自 ${input(`parameters.${i}.values.${j}.since`, d.since, 'type="date"')}</label>`
          + `<label>取值 ${input(`parameters.${i}.values.${j}.value`, d.value, 'placeholder="如 20%"')}</label>`).join("")
        + `<button type="button" class="small secondary" data-act="add-dated" data-path="parameters.${i}">＋ 新取值</button>`
        + `<button type="button" class="link-btn danger" data-act="del" data-path="parameters.${i}">删除</button></div>`).join("")
      + `<button type="button" class="small" data-act="add-param">＋ 参数</button><div class="row-problems"></div></fieldset>`;
  }

  function declaredHtml(f) {
    const types = [["bool", "是/否"], ["int", "整数"], ["float", "数值"], ["str", "文本"]];
    return `<fieldset data-key="declared"><legend>申请人申报的条件（数据中没有，预填申请表向申请人询问）</legend>`
      + (f.declared || []).map((d, i) => `<div class="param"><label>名称 ${input(`declared.${i}.name`, d.name, 'placeholder="如 no_major_accident"')}</label>`
        + `<label>中文标签 ${input(`declared.${i}.label`, d.label, 'placeholder="如 近一年无重大安全事故"')}</label>`
        + `<label>类型 ${select(`declared.${i}.type`, d.type, types)}</label>`
        + `<label>条款原文 ${input(`declared.${i}.clause`, d.clause)}</label>`
        + `<button type="button" class="link-btn danger" data-act="del" data-path="declared.${i}">删除</button></div>`).join("")
      + `<button type="button" class="small" data-act="add-declared">＋ 申报条件</button><div class="row-problems"></div></fieldset>`;
  }

  function limitsHtml(f) {
    const e = f.exclusivity, b = f.budget;
    return `<fieldset data-key="exclusivity"><legend>互斥与预算</legend>`
      + `<label class="inline"><input type="checkbox" data-act="toggle-excl"${e ? " checked" : ""}> 同一事项不得重复享受（互斥组）</label>`
      + (e ? `<div class="cols"><label>互斥组 ${input("exclusivity.group", e.group)}</label>`
        + `<label>优先级 ${input("exclusivity.priority", e.priority, 'type="number" data-number="1"')}</label></div>` : "")
      + `<label class="inline"><input type="checkbox" data-act="toggle-budget"${b ? " checked" : ""}> 设预算上限</label>`
      + (b ? `<div class="cols"><label>总额 ${input("budget.total", b.total, 'placeholder="如 5000万"')}</label>`
        + `<label>分配 ${select("budget.allocation", b.allocation, [["ordered", "按顺序"], ["pro_rata", "按比例"]])}</label>`
        + `<label>顺序 <input data-list="budget.order" value="${attr(b.order.join("、"))}" placeholder="如 little_giant_on、-employees"></label></div>` : "")
      + `<div class="row-problems"></div></fieldset>`;
  }

  function proposalsHtml() {
    return `<fieldset class="proposals"><legend>从条款原文生成条件</legend>`
      + `<textarea id="clause-text" rows="3" placeholder="粘贴政策条款原文，如：年应纳税所得额不超过300万元、从业人数不超过300人、资产总额不超过5000万元">${esc(clause.text)}</textarea>`
      + `<div class="cols"><label>条款编号 <input id="clause-ref" placeholder="如 第五条" value="${attr(clause.ref)}"></label>`
      + `<button type="button" id="propose">生成条件草案</button>`
      + `<button type="button" id="accept-all" class="secondary"${proposals.length ? "" : " hidden"}>全部采纳</button></div>`
      + `<div id="proposal-list">${proposals.map((p, i) => `<div class="proposal${p.accepted ? " accepted" : ""}" data-i="${i}">`
        + `<b>${esc(p.field_label)}</b> ${esc(p.op_word)} <input class="pvalue" data-i="${i}" value="${attr(p.row.value)}"${p.row.structured ? "" : " disabled"}>`
        + ` <code>${esc(p.when)}</code> <span class="muted">「${esc(p.label)}」</span> `
        + (p.accepted ? `<span class="ok">已采纳</span>` : `<button type="button" class="small" data-accept="${i}">采纳</button>`)
        + `</div>`).join("")}</div></fieldset>`;
  }

  async function renderGuided() {
    const box = document.getElementById("guided-error");
    if (!state.form) {
      box.hidden = false;
      box.textContent = state.form_error || "文本无法读成政策文档";
      guided.classList.add("disabled");
      return;
    }
    box.hidden = !state.form_error;
    box.textContent = state.form_error || "";
    guided.classList.toggle("disabled", Boolean(state.form_error));
    const f = state.form;
    const v = await vocab(f.entity === "person" ? "person" : "enterprise");
    const focus = document.activeElement;
    const focusKey = focus && guided.contains(focus) ? (focus.dataset.bind || focus.id) : null;
    const caret = focusKey && focus.selectionStart !== undefined ? focus.selectionStart : null;
    guided.innerHTML = `<fieldset data-key="id"><legend>基本信息</legend><div class="cols">`
      + `<label>政策编号 ${input("id", f.id, 'placeholder="如 gz-new-subsidy"')}</label>`
      + `<label>名称 ${input("title", f.title)}</label>`
      + `<label>对象 ${select("entity", f.entity, [["enterprise", "企业"], ["person", "个人"]], 'data-redraw="entity"')}</label>`
      + `<label>兑现方式 ${select("delivery", f.delivery, Object.entries(v.deliveries))}</label></div><div class="cols">`
      + `<label>文号 ${input("basis.document", f.basis.document, 'placeholder="如 财政部 税务总局公告2023年第12号"')}</label>`
      + `<label>条款 ${input("basis.clause", f.basis.clause)}</label>`
      + `<label>原文链接 ${input("basis.url", f.basis.url)}</label></div><div class="cols">`
      + `<label>生效日期 ${input("effective.from", f.effective.from, 'type="date"')}</label>`
      + `<label>截止日期 ${input("effective.to", f.effective.to, 'type="date"')}</label>`
      + `<label>说明 ${input("description", f.description)}</label></div><div class="row-problems"></div></fieldset>`
      + proposalsHtml()
      + `<fieldset data-key="eligibility"><legend>条件</legend>${groupHtml(v, f.eligibility, "eligibility", "", true)}</fieldset>`
      + amountHtml(v, f.amount) + parametersHtml(f) + declaredHtml(f) + limitsHtml(f)
      + (f.other_keys.length ? `<p class="muted">其他设置（请在文本视图中编辑）：${esc(f.other_keys.join("、"))}</p>` : "")
      + `<datalist id="dl-regions">${v.regions.map((r) => `<option value="${attr(r)}">`).join("")}</datalist>`
      + `<datalist id="dl-sets">${v.sets.map((s) => `<option value="${attr(s.name)}">${esc(s.label)}</option>`).join("")}</datalist>`;
    markProblems();
    if (focusKey) {
      const el = guided.querySelector(`[data-bind="${focusKey}"]`) || document.getElementById(focusKey);
      if (el) {
        el.focus();
        if (caret !== null && el.setSelectionRange && el.type !== "date" && el.type !== "number") {
          try { el.setSelectionRange(caret, caret); } catch (e) { /* not a text input */ }
        }
      }
    }
  }

  function markProblems() {
    guided.querySelectorAll(".has-problem").forEach((el) => el.classList.remove("has-problem"));
    guided.querySelectorAll(".row-problems").forEach((el) => { el.innerHTML = ""; });
    state.problems.forEach((p) => {
      if (!p.target) return;
      const [kind, where] = [p.target.slice(0, p.target.indexOf(":")), p.target.slice(p.target.indexOf(":") + 1)];
      const el = kind === "row" ? guided.querySelector(`[data-row="${where}"]`)
        : guided.querySelector(`[data-key="${where}"]`) || guided.querySelector('[data-key="id"]');
      if (!el) return;
      el.classList.add("has-problem");
      const box = el.querySelector(":scope > .row-problems");
      if (box) box.innerHTML += `<div class="problem">第 ${p.line} 行：${esc(p.message)}</div>`;
    });
  }

  // ---- guided edits -----------------------------------------------------------------

  const newRow = (v) => {
    const f = v.fields.find((x) => x.name === "status") || v.fields[0];
    const op = opsFor(v, f)[0].op;
    return { type: "condition", structured: true, field: f.name, op, value: "", label: "",
             clause: null, when: "", id: null };
  };

  guided.addEventListener("input", (ev) => {
    const el = ev.target;
    if (el.id === "clause-text" || el.id === "clause-ref") {
      clause[el.id === "clause-text" ? "text" : "ref"] = el.value;
    } else if (el.dataset.bind && el.tagName !== "SELECT" && el.type !== "checkbox") {
      const path = el.dataset.bind;
      if (path.endsWith(".value") && path.startsWith("eligibility")) {
        const row = get(state.form, path.slice(0, path.lastIndexOf(".")));
        if (row.label === row.default_label) row.label = "";  // the written label follows
      }
      set(state.form, path, el.dataset.number ? Number(el.value) : el.value);
      changed();
    } else if (el.dataset.list) {
      set(state.form, el.dataset.list, el.value.split(/[、,，\s]+/).filter(Boolean));
      changed();
    }
  });

  guided.addEventListener("change", async (ev) => {
    const el = ev.target;
    const v = await vocab(state.form.entity === "person" ? "person" : "enterprise");
    if (el.tagName === "SELECT" && el.dataset.bind) {
      const path = el.dataset.bind;
      const base = path.slice(0, path.lastIndexOf("."));
      const row = get(state.form, base);
      if (el.dataset.redraw === "field") {
        const f = fieldOf(v, el.value);
        if (row.label === row.default_label) row.label = "";
        row.field = el.value;
        row.op = opsFor(v, f)[0].op;
        row.value = "";
      } else if (el.dataset.redraw === "op") {
        if (row.label === row.default_label) row.label = "";
        row.op = el.value;
        if (!["in", "not in"].includes(el.value)) row.value = row.value.split(/[、,，]/)[0] || "";
      } else if (el.dataset.redraw === "kind") {
        set(state.form, path, el.value);
        if (el.value === "not") row.items = row.items.slice(0, 1);
      } else if (el.dataset.redraw === "entity") {
        set(state.form, path, el.value);
        const nv = await vocab(el.value);
        state.form.eligibility = { type: "group", kind: "all", items: [newRow(nv)], label: null, clause: null };
      } else {
        set(state.form, path, el.value);
      }
      if (path.endsWith(".value") && row && row.label === row.default_label) row.label = "";
      changed({ now: true, redraw: true });
    } else if (el.type === "checkbox" && el.closest("[data-multi]")) {
      const holder = el.closest("[data-multi]");
      const values = [...holder.querySelectorAll("input:checked")].map((c) => c.value);
      const path = holder.dataset.multi;
      const row = get(state.form, path.slice(0, path.lastIndexOf(".")));
      if (row.label === row.default_label) row.label = "";
      set(state.form, path, values.join("、"));
      changed({ now: true });
    } else if (el.dataset.act === "amount-kind") {
      const kind = el.value;
      const old = state.form.amount;
      state.form.amount = kind ? { kind, formula: old ? old.formula : "", by: old ? old.by : "",
        tiers: old && old.tiers.length ? old.tiers : [{ from: "", value: "" }],
        cases: old && old.cases.length ? old.cases : [{ when: "", value: "" }, { when: null, value: "" }],
        period: old ? old.period : "once", label: old ? old.label : null } : null;
      changed({ now: true, redraw: true });
    } else if (el.dataset.act === "toggle-excl") {
      state.form.exclusivity = el.checked ? { group: "", priority: 0 } : null;
      changed({ now: true, redraw: true });
    } else if (el.dataset.act === "toggle-budget") {
      state.form.budget = el.checked ? { total: "", allocation: "ordered", order: [] } : null;
      changed({ now: true, redraw: true });
    } else if (el.dataset.bind && el.type === "date") {
      set(state.form, el.dataset.bind, el.value);
      changed({ now: true });
    }
  });

  guided.addEventListener("click", async (ev) => {
    const el = ev.target.closest("button");
    if (!el || !guided.contains(el)) return;
    const v = await vocab(state.form.entity === "person" ? "person" : "enterprise");
    const act = el.dataset.act;
    if (el.id === "propose") { await propose(); return; }
    if (el.id === "accept-all") { proposals.forEach((_, i) => accept(i, false)); changed({ now: true, redraw: true }); return; }
    if (el.dataset.accept !== undefined) { accept(Number(el.dataset.accept), true); return; }
    if (!act) return;
    const path = el.dataset.path;
    if (act === "del") {
      const parent = path.slice(0, path.lastIndexOf("."));
      get(state.form, parent).splice(Number(path.slice(path.lastIndexOf(".") + 1)), 1);
    } else if (act === "add-row") {
      get(state.form, path).items.push(newRow(v));
    } else if (act === "add-group") {
      get(state.form, path).items.push({ type: "group", kind: "any", items: [newRow(v)], label: null, clause: null });
    } else if (act === "expr") {
      get(state.form, path).structured = false;
    } else if (act === "add-tier") {
      state.form.amount.tiers.push({ from: "", value: "" });
    } else if (act === "add-case") {
      const cases = state.form.amount.cases;
      const at = cases.length && cases[cases.length - 1].when === null ? cases.length - 1 : cases.length;
      cases.splice(at, 0, { when: "", value: "" });
    } else if (act === "add-param") {
      state.form.parameters.push({ name: "", values: [{ since: state.form.effective.from, value: "" }] });
    } else if (act === "add-declared") {
      (state.form.declared = state.form.declared || []).push({ name: "", label: "", type: "bool", clause: null });
    } else if (act === "add-dated") {
      get(state.form, path).values.push({ since: "", value: "" });
    }
    changed({ now: true, redraw: true });
  });

  // ---- clause proposals -------------------------------------------------------------

  async function propose() {
    const text = clause.text;
    if (!text.trim()) { flash("请先粘贴条款原文", true); return; }
    try {
      proposals = await api("POST", "/api/editor/proposals",
        { text, entity: state.form.entity === "person" ? "person" : "enterprise" });
    } catch (e) { flash(e.message, true); return; }
    await renderGuided();
    flash(proposals.length ? `识别出 ${proposals.length} 个条件，请逐条采纳或修改` : "未从这段文字中识别出条件", !proposals.length);
  }

  function accept(i, sync) {
    const p = proposals[i];
    if (!p || p.accepted) return;
    const input = guided.querySelector(`input.pvalue[data-i="${i}"]`);
    const row = { ...p.row, id: null, clause: clause.ref || null };
    if (input && row.structured && input.value !== row.value) { row.value = input.value; row.when = ""; }
    const top = state.form.eligibility;
    // a condition already there (same expression) is not added twice
    if (!top.items.some((it) => it.type === "condition" && it.when === row.when && row.when)) top.items.push(row);
    p.accepted = true;
    if (sync) changed({ now: true, redraw: true });
  }

  // ---- save, simulate, submit, history ----------------------------------------------

  async function refreshHistory(pid) {
    if (!pid) return;
    const rows = await api("GET", `/api/policies/${pid}/history`);
    const body = document.querySelector("#history tbody");
    body.innerHTML = rows.map((v) => `<tr data-version="${v.id}"><td>第 ${v.number} 版</td>`
      + `<td><span class="status s-${v.status}">${esc(v.status_label)}</span></td><td>${esc(v.author)}</td>`
      + `<td>${esc(v.reviewed_by || v.reviewer || "—")}</td>`
      + `<td>${v.review_reason ? (v.review_decision === "approved" ? "通过" : "退回") + "：" + esc(v.review_reason) : "—"}</td>`
      + `<td>${fmt(v.created_at)}</td><td>${fmt(v.submitted_at)}</td><td>${fmt(v.reviewed_at)}</td>`
      + `<td>${v.published_at ? fmt(v.published_at) : v.publish_on ? "定于 " + v.publish_on : "—"}</td></tr>`).join("");
    const latest = rows[rows.length - 1];
    if (latest) document.getElementById("version-info").textContent = `第 ${latest.number} 版 · ${latest.status_label}`;
  }

  const on = (id, handler) => { const b = document.getElementById(id); if (b) b.addEventListener("click", handler); };
  on("save-draft", async () => {
    clearTimeout(timer);
    try {
      const vid = editor.dataset.versionId;
      const pid = editor.dataset.policyId || (state.form && state.form.id);
      const r = vid
        ? await api("PUT", `/api/policies/${pid}/versions/${vid}`, { yaml: textEl.value })
        : await api("POST", "/api/policies/drafts", { yaml: textEl.value });
      editor.dataset.versionId = r.id;
      editor.dataset.policyId = r.policy_id;
      if (!location.pathname.endsWith(`/${r.policy_id}`)) history.replaceState(null, "", `/officer/policies/${r.policy_id}`);
      await refreshHistory(r.policy_id);
      flash(`草稿已保存（第 ${r.number} 版）`);
    } catch (e) { flash(e.message, true); }
  });
  on("simulate", async () => {
    const vid = editor.dataset.versionId, pid = editor.dataset.policyId;
    if (!vid) { flash("请先保存草稿", true); return; }
    document.getElementById("sim-summary").textContent = "模拟中 …";
    try { drawSimulation(await api("POST", `/api/policies/${pid}/versions/${vid}/simulate`, {})); }
    catch (e) { flash(e.message, true); }
  });
  on("submit-review", async () => {
    const vid = editor.dataset.versionId, pid = editor.dataset.policyId;
    if (!vid) { flash("请先保存草稿", true); return; }
    try {
      const r = await api("POST", `/api/policies/${pid}/versions/${vid}/submit`);
      editor.dataset.versionId = "";
      await refreshHistory(pid);
      flash(`已提交审核（第 ${r.number} 版）`);
    } catch (e) { flash(e.message, true); }
  });

  // start: read the text into both views
  drawGutter();
  fromText();
})();
