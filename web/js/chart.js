// The overview's throughput chart: two lines (uplink solid, downlink dashed, so they differ
// without colour) over the last samples, in SVG built with the DOM (no inline style).
import { fmtBytes } from './ui.js';

const NS = 'http://www.w3.org/2000/svg';
const W = 600;
const H = 160;
const KEEP = 60;

function el(tag, attrs) {
	const e = document.createElementNS(NS, tag);
	for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
	return e;
}

// throughput() -> {node, add(snapshot)}: add is fed cumulative byte counters; the chart shows
// their rate between samples. A counter that goes down (a reset) starts the rate afresh.
export function throughput() {
	const svg = el('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': 'tunnel throughput' });
	const up = el('polyline', { class: 'up', points: '' });
	const down = el('polyline', { class: 'down', points: '' });
	const top = el('text', { x: 4, y: 12 });
	svg.append(el('line', { class: 'axis', x1: 0, y1: H - 1, x2: W, y2: H - 1 }), up, down, top);
	const legend = document.createElement('p');
	legend.setAttribute('aria-live', 'off');
	const node = document.createElement('div');
	node.append(svg, legend);
	const points = [];
	let last = null;

	function add(bytes, at = Date.now()) {
		if (last && at > last.at) {
			const dt = (at - last.at) / 1000;
			const rate = (a, b) => (a >= b ? (a - b) / dt : 0);
			points.push({ up: rate(bytes.up, last.up), down: rate(bytes.down, last.down) });
			if (points.length > KEEP) points.shift();
		}
		last = { ...bytes, at };
		draw();
	}
	function draw() {
		const max = Math.max(1024, ...points.map((p) => Math.max(p.up, p.down)));
		const xy = (k) => points.map((p, i) => `${(i * W) / (KEEP - 1)},${(H - 2 - (p[k] / max) * (H - 16)).toFixed(1)}`).join(' ');
		up.setAttribute('points', xy('up'));
		down.setAttribute('points', xy('down'));
		top.textContent = `${fmtBytes(max)}/s`;
		const now = points[points.length - 1] || { up: 0, down: 0 };
		legend.replaceChildren(
			Object.assign(document.createElement('span'), { className: 'legend-up', textContent: `uplink ${fmtBytes(Math.round(now.up))}/s` }),
			'   ',
			Object.assign(document.createElement('span'), { className: 'legend-down', textContent: `downlink ${fmtBytes(Math.round(now.down))}/s` }));
	}
	draw();
	return { node, add };
}
