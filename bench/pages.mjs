// Page latency over a signed-in session: signs in through /auth/login (CSRF token and
// Origin as a browser sends them; tests/http/authlib.mjs), then per page 20 warm-up
// requests and N sequential measured requests (default 200), each read to the end.
// Any answer other than 200 fails the run.
// Usage: node bench/pages.mjs BASE_URL EMAIL PASSWORD NAME=PATH... (password also from
// DROPFIX_BENCH_PASSWORD when given as "-"). Prints one line per page:
// "NAME median_ms p95_ms max_ms bytes".
import { Client, signIn } from '../tests/http/authlib.mjs';

const [base, email, pwArg, ...pages] = process.argv.slice(2);
const password = pwArg === '-' ? process.env.DROPFIX_BENCH_PASSWORD : pwArg;
const n = Number(process.env.DROPFIX_BENCH_PAGE_REQUESTS || 200);
const c = new Client(base);
const res = await signIn(c, email, password);
if (res.status !== 303) {
	console.error(`pages: sign-in answered ${res.status}`);
	process.exit(1);
}
const cookie = [...c.jar].map(([k, v]) => `${k}=${v}`).join('; ');
async function once(path) {
	const t0 = process.hrtime.bigint();
	const r = await fetch(base + path, { headers: { cookie, accept: 'text/html' }, redirect: 'manual' });
	const body = await r.arrayBuffer();
	const ms = Number(process.hrtime.bigint() - t0) / 1e6;
	if (r.status !== 200) throw new Error(`${path} answered ${r.status}`);
	return { ms, bytes: body.byteLength };
}
const q = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
for (const spec of pages) {
	const i = spec.indexOf('=');
	const name = spec.slice(0, i), path = spec.slice(i + 1);
	for (let k = 0; k < 20; k++) await once(path);
	const times = [];
	let bytes = 0;
	for (let k = 0; k < n; k++) {
		const r = await once(path);
		times.push(r.ms);
		bytes = r.bytes;
	}
	times.sort((a, b) => a - b);
	console.log(`${name} ${q(times, 50).toFixed(2)} ${q(times, 95).toFixed(2)} ${times[times.length - 1].toFixed(2)} ${bytes}`);
}
