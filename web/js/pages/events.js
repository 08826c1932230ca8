// Events: the audit log, paged and filtered by action and object; newest first where the
// manager supports order=desc.
import { absent, ApiError, get } from '../api.js';
import { form, h, input, pagedTable, select } from '../ui.js';

export function render(main) {
	const cols = [
		{ title: 'Id', cell: (e) => e.id, num: true },
		{ title: 'At', cell: (e) => e.at },
		{ title: 'Actor', cell: (e) => e.actor },
		{ title: 'Action', cell: (e) => e.action },
		{ title: 'Object', cell: (e) => h('span', { class: 'mono' }, e.object) },
		{ title: 'Details', cell: (e) => h('code', {}, e.details ? JSON.stringify(e.details) : '') },
	];
	const box = h('div');
	let table = null;
	const orderSel = select('Order', 'order', [['desc', 'newest first'], ['', 'oldest first']]);
	const filter = form(null, [input('Action', 'action', { placeholder: 'pool.create' }), input('Object', 'object', { placeholder: 'pool:1' }), orderSel], 'Filter', (v) => table.setParams(v));
	main.append(filter, box);
	// A manager without order=desc says so (400, field "order"): the list then reads oldest
	// first and the choice goes away.
	(async () => {
		let params = { order: 'desc' };
		if (!absent.has('events-desc')) {
			try {
				await get('/v1/events?order=desc&limit=1');
			} catch (e) {
				if (!(e instanceof ApiError) || e.field !== 'order') throw e;
				absent.note('events-desc');
			}
		}
		if (absent.has('events-desc')) {
			params = {};
			orderSel.remove();
		}
		table = pagedTable('/v1/events', cols, { params, empty: 'No events match.' });
		box.append(table);
	})();
}
