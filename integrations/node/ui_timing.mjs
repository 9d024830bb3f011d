// Times pages of a running `sleuth ui` in headless Chromium: for each path,
// navigation start to the load event, and to the first frame painted after
// it, the median of RUNS loads. Usage: node ui_timing.mjs CHROMIUM BASE RUNS PATH...
import puppeteer from "puppeteer-core";

const [chromium, base, runs, ...paths] = process.argv.slice(2);
const browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
const out = {};
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  for (const path of paths) {
    const loads = [], painted = [];
    for (let i = 0; i < Number(runs); i++) {
      await page.goto(base + path, { waitUntil: "load" });
      const t = await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => setTimeout(() => {
        const n = performance.getEntriesByType("navigation")[0];
        resolve({ load: n.loadEventEnd - n.startTime, painted: performance.now() - n.startTime });
      }, 0))));
      loads.push(t.load);
      painted.push(t.painted);
    }
    const med = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    out[path] = { load_ms: Math.round(med(loads)), painted_ms: Math.round(med(painted)) };
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out) + "\n");
