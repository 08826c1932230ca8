// Revocations: list, revoke a pssid, lift a revocation.
import { request } from '../api.js';
import { form, h, input, notice, pagedTable, writeButton } from '../ui.js';

export function render(main) {
	const done = h('div', { 'aria-live': 'polite' });
	const table = pagedTable('/v1/revocations', [
		{ title: 'pssid', cell: (r) => h('span', { class: 'mono' }, r.pssid) },
		{ title: 'Reason', cell: (r) => r.reason },
		{ title: 'Revoked', cell: (r) => r.revoked_at },
		{ title: 'By', cell: (r) => r.revoked_by },
		{ title: 'Expires', cell: (r) => r.expires_at || 'never' },
		{ title: '', cell: (r) => writeButton('revocations', 'Lift', async () => {
			await request('DELETE', `/v1/revocations/${encodeURIComponent(r.pssid)}`);
			notice(done, `Revocation of ${r.pssid} lifted.`);
			table.reload();
		}) },
	], { key: (r) => r.pssid, empty: 'Nothing is revoked.' });
	const create = form('revocations', [input('pssid', 'pssid', { required: true, size: 38 }), input('Reason (optional)', 'reason', { maxlength: 200 })], 'Revoke', async (v, f) => {
		const body = { pssid: v.pssid.trim() };
		if (v.reason.trim()) body.reason = v.reason.trim();
		const r = await request('POST', '/v1/revocations', body);
		notice(done, `${r.pssid} is revoked (${r.reason}); agents close its tunnels.`);
		f.reset();
		table.reload();
	});
	const filter = form(null, [input('pssid', 'pssid', { size: 38 })], 'Filter', (v) => table.setParams(v));
	main.append(h('h3', {}, 'Revoke a pssid'), create, done, h('h3', {}, 'Revoked'), filter, table);
}
