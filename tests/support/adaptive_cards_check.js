// Parse, validate and render Adaptive Cards with Microsoft's own renderer (npm `adaptivecards`)
// under jsdom, the way a Teams-like host would, and report every validation event.
//
// Usage: node adaptive_cards_check.js <node_modules dir> <cards.json> <report.json>
// cards.json: [{"name": ..., "card": {...}}]; report.json gets one entry per card with the
// renderer's events, the largest action row and whether rendering produced an element.
// The host config caps actions per row at what Teams shows (MAX_ACTIONS), so a row with more
// is reported by the renderer itself as TooManyActions.
"use strict";

const fs = require("fs");
const path = require("path");

const [modules, cardsPath, reportPath, maxActionsArg] = process.argv.slice(2);
const MAX_ACTIONS = Number(maxActionsArg || 6);
const { JSDOM } = require(path.join(modules, "jsdom"));
const dom = new JSDOM("<!doctype html><html><body></body></html>");
global.window = dom.window;
for (const key of Object.getOwnPropertyNames(dom.window)) {
  if (!(key in global)) {
    try {
      global[key] = dom.window[key];
    } catch (e) {
      // a few window properties are getters that refuse to be copied; none is needed
    }
  }
}
const AC = require(path.join(modules, "adaptivecards", "dist", "adaptivecards.js"));

function eventsOf(context) {
  const found = [];
  for (let i = 0; i < context.eventCount; i++) {
    const e = context.getEventAt(i);
    found.push({ event: AC.ValidationEvent[e.event], message: e.message, phase: e.phase });
  }
  return found;
}

function actionRows(node, rows) {
  if (Array.isArray(node)) {
    node.forEach((item) => actionRows(item, rows));
  } else if (node && typeof node === "object") {
    if (Array.isArray(node.actions)) rows.push(node.actions.length);
    Object.values(node).forEach((value) => actionRows(value, rows));
  }
  return rows;
}

const cards = JSON.parse(fs.readFileSync(cardsPath, "utf-8"));
const report = [];
for (const { name, card: json } of cards) {
  const card = new AC.AdaptiveCard();
  card.hostConfig = new AC.HostConfig({ actions: { maxActions: MAX_ACTIONS } });
  const context = new AC.SerializationContext();
  context.targetVersion = AC.Versions.v1_5;
  const entry = { name, events: [], rendered: false, largestRow: 0 };
  try {
    card.parse(json, context);
    entry.events.push(...eventsOf(context));
    for (const e of card.validateProperties().validationEvents) {
      entry.events.push({ event: AC.ValidationEvent[e.event], message: e.message, phase: "validation" });
    }
    const element = card.render();
    // jsdom has no innerText (what TextBlocks set), so count rendered elements instead.
    entry.rendered = Boolean(element) && element.querySelectorAll("*").length > 0;
  } catch (err) {
    entry.events.push({ event: "Exception", message: String(err && err.stack ? err.stack : err) });
  }
  entry.largestRow = Math.max(0, ...actionRows(json, []));
  report.push(entry);
}
fs.writeFileSync(reportPath, JSON.stringify(report, null, 1));
