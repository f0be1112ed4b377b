// Posts N new events (default 10,000) for existing bench users to a running dropfix
// through the real ingestion path: POST /v1/batch with the workspace's secret key, 50
// events per batch, 4 batches in flight. Used by bench/detect.sh before timing the
// incremental detector pass. The users are the generator's (bench/detect_gen.c):
// "bench-<persona>-<index, 6 digits>", persona = index mod 7; every 50th user gets
// five events (a page, a click, an API call, a page, a track), so 2,000 users change.
// Usage: node bench/detect_post.mjs URL SECRET_KEY [EVENTS]
// Prints "events N batches B seconds S" (exit 1 on any non-200 answer).
const [url, key, nArg] = process.argv.slice(2);
const total = Number(nArg || 10000);
const personas = ['steady', 'power', 'dropping', 'gone_quiet', 'trial', 'cancelling', 'payment'];
const now = Date.now();
const events = [];
for (let i = 0; events.length < total; i++) {
	const index = i * 50;
	const userId = `bench-${personas[index % 7]}-${String(index).padStart(6, '0')}`;
	const at = (k) => new Date(now - 60000 + k * 7000).toISOString();
	const mk = (k, ev) => ({ ...ev, user_id: userId, timestamp: at(k), message_id: `bench-inc-${now}-${i}-${k}` });
	events.push(
		mk(0, { type: 'page', name: '/dashboard', properties: { path: '/dashboard' } }),
		mk(1, { type: 'click', name: 'Save', properties: { text: 'Save', tag: 'button' } }),
		mk(2, { type: 'api', name: 'GET /api/projects', properties: { method: 'GET', path: '/api/projects', status: 200 } }),
		mk(3, { type: 'page', name: '/reports', properties: { path: '/reports' } }),
		mk(4, { type: 'track', name: 'Report exported', properties: { source: 'bench' } }),
	);
}
events.length = total;
const batches = [];
for (let i = 0; i < events.length; i += 50) batches.push(events.slice(i, i + 50));
const t0 = process.hrtime.bigint();
let next = 0, failed = null;
async function worker() {
	while (next < batches.length && !failed) {
		const b = batches[next++];
		const res = await fetch(`${url}/v1/batch`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
			body: JSON.stringify({ sent_at: new Date().toISOString(), batch: b }),
		});
		const text = await res.text();
		if (res.status !== 200) failed = `${res.status} ${text.slice(0, 300)}`;
		else if (JSON.parse(text).accepted !== b.length) failed = `not every event accepted: ${text.slice(0, 300)}`;
	}
}
await Promise.all([worker(), worker(), worker(), worker()]);
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
if (failed) {
	console.error(`detect_post: ${failed}`);
	process.exit(1);
}
console.log(`events ${events.length} batches ${batches.length} seconds ${secs.toFixed(3)}`);
