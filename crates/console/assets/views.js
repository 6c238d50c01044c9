// The console's pages. Each view renders into `main` and returns a function that stops
// whatever it keeps running (polling), called when the page changes.

import {GraphView} from './graph.js';
import {
  ago, api, badge, codeView, formatDuration, formatTime, h, href, jsonView, link, markLines,
  sfn, statusText, toast, tryParse,
} from './util.js';

const STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];
const POLL_MS = 1000;

function pageHeader(crumbs, title, ...extra) {
  return h('div', {class: 'page-head'},
    h('div', {class: 'crumbs'}, crumbs.map((c, i) => [i ? h('span', {class: 'sep'}, '/') : null, c])),
    h('div', {class: 'title-row'}, h('h1', {}, title), h('div', {class: 'actions'}, extra)));
}

function errorBox(message) {
  return h('div', {class: 'notice error'}, message);
}

function countChips(counts, machineArn) {
  const chips = STATUSES.filter((s) => counts[s]).map((s) =>
    h('a', {class: `chip s-${s.toLowerCase()}`, href: href('/console/executions', {state_machine: machineArn, status: s}), title: statusText(s)},
      h('span', {class: 'dot'}), statusText(s), h('b', {}, counts[s].toLocaleString())));
  return chips.length ? h('div', {class: 'chips'}, chips) : h('span', {class: 'muted'}, 'No executions');
}

// ---------------------------------------------------------------------------------------------
// State machines

export async function machinesView(main) {
  const data = await api('overview');
  const machines = data.state_machines;
  main.replaceChildren(pageHeader([], 'State machines'));
  if (machines.length === 0) {
    main.append(h('div', {class: 'empty-state'},
      h('h2', {}, 'No state machines yet'),
      h('p', {}, 'Create one with the AWS CLI or any AWS SDK pointed at this server, for example:'),
      h('pre', {class: 'json'}, `aws stepfunctions --endpoint-url ${location.origin} create-state-machine \\\n  --name hello --definition file://hello.asl.json \\\n  --role-arn arn:aws:iam::123456789012:role/any`)));
    return;
  }
  const rows = machines.map((m) => h('tr', {},
    h('td', {}, link('/console/state-machine', {arn: m.arn}, m.name),
      m.description ? h('div', {class: 'muted small'}, m.description) : null),
    h('td', {}, h('span', {class: 'type'}, m.type)),
    h('td', {title: formatTime(m.created_ms)}, formatTime(m.created_ms)),
    h('td', {class: 'num'}, m.total ? link('/console/executions', {state_machine: m.arn}, m.total.toLocaleString()) : '0'),
    h('td', {}, countChips(m.counts, m.arn))));
  main.append(h('div', {class: 'card'}, h('table', {class: 'list', id: 'machines'},
    h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Type'), h('th', {}, 'Created'),
      h('th', {class: 'num'}, 'Executions'), h('th', {}, 'By status'))),
    h('tbody', {}, rows))));
}

// ---------------------------------------------------------------------------------------------
// One state machine

export async function machineView(main, params) {
  const arn = params.get('arn');
  const machine = await api('state-machine', {arn});
  const start = h('button', {class: 'primary', type: 'button', onclick: () => startDialog(machine)}, 'Start execution');
  main.replaceChildren(
    pageHeader([link('/console/', {}, 'State machines')], machine.name, start),
    h('div', {class: 'meta'},
      h('span', {class: 'type'}, machine.type),
      h('span', {class: 'muted mono'}, machine.arn),
      h('span', {class: 'muted'}, 'Created ' + formatTime(machine.created_ms))),
    h('div', {class: 'counts-row'}, countChips(machine.counts, machine.arn),
      machine.total ? link('/console/executions', {state_machine: machine.arn}, `All ${machine.total.toLocaleString()} executions →`) : null));
  if (machine.error) main.append(errorBox('The definition does not load: ' + machine.error));

  const graphHost = h('div', {class: 'graph-host'});
  const code = codeView(machine.definition);
  const fields = h('div', {class: 'fields'}, h('p', {class: 'muted'}, 'Select a state to see its fields.'));
  const split = h('div', {class: 'split'},
    h('section', {class: 'card graph-card'}, h('div', {class: 'card-head'}, h('h2', {}, 'Graph'), legend(false)), graphHost),
    h('section', {class: 'card code-card'}, h('div', {class: 'card-head'}, h('h2', {}, 'Definition')),
      h('div', {class: 'scroll'}, code)));
  main.append(split, h('section', {class: 'card', id: 'state-fields'}, h('div', {class: 'card-head'}, h('h2', {}, 'Selected state')), fields));

  if (machine.svg) {
    const graph = new GraphView(graphHost, machine.svg, {
      onSelect: (name) => showFields(name),
    });
    const showFields = (name) => {
      const info = name && machine.states[name];
      markLines(code, info ? info.lines : null);
      fields.replaceChildren(info
        ? h('div', {}, h('h3', {}, name, ' ', h('span', {class: 'type'}, info.fields.Type || '')),
          info.owner ? h('p', {class: 'muted small'}, `Inside ${info.owner}`) : null,
          jsonView(info.fields))
        : h('p', {class: 'muted'}, 'Select a state to see its fields.'));
    };
    // Clicking a line of the definition selects the state it belongs to.
    code.addEventListener('click', (event) => {
      const line = Number(event.target.closest('.ln')?.dataset.line);
      let best = null;
      for (const [name, info] of Object.entries(machine.states)) {
        if (info.lines && line >= info.lines[0] && line <= info.lines[1]) {
          if (!best || info.lines[1] - info.lines[0] < machine.states[best].lines[1] - machine.states[best].lines[0]) best = name;
        }
      }
      if (best) { graph.select(best); graph.reveal(best); showFields(best); }
    });
  }

  const recent = h('div', {});
  main.append(h('section', {class: 'card'}, h('div', {class: 'card-head'}, h('h2', {}, 'Recent executions')), recent));
  const page = await api('executions', {state_machine: arn, limit: 10});
  recent.replaceChildren(executionTable(page.executions, false));
}

function legend(withOutcome) {
  const items = withOutcome
    ? ['succeeded', 'failed', 'caught', 'running', 'aborted', 'none']
    : [];
  if (!items.length) return h('span', {class: 'muted small'}, 'Scroll to zoom, drag to pan');
  return h('div', {class: 'legend'}, items.map((s) => h('span', {class: `lg s-${s}`}, h('i'), statusText(s))));
}

// ---------------------------------------------------------------------------------------------
// Start an execution

function startDialog(machine, input = '{\n  \n}', onStarted) {
  const name = h('input', {type: 'text', placeholder: 'Generated when empty', maxlength: '80', id: 'start-name'});
  const editor = h('textarea', {spellcheck: 'false', rows: '14', id: 'start-input'});
  editor.value = input;
  const problem = h('div', {class: 'problem'});
  const check = () => {
    try { JSON.parse(editor.value); problem.textContent = ''; return true; } catch (e) { problem.textContent = e.message; return false; }
  };
  editor.addEventListener('input', check);
  editor.addEventListener('keydown', (event) => {
    if (event.key === 'Tab') {
      event.preventDefault();
      editor.setRangeText('  ', editor.selectionStart, editor.selectionEnd, 'end');
    }
  });
  const format = h('button', {type: 'button', onclick: () => {
    if (check()) editor.value = JSON.stringify(JSON.parse(editor.value), null, 2);
  }}, 'Format');
  const result = h('div', {});
  const submit = h('button', {class: 'primary', type: 'submit', id: 'start-submit'}, 'Start');
  const dialog = h('dialog', {class: 'dialog'},
    h('form', {method: 'dialog', onsubmit: async (event) => {
      event.preventDefault();
      if (!check()) return;
      submit.disabled = true;
      try {
        const body = {stateMachineArn: machine.arn, input: editor.value};
        if (name.value.trim()) body.name = name.value.trim();
        if (machine.type === 'EXPRESS') {
          const answer = await sfn('StartSyncExecution', body);
          result.replaceChildren(h('h3', {}, 'Result ', badge(answer.status)),
            answer.output !== undefined ? jsonView(answer.output) : jsonView({error: answer.error, cause: answer.cause}));
          submit.disabled = false;
          return;
        }
        const answer = await sfn('StartExecution', body);
        dialog.close();
        dialog.remove();
        if (onStarted) onStarted(answer.executionArn);
        navigate(href('/console/execution', {arn: answer.executionArn}));
      } catch (error) {
        problem.textContent = error.message;
        submit.disabled = false;
      }
    }},
    h('h2', {}, `Start an execution of ${machine.name}`),
    h('label', {}, 'Name', name),
    h('label', {}, 'Input (JSON)', editor),
    problem,
    result,
    h('div', {class: 'dialog-actions'}, format, h('span', {class: 'grow'}),
      h('button', {type: 'button', onclick: () => { dialog.close(); dialog.remove(); }}, 'Cancel'), submit)));
  document.body.append(dialog);
  dialog.showModal();
  editor.focus();
}

export function navigate(path) {
  history.pushState(null, '', path);
  window.dispatchEvent(new Event('console:navigate'));
}

// ---------------------------------------------------------------------------------------------
// Executions

const RANGES = {'': 'Any time', '1h': 'Last hour', '24h': 'Last 24 hours', '7d': 'Last 7 days', custom: 'Custom range'};
const RANGE_MS = {'1h': 3_600_000, '24h': 86_400_000, '7d': 604_800_000};

function toLocalInput(ms) {
  if (!ms) return '';
  const d = new Date(Number(ms));
  const offset = d.getTimezoneOffset() * 60_000;
  return new Date(d.getTime() - offset).toISOString().slice(0, 16);
}

export async function executionsView(main, params) {
  const filters = {
    state_machine: params.get('state_machine') || '',
    status: params.get('status') || '',
    prefix: params.get('prefix') || '',
    range: params.get('range') || (params.get('from') || params.get('until') ? 'custom' : ''),
    from: params.get('from') || '',
    until: params.get('until') || '',
    limit: params.get('limit') || '50',
  };
  // The pages before this one, so that "Newer" can go back.
  const trail = (params.get('trail') || '').split(',').filter(Boolean);
  const after = params.get('after') || '';
  const overview = await api('overview');

  const machineSelect = h('select', {name: 'state_machine'},
    h('option', {value: ''}, 'All state machines'),
    overview.state_machines.map((m) => h('option', {value: m.arn, selected: m.arn === filters.state_machine}, m.name)));
  const statusSelect = h('select', {name: 'status'},
    h('option', {value: ''}, 'Any status'),
    STATUSES.map((s) => h('option', {value: s, selected: s === filters.status}, statusText(s))));
  const prefix = h('input', {type: 'search', name: 'prefix', placeholder: 'Name starts with…', value: filters.prefix});
  const rangeSelect = h('select', {name: 'range'},
    Object.entries(RANGES).map(([value, text]) => h('option', {value, selected: value === filters.range}, text)));
  const from = h('input', {type: 'datetime-local', name: 'from', value: toLocalInput(filters.from)});
  const until = h('input', {type: 'datetime-local', name: 'until', value: toLocalInput(filters.until)});
  const custom = h('span', {class: 'custom-range', hidden: filters.range !== 'custom'}, from, h('span', {class: 'muted'}, 'to'), until);
  const limit = h('select', {name: 'limit'}, ['25', '50', '100', '200'].map((n) => h('option', {value: n, selected: n === filters.limit}, `${n} per page`)));

  const apply = () => {
    const next = {
      state_machine: machineSelect.value, status: statusSelect.value, prefix: prefix.value.trim(),
      range: rangeSelect.value, limit: limit.value === '50' ? '' : limit.value,
    };
    if (rangeSelect.value === 'custom') {
      next.from = from.value ? String(new Date(from.value).getTime()) : '';
      next.until = until.value ? String(new Date(until.value).getTime()) : '';
    }
    navigate(href('/console/executions', next));
  };
  for (const control of [machineSelect, statusSelect, rangeSelect, limit, from, until]) {
    control.addEventListener('change', () => {
      custom.hidden = rangeSelect.value !== 'custom';
      if (control !== rangeSelect || rangeSelect.value !== 'custom') apply();
    });
  }
  let typing;
  prefix.addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(apply, 350); });
  prefix.addEventListener('keydown', (event) => { if (event.key === 'Enter') { clearTimeout(typing); apply(); } });

  const query = {
    state_machine: filters.state_machine, status: filters.status, prefix: filters.prefix,
    limit: filters.limit, after,
  };
  if (RANGE_MS[filters.range]) query.from = String(Date.now() - RANGE_MS[filters.range]);
  if (filters.range === 'custom') { query.from = filters.from; query.until = filters.until; }
  const started = performance.now();
  const page = await api('executions', query);
  const took = performance.now() - started;

  const base = {...filters, range: filters.range || '', limit: filters.limit === '50' ? '' : filters.limit};
  if (filters.range !== 'custom') { delete base.from; delete base.until; }
  const newer = trail.length || after
    ? link('/console/executions', {...base, after: trail[trail.length - 1] === '-' ? '' : trail[trail.length - 1] || '', trail: trail.slice(0, -1).join(',')}, '← Newer')
    : h('span', {class: 'disabled'}, '← Newer');
  const older = page.next
    ? link('/console/executions', {...base, after: page.next, trail: [...trail, after || '-'].join(',')}, 'Older →')
    : h('span', {class: 'disabled'}, 'Older →');
  const pageNumber = trail.length + 1;

  const table = h('div', {});
  const timing = h('span', {class: 'muted small', title: 'How long the list took to arrive'});
  const fill = (executions, ms) => {
    table.replaceChildren(executions.length ? executionTable(executions, true) : h('p', {class: 'empty'}, 'No executions match these filters.'));
    timing.textContent = `${Math.round(ms)} ms`;
  };
  fill(page.executions, took);
  main.replaceChildren(
    pageHeader([], 'Executions'),
    h('form', {class: 'filters', onsubmit: (e) => { e.preventDefault(); apply(); }},
      machineSelect, statusSelect, prefix, rangeSelect, custom, limit),
    h('div', {class: 'card'}, table,
      h('div', {class: 'pager'}, newer, h('span', {class: 'muted'}, `Page ${pageNumber}`), older,
        h('span', {class: 'grow'}), timing)));

  // The first page follows along while it shows running executions.
  let timer = null;
  let stopped = false;
  const follow = (executions) => {
    if (stopped || after || !executions.some((e) => e.status === 'RUNNING')) return;
    timer = setTimeout(async () => {
      try {
        const begin = performance.now();
        const next = await api('executions', query);
        if (stopped) return;
        fill(next.executions, performance.now() - begin);
        follow(next.executions);
      } catch (error) { toast(error.message); }
    }, 3000);
  };
  follow(page.executions);
  return () => { stopped = true; clearTimeout(timer); };
}

function executionTable(executions, withMachine) {
  if (!executions.length) return h('p', {class: 'empty'}, 'No executions yet.');
  return h('table', {class: 'list', id: 'executions'},
    h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Status'), withMachine ? h('th', {}, 'State machine') : null,
      h('th', {}, 'Started'), h('th', {}, 'Duration'))),
    h('tbody', {}, executions.map((e) => h('tr', {},
      h('td', {}, link('/console/execution', {arn: e.arn}, e.name)),
      h('td', {}, badge(e.status)),
      withMachine ? h('td', {}, link('/console/state-machine', {arn: e.state_machine_arn}, e.state_machine_name)) : null,
      h('td', {title: ago(e.start_ms)}, formatTime(e.start_ms)),
      h('td', {}, e.stop_ms ? formatDuration(e.stop_ms - e.start_ms) : h('span', {class: 'muted'}, 'running'))))));
}

// ---------------------------------------------------------------------------------------------
// One execution

const PRIORITY = {failed: 5, running: 4, caught: 3, aborted: 2, succeeded: 1};

export async function executionView(main, params) {
  const arn = params.get('arn');
  const data = await api('execution', {arn});
  const execution = data.execution;
  const state = {
    execution, runs: [], events: [], byId: new Map(), selected: null, selectedRun: null,
    iterations: new Map(), tab: 'timeline', stopped: false,
  };

  const stopButton = h('button', {type: 'button', class: 'danger', id: 'stop', onclick: async () => {
    if (!confirm(`Stop ${execution.name}?`)) return;
    try {
      await sfn('StopExecution', {executionArn: arn, error: 'Stopped', cause: 'Stopped from the console'});
      toast('Execution stopped', 'info');
      poll();
    } catch (error) { toast(error.message); }
  }}, 'Stop');
  const again = h('button', {type: 'button', class: 'primary', id: 'start-new', onclick: () => startDialog(
    {arn: execution.state_machine_arn, name: execution.state_machine_name, type: data.type},
    JSON.stringify(tryParse(state.execution.input) ?? {}, null, 2))}, 'New execution');
  if (!data.state_machine_exists) again.disabled = true;
  const statusSlot = h('span', {class: 'status-slot'});
  const summary = h('div', {class: 'summary'});
  const failure = h('div', {});
  main.replaceChildren(
    pageHeader([link('/console/executions', {}, 'Executions'),
      link('/console/executions', {state_machine: execution.state_machine_arn}, execution.state_machine_name)],
    h('span', {}, execution.name, ' ', statusSlot), stopButton, again),
    summary, failure);

  const graphHost = h('div', {class: 'graph-host'});
  const side = h('div', {class: 'side', id: 'details'});
  const iterationBar = h('div', {class: 'iteration-bar'});
  main.append(h('div', {class: 'split execution'},
    h('section', {class: 'card graph-card'},
      h('div', {class: 'card-head'}, h('h2', {}, 'Graph'), legend(true)), iterationBar, graphHost),
    h('section', {class: 'card side-card'}, side)));
  if (data.error) main.append(errorBox('The definition does not load: ' + data.error));

  const tabs = h('div', {class: 'tabs'});
  const tabBody = h('div', {class: 'tab-body'});
  main.append(h('section', {class: 'card'}, tabs, tabBody));

  const graph = data.svg ? new GraphView(graphHost, data.svg, {onSelect: (name) => { state.selected = name; state.selectedRun = null; renderSide(); }}) : null;
  const stateTypes = {};
  for (const [name, info] of Object.entries(data.states)) stateTypes[name] = info.fields.Type;

  // Runs visible under the current Map iteration choices.
  const visible = (run) => {
    let current = run;
    while (current && current.parent !== null && current.parent !== undefined) {
      const parent = state.runs[current.parent];
      const chosen = state.iterations.get(parent.state);
      if (chosen !== undefined && current.iteration !== chosen) return false;
      current = parent;
    }
    return true;
  };

  function outcome() {
    const statuses = new Map();
    for (const run of state.runs) {
      if (!visible(run)) continue;
      const now = statuses.get(run.state);
      if (!now || PRIORITY[run.status] > PRIORITY[now]) statuses.set(run.state, run.status);
    }
    const frames = new Map();
    for (const run of state.runs) {
      if (!visible(run)) continue;
      const key = `${run.parent}:${run.iteration}`;
      if (!frames.has(key)) frames.set(key, []);
      frames.get(key).push(run);
    }
    const taken = [];
    for (const list of frames.values()) {
      taken.push({to: list[0].state, start: true});
      for (let i = 1; i < list.length; i++) {
        taken.push({from: list[i - 1].state, to: list[i].state, caught: list[i - 1].status === 'caught'});
      }
      const last = list[list.length - 1];
      if (last.status === 'succeeded' || (last.status === 'failed' && stateTypes[last.state] === 'Fail')) {
        taken.push({from: last.state, end: true});
      }
    }
    return {statuses, taken};
  }

  function renderHeader() {
    const e = state.execution;
    statusSlot.replaceChildren(badge(e.status));
    stopButton.hidden = e.status !== 'RUNNING';
    const end = e.stop_ms || Date.now();
    summary.replaceChildren(
      field('State machine', link('/console/state-machine', {arn: e.state_machine_arn}, e.state_machine_name)),
      field('Started', formatTime(e.start_ms, true)),
      field(e.stop_ms ? 'Stopped' : 'Running for', e.stop_ms ? formatTime(e.stop_ms, true) : formatDuration(end - e.start_ms)),
      field('Duration', formatDuration(end - e.start_ms)),
      field('Events', String(state.events.length)),
      field('ARN', h('span', {class: 'mono small'}, e.arn)));
    failure.replaceChildren(e.error || e.cause
      ? h('div', {class: 'notice error', id: 'execution-error'}, h('b', {}, e.error || 'Error'), e.cause ? h('div', {class: 'cause'}, e.cause) : null)
      : '');
  }

  function runLabel(run) {
    const parts = [];
    if (run.iteration !== null && run.iteration !== undefined) parts.push(`iteration ${run.iteration}`);
    if (run.attempts > 1) parts.push(`${run.attempts} attempts`);
    return parts.join(', ');
  }

  function renderSide() {
    const name = state.selected;
    graph?.select(name);
    if (!name) {
      side.replaceChildren(h('h2', {}, 'Execution'),
        h('h3', {}, 'Input'), jsonView(state.execution.input),
        h('h3', {}, 'Output'), state.execution.output ? jsonView(state.execution.output) : h('p', {class: 'muted'}, state.execution.status === 'RUNNING' ? 'Not yet.' : 'None.'),
        h('p', {class: 'muted small'}, 'Select a state in the graph to see its input, output and errors.'));
      return;
    }
    const runs = state.runs.filter((r) => r.state === name && visible(r));
    const info = data.states[name];
    const head = h('div', {class: 'side-head'}, h('h2', {}, name), h('span', {class: 'type'}, info?.fields.Type || ''));
    if (!runs.length) {
      side.replaceChildren(head, h('p', {class: 'muted'}, 'Not reached.'), h('h3', {}, 'Definition'), jsonView(info?.fields));
      return;
    }
    const run = runs.find((r) => r.id === state.selectedRun) || runs.find((r) => r.status === 'failed') || runs[runs.length - 1];
    const content = [head];
    if (runs.length > 1) {
      const picker = h('select', {class: 'run-picker', onchange: () => { state.selectedRun = Number(picker.value); renderSide(); }},
        runs.map((r, i) => h('option', {value: r.id, selected: r.id === run.id}, `Run ${i + 1} of ${runs.length}${runLabel(r) ? ' (' + runLabel(r) + ')' : ''} · ${statusText(r.status)}`)));
      content.push(picker);
    }
    content.push(h('div', {class: 'run-meta'}, badge(run.status),
      h('span', {}, formatTime(run.start_ms, true)),
      run.end_ms ? h('span', {class: 'muted'}, formatDuration(run.end_ms - run.start_ms)) : null,
      runLabel(run) ? h('span', {class: 'muted'}, runLabel(run)) : null));
    if (run.error || run.cause) {
      content.push(h('div', {class: `notice ${run.status === 'caught' ? 'warn' : 'error'}`, id: 'state-error'},
        h('div', {class: 'label'}, run.status === 'caught' ? 'Caught error' : 'Error'),
        h('b', {class: 'error-name'}, run.error || ''),
        run.cause ? h('div', {class: 'label'}, 'Cause') : null,
        run.cause ? (tryParse(run.cause) !== undefined && typeof tryParse(run.cause) === 'object' ? jsonView(run.cause) : h('div', {class: 'cause'}, run.cause)) : null));
    }
    const entered = state.byId.get(run.entered);
    const exited = run.exited ? state.byId.get(run.exited) : null;
    content.push(h('h3', {}, 'Input'), jsonView(entered?.stateEnteredEventDetails?.input, {empty: 'Not loaded'}));
    content.push(h('h3', {}, 'Output'), exited ? jsonView(exited.stateExitedEventDetails?.output) : h('p', {class: 'muted'}, run.status === 'running' ? 'Still running.' : 'No output.'));
    if (stateTypes[name] === 'Map') content.push(iterationList(run));
    content.push(h('details', {}, h('summary', {}, 'Definition'), jsonView(info?.fields)));
    side.replaceChildren(...content);
  }

  function iterationList(mapRun) {
    const byIteration = new Map();
    for (const run of state.runs) {
      if (run.parent !== mapRun.id) continue;
      const now = byIteration.get(run.iteration);
      if (!now || PRIORITY[run.status] > PRIORITY[now]) byIteration.set(run.iteration, run.status);
    }
    const chosen = state.iterations.get(mapRun.state);
    const items = [...byIteration.entries()].sort((a, b) => a[0] - b[0]).slice(0, 500);
    return h('div', {class: 'iterations'},
      h('h3', {}, `Iterations (${mapRun.iterations})`),
      h('div', {class: 'iteration-grid'},
        h('button', {type: 'button', class: chosen === undefined ? 'on' : '', onclick: () => chooseIteration(mapRun.state, undefined)}, 'All'),
        items.map(([index, status]) => h('button', {type: 'button', class: `it s-${status} ${chosen === index ? 'on' : ''}`, title: statusText(status),
          onclick: () => chooseIteration(mapRun.state, index)}, String(index)))));
  }

  function chooseIteration(mapName, index) {
    if (index === undefined) state.iterations.delete(mapName);
    else state.iterations.set(mapName, index);
    renderAll();
  }

  function renderIterationBar() {
    const chips = [...state.iterations.entries()].map(([name, index]) => h('span', {class: 'chip'},
      `${name}: iteration ${index}`, h('button', {type: 'button', title: 'Show all iterations', onclick: () => chooseIteration(name, undefined)}, '×')));
    iterationBar.replaceChildren(...chips);
    iterationBar.hidden = chips.length === 0;
  }

  function renderTabs() {
    const names = {timeline: 'Timeline', events: `Events (${state.events.length})`, io: 'Input and output', definition: 'Definition'};
    tabs.replaceChildren(...Object.entries(names).map(([key, text]) =>
      h('button', {type: 'button', class: state.tab === key ? 'on' : '', dataset: {tab: key}, onclick: () => { state.tab = key; renderTabs(); }}, text)));
    if (state.tab === 'timeline') tabBody.replaceChildren(timeline());
    else if (state.tab === 'events') tabBody.replaceChildren(eventTable());
    else if (state.tab === 'io') tabBody.replaceChildren(h('div', {class: 'two'},
      h('div', {}, h('h3', {}, 'Input'), jsonView(state.execution.input)),
      h('div', {}, h('h3', {}, 'Output'), state.execution.output ? jsonView(state.execution.output) : h('p', {class: 'muted'}, 'None.'))));
    else tabBody.replaceChildren(h('div', {class: 'scroll tall'}, codeView(data.definition)));
  }

  function timeline() {
    const runs = state.runs.filter(visible).slice(0, 500);
    if (!runs.length) return h('p', {class: 'muted'}, 'No state has run yet.');
    const begin = state.execution.start_ms;
    const end = Math.max(state.execution.stop_ms || Date.now(), ...runs.map((r) => r.end_ms || 0), begin + 1);
    const span = end - begin;
    const depth = (run) => { let d = 0; let r = run; while (r.parent !== null && r.parent !== undefined) { d++; r = state.runs[r.parent]; } return d; };
    return h('div', {class: 'timeline', id: 'timeline'},
      h('div', {class: 'tl-row tl-head'}, h('span', {}, 'State'), h('span', {}, 'Duration'), h('span', {class: 'tl-track'}, h('span', {class: 'muted small'}, `0 — ${formatDuration(span)}`))),
      runs.map((run) => {
        const stop = run.end_ms || (run.status === 'running' ? Date.now() : end);
        const left = ((run.start_ms - begin) / span) * 100;
        const width = Math.max(0.4, ((stop - run.start_ms) / span) * 100);
        return h('div', {class: 'tl-row', onclick: () => { state.selected = run.state; state.selectedRun = run.id; renderSide(); graph?.reveal(run.state); }},
          h('span', {class: 'tl-name', style: `padding-left:${depth(run) * 14}px`}, run.state,
            run.iteration !== null && run.iteration !== undefined ? h('span', {class: 'muted small'}, ` #${run.iteration}`) : null),
          h('span', {class: 'tl-dur'}, run.end_ms ? formatDuration(run.end_ms - run.start_ms) : statusText(run.status)),
          h('span', {class: 'tl-track'}, h('span', {class: `tl-bar s-${run.status}`, style: `left:${left}%;width:${width}%`, title: statusText(run.status)})));
      }),
      state.runs.length > 500 ? h('p', {class: 'muted small'}, `The first 500 of ${state.runs.length} runs.`) : null);
  }

  function eventTable() {
    const begin = state.execution.start_ms;
    const step = new Map();
    const rows = [];
    const shown = state.events.slice(0, 2000);
    for (const event of state.events) {
      const details = detailsOf(event);
      step.set(event.id, details?.name || (event.type.startsWith('Execution') ? '' : step.get(event.previousEventId) || ''));
    }
    for (const event of shown) {
      const details = detailsOf(event);
      const time = Math.round(event.timestamp * 1000);
      const failed = /Failed|TimedOut|Aborted/.test(event.type);
      const detailRow = h('tr', {class: 'event-details', hidden: true}, h('td', {colspan: '5'}, jsonView(expand(details), {empty: 'No details'})));
      const row = h('tr', {class: failed ? 'event failed' : 'event', dataset: {type: event.type}, onclick: () => { detailRow.hidden = !detailRow.hidden; row.classList.toggle('open'); }},
        h('td', {class: 'num'}, String(event.id)),
        h('td', {}, h('span', {class: 'event-type'}, event.type)),
        h('td', {}, step.get(event.id)),
        h('td', {class: 'muted'}, summaryOf(event.type, details)),
        h('td', {class: 'num'}, formatDuration(time - begin)));
      rows.push(row, detailRow);
    }
    return h('div', {},
      h('table', {class: 'list events', id: 'events'},
        h('thead', {}, h('tr', {}, h('th', {class: 'num'}, 'ID'), h('th', {}, 'Type'), h('th', {}, 'Step'), h('th', {}, 'Details'), h('th', {class: 'num'}, 'Elapsed'))),
        h('tbody', {}, rows)),
      state.events.length > shown.length ? h('p', {class: 'muted small'}, `The first ${shown.length} of ${state.events.length} events.`) : null);
  }

  function renderAll() {
    renderHeader();
    renderIterationBar();
    if (graph) {
      const {statuses, taken} = outcome();
      graph.paint(statuses, taken);
    }
    renderSide();
    renderTabs();
  }

  let timer = null;
  let first = true;
  async function poll() {
    clearTimeout(timer);
    try {
      let more = true;
      while (more) {
        const lastId = state.events.length ? state.events[state.events.length - 1].id : 0;
        const progress = await api('progress', {arn, after: lastId});
        state.execution = progress.execution;
        state.runs = progress.runs;
        for (const event of progress.events) {
          state.events.push(event);
          state.byId.set(event.id, event);
        }
        more = progress.more;
      }
      if (first) {
        first = false;
        // Open on the state that failed, if one did.
        const failed = [...state.runs].reverse().find((r) => r.status === 'failed' && stateTypes[r.state] !== 'Parallel' && stateTypes[r.state] !== 'Map');
        if (failed) { state.selected = failed.state; state.selectedRun = failed.id; }
      }
      renderAll();
      if (state.selected && first === false) graph?.select(state.selected);
    } catch (error) {
      toast(error.message);
    }
    if (!state.stopped && state.execution.status === 'RUNNING') timer = setTimeout(poll, POLL_MS);
  }
  await poll();
  return () => { state.stopped = true; clearTimeout(timer); };
}

function field(label, value) {
  return h('div', {class: 'field'}, h('div', {class: 'label'}, label), h('div', {class: 'value'}, value));
}

function detailsOf(event) {
  for (const [key, value] of Object.entries(event)) {
    if (key.endsWith('EventDetails')) return value;
  }
  return null;
}

/** Details with their embedded JSON strings (input, output, parameters) opened up. */
function expand(details) {
  if (!details) return undefined;
  const out = {};
  for (const [key, value] of Object.entries(details)) {
    const parsed = ['input', 'output', 'parameters', 'result'].includes(key) ? tryParse(value) : undefined;
    out[key] = parsed !== undefined ? parsed : value;
  }
  return out;
}

function summaryOf(type, details) {
  if (!details) return '';
  if (details.error !== undefined || details.cause !== undefined) {
    return [details.error, details.cause].filter(Boolean).join(': ').slice(0, 160);
  }
  if (details.resourceType) return `${details.resourceType}:${details.resource}`;
  if (details.index !== undefined) return `index ${details.index}`;
  if (details.length !== undefined) return `${details.length} items`;
  return '';
}
