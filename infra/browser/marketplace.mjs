// Drives Debian's headless Chromium through the marketplace page, as the
// Go test internal/marketplace (TestTheMarketplacePageInARealBrowser) sets
// it up: a host page on another origin frames the marketplace with a signed
// token; this installs and uninstalls an integration with the keyboard and
// the mouse, collects what the host page received by postMessage, takes a
// screenshot, and checks that a page on a third origin cannot frame it.
//
// Usage: node marketplace.mjs '<json>' where json has hostURL, attackerURL,
// hubOrigin, integration, screenshot and userDataDir. It prints one JSON
// object with what it saw and exits non-zero on a failed step.
import { chromium } from "playwright-core";

const cfg = JSON.parse(process.argv[2]);
const STEP = 15000;

const context = await chromium.launchPersistentContext(cfg.userDataDir, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  viewport: { width: 900, height: 700 },
});

const result = { steps: [], console: [], hostMessages: [], attacker: {} };
const step = (name) => result.steps.push(name);

try {
  const page = await context.newPage();
  page.on("console", (m) => result.console.push(`[host] ${m.type()}: ${m.text()}`));
  await page.goto(cfg.hostURL);
  const frame = page.frameLocator("#marketplace");
  const name = cfg.integration;

  await frame.getByRole("heading", { name: "Integrations", level: 1 }).waitFor({ timeout: STEP });
  const available = frame.getByRole("list", { name: "Available" });
  const installed = frame.getByRole("list", { name: "Installed" });
  await available.getByRole("button", { name: `Install ${name}` }).waitFor({ timeout: STEP });
  step("listed as available");

  // Install with the keyboard: focus the button, press Enter.
  await available.getByRole("button", { name: `Install ${name}` }).focus();
  await page.keyboard.press("Enter");
  await installed.getByRole("button", { name: `Uninstall ${name}` }).waitFor({ timeout: STEP });
  step("moved to installed");
  result.status = await frame.getByRole("status").textContent();
  result.focusAfterInstall = await frame.locator(":focus").getAttribute("aria-label");

  await page.waitForFunction(
    () => (window.hubMessages || []).some((m) => m.type === "integration-hub:installed"),
    null,
    { timeout: STEP },
  );
  step("host received installed");
  await page.screenshot({ path: cfg.screenshot, fullPage: true });
  step("screenshot");

  await installed.getByRole("button", { name: `Uninstall ${name}` }).click();
  await available.getByRole("button", { name: `Install ${name}` }).waitFor({ timeout: STEP });
  await page.waitForFunction(
    () => (window.hubMessages || []).some((m) => m.type === "integration-hub:uninstalled"),
    null,
    { timeout: STEP },
  );
  step("uninstalled");
  result.hostMessages = await page.evaluate(() => window.hubMessages);
  result.iframeHeight = await page.evaluate(() => document.getElementById("marketplace").getBoundingClientRect().height);
  result.frameURL = page.frames().find((f) => f !== page.mainFrame())?.url() ?? "";

  // A page on another origin frames the same marketplace URL with a valid
  // token: frame-ancestors must stop it.
  const attacker = await context.newPage();
  const cspViolation = new Promise((resolve) => {
    attacker.on("console", (m) => {
      result.console.push(`[attacker] ${m.type()}: ${m.text()}`);
      if (m.text().includes("frame-ancestors")) resolve(true);
    });
    setTimeout(() => resolve(false), STEP);
  });
  await attacker.goto(cfg.attackerURL);
  result.attacker.cspViolation = await cspViolation;
  const child = attacker.frames().find((f) => f !== attacker.mainFrame());
  result.attacker.frameURL = child ? child.url() : "";
  result.attacker.frameHasMarketplace = child
    ? await child.evaluate(() => !!document.getElementById("marketplace-title")).catch(() => false)
    : false;
  result.attacker.messages = await attacker.evaluate(() => window.hubMessages || []);
  step("attacker checked");
} catch (err) {
  result.error = String(err && err.stack ? err.stack : err);
} finally {
  await context.close();
}

process.stdout.write(JSON.stringify(result) + "\n");
process.exit(result.error ? 1 : 0);
