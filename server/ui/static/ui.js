// sleuth ui: redraws a training run's curves as metrics.jsonl grows.
// Dependency-free; all text goes in through textContent or attributes,
// never as markup.
(() => {
  "use strict";
  const sec = document.getElementById("training");
  if (!sec) return;
  const run = sec.dataset.run;
  const names = ["loss", "reward", "em", "kl", "entropy", "clip_fraction", "response_tokens", "searches"];
  const NS = "http://www.w3.org/2000/svg";
  let lines = [];

  const valueOf = (m, name) => {
    if (name === "loss") return m.loss ? m.loss : null;
    if (!m.rl) return null;
    return { reward: m.rl.reward, em: m.rl.em, kl: m.rl.kl, entropy: m.rl.entropy, clip_fraction: m.rl.clip_fraction,
      response_tokens: m.rl.response_tokens, searches: m.rl.searches }[name] ?? null;
  };

  const draw = () => {
    const n = lines.length;
    for (const name of names) {
      const svg = sec.querySelector(`svg[data-series="${name}"]`);
      if (!svg) continue;
      const pts = [];
      lines.forEach((m, i) => { const v = valueOf(m, name); if (v !== null && Number.isFinite(v)) pts.push([i, v]); });
      let lo = Infinity, hi = -Infinity;
      for (const [, v] of pts) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      const xs = (i) => (n > 1 ? (300 * i) / (n - 1) : 0);
      const ys = (v) => (hi > lo ? 95 - (90 * (v - lo)) / (hi - lo) : 50);
      let poly = svg.querySelector("polyline");
      if (!poly) { poly = document.createElementNS(NS, "polyline"); svg.appendChild(poly); }
      poly.setAttribute("points", pts.map(([i, v]) => `${xs(i).toFixed(1)},${ys(v).toFixed(1)}`).join(" "));
      svg.dataset.points = String(pts.length);
      svg.querySelectorAll("line.warn").forEach((l) => l.remove());
      lines.forEach((m, i) => {
        for (const w of m.warnings || []) {
          const l = document.createElementNS(NS, "line");
          l.setAttribute("class", "warn");
          for (const [k, v] of [["x1", xs(i)], ["x2", xs(i)], ["y1", 0], ["y2", 100]]) l.setAttribute(k, String(v));
          const t = document.createElementNS(NS, "title");
          t.textContent = `step ${w.step}: ${w.kind}`;
          l.appendChild(t);
          svg.insertBefore(l, poly);
        }
      });
    }
    sec.dataset.lines = String(n);
  };

  const poll = async () => {
    try {
      const r = await fetch(`/api/runs/${encodeURIComponent(run)}/metrics?from=${lines.length}`, { cache: "no-store" });
      if (r.ok) {
        const j = await r.json();
        if (j.from === lines.length && j.metrics.length > 0) { lines = lines.concat(j.metrics); draw(); }
      }
    } catch (e) {
      // the server may be restarting; try again on the next tick
    }
    setTimeout(poll, 1000);
  };
  poll();
})();
