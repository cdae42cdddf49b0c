// mianshen pages: calls to the JSON API with the login cookie, live validation,
// simulation charts (SVG bars, no external libraries).
"use strict";

async function api(method, url, body) {
  const res = await fetch(url, {
    method,
    headers: { "Content-Type": "application/json", "X-Requested-With": "mianshen" },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  if (!res.ok) {
    const err = new Error((data && data.detail) || ("请求失败 " + res.status));
    err.data = data;
    throw err;
  }
  return data;
}

function flash(message, bad) {
  const box = document.getElementById("flash");
  if (!box) return;
  box.textContent = message;
  box.className = bad ? "flash bad" : "flash";
  box.hidden = false;
}

function esc(s) {
  return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

function yuan(n) {
  if (n === null || n === undefined || n === "") return "待核定";
  return Number(n).toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 })
    + " 元";
}

// ---- charts -----------------------------------------------------------------------------

function barChart(el, rows, series) {
  const shown = rows.slice(0, 12);
  if (!shown.length) { el.innerHTML = '<p class="muted">无数据</p>'; return; }
  const rowH = 22, labelW = 170, width = 600, valueW = 80;
  const max = Math.max(1, ...shown.map((r) => series.reduce((s, k) => s + (r[k.key] || 0), 0)));
  const scale = (width - labelW - valueW) / max;
  let svg = `<svg viewBox="0 0 ${width} ${shown.length * rowH + 24}" role="img">`;
  shown.forEach((r, i) => {
    const y = i * rowH;
    svg += `<text x="0" y="${y + 15}">${esc(r.label)}</text>`;
    let x = labelW;
    series.forEach((k) => {
      const w = (r[k.key] || 0) * scale;
      svg += `<rect class="${k.cls}" x="${x}" y="${y + 3}" width="${w}" height="${rowH - 6}"></rect>`;
      x += w;
    });
    svg += `<text x="${x + 4}" y="${y + 15}">${esc(r.text)}</text>`;
  });
  const ly = shown.length * rowH + 16;
  series.forEach((k, i) => {
    svg += `<rect class="${k.cls}" x="${labelW + i * 90}" y="${ly - 9}" width="10" height="10"></rect>`;
    svg += `<text x="${labelW + i * 90 + 14}" y="${ly}">${esc(k.name)}</text>`;
  });
  el.innerHTML = svg + "</svg>";
}

function drawSimulation(r) {
  const t = r.totals;
  let summary = `评估日 ${esc(r.as_of)} · 画像 ${r.population} 个 · 符合 <b id="sim-eligible">${t.eligible}</b>`
    + ` · 待确认 ${t.undetermined} · 总金额 <b>${yuan(t.total_cost)}</b>`;
  if (t.unknown_amounts) summary += `（另有 ${t.unknown_amounts} 个金额待核定）`;
  if (r.note) summary += `<br>${esc(r.note)}`;
  if (r.published) {
    const p = r.published;
    summary += `<br>与已发布版本相比：新增符合 ${p.newly_eligible}，不再符合 ${p.no_longer_eligible}，`
      + `金额变化 ${yuan(p.cost_delta)}`;
  }
  const box = document.getElementById("sim-summary");
  box.className = "";
  box.innerHTML = summary;
  const series = [{ key: "eligible", cls: "bar-e", name: "符合" },
                  { key: "undetermined", cls: "bar-u", name: "待确认" }];
  const rows = (list) => list.map((g) => ({ label: g.group, eligible: g.eligible,
    undetermined: g.undetermined, text: `${g.eligible}/${g.undetermined}` }));
  barChart(document.getElementById("chart-district"), rows(r.by_district), series);
  barChart(document.getElementById("chart-industry"), rows(r.by_industry), series);
  const cost = r.by_district.map((g) => ({ label: g.group, amount: g.amount, text: yuan(g.amount) }));
  barChart(document.getElementById("chart-cost"), cost.sort((a, b) => b.amount - a.amount),
           [{ key: "amount", cls: "bar-c", name: "符合金额" }]);
  document.getElementById("sim-samples").innerHTML = r.samples.map((s) =>
    `<div class="sample"><b>${esc(s.entity_id)}</b> ${esc(s.outcome_label)}：` +
    s.conditions.map((c) => `${({ met: "✓", unmet: "✗", unknown: "?", unused: "–" })[c.status] || "?"} ${esc(c.label)}`
      + `（${esc(c.value_display)}）`).join("；") + "</div>").join("");
}

// ---- benefits, reviews, runs ------------------------------------------------------------

function setupButtons() {
  document.querySelectorAll("button.confirm").forEach((b) => b.addEventListener("click", async () => {
    const id = b.closest("[data-entitlement]").dataset.entitlement;
    try {
      const r = await api("POST", `/api/me/benefits/${id}/confirm`);
      const card = b.closest("[data-entitlement]");
      const status = card.querySelector(".status") || document.getElementById("benefit-status");
      if (status) { status.textContent = r.status_label; status.className = `status s-${r.status}`; }
      b.remove();
      flash(`已确认：${r.policy_title}`);
    } catch (e) { flash(e.message, true); }
  }));
  const send = document.getElementById("send-objection");
  if (send) send.addEventListener("click", async () => {
    const id = send.closest("[data-entitlement]").dataset.entitlement;
    try {
      await api("POST", `/api/me/benefits/${id}/objection`,
                { reason: document.getElementById("objection-reason").value });
      flash("异议已提交，审核人员答复后会显示在处理记录中");
      setTimeout(() => location.reload(), 800);
    } catch (e) { flash(e.message, true); }
  });
  document.querySelectorAll("[data-entitlement] button.keep, [data-entitlement] button.revoke")
    .forEach((b) => b.addEventListener("click", async () => {
      const card = b.closest("[data-entitlement]");
      try {
        await api("POST", `/api/reviews/objections/${card.dataset.entitlement}/answer`, {
          decision: b.classList.contains("keep") ? "keep" : "revoke",
          answer: card.querySelector(".answer").value,
        });
        flash("已答复"); card.remove();
      } catch (e) { flash(e.message, true); }
    }));
  const trigger = document.getElementById("trigger-run");
  if (trigger) trigger.addEventListener("click", async () => {
    try { flash((await api("POST", "/api/runs", {})).message); } catch (e) { flash(e.message, true); }
  });
  const form = document.getElementById("application-form");
  // a form with an action posts itself (one-click link pages); otherwise through the API
  if (form && !form.getAttribute("action")) form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const answers = {};
    form.querySelectorAll("input, select").forEach((i) => { answers[i.name] = i.value; });
    form.querySelectorAll(".field-error").forEach((el) => el.remove());
    const base = `/api/me/benefits/${form.dataset.entitlement}/application`;
    try {
      if (Object.keys(answers).length) await api("PUT", base, { answers });
      const r = await api("POST", `${base}/submit`);
      flash(`申请已提交：${r.status_label}${r.reason ? "（" + r.reason + "）" : ""}`);
      setTimeout(() => location.reload(), 800);
    } catch (e) {
      const problems = (e.data && e.data.problems) || {};
      Object.entries(problems).forEach(([name, msg]) => {
        const label = form.querySelector(`[data-field="${name}"]`);
        if (label) label.insertAdjacentHTML("beforeend", `<div class="field-error">${esc(msg)}</div>`);
      });
      flash(e.message, true);
    }
  });
  const subs = document.getElementById("subscription-form");
  if (subs) subs.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const checked = (name) => [...subs.querySelectorAll(`input[name=${name}]`)]
      .filter((i) => i.checked).map((i) => i.value);
    const value = (name) => subs.querySelector(`input[name=${name}]`).value.trim() || null;
    try {
      await api("PUT", "/api/me/subscriptions", {
        channels: ["inbox", ...checked("channel")], muted_deliveries: checked("muted"),
        quiet_start: value("quiet_start"), quiet_end: value("quiet_end"),
        email: value("email"), phone: value("phone"),
      });
      flash("订阅设置已保存，下一次通知起生效");
    } catch (e) { flash(e.message, true); }
  });
  document.querySelectorAll("[data-application] button").forEach((b) => b.addEventListener("click", async () => {
    const card = b.closest("[data-application]");
    const approve = b.classList.contains("approve-application");
    try {
      const r = await api("POST", `/api/reviews/applications/${card.dataset.application}/decision`,
                          { decision: approve ? "approve" : "reject", reason: card.querySelector(".reason").value });
      flash(`已${approve ? "通过" : "不予通过"}，结果已通知申请人（${r.status_label}）`); card.remove();
    } catch (e) { flash(e.message, true); }
  }));
}

document.addEventListener("DOMContentLoaded", () => { setupButtons(); });
