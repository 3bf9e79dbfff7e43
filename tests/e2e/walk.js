// Walks JUNO in the Microsoft 365 Agents Playground (a Teams-like client) in headless Chromium,
// as a person would: first contact, help, search, person card, org chart, my profile, a
// correction, consents, export, the admin desk, in English (typed and clicked) and in Turkish
// (custom activities with "locale": "tr-TR", the Playground's own locale being en-US).
// Every step saves a screenshot and checks what a person would look at. Run by tests/e2e/run.py.
//
// Usage: node walk.js <config.json>; prints one JSON report line prefixed "E2E-REPORT ".
"use strict";

const fs = require("fs");
const http = require("http");
const path = require("path");

const config = JSON.parse(fs.readFileSync(process.argv[2], "utf-8"));
const { chromium } = require(path.join(config.modules, "playwright-core"));

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);
const steps = [];
let current = null;

// A step that hangs (a click the page never answers) ends the walk with a report, not a stall.
const STEP_SECONDS = 120;
let watchdog = null;

function step(name) {
  clearTimeout(watchdog);
  watchdog = setTimeout(() => {
    console.log("E2E-REPORT " + JSON.stringify({ steps, error: `step "${name}" took over ${STEP_SECONDS} s` }));
    process.exit(1);
  }, STEP_SECONDS * 1000);
  if (current) current.seconds = (Date.now() - current.started) / 1000;
  current = { name, checks: [], screenshot: null, started: Date.now() };
  steps.push(current);
}

function check(ok, what, detail) {
  current.checks.push({ ok: Boolean(ok), what, detail: ok ? undefined : detail });
}

// Where OneDrive would take an accepted file: a loopback PUT endpoint.
const uploads = [];
const uploadServer = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    uploads.push({ method: req.method, url: req.url, bytes: Buffer.concat(chunks) });
    res.writeHead(201, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ id: "e2e-upload" }));
  });
});

async function main() {
  await new Promise((resolve) => uploadServer.listen(0, "127.0.0.1", resolve));
  const uploadBase = `http://127.0.0.1:${uploadServer.address().port}`;
  const browser = await chromium.launch({
    executablePath: config.chromium,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run",
    ],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  page.setDefaultTimeout(20000);
  const blocked = new Set();
  // Nothing leaves the machine: fonts and scripts from Microsoft's CDN are refused.
  await page.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (LOOPBACK.has(url.hostname) || url.protocol === "data:" || url.protocol === "blob:") {
      return route.continue();
    }
    blocked.add(url.hostname);
    return route.abort();
  });
  // The Playground cannot show a FileConsentCard; what the bot sent is read off the wire.
  const consentCards = [];
  const watch = (text) => {
    if (typeof text !== "string" || !text.includes("file.consent")) return;
    const found = text.match(/"acceptContext"\s*:\s*\{\s*"export"\s*:\s*"([^"]+)"/);
    if (found) consentCards.push(found[1]);
  };
  page.on("websocket", (ws) => ws.on("framereceived", (frame) => watch(String(frame.payload))));
  page.on("response", async (response) => {
    try {
      watch(await response.text());
    } catch (e) {
      // bodies of redirects and aborted requests cannot be read; none carries a card
    }
  });

  const out = config.out;
  let shot = 0;
  async function screenshot(name) {
    shot += 1;
    const file = path.join(out, `${String(shot).padStart(2, "0")}-${name}.png`);
    await page.waitForTimeout(400);
    await page.screenshot({ path: file });
    current.screenshot = path.basename(file);
  }

  const messages = () => page.locator(".fai-OutputCard");
  async function texts() {
    return await messages().evaluateAll((nodes) => nodes.map((n) => n.innerText));
  }
  async function waitReplies(before, count, within = 25000) {
    const until = Date.now() + within;
    let seen = before;
    while (Date.now() < until) {
      seen = await messages().count();
      if (seen >= before + count) break;
      await page.waitForTimeout(250);
    }
    // then wait for the chat to go quiet (a reply may come in several messages)
    let last = seen;
    for (let quiet = 0; quiet < 4 && Date.now() < until + 5000; ) {
      await page.waitForTimeout(300);
      const now = await messages().count();
      quiet = now === last ? quiet + 1 : 0;
      last = now;
    }
    const all = await texts();
    return all.slice(before);
  }
  async function say(text, count = 1) {
    const before = await messages().count();
    const box = page.locator('[data-lexical-editor="true"][role="textbox"]').last();
    await box.click();
    await box.fill(text);
    await box.press("Enter");
    return await waitReplies(before, count);
  }
  const lastCard = () => page.locator(".ac-adaptiveCard").last();
  async function click(name, count = 1, scope = null) {
    const before = await messages().count();
    const where = scope || lastCard();
    await where.getByRole("button", { name, exact: true }).first().click();
    return await waitReplies(before, count);
  }
  async function pickRow(name, count = 1) {
    const before = await messages().count();
    await lastCard().getByText(name, { exact: true }).first().click();
    return await waitReplies(before, count);
  }
  async function custom(fields, count = 1) {
    const before = await messages().count();
    await page.getByText("Mock an Activity", { exact: true }).click();
    await page.getByText("Custom activity", { exact: true }).click();
    const dialog = page.getByRole("dialog");
    await dialog.waitFor();
    const editor = dialog.locator(".monaco-editor").first();
    await editor.waitFor();
    // Who, where, which conversation: what the Playground's own template holds (from its
    // configuration, handed over by run.py); the editor's text is replaced whole.
    const base = {
      id: `e2e-${Date.now()}`, timestamp: new Date().toISOString(), channelId: "msteams",
      serviceUrl: `${config.playground.replace("127.0.0.1", "localhost")}_connector`,
      ...config.activity,
    };
    await editor.click();
    await page.keyboard.press("Control+A");
    await page.keyboard.press("Delete");
    await page.keyboard.insertText(JSON.stringify({ ...base, ...fields }));
    await dialog.getByRole("button", { name: "Send activity" }).click();
    return await waitReplies(before, count);
  }
  const turkish = (text, count = 1) => custom({ type: "message", text, locale: "tr-TR" }, count);
  const has = (list, needle) => list.some((t) => t.includes(needle));
  const count = (list, needle) => list.filter((t) => t.includes(needle)).length;
  const welcomeEn = "I am JUNO, your organization's employee directory assistant";
  const welcomeTr = "Ben JUNO, kuruluşunuzun çalışan rehberi asistanıyım";
  const lowered = (list) => list.join("\n");

  // --- English, as the Playground is: typed and clicked ---------------------------------
  step("first contact");
  await page.goto(config.playground, { waitUntil: "load" });
  let replies = await waitReplies(0, 3);
  check(count(replies, welcomeEn) === 1, "one welcome", replies);
  check(count(replies, welcomeTr) === 0, "no second welcome in another language", replies);
  check(has(replies, "Privacy notice (version 1)"), "the privacy notice follows", replies);
  check(has(replies, "Terms of use (version 1)"), "the terms follow", replies);
  check(replies.length === 3, "exactly welcome, notice and terms", replies);
  await screenshot("first-contact");
  replies = await click("I have read and understood", 2, page.locator(".ac-adaptiveCard").first());
  check(has(replies, "acknowledgement of the privacy notice"), "acknowledged", replies);
  replies = await click("I accept", 1, page.locator(".ac-adaptiveCard").nth(1));
  check(has(replies, "you accepted the terms of use"), "accepted", replies);
  await screenshot("consented");

  step("reload: no second welcome");
  await page.reload({ waitUntil: "load" });
  replies = await waitReplies(0, 1, 6000);
  check(count(replies, welcomeEn) === 0 && count(replies, welcomeTr) === 0, "not welcomed again", replies);
  check(!has(replies, "read the privacy notice below"), "no dangling 'notice below'", replies);
  await screenshot("reload");

  step("help");
  replies = await say("help");
  check(has(replies, "What I can do"), "help card", replies);
  check(/find\s+name/.test(lowered(replies)), "'find name' is readable (not 'find :')", replies);
  check(has(replies, "org chart"), "org chart is offered", replies);
  await screenshot("help");

  step("search: every result reachable");
  replies = await say("find Oğuz");
  const oguz = lowered(replies);
  const span = (oguz.match(/\(1–(\d+) of (\d+)\)/) || []).slice(1).map(Number);
  check(span.length === 2 && span[0] <= span[1], "titled (1–x of N)", oguz);
  const rows = await lastCard().locator(".ac-selectable").count();
  check(rows === span[0], `every person on the page is a row (${rows})`, oguz);
  check((oguz.match(/Oğuz Işık/g) || []).length === 2, "both Oğuz Işık are shown", oguz);
  const cutoff = await lastCard().locator(".ac-pushButton").evaluateAll((buttons) =>
    buttons.filter((b) => b.scrollWidth > b.clientWidth + 1).map((b) => b.innerText));
  check(cutoff.length === 0, "no button is cut off", cutoff);
  await screenshot("search");
  replies = await say("find finans");
  const page1 = lowered(replies);
  const paged = page1.match(/\(1–8 of (\d+)\)/);
  check(paged, "first page titled (1–8 of N)", page1);
  replies = await click("More results");
  check(/\(9–\d+ of \d+\)/.test(lowered(replies)), "second page titled (9–… of N)", replies);
  await screenshot("search-page-2");

  step("person card");
  await say("find Oğuz");
  replies = await pickRow("Oğuz Işık");
  const person = lowered(replies);
  check(person.includes("Oğuz Işık") && person.includes("Title"), "person card with facts", person);
  check(person.includes("Reporting line"), "reporting line", person);
  await screenshot("person-card");
  await page.locator(".fai-OutputCard").last().screenshot({ path: path.join(out, "card-person.png") });

  step("org chart");
  replies = await click("Org chart");
  check(has(replies, "Org chart: Oğuz Işık"), "the chart of that person", replies);
  check(has(replies, "Reports to (top down)"), "management line", replies);
  await screenshot("org-chart");
  replies = await say("org chart");
  check(has(replies, "Org chart: Tuğba Işık"), "'org chart' is one's own chart, not a search", replies);
  check(has(replies, "Direct reports ("), "direct reports listed", replies);
  await screenshot("org-chart-own");

  step("my profile");
  replies = await say("my profile");
  check(has(replies, "My profile") && has(replies, "from Entra ID"), "own card with sources", replies);
  await screenshot("my-profile");

  step("correction");
  replies = await click("Suggest a correction");
  check(has(replies, "Suggest a correction to your directory profile"), "the form", replies);
  await lastCard().getByLabel(/Correct value/).fill("İK Direktörü");
  replies = await click("Send request", 2);
  check(has(replies, "Your correction request"), "recorded", replies);
  check(!lowered(replies).includes("job_title"), "the admin notice names the field, not its key", replies);
  check(has(replies, "Title"), "the admin notice says 'Title'", replies);
  await screenshot("correction");

  step("consents");
  replies = await say("my consents");
  check(has(replies, "Your consent record"), "consent record", replies);
  check(has(replies, "accepted") && has(replies, "acknowledged"), "both decisions listed", replies);
  await screenshot("consents");

  step("export");
  const offered = consentCards.length;
  replies = await say("export my data", 1);
  check(has(replies, "as a file") && !has(replies, "download link"), "promises a file, not a link", replies);
  for (let waited = 0; consentCards.length === offered && waited < 30000; waited += 250) {
    await page.waitForTimeout(250);
  }
  check(consentCards.length > offered, "a FileConsentCard was sent", consentCards);
  if (consentCards.length > offered) {
    const token = consentCards[consentCards.length - 1];
    const name = "juno-export.zip";
    replies = await custom({
      type: "invoke",
      name: "fileConsent/invoke",
      id: `e2e-consent-${Date.now()}`,
      value: {
        type: "fileUpload",
        action: "accept",
        context: { export: token },
        uploadInfo: {
          name, uploadUrl: `${uploadBase}/upload/${name}`, contentUrl: `${uploadBase}/files/${name}`,
          uniqueId: "e2e", fileType: "zip",
        },
      },
    }, 0);
    for (let waited = 0; uploads.length === 0 && waited < 15000; waited += 250) {
      await page.waitForTimeout(250);
    }
    const zip = uploads[0] && uploads[0].bytes;
    check(zip && zip.length > 100 && zip.slice(0, 2).toString() === "PK", "the zip was uploaded", uploads.length);
  }
  await screenshot("export");

  step("admin desk");
  replies = await say("admin");
  const desk = lowered(replies);
  check(desk.includes("JUNO administration"), "the admin desk", desk);
  check(desk.includes("correction"), "the open correction, typed in words", desk);
  check(!/ · (access|rectification|erasure) · |: ok, /.test(desk), "no raw codes", desk);
  await screenshot("admin-desk");
  await page.setViewportSize({ width: 1400, height: 2600 }); // the whole desk, for docs/
  await page.waitForTimeout(500);
  await page.locator(".fai-OutputCard").last().screenshot({ path: path.join(out, "card-admin-desk.png") });
  await page.setViewportSize({ width: 1400, height: 1100 });
  replies = await click("Sync now");
  check(has(replies, "Directory sync started"), "sync starts without asking for a reason", replies);
  await screenshot("admin-sync");

  // --- Turkish: custom activities with locale tr-TR -------------------------------------
  step("tr: help");
  replies = await turkish("yardım");
  check(has(replies, "Neler yapabilirim"), "Turkish help", replies);
  check(/ara\s+isim/.test(lowered(replies)), "'ara isim' is readable", replies);
  await screenshot("tr-help");

  step("tr: ayşe'yi bul lists every Ayşe");
  replies = await turkish("ayşe'yi bul");
  const ayse = lowered(replies);
  check(/\((\d+) kişiden 1–\1\)/.test(ayse), "one page, titled in Turkish", ayse);
  check((ayse.match(/Ayşe /g) || []).length >= 4, "the four Ayşe are listed", ayse);
  await screenshot("tr-search");

  step("tr: organizasyon şeması");
  replies = await turkish("organizasyon şeması");
  const chart = lowered(replies);
  check(chart.includes("Organizasyon şeması: Tuğba Işık"), "own chart in Turkish", chart);
  const names = await lastCard().locator(".ac-selectable").evaluateAll((n) =>
    n.map((x) => x.innerText.split("\n")[0]));
  const shownReports = Number((chart.match(/kişiden 1–(\d+)\)/) || [0, 0])[1]);
  const reports = names.slice(names.length - shownReports);
  check(shownReports > 1, `direct reports listed (${shownReports})`, chart);
  const sorted = [...reports].sort((a, b) => a.localeCompare(b, "tr"));
  check(JSON.stringify(reports) === JSON.stringify(sorted), "reports in Turkish order", reports);
  await screenshot("tr-org-chart");

  step("tr: profilim");
  replies = await turkish("profilim");
  check(has(replies, "Profilim") && has(replies, "Entra ID'den"), "own card in Turkish", replies);
  await screenshot("tr-profile");

  step("tr: onaylarım");
  replies = await turkish("onaylarım");
  check(has(replies, "Onay"), "consents in Turkish", replies);
  await screenshot("tr-consents");

  step("tr: verilerimi indir");
  replies = await turkish("verilerimi indir");
  check(has(replies, "dosya olarak"), "a file is promised, in Turkish", replies);
  await screenshot("tr-export");

  step("tr: yönetim");
  replies = await turkish("yönetim");
  const masa = lowered(replies);
  check(masa.includes("düzeltme"), "request type in Turkish", masa);
  check(!/ · (access|rectification|erasure|correction) · |: ok, |succeeded/.test(masa),
    "no English codes", masa);
  await screenshot("tr-admin-desk");

  step("a chat that no longer exists");
  // The bot answers into a conversation the client does not know (deleted, or never there):
  // run.py then checks that juno serve logged one warning for it and no traceback.
  await custom({
    type: "message", text: "help",
    conversation: { ...config.activity.conversation, id: "a:juno-e2e-gone" },
  }, 0);
  await page.waitForTimeout(3000);
  check(true, "sent (the log is checked by run.py)");

  step("end");
  steps.pop();
  clearTimeout(watchdog);
  await browser.close();
  uploadServer.close();
  return { steps, blocked: [...blocked] };
}

main()
  .then((report) => {
    console.log("E2E-REPORT " + JSON.stringify(report));
  })
  .catch((error) => {
    console.log("E2E-REPORT " + JSON.stringify({ steps, error: String(error && error.stack || error) }));
    process.exitCode = 1;
  });
