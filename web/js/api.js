// The admin API from the browser: the token kept in sessionStorage, every request with it,
// problem+json answers turned into ApiError (title, detail, field), lists paged by cursor.

const KEY = 'snaptun.token';

export class ApiError extends Error {
	constructor(status, problem) {
		super(problem.detail || problem.title || `HTTP ${status}`);
		this.status = status;
		this.title = problem.title || `HTTP ${status}`;
		this.detail = problem.detail || '';
		this.field = problem.field || null;
	}
}

export const session = {
	token: () => sessionStorage.getItem(KEY),
	scope: null, // "admin", "read" or "provision" once known
	set(token) { sessionStorage.setItem(KEY, token); },
	clear() { sessionStorage.removeItem(KEY); this.scope = null; },
};

function headers(extra) {
	const h = { Accept: 'application/json', ...extra };
	const t = session.token();
	if (t) h.Authorization = `Bearer ${t}`;
	return h;
}

async function problemOf(res) {
	let p = {};
	try {
		p = await res.json();
	} catch {
		p = { title: res.statusText || `HTTP ${res.status}` };
	}
	return new ApiError(res.status, p);
}

// request(method, path, body) -> parsed JSON, or null for an empty answer; throws ApiError.
export async function request(method, path, body) {
	const init = { method, headers: headers(body !== undefined ? { 'Content-Type': 'application/json' } : {}) };
	if (body !== undefined) init.body = JSON.stringify(body);
	const res = await fetch(path, init);
	if (res.status === 401 && path !== '/v1/health') window.dispatchEvent(new Event('snaptun:unauthorized'));
	if (!res.ok) throw await problemOf(res);
	if (res.status === 204) return null;
	const text = await res.text();
	return text ? JSON.parse(text) : null;
}

export const get = (path) => request('GET', path);

// A text endpoint (GET /metrics); null when it does not exist (404), so callers can fall back.
export async function getText(path) {
	const res = await fetch(path, { headers: headers({ Accept: 'text/plain' }) });
	if (res.status === 404) return null;
	if (!res.ok) throw await problemOf(res);
	return res.text();
}

// path with the query parameters that are set (empty strings and null are left out).
export function withQuery(path, params) {
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(params || {}))
		if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
	const s = q.toString();
	return s ? `${path}?${s}` : path;
}

// Every item of a list, page after page (for counts); at most max items.
export async function listAll(path, params, max = 10000) {
	const items = [];
	let after;
	do {
		const page = await get(withQuery(path, { ...params, limit: 1000, after }));
		items.push(...page.items);
		after = page.next;
	} while (after && items.length < max);
	return items;
}

// What the token may do: GET /v1/admin-tokens is admin only, GET /v1/agents is for read and
// admin, so the two answers tell the three scopes apart without a dedicated endpoint.
export async function discoverScope() {
	try {
		await get('/v1/admin-tokens?limit=1');
		return 'admin';
	} catch (e) {
		if (!(e instanceof ApiError) || e.status !== 403) throw e;
	}
	try {
		await get('/v1/agents?limit=1');
		return 'read';
	} catch (e) {
		if (!(e instanceof ApiError) || e.status !== 403) throw e;
	}
	return 'provision';
}

// Whether the token may change what a page shows: admin everything, provision join tokens only.
export function mayWrite(what) {
	return session.scope === 'admin' || (session.scope === 'provision' && what === 'join-tokens');
}
