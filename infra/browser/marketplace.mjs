// Drives Debian's headless Chromium through the marketplace page, as the
// Go test internal/marketplace (TestTheMarketplacePageInARealBrowser) sets
// it up: a host page on another origin frames the marketplace with a signed
// token that allows one install; this reads the first integration's logo,
// installs it with the keyboard, tries to install the second one (which the
// API refuses) and reads the error the page shows, uninstalls with the
// mouse, collects what the host page received by postMessage and every
// postMessage the framed page made (its target origin and message), takes
// a screenshot, and checks that a page on a third origin cannot frame it.
//
// Usage: node marketplace.mjs '<json>' where json has hostURL, attackerURL,
// hubOrigin, integration, refused (the integration whose install is
// refused), screenshot and userDataDir. It prints one JSON object with what
// it saw and exits non-zero on a failed step.
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
  // The logo is served by the Go test over https (the page's img-src) with
  // a self-signed certificate.
  ignoreHTTPSErrors: true,
});

const result = { steps: [], console: [], hostMessages: [], attacker: {} };
const step = (name) => result.steps.push(name);

// recordPostMessage runs in every frame of the host's tab before the
// frame's own scripts. In the marketplace's frame (the hub's origin, framed)
// it puts a recorder in front of window.parent: each postMessage is
// recorded (its target origin as given, "/" when defaulted, and the
// message as JSON) and then posted to the real parent unchanged. Whether
// the recorder is in place is recorded too, so that a page it could not
// watch fails the test instead of passing it.
function recordPostMessage(hubOrigin) {
  if (window === window.top || window.location.origin !== hubOrigin) {
    return;
  }
  const realParent = window.parent;
  const record = { installed: false, targets: [], messages: [] };
  const recorder = Object.freeze({
    postMessage(...args) {
      const [message, options] = args;
      let target = "/";
      if (typeof options === "string") {
        target = options;
      } else if (options && typeof options === "object" && options.targetOrigin !== undefined) {
        target = String(options.targetOrigin);
      } else if (options !== undefined) {
        target = String(options);
      }
      record.targets.push(target);
      let json;
      try {
        json = JSON.stringify(message);
      } catch {
        json = "(not JSON)";
      }
      record.messages.push(json);
      return realParent.postMessage(...args);
    },
  });
  Object.defineProperty(window, "parent", { get: () => recorder, configurable: false });
  record.installed = window.parent === recorder && parent === recorder;
  Object.defineProperty(window, "__postMessageRecord", { value: record });
}

try {
  const page = await context.newPage();
  page.on("console", (m) => result.console.push(`[host] ${m.type()}: ${m.text()}`));
  await page.addInitScript(recordPostMessage, cfg.hubOrigin);
  await page.goto(cfg.hostURL);
  const frame = page.frameLocator("#marketplace");
  const name = cfg.integration;

  await frame.getByRole("heading", { name: "Integrations", level: 1 }).waitFor({ timeout: STEP });
  const available = frame.getByRole("list", { name: "Available" });
  const installed = frame.getByRole("list", { name: "Installed" });
  await available.getByRole("button", { name: `Install ${name}` }).waitFor({ timeout: STEP });
  step("listed as available");

  // The integration's logo, once the browser has loaded it (decode()
  // rejects when the image cannot be loaded; the page then shows the
  // initial instead, and the locator finds no image).
  const logo = available.getByRole("listitem").filter({ has: frame.getByRole("heading", { name, level: 3 }) }).locator("img");
  await logo.waitFor({ timeout: STEP });
  result.logo = await logo.evaluate((img) => {
    const seen = () => ({ src: img.getAttribute("src"), alt: img.getAttribute("alt"), width: img.naturalWidth });
    return img.decode().then(seen, () => ({ ...seen(), failed: true }));
  });
  step("logo loaded");

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

  // The token allows one install: the second is refused by the API, and
  // the page says so in words, in its alert.
  await available.getByRole("button", { name: `Install ${cfg.refused}` }).click();
  const alert = frame.getByRole("alert");
  await alert.waitFor({ state: "visible", timeout: STEP });
  result.errorText = (await alert.textContent()).trim();
  result.focusAfterError = await frame.locator(":focus").getAttribute("aria-label");
  result.refusedStillAvailable = await available.getByRole("button", { name: `Install ${cfg.refused}` }).isEnabled();
  step("refused install shown");
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
  result.alertsAfterUninstall = await frame.getByRole("alert").count();
  // The host's messages first, then the frame's record: every message the
  // host has received was posted, hence recorded, before the record is read.
  result.hostMessages = await page.evaluate(() => window.hubMessages);
  const hubFrame = page.frames().find((f) => f !== page.mainFrame() && f.url().startsWith(cfg.hubOrigin));
  if (!hubFrame) throw new Error("no marketplace frame to read the postMessage record from");
  result.posted = await hubFrame.evaluate(() => window.__postMessageRecord ?? null);
  // Messages the host received that the recorder did not see: posted some
  // other way than through window.parent (window.top, say).
  const recorded = [...(result.posted?.messages ?? [])];
  result.unrecordedHostMessages = result.hostMessages
    .map((m) => JSON.stringify(m))
    .filter((m) => {
      const i = recorded.indexOf(m);
      if (i < 0) return true;
      recorded.splice(i, 1);
      return false;
    });
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
