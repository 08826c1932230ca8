// Clients: rename, revoke, mint an access token (shown once).
import { request } from '../api.js';
import { clear, form, h, input, notice, pagedTable, secretLine, select, writeButton } from '../ui.js';

export function render(main) {
	const done = h('div', { 'aria-live': 'polite' });
	const edit = h('section', { class: 'card', hidden: true });
	const table = pagedTable('/v1/clients', [
		{ title: 'pssid', cell: (c) => h('span', { class: 'mono' }, c.pssid) },
		{ title: 'Name', cell: (c) => c.name },
		{ title: 'Labels', cell: (c) => Object.entries(c.labels || {}).map(([k, v]) => `${k}=${v}`).join(', ') || '—' },
		{ title: 'State', cell: (c) => (c.revoked_at ? `revoked: ${c.revoke_reason}` : c.enrolled ? 'enrolled' : 'awaiting ack') },
		{ title: 'Created', cell: (c) => c.created_at },
		{ title: '', cell: (c) => h('button', { type: 'button', onclick: () => open(c) }, `Manage ${c.name}`) },
	], { key: (c) => c.pssid, empty: 'No clients match.' });

	function open(c) {
		edit.hidden = false;
		const minted = h('div', { 'aria-live': 'polite' });
		clear(edit).append(h('h3', {}, `Client ${c.name}`), h('p', { class: 'mono' }, c.pssid),
			form('clients', [input('New name', 'name', { required: true, maxlength: 64, value: c.name })], 'Rename', async (v) => {
				const u = await request('PATCH', `/v1/clients/${encodeURIComponent(c.pssid)}`, { name: v.name });
				notice(done, `Client renamed to ${u.name}.`);
				table.reload();
			}),
			form('clients', [input('Token TTL seconds (1–86400)', 'ttl_seconds', { type: 'number', min: 1, max: 86400, value: 3600 })], 'Mint access token', async (v) => {
				const t = await request('POST', `/v1/clients/${encodeURIComponent(c.pssid)}/tokens`, { ttl_seconds: Number(v.ttl_seconds) });
				clear(minted).append(h('div', { class: 'notice', role: 'status' }, `Access token, valid until ${t.access_token_expires_at}, shown only now:`, secretLine('token', t.access_token)));
			}), minted,
			h('p', {}, writeButton('clients', 'Revoke this client', async () => {
				await request('DELETE', `/v1/clients/${encodeURIComponent(c.pssid)}`);
				notice(done, `Client ${c.name} revoked: its tunnels close and its tokens are refused.`);
				edit.hidden = true;
				table.reload();
			}, { class: 'danger' })));
		edit.querySelector('input').focus();
	}
	const filter = form(null, [input('Label (KEY or KEY=VALUE)', 'label'), select('Revoked', 'revoked', [['', 'any'], ['false', 'not revoked'], ['true', 'revoked']])], 'Filter', (v) => table.setParams(v));
	main.append(filter, done, table, edit);
}
