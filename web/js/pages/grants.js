// Grants: filter by pool, state and pssid; release; a grant's history.
import { request } from '../api.js';
import { clear, form, h, input, notice, pagedTable, select, writeButton } from '../ui.js';

export function render(main) {
	const done = h('div', { 'aria-live': 'polite' });
	const history = h('section', { class: 'card', hidden: true });
	const table = pagedTable('/v1/grants', [
		{ title: 'Id', cell: (g) => g.id, num: true },
		{ title: 'Pool', cell: (g) => g.pool_id, num: true },
		{ title: 'Address', cell: (g) => h('span', { class: 'mono' }, g.address) },
		{ title: 'pssid', cell: (g) => h('span', { class: 'mono' }, g.pssid) },
		{ title: 'State', cell: (g) => (g.state === 'on_hold' ? `on hold until ${g.hold_until}` : g.state) },
		{ title: 'Agent', cell: (g) => g.agent_id || '—' },
		{ title: 'Assigned', cell: (g) => g.assigned_at },
		{ title: '', cell: (g) => h('span', {},
			h('button', { type: 'button', onclick: () => showHistory(g.id) }, 'History'), ' ',
			writeButton('grants', 'Release', async () => {
				await request('DELETE', `/v1/grants/${g.id}`);
				notice(done, `Grant ${g.id} (${g.address}) released.`);
				table.reload();
			}, { class: 'danger' })) },
	], { empty: 'No grants match.' });

	function showHistory(id) {
		history.hidden = false;
		clear(history).append(h('h3', {}, `History of grant ${id}`), pagedTable(`/v1/grants/${id}/history`, [
			{ title: 'At', cell: (e) => e.at },
			{ title: 'Action', cell: (e) => e.action },
			{ title: 'Address', cell: (e) => h('span', { class: 'mono' }, e.address) },
			{ title: 'Session', cell: (e) => e.session_id ?? '—' },
			{ title: 'Agent', cell: (e) => e.agent_id || '—' },
			{ title: 'Hold until', cell: (e) => e.hold_until || '—' },
			{ title: 'Actor', cell: (e) => e.actor },
		]));
		history.scrollIntoView();
	}

	const filter = form(null, [
		input('Pool id', 'pool', { inputmode: 'numeric', size: 6 }),
		select('State', 'state', [['', 'any'], ['assigned', 'assigned'], ['on_hold', 'on hold']]),
		input('pssid', 'pssid', { size: 38 }),
	], 'Filter', (v) => table.setParams(v));
	main.append(filter, done, table, history);
}
