// Live events: GET /v1/events/stream read as Server-Sent Events through fetch() (EventSource
// cannot send the Authorization header), resumed with Last-Event-ID after a drop; where the
// stream does not exist (404), GET /v1/events is polled instead.
import { absent, ApiError, get, session, withQuery } from './api.js';

// follow(onEvent, onStatus) -> stop(). onEvent({id, type, data}) for each event, newest last,
// starting with the newest page of the log (order=desc); onStatus(text) says how events arrive
// now.
export function follow(onEvent, onStatus) {
	const ctl = new AbortController();
	let lastId = null;
	let newest = 0; // the newest audit event delivered, for polling to go on from
	let stopped = false;

	// The newest page first; the stream then resumes after its newest audit event. That
	// position names no session event of this manager process (seq 0 of instance 0), so the
	// stream opens with a "gap" event, which is no news here: the page was just read.
	async function history() {
		const items = (await get('/v1/events?order=desc&limit=20')).items.reverse();
		for (const it of items) onEvent({ id: String(it.id), type: 'audit', data: it });
		if (items.length) {
			newest = items[items.length - 1].id;
			lastId = `${newest}-0-0`;
		}
	}

	async function stream() {
		const h = { Accept: 'text/event-stream', Authorization: `Bearer ${session.token()}` };
		if (lastId !== null) h['Last-Event-ID'] = lastId;
		const res = await fetch('/v1/events/stream', { headers: h, signal: ctl.signal });
		if (res.status === 404) {
			absent.note('events-stream');
			return 'absent';
		}
		if (res.status === 400 && lastId !== null) {
			// The position is not one of this manager's log (its store was replaced, the
			// log is shorter): asking again with it would be refused forever.
			lastId = null;
			onStatus('the stream refused the last position; going on from now');
			return 'position refused';
		}
		if (res.status === 401) {
			// The token died while the page was open: the shell goes back to the login.
			window.dispatchEvent(new Event('snaptun:unauthorized'));
			return 'refused';
		}
		if (!res.ok || !res.body) throw new Error(`event stream: HTTP ${res.status}`);
		onStatus('live (event stream)');
		const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
		let buf = '';
		let ev = { data: [] };
		for (;;) {
			const { value, done } = await reader.read();
			if (done) return 'closed';
			buf += value;
			let nl;
			while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
				const line = buf.slice(0, nl);
				buf = buf.slice(nl + (buf.startsWith('\r\n', nl) ? 2 : 1));
				if (line === '') {
					if (ev.data.length) dispatch(ev);
					ev = { data: [] };
				} else if (line[0] !== ':') {
					const c = line.indexOf(':');
					const field = c < 0 ? line : line.slice(0, c);
					const val = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
					if (field === 'data') ev.data.push(val);
					else if (field === 'id') ev.id = val;
					else if (field === 'event') ev.type = val;
				}
			}
			if (buf.length > 1 << 20) throw new Error('event stream: a line over 1 MiB');
		}
	}
	function dispatch(ev) {
		if (ev.id !== undefined) lastId = ev.id;
		if (ev.type === 'gap') return;
		let data = ev.data.join('\n');
		try {
			data = JSON.parse(data);
		} catch {
			// Not JSON: shown as text.
		}
		onEvent({ id: ev.id, type: ev.type || 'message', data });
	}

	// Polling: the newest page with order=desc; a manager without it (400 naming "order") is
	// read forwards from the last full page's cursor, so only new events are fetched.
	async function poll() {
		let after = '';
		onStatus('polling every 5 s');
		while (!stopped) {
			try {
				let items;
				if (!absent.has('events-desc')) {
					try {
						items = (await get('/v1/events?order=desc&limit=20')).items.reverse();
					} catch (e) {
						if (!(e instanceof ApiError) || e.status !== 400 || e.field !== 'order') throw e;
						absent.note('events-desc');
						continue;
					}
				} else {
					items = [];
					for (;;) {
						const page = await get(withQuery('/v1/events', { limit: 1000, after }));
						items.push(...page.items);
						if (!page.next) break;
						after = page.next;
					}
				}
				for (const it of items.slice(-50))
					if (it.id > newest) {
						newest = it.id;
						onEvent({ id: String(it.id), type: 'audit', data: it });
					}
			} catch (e) {
				onStatus(`polling: ${e.message}`);
			}
			await new Promise((r) => setTimeout(r, 5000));
		}
	}

	(async () => {
		let backoff = 1000;
		if (absent.has('events-stream')) return poll();
		try {
			await history();
		} catch (e) {
			// A manager without order=desc: the stream alone, from the present.
			if (!(e instanceof ApiError)) onStatus(`history: ${e.message}`);
		}
		while (!stopped) {
			try {
				const how = await stream();
				if (how === 'absent') return poll();
				if (how === 'refused') return;
				if (how === 'position refused') continue;
				backoff = 1000;
			} catch (e) {
				if (stopped) return;
				if (e instanceof ApiError) return poll();
				onStatus(`reconnecting: ${e.message}`);
			}
			await new Promise((r) => setTimeout(r, backoff));
			backoff = Math.min(backoff * 2, 30000);
		}
	})();

	return () => {
		stopped = true;
		ctl.abort();
	};
}

// One line of text for an event, whatever its kind.
export function describe(ev) {
	const d = ev.data;
	if (d && typeof d === 'object') {
		const what = d.action || ev.type;
		const parts = [d.at ? d.at.replace('T', ' ').replace('Z', '') : '', what, d.object || '', d.actor ? `by ${d.actor}` : ''];
		if (d.reason) parts.push(d.reason);
		if (!d.action) for (const k of ['pssid', 'address', 'agent', 'session', 'id']) if (d[k] !== undefined) parts.push(`${k} ${d[k]}`);
		return parts.filter(Boolean).join(' · ');
	}
	return `${ev.type}: ${d}`;
}
