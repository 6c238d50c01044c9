// The graph viewer: shows the SVG the server drew, with zoom (wheel, buttons), pan (drag),
// fit, node selection, and colours for an execution's outcome.

import {h} from './util.js';

const STATUSES = ['succeeded', 'failed', 'caught', 'running', 'aborted'];

export class GraphView {
  /**
   * @param {HTMLElement} host where to draw
   * @param {string} svgText the drawing from /console/api/...
   * @param {{onSelect?: (name: string|null) => void}} options
   */
  constructor(host, svgText, options = {}) {
    this.onSelect = options.onSelect || (() => {});
    this.host = host;
    this.frame = h('div', {class: 'graph'});
    this.frame.innerHTML = svgText;
    this.svg = this.frame.querySelector('svg');
    const box = this.svg.viewBox.baseVal;
    this.content = {x: box.x, y: box.y, w: box.width, h: box.height};
    this.svg.removeAttribute('width');
    this.svg.removeAttribute('height');
    this.svg.setAttribute('preserveAspectRatio', 'xMidYMid meet');
    this.view = {...this.content};
    const controls = h('div', {class: 'graph-controls'},
      h('button', {type: 'button', title: 'Zoom in', onclick: () => this.zoomBy(1 / 1.25)}, '+'),
      h('button', {type: 'button', title: 'Zoom out', onclick: () => this.zoomBy(1.25)}, '−'),
      h('button', {type: 'button', title: 'Fit to view', class: 'fit', onclick: () => this.fit(true)}, 'Fit'));
    this.frame.append(controls);
    host.replaceChildren(this.frame);
    this.bind();
    new ResizeObserver(() => this.apply()).observe(this.frame);
    requestAnimationFrame(() => this.fit());
  }

  bind() {
    let drag = null;
    this.svg.addEventListener('pointerdown', (event) => {
      if (event.button !== 0) return;
      drag = {x: event.clientX, y: event.clientY, view: {...this.view}, moved: false};
      this.svg.setPointerCapture(event.pointerId);
    });
    this.svg.addEventListener('pointermove', (event) => {
      if (!drag) return;
      const scale = this.scale();
      const dx = (event.clientX - drag.x) / scale;
      const dy = (event.clientY - drag.y) / scale;
      if (Math.abs(dx) + Math.abs(dy) > 2 / scale) drag.moved = true;
      if (!drag.moved) return;
      this.frame.classList.add('panning');
      this.view = {...drag.view, x: drag.view.x - dx, y: drag.view.y - dy};
      this.apply();
    });
    this.svg.addEventListener('pointerup', (event) => {
      const wasDrag = drag && drag.moved;
      drag = null;
      this.frame.classList.remove('panning');
      if (wasDrag) return;
      const node = document.elementFromPoint(event.clientX, event.clientY)?.closest('[data-state]');
      this.select(node ? node.dataset.state : null, true);
    });
    this.svg.addEventListener('wheel', (event) => {
      event.preventDefault();
      const point = this.toGraph(event.clientX, event.clientY);
      this.zoomBy(Math.pow(1.0015, event.deltaY), point);
    }, {passive: false});
  }

  /** Pixels per graph unit. */
  scale() {
    const rect = this.svg.getBoundingClientRect();
    return Math.min(rect.width / this.view.w, rect.height / this.view.h) || 1;
  }

  toGraph(clientX, clientY) {
    const rect = this.svg.getBoundingClientRect();
    const scale = this.scale();
    const offsetX = (rect.width - this.view.w * scale) / 2;
    const offsetY = (rect.height - this.view.h * scale) / 2;
    return {
      x: this.view.x + (clientX - rect.left - offsetX) / scale,
      y: this.view.y + (clientY - rect.top - offsetY) / scale,
    };
  }

  zoomBy(factor, around) {
    const center = around || {x: this.view.x + this.view.w / 2, y: this.view.y + this.view.h / 2};
    const min = 60;
    const max = Math.max(this.content.w, this.content.h) * 6;
    const w = Math.min(max, Math.max(min, this.view.w * factor));
    const actual = w / this.view.w;
    this.view = {
      x: center.x - (center.x - this.view.x) * actual,
      y: center.y - (center.y - this.view.y) * actual,
      w: this.view.w * actual,
      h: this.view.h * actual,
    };
    this.apply();
  }

  /** Shows the whole graph (`whole`), or a large one from its top at a readable size. */
  fit(whole = false) {
    const rect = this.frame.getBoundingClientRect();
    const pad = 12;
    let view = {x: this.content.x - pad, y: this.content.y - pad, w: this.content.w + 2 * pad, h: this.content.h + 2 * pad};
    if (rect.width && rect.height) {
      const scale = Math.min(rect.width / view.w, rect.height / view.h);
      if (scale < 0.8 && !whole) {
        // Too small to read: show it at a readable size, from the top.
        const readable = Math.min(1, Math.max(0.8, rect.width / view.w));
        const w = rect.width / readable;
        const hh = rect.height / readable;
        view = {x: view.x + (view.w - w) / 2, y: view.y, w, h: hh};
      } else if (scale > 1.25) {
        const w = rect.width / 1.25;
        const hh = rect.height / 1.25;
        view = {x: view.x + (view.w - w) / 2, y: view.y + (view.h - hh) / 2, w, h: hh};
      }
    }
    this.view = view;
    this.apply();
  }

  apply() {
    const v = this.view;
    this.svg.setAttribute('viewBox', `${v.x} ${v.y} ${v.w} ${v.h}`);
  }

  node(name) {
    return this.svg.querySelector(`[data-state="${CSS.escape(name)}"]`);
  }

  /** Selects a state (or nothing); `notify` tells the page. */
  select(name, notify = false) {
    for (const element of this.svg.querySelectorAll('.selected')) element.classList.remove('selected');
    if (name) this.node(name)?.classList.add('selected');
    this.selected = name;
    if (notify) this.onSelect(name);
  }

  /** Brings a state into view. */
  reveal(name) {
    const node = this.node(name);
    if (!node) return;
    const box = node.getBBox();
    const matrix = node.transform.baseVal.consolidate()?.matrix;
    const x = box.x + (matrix ? matrix.e : 0);
    const y = box.y + (matrix ? matrix.f : 0);
    const inside = x >= this.view.x && y >= this.view.y && x + box.width <= this.view.x + this.view.w && y + box.height <= this.view.y + this.view.h;
    if (!inside) {
      this.view = {...this.view, x: x + box.width / 2 - this.view.w / 2, y: y + box.height / 2 - this.view.h / 2};
      this.apply();
    }
  }

  /**
   * Colours states by status and marks the transitions taken.
   * @param {Map<string, string>} statuses state name → succeeded|failed|caught|running|aborted
   * @param {Array<{from: string, to: string, caught: boolean, start?: boolean, end?: boolean}>} taken
   */
  paint(statuses, taken) {
    this.frame.classList.add('has-run');
    for (const node of this.svg.querySelectorAll('[data-state]')) {
      const status = statuses.get(node.dataset.state);
      for (const s of STATUSES) node.classList.toggle('st-' + s, s === status);
      node.classList.toggle('reached', Boolean(status));
    }
    for (const edge of this.svg.querySelectorAll('.g-edge')) edge.classList.remove('taken', 'caught');
    for (const t of taken) {
      let selector;
      if (t.start) selector = `.g-edge.kind-start[data-to="${CSS.escape(t.to)}"]`;
      else if (t.end) selector = `.g-edge.kind-end[data-from="${CSS.escape(t.from)}"]`;
      else {
        const kind = t.caught ? '.kind-catch' : ':not(.kind-catch)';
        selector = `.g-edge${kind}[data-from="${CSS.escape(t.from)}"][data-to="${CSS.escape(t.to)}"]`;
      }
      for (const edge of this.svg.querySelectorAll(selector)) {
        edge.classList.add('taken');
        if (t.caught) edge.classList.add('caught');
      }
    }
  }
}
