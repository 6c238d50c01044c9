// The console's entry point: picks the view for the current path, and keeps navigation
// inside the page (links under /console/ change the view without a reload).

import {executionView, executionsView, machineView, machinesView} from './views.js';
import {h} from './util.js';

const ROUTES = {
  '/console/': ['machines', machinesView],
  '/console/state-machine': ['machines', machineView],
  '/console/executions': ['executions', executionsView],
  '/console/execution': ['executions', executionView],
};

let cleanup = null;
let generation = 0;

async function show() {
  const main = document.getElementById('main');
  if (cleanup) { cleanup(); cleanup = null; }
  const path = location.pathname.replace(/\/+$/, '') || '/console';
  const [section, view] = ROUTES[path] || ROUTES[path + '/'] || [null, null];
  for (const link of document.querySelectorAll('[data-nav]')) {
    link.classList.toggle('on', link.dataset.nav === section);
  }
  const mine = ++generation;
  if (!view) {
    main.replaceChildren(h('div', {class: 'empty-state'}, h('h2', {}, 'Not found'),
      h('p', {}, h('a', {href: '/console/'}, 'Back to the state machines'))));
    return;
  }
  try {
    const stop = await view(main, new URLSearchParams(location.search));
    if (mine !== generation) { if (stop) stop(); return; }
    cleanup = stop || null;
    document.title = (main.querySelector('h1')?.textContent || 'aslan') + ' · aslan console';
  } catch (error) {
    if (mine !== generation) return;
    main.replaceChildren(h('div', {class: 'notice error'}, error.message));
  }
}

document.addEventListener('click', (event) => {
  const anchor = event.target.closest('a[href]');
  if (!anchor || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  const url = new URL(anchor.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith('/console/') || url.pathname.startsWith('/console/api/')) return;
  event.preventDefault();
  if (url.pathname + url.search !== location.pathname + location.search) history.pushState(null, '', url.pathname + url.search);
  window.scrollTo(0, 0);
  show();
});
window.addEventListener('popstate', show);
window.addEventListener('console:navigate', show);
show();
