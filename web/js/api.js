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
	clear() { sessionStorage.clear(); this.scope = null; },
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

// What the token may do, from the token itself (GET /v1/admin-tokens/self, any scope).
export async function discoverScope() {
	return (await get('/v1/admin-tokens/self')).scope;
}

// Endpoints other parts of the manager may not have (a manager older than the dashboard): once
// one answered 404 (or 400 for a parameter), it is not asked again in this tab, so a missing
// feature costs one refused request, not one per page visit or poll.
export const absent = {
	has: (what) => sessionStorage.getItem(`snaptun.absent.${what}`) === '1',
	note: (what) => sessionStorage.setItem(`snaptun.absent.${what}`, '1'),
};

// Whether the token may change what a page shows: admin everything, provision join tokens only.
export function mayWrite(what) {
	return session.scope === 'admin' || (session.scope === 'provision' && what === 'join-tokens');
}
