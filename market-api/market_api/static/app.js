/* fedmarket dashboard: hash routes over the read API, charts with the vendored Chart.js.
 *
 *   #/                      projects
 *   #/projects/ID           rounds, accuracy, contributions, rewards, rejections, verification
 *   #/trainers/ADDRESS      stake, reputation, earnings
 *   #/verifiers/ADDRESS     stake, committee votes, fees earned and stake slashed
 *
 * Everything shown comes from the API; strings from round results are escaped before use.
 * window.fedmarket.charts holds the live charts and document.body.dataset.view the rendered
 * view, for tests and for anyone poking at the page.
 */
"use strict";

const PALETTE = ["#3b5bdb", "#12b886", "#f59f00", "#e64980", "#7048e8", "#15aabf", "#f76707",
  "#82c91e", "#be4bdb", "#fa5252", "#4c6ef5", "#20c997"];
const WEI = 10n ** 18n;
const state = { charts: {} };
window.fedmarket = state;

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g,
  (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const short = (a) => (a ? `${a.slice(0, 6)}…${a.slice(-4)}` : "—");
const ether = (wei) => Number(BigInt(wei || "0")) / Number(WEI);
const fmtEth = (wei, digits = 4) => {
  const v = ether(wei);
  return `${v.toLocaleString(undefined, { maximumFractionDigits: digits })} ETH`;
};
const pct = (x) => `${(x * 100).toFixed(1)}%`;
const when = (ts) => (ts ? new Date(ts * 1000).toLocaleString() : "—");

async function api(path) {
  const res = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    const detail = typeof body.detail === "string" ? body.detail : res.statusText;
    throw new Error(detail);
  }
  return body;
}

async function pages(path, limit = 200) {
  const out = [];
  for (let offset = 0; ; offset += limit) {
    const sep = path.includes("?") ? "&" : "?";
    const page = await api(`${path}${sep}offset=${offset}&limit=${limit}`);
    out.push(...page.data);
    if (out.length >= page.count || page.data.length === 0) return out;
  }
}

function statusBadge(status) {
  const kind = { finished: "good", finalized: "good", running: "info", posted: "info",
    open: "info", created: "warn", refunded: "warn", cancelled: "warn", disputed: "bad",
    aborted: "bad", claimed: "good", claimable: "info", pending: "warn", lost: "bad",
    expired: "warn", won: "good", no_verdict: "warn", agree: "good", disagree: "bad",
    none: "warn", contested: "warn", burned: "bad",
    fetched: "good", missing: "warn", invalid: "bad" }[status] || "";
  return `<span class="badge ${kind}">${esc(status)}</span>`;
}

function crumbs(parts) {
  $("crumbs").innerHTML = parts.map(([label, href]) =>
    href ? `<a href="${href}">${esc(label)}</a>` : esc(label)).join(" &rsaquo; ");
}

function destroyCharts() {
  for (const chart of Object.values(state.charts)) chart.destroy();
  state.charts = {};
}

function chart(id, config) {
  const base = {
    responsive: true, maintainAspectRatio: false, animation: false,
    interaction: { mode: "index", intersect: false },
    plugins: { legend: { position: "bottom", labels: { usePointStyle: true, boxWidth: 8 } } },
  };
  config.options = Object.assign(base, config.options || {});
  state.charts[id] = new Chart($(id), config);
  return state.charts[id];
}

function stat(label, value, small = "") {
  return `<div class="card stat"><div class="label">${esc(label)}</div>
    <div class="value">${value}${small ? ` <small>${small}</small>` : ""}</div></div>`;
}

function colorOf(trainers) {
  const map = {};
  trainers.forEach((t, i) => { map[t] = PALETTE[i % PALETTE.length]; });
  return map;
}

// -- views

// The spec's task: "cnn · image 3×16×16 · 4 classes" (escaped: owners write specs).
function taskShape(task) {
  return `${esc(task.input_kind)} ${task.input_shape.join("×")} · ${task.num_classes} classes`;
}

function taskLine(task) {
  return task ? `${esc(task.model)} · ${taskShape(task)}` : "?";
}

async function viewProjects() {
  crumbs([["Projects"]]);
  const projects = await pages("/projects");
  const cards = projects.map((p) => {
    const done = p.status === "finished" ? p.rounds : Math.max(0, p.current_round - 1);
    return `<a class="card" href="#/projects/${p.id}" data-project="${p.id}">
      <div class="card-head"><span class="card-title">Project #${p.id}</span>
        ${statusBadge(p.status)}</div>
      <dl class="kv">
        <dt>Budget</dt><dd>${fmtEth(p.budget)}</dd>
        <dt>Rewarded</dt><dd>${fmtEth(p.total_rewarded)}</dd>
        <dt>Model</dt><dd>${taskLine(p.task)}</dd>
        <dt>Trainers · committee</dt><dd>${p.trainers} · ${p.committee_size ?? "?"} seats</dd>
        <dt>Owner</dt><dd class="mono">${short(p.owner)}</dd>
        <dt>Posted</dt><dd>${when(p.posted_at)}</dd>
      </dl>
      <div class="progress"><span style="width:${(100 * done) / Math.max(1, p.rounds)}%"></span></div>
      <div class="muted" style="font-size:13px">round ${p.current_round} of ${p.rounds}</div>
    </a>`;
  }).join("");
  $("view").innerHTML = `<h1>Training projects</h1>
    <p class="sub">Federated training paid from on-chain escrow, in proportion to verified
    contribution.</p>
    <div class="grid cards" id="projects">${cards ||
      '<div class="card empty">No project has been posted on this deployment yet.</div>'}</div>`;
}

async function viewProject(id) {
  crumbs([["Projects", "#/"], [`Project #${id}`]]);
  const project = await api(`/projects/${id}`);
  const rounds = await pages(`/projects/${id}/rounds`);
  const details = await Promise.all(rounds.map((r) => api(`/projects/${id}/rounds/${r.round}`)));
  const trainers = [...new Set(details.flatMap((d) => d.trainers.map((t) => t.address)))]
    .sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
  const colors = colorOf(trainers);
  const labels = details.map((d) => `Round ${d.round}`);
  const rejected = details.flatMap((d) => d.trainers.filter((t) => t.accepted === false)
    .map((t) => ({ round: d.round, ...t })));
  const verified = details.filter((d) => d.status === "finalized").length;

  $("view").innerHTML = `
    <h1>Project #${project.id} ${statusBadge(project.status)}</h1>
    <p class="sub">Owner <a class="mono" href="#/trainers/${project.owner}">${short(project.owner)}</a> ·
      aggregator <span class="mono">${short(project.aggregator)}</span> ·
      model spec <span class="mono">${esc(project.model_spec_cid)}</span></p>
    <div class="grid stats">
      ${stat("Budget", fmtEth(project.budget, 3))}
      ${stat("Rewarded", fmtEth(project.total_rewarded, 3))}
      ${stat("Rounds verified", `${verified}`, `of ${project.rounds}`)}
      ${stat("Model", project.task ? esc(project.task.model) : "?",
        project.task ? `${taskShape(project.task)} · ${project.task.num_params.toLocaleString()} parameters${
          project.task.lora_rank ? ` (LoRA r=${project.task.lora_rank} on a ${project.task.base_params.toLocaleString()}-parameter base)` : ""}` : "spec unreadable")}
      ${stat("Trainers", `${project.trainers}`)}
      ${stat("Committee", `${project.committee_size ?? "?"} seats`,
        `quorum ${project.verifier_quorum ?? "?"} · fee ${(project.verifier_fee_bps ?? 0) / 100}%`)}
      ${stat("Rejected updates", `${rejected.length}`)}
    </div>
    <div class="grid two">
      <div class="card"><h2>Contribution per trainer</h2>
        <div class="chart-box" data-trainers="${trainers.length}">
          <canvas id="chart-contribution"></canvas></div></div>
      <div class="card"><h2>Cumulative rewards</h2>
        <div class="chart-box" data-trainers="${trainers.length}">
          <canvas id="chart-rewards"></canvas></div></div>
    </div>
    <div class="grid two section">
      <div class="card"><h2>Global model accuracy</h2>
        <div class="chart-box" id="accuracy-box"><canvas id="chart-accuracy"></canvas></div></div>
      <div class="card"><h2>Rejected updates</h2>${rejectedTable(rejected)}</div>
    </div>
    <div class="card section"><h2>Rounds and verification</h2>${roundsTable(details)}</div>
    <div class="card section"><h2>Committee votes</h2>${votesTable(details)}</div>
    <div class="card section"><h2>Trainers</h2>${trainersTable(trainers, details, colors)}</div>`;

  destroyCharts();
  chart("chart-contribution", {
    type: "bar",
    data: { labels, datasets: trainers.map((t) => ({
      label: short(t), backgroundColor: colors[t], borderRadius: 4,
      data: details.map((d) => {
        const e = d.trainers.find((x) => x.address === t);
        return e && e.contribution != null ? e.contribution / 1e6 : 0;
      }),
    })) },
    options: { scales: { x: { stacked: true, grid: { display: false } },
      y: { stacked: true, max: 1, ticks: { callback: (v) => pct(v) } } },
      plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${pct(c.raw)}` } } } },
  });
  chart("chart-rewards", {
    type: "line",
    data: { labels, datasets: trainers.map((t) => {
      let sum = 0;
      return { label: short(t), borderColor: colors[t], backgroundColor: colors[t],
        tension: 0.25, pointRadius: 4, borderWidth: 2.5,
        data: details.map((d) => {
          const e = d.trainers.find((x) => x.address === t);
          if (e && d.status === "finalized") sum += ether(e.reward);
          return sum;
        }) };
    }) },
    options: { scales: { y: { beginAtZero: true, ticks: { callback: (v) => `${v} ETH` } },
      x: { grid: { display: false } } } },
  });
  const accuracy = details.map((d) => d.accuracy);
  if (accuracy.some((a) => a != null)) {
    chart("chart-accuracy", {
      type: "line",
      data: { labels, datasets: [{ label: "accuracy", data: accuracy, borderColor: "#12b886",
        backgroundColor: "rgba(18,184,134,.12)", fill: true, tension: 0.3, pointRadius: 5,
        spanGaps: true }] },
      options: { plugins: { legend: { display: false } },
        scales: { y: { min: 0, max: 1, ticks: { callback: (v) => pct(v) } },
          x: { grid: { display: false } } } },
    });
  } else {
    $("accuracy-box").innerHTML =
      '<div class="empty">The round results of this project carry no accuracy.</div>';
  }
}

function rejectedTable(rows) {
  if (!rows.length) return '<div class="empty">Every update was accepted.</div>';
  return `<table><thead><tr><th>Round</th><th>Trainer</th><th>Reason</th></tr></thead><tbody>
    ${rows.map((r) => `<tr><td>${r.round}</td>
      <td><a class="mono" href="#/trainers/${r.address}">${short(r.address)}</a></td>
      <td>${esc(r.reason)}</td></tr>`).join("")}</tbody></table>`;
}

function roundsTable(details) {
  if (!details.length) return '<div class="empty">No round has started yet.</div>';
  return `<table id="rounds-table"><thead><tr><th>Round</th><th>Status</th>
    <th class="num">Pool</th><th class="num">Paid to trainers</th><th class="num">Updates</th>
    <th>Committee</th><th class="num">Verifier fee</th><th>Claims</th><th>Proof</th>
    <th>Result</th></tr></thead><tbody>
    ${details.map((d) => `<tr data-round="${d.round}"><td>${d.round}</td>
      <td>${statusBadge(d.status)}
        ${d.refund_reason ? `<div class="muted">${esc(d.refund_reason)}</div>` : ""}</td>
      <td class="num">${fmtEth(d.pool, 3)}</td>
      <td class="num">${d.status === "finalized" ? fmtEth(d.total_rewarded, 3)
        : '<span class="muted">not paid</span>'}</td>
      <td class="num">${d.accepted} ✓ · ${d.rejected} ✗ <span class="muted">/ ${d.reveals}</span></td>
      <td>${d.agrees} agree · ${d.disagrees} disagree
        <span class="muted">of ${d.committee_size ?? "?"} seats, quorum ${d.verifier_quorum ?? "?"}</span>
        <div>${d.verdict ? `verdict ${statusBadge(d.verdict)}` : '<span class="muted">not settled</span>'}
          ${d.contested ? statusBadge("contested") : ""}</div></td>
      <td class="num">${fmtEth(d.fee_paid)} <span class="muted">of ${fmtEth(d.fee)}</span>
        ${d.verifiers_slashed !== "0"
          ? `<div class="muted">+ ${fmtEth(d.verifiers_slashed)} slashed</div>` : ""}</td>
      <td>${claimsCell(d)}</td>
      <td>${d.proof_verified ? statusBadge("verified").replace('class="badge ', 'class="badge good ')
        : '<span class="muted">none</span>'}</td>
      <td>${statusBadge(d.result_status)}
        ${d.result_cid ? `<div class="mono muted">${esc(short(d.result_cid))}</div>` : ""}
        ${d.result_error ? `<div class="muted">${esc(d.result_error)}</div>` : ""}</td>
    </tr>`).join("")}</tbody></table>`;
}

function claimsCell(d) {
  const parts = [];
  if (d.claim_expires_at) parts.push(`claims until ${when(d.claim_expires_at)}`);
  if (d.unclaimed_returned != null) {
    parts.push(`${statusBadge("expired")} ${fmtEth(d.unclaimed_returned)} returned to the owner`);
  }
  const c = d.compensation;
  if (c) {
    parts.push(`bond compensation ${fmtEth(c.per_trainer)} per trainer,
      ${fmtEth(c.claimed)} of ${fmtEth(c.total)} claimed, until ${when(c.expires_at)}`);
    if (c.burned != null) parts.push(`${statusBadge("burned")} ${fmtEth(c.burned)}`);
  }
  return parts.length ? parts.map((p) => `<div>${p}</div>`).join("")
    : '<span class="muted">—</span>';
}

function votesTable(details) {
  const votes = details.flatMap((d) => d.attestations);
  if (!votes.length) return '<div class="empty">No committee vote yet.</div>';
  return `<table id="votes-table"><thead><tr><th>Round</th><th>Verifier</th><th>Vote</th>
    <th>Outcome</th><th class="num">Fee earned</th><th class="num">Slashed</th></tr></thead>
    <tbody>${votes.map((a) => `<tr><td>${a.round}</td>
      <td><a class="mono" href="#/verifiers/${a.verifier}">${short(a.verifier)}</a></td>
      <td>${statusBadge(a.agree ? "agree" : "disagree")}</td><td>${statusBadge(a.outcome)}</td>
      <td class="num">${fmtEth(a.reward)}</td><td class="num">${fmtEth(a.slashed)}</td></tr>`)
      .join("")}</tbody></table>`;
}

function trainersTable(trainers, details, colors) {
  if (!trainers.length) return '<div class="empty">No trainer has submitted yet.</div>';
  return `<table><thead><tr><th>Trainer</th><th class="num">Accepted</th>
    <th class="num">Mean contribution</th><th class="num">Earned</th></tr></thead><tbody>
    ${trainers.map((t) => {
      const entries = details.map((d) => ({ d, e: d.trainers.find((x) => x.address === t) }))
        .filter((x) => x.e);
      const accepted = entries.filter((x) => x.e.accepted).length;
      const contrib = entries.reduce((s, x) => s + (x.e.contribution || 0), 0) /
        Math.max(1, entries.length) / 1e6;
      const earned = entries.filter((x) => x.d.status === "finalized")
        .reduce((s, x) => s + BigInt(x.e.reward), 0n);
      return `<tr><td><span class="swatch" style="background:${colors[t]}"></span>
        <a class="mono" href="#/trainers/${t}">${t}</a></td>
        <td class="num">${accepted} / ${entries.length}</td><td class="num">${pct(contrib)}</td>
        <td class="num">${fmtEth(earned.toString())}</td></tr>`;
    }).join("")}</tbody></table>`;
}

async function viewTrainer(address) {
  crumbs([["Projects", "#/"], [`Trainer ${short(address)}`]]);
  const [trainer, rewards] = await Promise.all([api(`/trainers/${address}`),
    api(`/trainers/${address}/rewards`)]);
  const rep = trainer.reputation;
  $("view").innerHTML = `
    <h1>Trainer <span class="mono" style="font-size:20px">${esc(trainer.address)}</span></h1>
    <p class="sub">${trainer.registered ? "Registered" : "Not registered"} ·
      bound to ${trainer.bindings} project(s)</p>
    <div class="grid stats">
      ${stat("Earned", fmtEth(rewards.earned))}
      ${stat("Claimed", fmtEth(rewards.claimed))}
      ${stat("Claimable", fmtEth(rewards.claimable))}
      ${stat("Stake", fmtEth(trainer.stake, 3))}
      ${stat("Reputation", `${rep.score}`, `${rep.accepted} ✓ · ${rep.rejected} ✗`)}
    </div>
    <div class="grid two">
      <div class="card"><h2>Earnings per round</h2>
        <div class="chart-box"><canvas id="chart-earnings"></canvas></div></div>
      <div class="card"><h2>Projects</h2>${trainerProjects(trainer.projects)}</div>
    </div>
    <div class="card section"><h2>Rewards</h2>${rewardsTable(rewards.rewards)}</div>`;
  destroyCharts();
  const byStatus = (s) => rewards.rewards.map((r) => (r.status === s ? ether(r.amount) : 0));
  chart("chart-earnings", {
    type: "bar",
    data: { labels: rewards.rewards.map((r) => `P${r.project} · R${r.round}`),
      datasets: [
        { label: "claimed", data: byStatus("claimed"), backgroundColor: "#12b886", borderRadius: 4 },
        { label: "claimable", data: byStatus("claimable"), backgroundColor: "#3b5bdb",
          borderRadius: 4 },
        { label: "pending", data: byStatus("pending"), backgroundColor: "#f59f00", borderRadius: 4 },
        { label: "expired", data: byStatus("expired"), backgroundColor: "#adb5bd", borderRadius: 4 },
      ] },
    options: { scales: { x: { stacked: true, grid: { display: false } },
      y: { stacked: true, beginAtZero: true, ticks: { callback: (v) => `${v} ETH` } } } },
  });
}

function trainerProjects(projects) {
  if (!projects.length) return '<div class="empty">Not a member of any project.</div>';
  return `<table><thead><tr><th>Project</th><th>Status</th><th class="num">Submitted</th>
    <th class="num">Accepted</th><th class="num">Earned</th></tr></thead><tbody>
    ${projects.map((p) => `<tr><td><a href="#/projects/${p.project}">#${p.project}</a></td>
      <td>${statusBadge(p.status)}${p.released_round != null
        ? ` <span class="muted">seat released in round ${p.released_round}</span>` : ""}</td>
      <td class="num">${p.rounds_submitted}</td>
      <td class="num">${p.rounds_accepted}</td><td class="num">${fmtEth(p.earned)}</td></tr>`)
      .join("")}</tbody></table>`;
}

function rewardsTable(rewards) {
  if (!rewards.length) return '<div class="empty">No reward yet.</div>';
  return `<table><thead><tr><th>Project</th><th>Round</th><th class="num">Amount</th>
    <th>Status</th><th>Claim by</th><th>Merkle proof</th></tr></thead><tbody>
    ${rewards.map((r) => `<tr><td><a href="#/projects/${r.project}">#${r.project}</a></td>
      <td>${r.round}</td><td class="num">${fmtEth(r.amount)}</td><td>${statusBadge(r.status)}</td>
      <td class="muted">${r.status === "claimable" ? when(r.claim_expires_at) : "—"}</td>
      <td class="mono muted">${r.proof ? `${r.proof.length} node(s)` : "—"}</td></tr>`)
      .join("")}</tbody></table>`;
}

async function viewVerifier(address) {
  crumbs([["Projects", "#/"], [`Verifier ${short(address)}`]]);
  const v = await api(`/verifiers/${address}`);
  $("view").innerHTML = `
    <h1>Verifier <span class="mono" style="font-size:20px">${esc(v.address)}</span></h1>
    <p class="sub">${v.registered ? "Registered in the committee pool" : "Not registered"} ·
      ${v.bindings} unsettled vote(s)</p>
    <div class="grid stats">${stat("Stake", fmtEth(v.stake, 3))}
      ${stat("Fees earned", fmtEth(v.rewarded))}
      ${stat("Slashed", fmtEth(v.slashed), `${v.lost} lost vote(s)`)}
      ${stat("Votes", `${v.attestation_count}`, `${v.agreed} agree · ${v.disagreed} disagree`)}
      ${stat("Won", `${v.won}`)}</div>
    <div class="card"><h2>Committee votes${v.attestation_count > v.attestations.length
      ? ` (first ${v.attestations.length} of ${v.attestation_count})` : ""}</h2>${v.attestations.length ? `<table><thead><tr>
      <th>Project</th><th>Round</th><th>Vote</th><th>Outcome</th><th class="num">Earned</th>
      <th class="num">Slashed</th><th>Report</th><th class="num">Block</th>
      </tr></thead><tbody>${v.attestations.map((a) => `<tr>
        <td><a href="#/projects/${a.project}">#${a.project}</a></td><td>${a.round}</td>
        <td>${statusBadge(a.agree ? "agree" : "disagree")}</td><td>${statusBadge(a.outcome)}</td>
        <td class="num">${fmtEth(a.reward)}</td><td class="num">${fmtEth(a.slashed)}</td>
        <td class="mono">${esc(a.report_cid)}</td><td class="num">${a.block}</td></tr>`).join("")}
      </tbody></table>` : '<div class="empty">No vote yet.</div>'}</div>`;
  destroyCharts();
}

// -- health, lookup, routing

async function refreshHealth() {
  const el = $("health");
  try {
    const h = await api("/health");
    el.className = `health ${h.status === "ok" ? "ok" : h.status === "syncing" ? "syncing" : "down"}`;
    el.textContent = h.chain_head == null ? "chain unreachable"
      : `block ${h.indexed_block ?? "–"} / ${h.chain_head}`;
    el.title = `indexer ${h.status}, lag ${h.lag ?? "?"} block(s)` +
      (h.indexer_error ? ` — ${h.indexer_error}` : "");
  } catch (err) {
    el.className = "health down";
    el.textContent = "API unreachable";
  }
}

$("lookup").addEventListener("submit", async (event) => {
  event.preventDefault();
  const address = $("lookup-input").value.trim();
  if (!address) return;
  try {
    await api(`/trainers/${address}`);
    location.hash = `#/trainers/${address}`;
  } catch (err) {
    location.hash = `#/verifiers/${address}`;
  }
});

async function route() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const parts = hash.split("/").filter(Boolean);
  document.body.dataset.view = "loading";
  try {
    if (parts[0] === "projects" && parts[1]) await viewProject(parts[1]);
    else if (parts[0] === "trainers" && parts[1]) await viewTrainer(parts[1]);
    else if (parts[0] === "verifiers" && parts[1]) await viewVerifier(parts[1]);
    else await viewProjects();
    document.body.dataset.view = parts[0] || "projects";
  } catch (err) {
    destroyCharts();
    $("view").innerHTML = `<div class="card error"><h2>Could not load this page</h2>
      <p>${esc(err.message)}</p><p><a href="#/">Back to the projects</a></p></div>`;
    document.body.dataset.view = "error";
  }
}

window.addEventListener("hashchange", route);
refreshHealth();
setInterval(refreshHealth, 5000);
route();
