// Drives `sleuth ui` in headless Chromium (Debian's package) with
// puppeteer-core: every page loads without console errors, the training
// curves advance while the run's metrics.jsonl grows, hostile text in a
// trace does not execute, and a screenshot of each page is saved.
// Usage: node ui_check.mjs CHROMIUM BASE_URL EPISODE_PATH COMPARE_PATH SCREENSHOT_DIR
// Prints one JSON object with what it saw; the Go test checks it.
import puppeteer from "puppeteer-core";

const [chromium, base, episodePath, comparePath, shots] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
});
const out = { errors: [], pages: {} };
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.on("console", (m) => {
    if (m.type() === "error") out.errors.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => out.errors.push(`page: ${e.message}`));
  page.on("requestfailed", (r) => out.errors.push(`request: ${r.url()} ${r.failure()?.errorText}`));

  const visit = async (name, path) => {
    const t0 = Date.now();
    const resp = await page.goto(base + path, { waitUntil: "load" });
    const ms = Date.now() - t0;
    await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
    out.pages[name] = { status: resp.status(), loadMs: ms };
  };

  await visit("runs", "/");
  out.pages.runs.rows = await page.$$eval("table.runs tbody tr", (rs) => rs.length);

  await visit("training", "/runs/train-1");
  const read = () =>
    page.$eval("#training", (s) => ({
      lines: Number(s.dataset.lines),
      points: Number(s.querySelector('svg[data-series="reward"]').dataset.points),
      warnings: s.querySelectorAll('svg[data-series="reward"] line.warn').length,
    }));
  const before = await read();
  let after = before;
  for (let i = 0; i < 100 && after.points <= before.points + 2; i++) {
    await new Promise((r) => setTimeout(r, 100));
    after = await read();
  }
  out.live = { before, after };
  await page.screenshot({ path: `${shots}/training-live.png`, fullPage: true });

  await visit("episode", episodePath);
  out.pwned = await page.evaluate(() => window.__pwned ?? null);
  out.answer = await page.$eval("#answer", (e) => e.textContent);
  out.images = await page.$$eval("img", (is) => is.length);
  out.pages.episode.renderMs = await page.evaluate(() => {
    const t = performance.getEntriesByType("navigation")[0];
    return t ? t.domContentLoadedEventEnd - t.startTime : null;
  });
  await visit("compare", comparePath);
  out.comparePwned = await page.evaluate(() => window.__pwned ?? null);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out) + "\n");
