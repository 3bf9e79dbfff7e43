// Preloaded into the Playground's Node process (NODE_OPTIONS=--require): every server it
// starts listens on 127.0.0.1 only, and it may connect to loopback addresses only (its
// telemetry is also switched off on its command line). The Playground itself binds all
// interfaces and has no option to say otherwise.
"use strict";
const net = require("net");

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost", "::ffff:127.0.0.1"]);
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "number" || (typeof args[0] === "string" && /^\d+$/.test(args[0]))) {
    const port = Number(args[0]);
    const rest = args.slice(1);
    if (typeof rest[0] === "string") rest.shift(); // a host given: replaced by loopback
    return listen.call(this, port, "127.0.0.1", ...rest);
  }
  if (args[0] && typeof args[0] === "object" && !Array.isArray(args[0]) && args[0].path === undefined) {
    return listen.call(this, { ...args[0], host: "127.0.0.1" }, ...args.slice(1));
  }
  return listen.apply(this, args);
};

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const options = args[0];
  let host;
  if (Array.isArray(options)) host = options[0] && options[0].host;
  else if (options && typeof options === "object") host = options.path ? "localhost" : options.host;
  else if (typeof options === "number") host = typeof args[1] === "string" ? args[1] : "localhost";
  if (host !== undefined && !LOOPBACK.has(String(host))) {
    const error = new Error(`loopback only: refused a connection to ${host}`);
    process.nextTick(() => this.destroy(error));
    return this;
  }
  return connect.apply(this, args);
};
