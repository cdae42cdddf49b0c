// The review of one policy version: the diff against the published version, the simulated
// impact, and the decision (a reason is required; publishing asks for confirmation and may be
// scheduled for a date).
"use strict";

(() => {
  const box = document.getElementById("review");
  if (!box) return;
  const vid = box.dataset.version, pid = box.dataset.policy;
  let evidence = null;

  function drawDiff(e) {
    const el = document.getElementById("diff");
    el.classList.remove("muted");
    const changed = e.diff_lines.filter((d) => d.kind !== "same").length;
    const head = e.published
      ? `<p>与已发布的第 ${e.published.number} 版相比：<b id="diff-changed">${changed}</b> 行有变化（绿色为新增，红色为删除）。</p>`
      : `<p>这是新政策，尚无已发布版本；以下全部为新增内容（<b id="diff-changed">${changed}</b> 行）。</p>`;
    el.innerHTML = head + e.diff_lines.map((d) => `<div class="dl ${d.kind}"><span class="n">${d.old ?? ""}</span>`
      + `<span class="n">${d.new ?? ""}</span><span class="t">${esc(d.text)}</span></div>`).join("");
  }

  const tableOf = (rows) => (rows.length
    ? `<thead><tr><th>分组</th><th>新增符合</th><th>不再符合</th><th>金额变化</th></tr></thead><tbody>`
      + rows.map((r) => `<tr><td title="${esc(r.code || "")}">${esc(r.group)}</td><td>${r.newly}</td>`
        + `<td>${r.lost}</td><td class="money">${yuan(r.cost_delta)}</td></tr>`).join("") + "</tbody>"
    : `<tbody><tr><td class="muted">无变化</td></tr></tbody>`);

  const sampleOf = (s) => `<div class="sample"><b>${esc(s.name || "")} ${esc(s.entity_id)}</b> `
    + `${esc(s.outcome_label)}${s.amount_fen !== null && s.amount_fen !== undefined ? "，" + esc(s.amount_display) : ""}：`
    + s.conditions.map((c) => `${({ met: "✓", unmet: "✗", unknown: "?", unused: "–" })[c.status] || "?"} ${esc(c.label)}`
      + `（${esc(c.value_display)}）`).join("；") + "</div>";

  function drawImpact(e) {
    const summary = document.getElementById("impact-summary");
    if (!e.impact) {
      summary.textContent = e.impact_error || "无法模拟";
      return;
    }
    const r = e.impact, t = r.totals;
    summary.className = "";
    summary.innerHTML = `评估日 ${esc(r.as_of)} · 画像 ${r.population} 个${r.note ? "（" + esc(r.note) + "）" : ""}<br>`
      + `新增符合 <b id="impact-newly">${t.newly}</b> · 不再符合 <b id="impact-lost">${t.lost}</b> · `
      + `符合 ${t.eligible_before} → ${t.eligible_after} · 金额 ${yuan(t.cost_before)} → ${yuan(t.cost_after)}，`
      + `变化 <b id="impact-cost">${yuan(t.cost_delta)}</b>`;
    document.getElementById("impact-district").innerHTML = tableOf(r.by_district);
    document.getElementById("impact-industry").innerHTML = r.entity === "enterprise"
      ? tableOf(r.by_industry) : `<tbody><tr><td class="muted">个人政策不分行业</td></tr></tbody>`;
    document.getElementById("samples-newly").innerHTML = r.newly_samples.map(sampleOf).join("")
      || `<p class="muted">无</p>`;
    document.getElementById("samples-lost").innerHTML = r.lost_samples.map(sampleOf).join("")
      || `<p class="muted">无</p>`;
  }

  async function load() {
    try {
      evidence = await api("GET", `/api/reviews/versions/${vid}`);
    } catch (e) { flash(e.message, true); return; }
    drawDiff(evidence);
    drawImpact(evidence);
  }

  const reason = () => document.getElementById("review-reason").value.trim();
  const schedule = document.getElementById("schedule");
  const dateLabel = document.getElementById("schedule-date-label");
  const publishOn = document.getElementById("publish-on");
  schedule.addEventListener("change", () => { dateLabel.hidden = !schedule.checked; });
  const dialog = document.getElementById("confirm-publish");

  document.getElementById("approve").addEventListener("click", () => {
    if (!reason()) { flash("请填写审核理由（必填）", true); document.getElementById("review-reason").focus(); return; }
    if (schedule.checked && !publishOn.value) { flash("请选择定时发布的日期", true); return; }
    const t = evidence && evidence.impact ? evidence.impact.totals : null;
    const when = schedule.checked ? `定于 ${publishOn.value} 发布` : "立即发布";
    document.getElementById("confirm-text").innerHTML = `将${when}“${esc(box.dataset.title)}”第 ${box.dataset.number} 版`
      + (t ? `：新增符合 ${t.newly}，不再符合 ${t.lost}，金额变化 ${yuan(t.cost_delta)}。` : "。")
      + `<br>审核理由：${esc(reason())}`;
    dialog.showModal();
  });
  document.getElementById("confirm-no").addEventListener("click", () => dialog.close());
  document.getElementById("confirm-yes").addEventListener("click", async () => {
    dialog.close();
    try {
      const r = await api("POST", `/api/policies/${pid}/versions/${vid}/approve`,
        { reason: reason(), publish_on: schedule.checked ? publishOn.value : null });
      document.getElementById("review-status").textContent = r.status_label;
      flash(r.status === "scheduled" ? `已批准，定于 ${r.publish_on} 发布` : `已发布：第 ${r.number} 版`);
      setTimeout(() => location.reload(), 900);
    } catch (e) { flash(e.message, true); }
  });
  document.getElementById("reject").addEventListener("click", async () => {
    if (!reason()) { flash("请填写退回理由（必填）", true); document.getElementById("review-reason").focus(); return; }
    try {
      const r = await api("POST", `/api/policies/${pid}/versions/${vid}/reject`, { reason: reason() });
      document.getElementById("review-status").textContent = r.status_label;
      flash("已退回起草人修改");
      setTimeout(() => location.reload(), 900);
    } catch (e) { flash(e.message, true); }
  });
  load();
})();
