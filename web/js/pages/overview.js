// Overview: agents and their health, sessions, pool utilisation, join tokens by state, a live
// throughput chart (GET /metrics, else the agents' STATS) and the latest events (SSE).
import { listAll } from '../api.js';
import { throughput } from '../chart.js';
import { describe, follow } from '../events.js';
import { snapshot, tokensByState } from '../metrics.js';
import { clear, fmtTime, h, showError } from '../ui.js';

const POLL_MS = 2000;
const EVENTS_KEPT = 30;

function health(a) {
	if (!a.connected) return h('span', { class: 'state-bad' }, '✗ disconnected');
	const beat = a.last_heartbeat ? (Date.now() - Date.parse(a.last_heartbeat)) / 1000 : Infinity;
	// The store records heartbeats at most every 5 s and the manager drops an agent after 15 s.
	return beat > 20 ? h('span', { class: 'state-bad' }, `! connected, silent ${Math.round(beat)} s`) : h('span', { class: 'state-good' }, '✓ connected');
}

export function render(main) {
	const errors = h('div', { 'aria-live': 'polite' });
	const stats = h('dl', { class: 'stats' });
	const agents = h('div', { class: 'scroll' });
	const poolBox = h('div', { class: 'scroll' });
	const tokenBox = h('dl', { class: 'stats' });
	const chart = throughput();
	const source = h('p', { class: 'muted' });
	const evStatus = h('p', { class: 'muted', 'aria-live': 'polite' }, 'connecting…');
	const evList = h('ol', { class: 'events', id: 'recent-events' });
	main.append(errors, h('section', { class: 'card' }, stats),
		h('div', { class: 'grid' },
			h('section', { class: 'card' }, h('h3', {}, 'Agents'), agents),
			h('section', { class: 'card' }, h('h3', {}, 'Throughput'), chart.node, source)),
		h('div', { class: 'grid' },
			h('section', { class: 'card' }, h('h3', {}, 'Pool utilisation'), poolBox),
			h('section', { class: 'card' }, h('h3', {}, 'Join tokens by state'), tokenBox)),
		h('section', { class: 'card' }, h('h3', {}, 'Recent events'), evStatus, evList));

	let timer = null;
	let stopped = false;
	let tick = 0;

	function stat(label, value, id) {
		return h('div', {}, h('dt', {}, label), h('dd', { id }, value));
	}
	async function refresh() {
		try {
			const snap = await snapshot();
			chart.add(snap.bytes);
			source.textContent = `from ${snap.source}; refreshed every ${POLL_MS / 1000} s`;
			const [ag, pools] = await Promise.all([listAll('/v1/agents', {}, 1000), listAll('/v1/pools', {}, 1000)]);
			clear(stats).append(stat('Agents connected', `${snap.agentsConnected} of ${ag.length}`, 'stat-agents'),
				stat('Sessions', snap.sessions, 'stat-sessions'), stat('Pools', pools.length, 'stat-pools'));
			clear(agents).append(h('table', {}, h('thead', {}, h('tr', {}, ['Agent', 'Health', 'Sessions', 'Endpoint', 'Version', 'Last heartbeat'].map((t) => h('th', { scope: 'col' }, t)))),
				h('tbody', {}, ag.length ? ag.map((a) => h('tr', {}, h('td', {}, a.id), h('td', {}, health(a)), h('td', { class: 'num' }, a.sessions),
					h('td', { class: 'mono' }, a.listen_address || '—'), h('td', {}, a.software_version || '—'), h('td', {}, fmtTime(a.last_heartbeat))))
					: h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'No agent has attached yet.')))));
			clear(poolBox).append(pools.length ? h('table', {}, h('thead', {}, h('tr', {}, ['Pool', 'Prefix', 'Used', 'Assigned', 'On hold', 'Reserved', 'Free'].map((t) => h('th', { scope: 'col' }, t)))),
				h('tbody', {}, pools.map((p) => {
					const m = snap.pools && (snap.pools[p.name] || snap.pools[String(p.id)]);
					const v = (k, api) => (m && m[k] !== undefined ? m[k] : p[api]);
					const used = v('assigned', 'assigned') + v('on_hold', 'on_hold') + v('reserved', 'reserved');
					const size = v('size', 'size') || 0;
					const pct = size ? Math.min(100, (100 * used) / size) : 0;
					return h('tr', {}, h('td', {}, p.name), h('td', { class: 'mono' }, p.prefix),
						h('td', {}, h('meter', { min: 0, max: size || 1, value: used, high: size * 0.9, title: `${pct.toFixed(1)} % used` }), ` ${pct.toFixed(1)} %`),
						h('td', { class: 'num' }, v('assigned', 'assigned')), h('td', { class: 'num' }, v('on_hold', 'on_hold')),
						h('td', { class: 'num' }, v('reserved', 'reserved')), h('td', { class: 'num' }, v('free', 'free')));
				}))) : h('p', { class: 'muted' }, 'No pools yet.'));
			// Token counts change slowly: from the API every fifth turn when the metrics lack them.
			if (snap.tokens || tick % 5 === 0) {
				const t = snap.tokens || (await tokensByState());
				clear(tokenBox).append(...Object.entries(t).map(([k, n]) => stat(k.replace('_', ' '), n)));
			}
			showError(errors, null);
		} catch (e) {
			showError(errors, e);
		}
		tick++;
		if (!stopped) timer = setTimeout(refresh, POLL_MS);
	}
	refresh();
	const stopEvents = follow((ev) => {
		evList.prepend(h('li', {}, describe(ev)));
		while (evList.children.length > EVENTS_KEPT) evList.lastChild.remove();
	}, (s) => { evStatus.textContent = `Events: ${s}`; });
	return () => {
		stopped = true;
		clearTimeout(timer);
		stopEvents();
	};
}
