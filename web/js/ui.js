// DOM helpers shared by the pages: element building, problem display, forms, paged tables.
import { ApiError, get, mayWrite, withQuery } from './api.js';

// h('p', {class: 'x', onclick: f}, 'text', child) -> element. Attributes starting with "on"
// become listeners; true/false set or drop boolean attributes.
export function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === undefined || v === null || v === false) continue;
		if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
		else if (v === true) el.setAttribute(k, '');
		else el.setAttribute(k, String(v));
	}
	for (const c of children.flat()) {
		if (c === undefined || c === null || c === false) continue;
		el.append(c instanceof Node ? c : document.createTextNode(String(c)));
	}
	return el;
}

export function clear(el) {
	while (el.firstChild) el.removeChild(el.firstChild);
	return el;
}

// A problem (ApiError) or any other failure, in a role=alert box inside box; the form input the
// problem names (field) is marked invalid and focused.
export function showError(box, err, form) {
	clear(box);
	if (form) for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
	if (!err) return;
	const p = h('div', { class: 'problem', role: 'alert' });
	if (err instanceof ApiError) {
		p.append(h('strong', {}, err.title), ` (${err.status})`);
		if (err.detail) p.append(h('div', {}, err.detail));
		if (err.field) {
			p.append(h('div', {}, 'Field: ', h('code', {}, err.field)));
			const base = err.field.replace(/\[.*$/, '');
			const input = form && form.querySelector(`[name="${CSS.escape(base)}"]`);
			if (input) {
				input.setAttribute('aria-invalid', 'true');
				input.focus();
			}
		}
	} else {
		p.append(h('strong', {}, 'Request failed'), h('div', {}, String(err && err.message ? err.message : err)));
	}
	box.append(p);
}

export function notice(box, ...content) {
	clear(box).append(h('div', { class: 'notice', role: 'status' }, ...content));
}

// A button that changes something: disabled (with the reason as its title) for a token that may
// not write `what`.
// A failure of its action is shown in the page's error box (#page-errors).
export function writeButton(what, label, onclick, attrs = {}) {
	const ok = mayWrite(what);
	const run = onclick && (async (ev) => {
		const box = document.getElementById('page-errors');
		try {
			if (box) showError(box, null);
			await onclick(ev);
		} catch (err) {
			if (!box) throw err;
			showError(box, err);
			box.scrollIntoView({ block: 'nearest' });
		}
	});
	return h('button', { type: attrs.type || 'button', ...attrs, disabled: !ok, title: ok ? attrs.title : 'this token may only read', onclick: ok ? run : undefined }, label);
}

// A form whose submit runs fn(values, form); errors shown above its buttons. Write forms are
// disabled for a token that may not write `what` (null: a read-only form such as a filter).
export function form(what, fields, submitLabel, fn) {
	const errors = h('div', { 'aria-live': 'polite' });
	const f = h('form', { class: 'inline', novalidate: true });
	for (const fl of fields) f.append(fl);
	const submit = what ? writeButton(what, submitLabel, undefined, { type: 'submit' }) : h('button', { type: 'submit' }, submitLabel);
	f.append(submit);
	if (what && !mayWrite(what)) for (const el of f.elements) el.disabled = true;
	f.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		submit.disabled = true;
		try {
			showError(errors, null, f);
			await fn(Object.fromEntries(new FormData(f)), f);
		} catch (err) {
			showError(errors, err, f);
		} finally {
			submit.disabled = what ? !mayWrite(what) : false;
		}
	});
	return h('div', {}, f, errors);
}

export function input(label, name, attrs = {}) {
	return h('label', {}, label, h('input', { name, ...attrs }));
}

export function select(label, name, options, attrs = {}) {
	return h('label', {}, label, h('select', { name, ...attrs }, options.map(([v, t]) => h('option', { value: v }, t))));
}

export function fmtTime(s) {
	if (!s) return '—';
	return s.replace('T', ' ').replace('Z', ' UTC');
}

export function fmtBytes(n) {
	if (n === undefined || n === null) return '—';
	const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
	let i = 0;
	while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
	return `${i ? n.toFixed(1) : n} ${u[i]}`;
}

// Times as the API writes them (RFC 3339 UTC) are shown the readable way.
function cellText(v) {
	return typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(v) ? fmtTime(v) : v;
}

const FOCUSABLE = 'a[href], button, input, select, textarea';

// A paged table of a list endpoint: columns [{title, cell(item), num}], a cursor stack for
// "Previous", reload() to refetch the current page (live lists), filters set by setParams().
export function pagedTable(path, columns, opts = {}) {
	const limit = opts.limit || 25;
	const root = h('div', { class: 'paged' });
	const errors = h('div', { 'aria-live': 'polite' });
	const wrap = h('div', { class: 'scroll' });
	const info = h('span', { class: 'muted', 'aria-live': 'polite' });
	const prev = h('button', { type: 'button', disabled: true }, '← Previous');
	const next = h('button', { type: 'button', disabled: true }, 'Next →');
	root.append(errors, wrap, h('div', { class: 'pager' }, prev, next, info));
	let params = opts.params || {};
	let stack = []; // cursors of the pages before this one ("" for the first)
	let cursor = '';
	let nextCursor = null;

	// raise: a filter's own form shows the problem (and marks the parameter it names).
	async function load(raise) {
		try {
			const page = await get(withQuery(path, { ...params, limit, after: cursor }));
			showError(errors, null);
			nextCursor = page.next;
			render(page.items);
		} catch (err) {
			if (raise) throw err;
			showError(errors, err);
		}
	}
	// Where the keyboard focus is in the table (its row and the control's place in it), so
	// that a refresh (live lists reload every few seconds) puts it back instead of dropping it
	// to the page's start under a keyboard user's feet.
	function focusOf() {
		const el = document.activeElement;
		const row = el && wrap.contains(el) ? el.closest('tr') : null;
		if (!row) return null;
		const rows = [...wrap.querySelectorAll('tbody tr')];
		return { id: row.dataset.id, at: rows.indexOf(row), nth: [...row.querySelectorAll(FOCUSABLE)].indexOf(el) };
	}
	function refocus(f) {
		if (!f || f.nth < 0) return;
		const rows = [...wrap.querySelectorAll('tbody tr')];
		const row = rows.find((r) => f.id !== undefined && r.dataset.id === f.id) || rows[Math.min(f.at, rows.length - 1)];
		const el = row && row.querySelectorAll(FOCUSABLE)[f.nth];
		if (el && !el.disabled) el.focus({ preventScroll: true });
	}
	function render(items) {
		const focus = focusOf();
		const table = h('table', {},
			h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : undefined }, c.title)))),
			h('tbody', {}, items.length === 0
				? h('tr', {}, h('td', { colspan: columns.length, class: 'muted' }, opts.empty || 'Nothing here.'))
				: items.map((it) => h('tr', { 'data-id': opts.key ? opts.key(it) : it.id }, columns.map((c) => h('td', { class: c.num ? 'num' : undefined }, cellText(c.cell(it))))))));
		if (opts.caption) table.prepend(h('caption', { class: 'muted' }, opts.caption));
		clear(wrap).append(table);
		refocus(focus);
		prev.disabled = stack.length === 0;
		next.disabled = !nextCursor;
		info.textContent = `page ${stack.length + 1}, ${items.length} shown${nextCursor ? ', more after' : ''}`;
	}
	prev.addEventListener('click', () => { cursor = stack.pop() || ''; load(false); });
	next.addEventListener('click', () => { stack.push(cursor); cursor = nextCursor; load(false); });
	root.reload = () => load(false);
	root.setParams = (p) => { params = p; stack = []; cursor = ''; return load(true); };
	load(false);
	return root;
}

// Show a secret once, with a copy button; it is never kept anywhere else.
export function secretLine(label, value) {
	const code = h('code', { class: 'mono' }, value);
	const copied = h('span', { class: 'muted', 'aria-live': 'polite' });
	const btn = h('button', { type: 'button', onclick: async () => {
		try {
			await navigator.clipboard.writeText(value);
			copied.textContent = 'copied';
		} catch {
			// No clipboard permission (plain http, a headless browser): select it instead.
			const r = document.createRange();
			r.selectNodeContents(code);
			const s = getSelection();
			s.removeAllRanges();
			s.addRange(r);
			copied.textContent = 'selected: press Ctrl+C';
		}
	} }, 'Copy');
	return h('div', { class: 'secret' }, h('span', {}, label), code, btn, copied);
}
