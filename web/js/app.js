// The dashboard's shell: login, the hash router (#/pools, …) and the navigation. Each page is a
// module whose render(main) fills main and returns a function that stops its timers.
import { ApiError, discoverScope, session } from './api.js';
import { clear, form, h, input, showError } from './ui.js';
import * as overview from './pages/overview.js';
import * as pools from './pages/pools.js';
import * as grants from './pages/grants.js';
import * as jointokens from './pages/jointokens.js';
import * as clients from './pages/clients.js';
import * as sessions from './pages/sessions.js';
import * as revocations from './pages/revocations.js';
import * as keys from './pages/keys.js';
import * as events from './pages/events.js';

const pages = {
	overview: ['Overview', overview],
	pools: ['Pools', pools],
	grants: ['Grants', grants],
	'join-tokens': ['Join tokens', jointokens],
	clients: ['Clients', clients],
	sessions: ['Sessions', sessions],
	revocations: ['Revocations', revocations],
	keys: ['Keys', keys],
	events: ['Events', events],
};

const main = document.getElementById('main');
let stop = null;

function loginPage(reason) {
	document.getElementById('nav').hidden = true;
	document.getElementById('who').hidden = true;
	document.title = 'snaptun — log in';
	const box = h('section', { class: 'login' },
		h('h2', {}, 'Log in'),
		h('p', {}, 'Paste an admin token (or a read token, which sees everything and changes nothing). It is kept in this tab only (session storage) and sent with every request.'));
	if (reason) box.append(h('div', { class: 'problem', role: 'alert' }, h('strong', {}, reason)));
	box.append(form(null, [input('Token', 'token', { type: 'password', autocomplete: 'off', required: true, spellcheck: 'false', id: 'token' })], 'Log in', async (v) => {
		const t = v.token.trim();
		if (!t) throw new Error('enter a token');
		session.set(t);
		try {
			session.scope = await discoverScope();
		} catch (e) {
			session.clear();
			// The refusal is about the one input there is: mark it (showError does).
			if (e instanceof ApiError && e.status === 401) e.field = 'token';
			throw e;
		}
		if (location.hash === '' || location.hash === '#/login') location.hash = '#/overview';
		else route();
	}));
	clear(main).append(box);
	box.querySelector('input').focus();
}

async function route() {
	if (stop) {
		stop();
		stop = null;
	}
	if (!session.token()) return loginPage();
	if (!session.scope) {
		try {
			session.scope = await discoverScope();
		} catch (e) {
			session.clear();
			return loginPage(e instanceof ApiError ? `${e.title}: ${e.detail}` : String(e));
		}
	}
	// A provision token reads pools and manages join tokens, nothing else: only those pages.
	const allowed = session.scope === 'provision' ? ['join-tokens', 'pools'] : Object.keys(pages);
	let name = location.hash.replace(/^#\/?/, '') || allowed[0];
	if (!allowed.includes(name)) name = allowed[0];
	const [title, page] = pages[name];
	for (const a of document.querySelectorAll('#nav a')) a.hidden = !allowed.includes(a.getAttribute('href').slice(2));
	document.getElementById('nav').hidden = false;
	document.getElementById('who').hidden = false;
	const limits = { admin: '', read: ' (read only: the controls that change something are disabled)', provision: ' (join tokens only)' };
	document.getElementById('scope').textContent = `scope: ${session.scope}${limits[session.scope] ?? ''}`;
	for (const a of document.querySelectorAll('#nav a'))
		if (a.getAttribute('href') === `#/${name}`) a.setAttribute('aria-current', 'page');
		else a.removeAttribute('aria-current');
	document.title = `snaptun — ${title}`;
	clear(main).append(h('h2', {}, title));
	const errors = h('div', { id: 'page-errors', 'aria-live': 'assertive' });
	main.append(errors);
	try {
		stop = page.render(main) || null;
	} catch (e) {
		showError(errors, e);
	}
	main.focus({ preventScroll: true });
}

document.getElementById('logout').addEventListener('click', () => {
	session.clear();
	location.hash = '#/login';
	loginPage();
});
// A token that stops working while in use (revoked, expired): back to the login page. During
// the login itself the form shows the refusal.
window.addEventListener('snaptun:unauthorized', () => {
	if (!session.scope) return;
	if (stop) stop();
	stop = null;
	session.clear();
	loginPage('The token was refused (unknown, revoked or expired): log in again.');
});
window.addEventListener('hashchange', route);
route();
