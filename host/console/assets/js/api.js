// The console's requests: the member's JSON gateway through /ui/api/v3/…
// with the session's token (kept by the member in an HttpOnly cookie), and
// the console's own /ui/api requests. Every request carries the header
// that marks it as the console's own, which cross-site pages cannot send.

const headers = { "X-MetaStore-Console": "1", "Content-Type": "application/json" };

// APIError is a failed request: status is the HTTP status, message the
// server's (etcd's) message.
export class APIError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
  // needsLogin tells whether the request failed for want of a valid token.
  get needsLogin() {
    return this.status === 401 || /user name is empty|invalid auth token|authentication failed/.test(this.message) && this.status !== 403;
  }
  get denied() { return /permission denied/.test(this.message); }
}

async function answer(resp, quiet = false) {
  const text = await resp.text();
  let body = {};
  try { body = text ? JSON.parse(text) : {}; } catch { body = { message: text }; }
  if (!resp.ok || body.error) {
    const msg = body.message || body.error || resp.statusText;
    const err = new APIError(resp.status, msg, body.code);
    if (err.needsLogin && !quiet) window.dispatchEvent(new CustomEvent("console:login", { detail: err }));
    throw err;
  }
  return body;
}

// v3 calls the gateway's /v3/<path> with body.
export async function v3(path, body = {}, signal) {
  return answer(await fetch("/ui/api/v3/" + path, { method: "POST", headers, body: JSON.stringify(body), credentials: "same-origin", signal }));
}

// get asks the console's own /ui/api/<path>.
export async function get(path) {
  return answer(await fetch("/ui/api/" + path, { headers, credentials: "same-origin" }));
}

// post sends body to the console's own /ui/api/<path>; its failures
// (a wrong password) are the caller's to show.
export async function post(path, body = {}) {
  return answer(await fetch("/ui/api/" + path, { method: "POST", headers, body: JSON.stringify(body), credentials: "same-origin" }), true);
}

// formatYAML asks the member to pretty-print the YAML t, a value the
// page read; it fails with status 422 when t does not parse.
export async function formatYAML(t) {
  const resp = await fetch("/ui/api/format-yaml", {
    method: "POST", headers: { ...headers, "Content-Type": "text/plain; charset=utf-8" }, body: t, credentials: "same-origin",
  });
  return (await answer(resp, true)).yaml;
}

// watch streams the watch of create (a WatchCreateRequest) and calls
// onResult with each result until signal aborts.
export async function watch(create, onResult, signal) {
  const resp = await fetch("/ui/api/v3/watch", {
    method: "POST", headers, body: JSON.stringify({ create_request: create }), credentials: "same-origin", signal,
  });
  if (!resp.ok) return answer(resp);
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += decoder.decode(value, { stream: true });
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line) continue;
      const msg = JSON.parse(line);
      if (msg.error) throw new APIError(500, msg.error.message || String(msg.error));
      onResult(msg.result || {});
    }
  }
}

// metrics fetches and parses the member's /metrics: a map from a series
// ("name" or "name{labels}") to its value, and from a name to its samples.
export async function metrics() {
  const resp = await fetch("/metrics", { credentials: "same-origin" });
  if (!resp.ok) throw new APIError(resp.status, "metrics: " + resp.statusText);
  return parseMetrics(await resp.text());
}

export function parseMetrics(text) {
  const samples = new Map();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[3]) for (const l of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
    if (!samples.has(m[1])) samples.set(m[1], []);
    samples.get(m[1]).push({ labels, value: Number(m[4]) });
  }
  return {
    samples: (name) => samples.get(name) || [],
    sum: (name, filter = () => true) => (samples.get(name) || []).filter((s) => filter(s.labels)).reduce((a, s) => a + s.value, 0),
  };
}

// Bytes and base64, as the gateway carries keys and values.
export function enc(text) { return b64(new TextEncoder().encode(text)); }

export function b64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function bytes(b64text) {
  const s = atob(b64text || "");
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

// text decodes UTF-8, or returns null when b is not UTF-8.
export function text(b) {
  try { return new TextDecoder("utf-8", { fatal: true }).decode(b); } catch { return null; }
}

export function dec(b64text) {
  const b = bytes(b64text);
  const t = text(b);
  return t === null ? hex(b) : t;
}

export function hex(b) {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
}

// prefixEnd is the range end of every key starting with prefix (base64),
// "\0" (every key) for an empty prefix.
export function prefixEnd(prefixB64) {
  const b = bytes(prefixB64);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i] < 0xff) {
      const out = b.slice(0, i + 1);
      out[i]++;
      return b64(out);
    }
  }
  return b64(new Uint8Array([0]));
}

// leaseHex shows a lease ID as etcdctl does.
export function leaseHex(id) {
  return BigInt(id || 0).toString(16);
}
