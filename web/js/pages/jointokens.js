// Join tokens: create one or many (TTL, pool, labels), their secrets shown once with a copy
// button; abort ("revoke"); filter by state and label.
import { request } from '../api.js';
import { clear, form, h, input, notice, pagedTable, secretLine, select, writeButton } from '../ui.js';

const STATES = [['', 'any'], ['issued', 'issued'], ['in_flight', 'in flight'], ['consumed', 'consumed'], ['expired', 'expired'], ['aborted', 'aborted']];

// "site=zrh, fleet=2026" -> {site: "zrh", fleet: "2026"}; a pair without "=" is an error the API
// would not understand either.
function parseLabels(text) {
	const out = {};
	for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
		const eq = part.indexOf('=');
		if (eq <= 0) throw new Error(`label "${part}" is not KEY=VALUE`);
		out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
	}
	return out;
}

export function render(main) {
	const done = h('div', { 'aria-live': 'polite', id: 'new-tokens' });
	const table = pagedTable('/v1/join-tokens', [
		{ title: 'Id', cell: (t) => t.id, num: true },
		{ title: 'Name', cell: (t) => t.name || '—' },
		{ title: 'State', cell: (t) => (t.state === 'in_flight' ? `in flight from ${t.in_flight_address}` : t.state) },
		{ title: 'Pool', cell: (t) => t.pool ?? 'any' },
		{ title: 'Labels', cell: (t) => Object.entries(t.labels || {}).map(([k, v]) => `${k}=${v}`).join(', ') || '—' },
		{ title: 'Expires', cell: (t) => t.expires_at },
		{ title: 'Attempts', cell: (t) => t.attempts, num: true },
		{ title: '', cell: (t) => (t.state === 'issued' || t.state === 'in_flight'
			? writeButton('join-tokens', 'Revoke', async () => {
				await request('DELETE', `/v1/join-tokens/${t.id}`);
				notice(done, `Join token ${t.id} aborted.`);
				table.reload();
			}, { class: 'danger' }) : '') },
	], { empty: 'No join tokens match.' });

	const create = form('join-tokens', [
		input('How many', 'count', { type: 'number', min: 1, max: 1000, value: 1 }),
		input('TTL seconds', 'ttl_seconds', { type: 'number', min: 1, max: 2592000, value: 3600 }),
		input('Pool id (optional)', 'pool', { inputmode: 'numeric', size: 6 }),
		input('Name (optional)', 'name', { maxlength: 64 }),
		input('Labels (k=v, …)', 'labels', { placeholder: 'site=zrh' }),
	], 'Create', async (v, f) => {
		const body = {};
		const count = Number(v.count || 1);
		if (count !== 1) body.count = count;
		if (v.ttl_seconds !== '') body.ttl_seconds = Number(v.ttl_seconds);
		if (v.pool.trim() !== '') body.pool = Number(v.pool);
		if (v.name.trim() !== '') body.name = v.name.trim();
		if (v.labels.trim() !== '') body.labels = parseLabels(v.labels);
		const res = await request('POST', '/v1/join-tokens', body);
		const items = res.items || [res];
		clear(done).append(h('div', { class: 'notice', role: 'status' },
			h('strong', {}, `${items.length} join token${items.length === 1 ? '' : 's'} created. `),
			'The secrets are shown only now: copy them before leaving this page.',
			items.map((t) => secretLine(`#${t.id}`, t.token))));
		f.reset();
		table.reload();
	});
	const filter = form(null, [select('State', 'state', STATES), input('Label (KEY or KEY=VALUE)', 'label')], 'Filter', (v) => table.setParams(v));
	main.append(h('h3', {}, 'Create join tokens'), create, done, h('h3', {}, 'Join tokens'), filter, table);
}
