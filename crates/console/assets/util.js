// Small helpers shared by the console's views: building DOM, talking to the server,
// formatting times, and showing JSON and definitions with highlighting.

/** Builds an element: h('a', {href: '/x', class: 'y'}, 'text', child, [more]). */
export function h(tag, attrs, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      element.addEventListener(key.slice(2), value);
    } else if (key === 'dataset') {
      Object.assign(element.dataset, value);
    } else if (value === true) {
      element.setAttribute(key, '');
    } else {
      element.setAttribute(key, value);
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : String(child));
  }
}

/** GET a console endpoint; throws an Error with the server's message. */
export async function api(path, params) {
  const url = new URL('/console/api/' + path, location.origin);
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, value);
  }
  const response = await fetch(url);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

/** Calls the Step Functions API (the same one the AWS CLI and SDKs use). */
export async function sfn(operation, body) {
  const response = await fetch('/', {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.0',
      'X-Amz-Target': 'AWSStepFunctions.' + operation,
    },
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(`${answer.__type || response.status}: ${answer.message || response.statusText}`);
  }
  return answer;
}

/** A console link (handled by the router without reloading the page). */
export function link(path, params, ...children) {
  return h('a', {href: href(path, params)}, ...children);
}

export function href(path, params) {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, value);
  }
  return url.pathname + url.search;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

/** 2026-11-23 14:05:09.123 in local time. */
export function formatTime(ms, withMillis = false) {
  if (ms === null || ms === undefined) return '';
  const d = new Date(ms);
  const base = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return withMillis ? `${base}.${pad(d.getMilliseconds(), 3)}` : base;
}

/** 12 ms, 3.4 s, 2 min 05 s, 1 h 02 min. */
export function formatDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '';
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${pad(Math.floor(ms / 1000) % 60)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${pad(Math.floor(ms / 60_000) % 60)} min`;
}

export function ago(ms) {
  const seconds = Math.round((Date.now() - ms) / 1000);
  if (seconds < 60) return `${Math.max(0, seconds)} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

const STATUS_TEXT = {
  RUNNING: 'Running', SUCCEEDED: 'Succeeded', FAILED: 'Failed', TIMED_OUT: 'Timed out',
  ABORTED: 'Aborted', PENDING_REDRIVE: 'Pending redrive',
  running: 'In progress', succeeded: 'Succeeded', failed: 'Failed', caught: 'Caught error',
  aborted: 'Aborted', none: 'Not reached',
};

export function statusText(status) {
  return STATUS_TEXT[status] || status;
}

/** A coloured status pill. */
export function badge(status) {
  return h('span', {class: `badge s-${String(status).toLowerCase()}`}, statusText(status));
}

export function toast(message, kind = 'error') {
  const element = document.getElementById('toast');
  element.textContent = message;
  element.className = kind;
  element.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { element.hidden = true; }, 6000);
}

/** Parses JSON text when it is JSON; returns undefined otherwise. */
export function tryParse(text) {
  if (typeof text !== 'string') return text;
  try { return JSON.parse(text); } catch { return undefined; }
}

/** A JSON value as highlighted, indented text. */
export function jsonView(value, {empty = 'No data'} = {}) {
  if (value === undefined || value === null) {
    return h('div', {class: 'json empty'}, empty);
  }
  const parsed = typeof value === 'string' ? tryParse(value) : value;
  const pre = h('pre', {class: 'json'});
  if (parsed === undefined) {
    pre.append(String(value));
    return pre;
  }
  render(pre, parsed, 0);
  return pre;
}

function render(out, value, depth) {
  const indent = '  '.repeat(depth);
  if (value === null) out.append(h('span', {class: 'j-null'}, 'null'));
  else if (typeof value === 'string') out.append(h('span', {class: 'j-str'}, JSON.stringify(value)));
  else if (typeof value === 'number') out.append(h('span', {class: 'j-num'}, String(value)));
  else if (typeof value === 'boolean') out.append(h('span', {class: 'j-bool'}, String(value)));
  else if (Array.isArray(value)) {
    if (value.length === 0) { out.append('[]'); return; }
    out.append('[\n');
    value.forEach((item, i) => {
      out.append(indent + '  ');
      render(out, item, depth + 1);
      out.append(i < value.length - 1 ? ',\n' : '\n');
    });
    out.append(indent + ']');
  } else {
    const keys = Object.keys(value);
    if (keys.length === 0) { out.append('{}'); return; }
    out.append('{\n');
    keys.forEach((key, i) => {
      out.append(indent + '  ', h('span', {class: 'j-key'}, JSON.stringify(key)), ': ');
      render(out, value[key], depth + 1);
      out.append(i < keys.length - 1 ? ',\n' : '\n');
    });
    out.append(indent + '}');
  }
}

const TOKEN = /("(?:[^"\\]|\\.)*")(\s*:)?|(\/\/[^\n]*|\/\*[\s\S]*?\*\/)|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|\b(true|false|null)\b/g;

/** A definition as numbered, highlighted lines (JSON; YAML gets keys and comments). */
export function codeView(text) {
  const code = h('div', {class: 'code'});
  const yaml = !/^\s*[{\[\/]/.test(text);
  text.split('\n').forEach((line, i) => {
    const content = h('span', {class: 'tx'});
    if (yaml) highlightYaml(content, line);
    else highlightJson(content, line);
    code.append(h('div', {class: 'ln', dataset: {line: i + 1}},
      h('span', {class: 'no'}, String(i + 1)), content));
  });
  return code;
}

function highlightJson(out, line) {
  let last = 0;
  for (const match of line.matchAll(TOKEN)) {
    out.append(line.slice(last, match.index));
    const [whole, string, colon, comment, number, literal] = match;
    if (string && colon) out.append(h('span', {class: 'j-key'}, string), colon);
    else if (string) out.append(h('span', {class: 'j-str'}, string));
    else if (comment) out.append(h('span', {class: 'j-com'}, comment));
    else if (number) out.append(h('span', {class: 'j-num'}, number));
    else if (literal) out.append(h('span', {class: literal === 'null' ? 'j-null' : 'j-bool'}, literal));
    else out.append(whole);
    last = match.index + whole.length;
  }
  out.append(line.slice(last));
}

function highlightYaml(out, line) {
  const match = /^(\s*-?\s*)([^:#]+)(:)(.*)$/.exec(line);
  if (/^\s*#/.test(line)) out.append(h('span', {class: 'j-com'}, line));
  else if (match) out.append(match[1], h('span', {class: 'j-key'}, match[2]), match[3], match[4]);
  else out.append(line);
}

/** Marks lines [first, last] of a code view and scrolls them into view. */
export function markLines(code, range) {
  for (const element of code.querySelectorAll('.ln.hl')) element.classList.remove('hl');
  if (!range) return;
  const [first, last] = range;
  for (let line = first; line <= last; line++) {
    code.querySelector(`.ln[data-line="${line}"]`)?.classList.add('hl');
  }
  const target = code.querySelector(`.ln[data-line="${first}"]`);
  if (target) {
    const box = code.closest('.scroll') || code.parentElement;
    const offset = target.getBoundingClientRect().top - box.getBoundingClientRect().top;
    box.scrollTo({top: Math.max(0, box.scrollTop + offset - 48), behavior: 'smooth'});
  }
}
