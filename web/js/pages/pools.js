// Pools: list with utilisation, create, edit the hold time, reservations (list, reserve an
// address, delete).
import { request, session } from '../api.js';
import { clear, form, h, input, notice, pagedTable, select, writeButton } from '../ui.js';

function utilisation(p) {
	const used = p.assigned + p.on_hold + p.reserved;
	const pct = p.size ? (100 * used) / p.size : 0;
	return h('span', {}, h('meter', { min: 0, max: p.size || 1, value: used, high: p.size * 0.9 }), ` ${used} of ${p.size} (${pct.toFixed(1)} %)`);
}

export function render(main) {
	const done = h('div', { 'aria-live': 'polite' });
	const detail = h('section', { class: 'card', id: 'pool-detail', hidden: true });
	const table = pagedTable('/v1/pools', [
		{ title: 'Id', cell: (p) => p.id, num: true },
		{ title: 'Name', cell: (p) => p.name },
		{ title: 'ISD-AS', cell: (p) => h('span', { class: 'mono' }, p.isd_as) },
		{ title: 'Prefix', cell: (p) => h('span', { class: 'mono' }, p.prefix) },
		{ title: 'Utilisation', cell: utilisation },
		{ title: 'Hold (s)', cell: (p) => p.hold_seconds, num: true },
		{ title: 'Mode', cell: (p) => `${p.mode}, ${p.strategy}` },
		{ title: 'Gateway', cell: (p) => p.gateway || '—' },
		{ title: '', cell: (p) => (session.scope === 'provision' ? '' : h('button', { type: 'button', onclick: () => open(p) }, `Manage ${p.name}`)) },
	], { empty: 'No pools yet: create one below.' });

	function open(p) {
		detail.hidden = false;
		const res = pagedTable(`/v1/pools/${p.id}/reservations`, [
			{ title: 'pssid', cell: (r) => h('span', { class: 'mono' }, r.pssid) },
			{ title: 'Address', cell: (r) => h('span', { class: 'mono' }, r.address) },
			{ title: 'Created', cell: (r) => r.created_at },
			{ title: '', cell: (r) => writeButton('pools', 'Delete', async () => {
				await request('DELETE', `/v1/pools/${p.id}/reservations/${encodeURIComponent(r.address)}`);
				res.reload();
				table.reload();
			}, { class: 'danger' }) },
		], { empty: 'No reservations.' });
		clear(detail).append(h('h3', {}, `Pool ${p.name} (${p.prefix})`),
			h('h4', {}, 'Hold time'),
			form('pools', [input('Hold seconds (0–2592000)', 'hold_seconds', { type: 'number', min: 0, max: 2592000, value: p.hold_seconds, required: true })], 'Save hold time', async (v) => {
				const upd = await request('PATCH', `/v1/pools/${p.id}`, { hold_seconds: Number(v.hold_seconds) });
				notice(done, `Pool ${upd.name}: hold time now ${upd.hold_seconds} s (applies to holds that start from now on).`);
				table.reload();
			}),
			h('h4', {}, 'Reserve an address'),
			form('pools', [input('pssid', 'pssid', { required: true, size: 38 }), input('Address', 'address', { required: true })], 'Reserve', async (v, f) => {
				const r = await request('POST', `/v1/pools/${p.id}/reservations`, { pssid: v.pssid.trim(), address: v.address.trim() });
				notice(done, `Reserved ${r.address} for ${r.pssid}.`);
				f.reset();
				res.reload();
				table.reload();
			}),
			h('h4', {}, 'Reservations'), res);
		detail.querySelector('input').focus();
	}

	const create = form('pools', [
		input('Name', 'name', { required: true, maxlength: 64 }),
		input('ISD-AS', 'isd_as', { required: true, placeholder: '1-ff00:0:110' }),
		input('Prefix', 'prefix', { required: true, placeholder: '10.20.0.0/24' }),
		input('Hold seconds', 'hold_seconds', { type: 'number', min: 0, placeholder: '600' }),
		select('Strategy', 'strategy', [['', 'default (sequential)'], ['sequential', 'sequential'], ['random', 'random']]),
		input('Gateway (optional)', 'gateway'),
		input('Routes (comma-separated)', 'routes'),
	], 'Create pool', async (v, f) => {
		const body = { name: v.name, isd_as: v.isd_as.trim(), prefix: v.prefix.trim() };
		if (v.hold_seconds !== '') body.hold_seconds = Number(v.hold_seconds);
		if (v.strategy) body.strategy = v.strategy;
		if (v.gateway.trim()) body.gateway = v.gateway.trim();
		if (v.routes.trim()) body.routes = v.routes.split(',').map((s) => s.trim()).filter(Boolean);
		const p = await request('POST', '/v1/pools', body);
		notice(done, `Pool ${p.name} created (id ${p.id}, ${p.size} addresses).`);
		f.reset();
		table.reload();
	});
	main.append(done, table, h('h3', {}, 'Create a pool'), create, detail);
}
