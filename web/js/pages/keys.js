// Keys: the JWK set (not paged: GET /v1/keys answers the whole set), rotate, import an outside
// issuer's public key, delete or retire one.
import { get, request } from '../api.js';
import { clear, form, h, input, notice, select, showError, writeButton } from '../ui.js';

export function render(main) {
	const done = h('div', { 'aria-live': 'polite' });
	const list = h('div', { class: 'scroll' });

	async function load() {
		try {
			const set = await get('/v1/keys');
			clear(list).append(h('table', {}, h('thead', {}, h('tr', {}, ['kid', 'Algorithm', 'State', 'Origin', 'Created', 'Verify until', 'Pins', ''].map((t) => h('th', { scope: 'col' }, t)))),
				h('tbody', {}, set.keys.map((k) => h('tr', {}, h('td', { class: 'mono' }, k.kid), h('td', {}, k.alg), h('td', {}, k.state), h('td', {}, k.origin),
					h('td', {}, k.created_at), h('td', {}, k.verify_until || '—'), h('td', {}, [k.iss && `iss ${k.iss}`, k.aud && `aud ${k.aud}`].filter(Boolean).join(', ') || '—'),
					h('td', {}, k.state === 'active' ? '' : writeButton('keys', k.origin === 'imported' ? 'Delete' : 'Retire', async () => {
						try {
							await request('DELETE', `/v1/keys/${encodeURIComponent(k.kid)}`);
							notice(done, `Key ${k.kid} removed.`);
						} catch (e) {
							showError(done, e);
						}
						load();
					}, { class: 'danger' })))))));
		} catch (e) {
			showError(done, e);
		}
	}
	const rotate = form('keys', [], 'Rotate the signing key', async () => {
		const k = await request('POST', '/v1/keys/rotate');
		notice(done, `New active key ${k.kid}; the previous one verifies for 24 h more.`);
		load();
	});
	const pem = h('label', {}, 'Public key (PEM)', h('textarea', { name: 'public_key_pem', required: true, placeholder: '-----BEGIN PUBLIC KEY-----' }));
	const imp = form('keys', [
		input('kid', 'kid', { required: true, maxlength: 128 }),
		select('Algorithm', 'alg', [['EdDSA', 'EdDSA (Ed25519)'], ['ES256', 'ES256 (P-256)'], ['RS256', 'RS256 (RSA ≥ 2048)']]),
		pem,
		input('Pin iss (optional)', 'iss'),
		input('Pin aud (optional)', 'aud'),
	], 'Import', async (v, f) => {
		const body = { kid: v.kid.trim(), alg: v.alg, public_key_pem: v.public_key_pem.trim() + '\n' };
		if (v.iss.trim()) body.iss = v.iss.trim();
		if (v.aud.trim()) body.aud = v.aud.trim();
		const k = await request('POST', '/v1/keys', body);
		notice(done, `Key ${k.kid} imported (${k.alg}).`);
		f.reset();
		load();
	});
	main.append(done, list, h('h3', {}, 'Rotate'), rotate, h('h3', {}, "Import an outside issuer's key"), imp);
	load();
}
