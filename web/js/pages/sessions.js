// Sessions: the live list (refreshed every 2 s) and kill.
import { request } from '../api.js';
import { fmtBytes, form, h, input, notice, pagedTable, showError, writeButton } from '../ui.js';

export function render(main) {
	const done = h('div', { 'aria-live': 'polite' });
	const table = pagedTable('/v1/sessions', [
		{ title: 'Id', cell: (s) => h('span', { class: 'mono' }, s.id) },
		{ title: 'pssid', cell: (s) => h('span', { class: 'mono' }, s.pssid) },
		{ title: 'Address', cell: (s) => h('span', { class: 'mono' }, s.address || '—') },
		{ title: 'Agent', cell: (s) => s.agent },
		{ title: 'Remote', cell: (s) => h('span', { class: 'mono' }, s.remote) },
		{ title: 'Up', cell: (s) => `${fmtBytes(s.rx_bytes)} / ${s.rx_datagrams} dgrams`, num: true },
		{ title: 'Down', cell: (s) => `${fmtBytes(s.tx_bytes)} / ${s.tx_datagrams} dgrams`, num: true },
		{ title: 'Dropped', cell: (s) => s.dropped_datagrams, num: true },
		{ title: 'Started', cell: (s) => s.started_at },
		{ title: 'Expires', cell: (s) => s.expires_at },
		{ title: '', cell: (s) => writeButton('sessions', 'Kill', async (ev) => {
			ev.target.disabled = true;
			await request('DELETE', `/v1/sessions/${s.id}`).then(() => {
				notice(done, `Session ${s.id} killed: it leaves the list when its agent reports it closed.`);
			}, (e) => showError(done, e));
			table.reload();
		}, { class: 'danger', 'aria-label': `Kill session ${s.id}` }) },
	], { empty: 'No live sessions.', key: (s) => s.id });
	const filter = form(null, [input('pssid', 'pssid', { size: 38 }), input('Agent id', 'agent', { size: 8 })], 'Filter', (v) => table.setParams(v));
	main.append(h('p', { class: 'muted' }, 'Live: refreshed every 2 s.'), filter, done, table);
	const timer = setInterval(() => table.reload(), 2000);
	return () => clearInterval(timer);
}
