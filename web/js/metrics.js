// Reading GET /metrics (Prometheus text exposition) for the overview, with the JSON API's own
// counters as a fallback where the endpoint is missing or a series is absent.
import { absent, get, getText, listAll } from './api.js';

// "name{a="x",b="y"} 12.5" lines -> [{name, labels, value}]; comments and junk are skipped.
export function parseProm(text) {
	const out = [];
	const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/;
	const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
	for (const l of text.split('\n')) {
		if (l === '' || l[0] === '#') continue;
		const m = line.exec(l);
		if (!m) continue;
		const labels = {};
		for (const lm of (m[3] || '').matchAll(label)) {
			// One pass, so that an escaped backslash before an n is a backslash and an n.
			labels[lm[1]] = lm[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
		}
		const value = Number(m[4]);
		if (!Number.isNaN(value)) out.push({ name: m[1], labels, value });
	}
	return out;
}

export function series(samples, name) {
	return samples.filter((s) => s.name === name);
}

// One snapshot for the overview: {source, bytes: {up, down}, agentsConnected, sessions,
// tokens: {state: n}, pools: {pool: {state: n}}}; fields the metrics lack come from the API.
export async function snapshot() {
	let samples = null;
	if (!absent.has('metrics')) {
		try {
			const text = await getText('/metrics');
			if (text === null) absent.note('metrics');
			else samples = parseProm(text);
		} catch {
			samples = null;
		}
	}
	const snap = { source: samples ? 'metrics' : 'api' };
	if (samples) {
		const bytes = series(samples, 'snaptun_tunnel_bytes_total');
		const dir = (d) => bytes.filter((s) => s.labels.direction === d).reduce((a, s) => a + s.value, 0);
		if (bytes.length) snap.bytes = { up: dir('uplink'), down: dir('downlink') };
		const ac = series(samples, 'snaptun_agents_connected');
		if (ac.length) snap.agentsConnected = ac[0].value;
		const ss = series(samples, 'snaptun_sessions');
		if (ss.length) snap.sessions = ss.reduce((a, s) => a + s.value, 0);
		const jt = series(samples, 'snaptun_join_tokens');
		if (jt.length) snap.tokens = Object.fromEntries(jt.map((s) => [s.labels.state, s.value]));
		const pa = series(samples, 'snaptun_pool_addresses');
		if (pa.length) {
			snap.pools = {};
			for (const s of pa) (snap.pools[s.labels.pool] ||= {})[s.labels.state] = s.value;
		}
	}
	if (snap.bytes === undefined || snap.agentsConnected === undefined || snap.sessions === undefined) {
		// The agents' last STATS reports: rx is client to network (uplink), tx the other way.
		const agents = await listAll('/v1/agents', {});
		const up = agents.filter((a) => a.connected);
		snap.agentsConnected ??= up.length;
		snap.sessions ??= up.reduce((a, g) => a + (g.sessions || 0), 0);
		snap.bytes ??= {
			up: agents.reduce((a, g) => a + (g.last_stats ? g.last_stats.total.rx_bytes : 0), 0),
			down: agents.reduce((a, g) => a + (g.last_stats ? g.last_stats.total.tx_bytes : 0), 0),
		};
		if (snap.source === 'metrics') snap.source = 'metrics + API';
	}
	return snap;
}

// Join tokens by state from the API when the metrics have none (one bounded list per state).
export async function tokensByState() {
	const states = ['issued', 'in_flight', 'consumed', 'expired', 'aborted'];
	const out = {};
	for (const st of states) {
		const page = await get(`/v1/join-tokens?state=${st}&limit=1000`);
		out[st] = page.next ? `${page.items.length}+` : page.items.length;
	}
	return out;
}
