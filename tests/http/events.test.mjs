// `dropfix events export` (issue 5 item 9) and `dropfix simulate` (item 10), through the
// real /v1/batch of a running test server (SQLite, and PostgreSQL when the test cluster
// is up): exported events carry their message_ids and times, control characters come out
// JSON-escaped, --since filters, bad usage exits 2; a small simulation lands with the
// expected per-persona shape and is identical for the same seed.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { flushIngest, runBin } from './lib.mjs';
import { PG_SKIP, account, installation, serve, workspace } from './wslib.mjs';

const iso = (ms) => new Date(ms).toISOString();

async function post(srv, key, batch) {
	const res = await fetch(srv.url + '/v1/batch', {
		method: 'POST',
		headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
		body: JSON.stringify({ batch }),
	});
	const r = { status: res.status, json: await res.json().catch(() => null) };
	if (r.status === 200) await flushIngest(srv); // tracked_users and user_daily are written by the aggregation
	return r;
}

const lines = (out) => out.split('\n').filter(Boolean).map((l) => JSON.parse(l));

for (const backend of ['sqlite', 'pg']) {
	describe(`events export (${backend})`, { skip: backend === 'pg' && PG_SKIP, concurrency: false }, () => {
		let inst, srv, ws, other;
		before(async () => {
			inst = await installation({ pg: backend === 'pg' });
			await account(inst, 'owner@example.test');
			ws = await workspace(inst, 'owner@example.test', 'Acme');
			other = await workspace(inst, 'owner@example.test', 'Other');
			srv = await serve(inst);
		});
		after(async () => {
			await srv?.stop();
			inst?.drop();
		});

		test('events posted through /v1/batch come back out with their message_ids', async () => {
			const t0 = inst.now() - 3 * 86400_000;
			const batch = [
				{ type: 'page', user_id: 'u-1', name: '/home', timestamp: iso(t0), message_id: 'm-1' },
				{ type: 'track', user_id: 'u-1', name: 'Exported\u0001report\n', properties: { note: 'line\u0007\nbreak', n: 3 }, timestamp: iso(t0 + 1000), message_id: 'm-2' },
				{ type: 'identify', user_id: 'u-2', traits: { plan: 'pro', email: 'x@example.com' }, timestamp: iso(t0 + 86400_000 * 2), message_id: 'm-3' },
				{ type: 'click', anonymous_id: 'anon-9', name: 'Save', timestamp: iso(t0 + 86400_000 * 2 + 5), message_id: 'm-4' },
			];
			const r = await post(srv, ws.secret_key, batch);
			assert.equal(r.status, 200, JSON.stringify(r.json));
			assert.equal((await post(srv, other.secret_key, [{ type: 'page', user_id: 'o-1', name: '/elsewhere', message_id: 'other-1' }])).status, 200);

			const out = await inst.ok(['events', 'export', '--workspace', String(ws.id)]);
			assert.doesNotMatch(out, /[\u0000-\u0009\u000b-\u001f]/, 'control characters are escaped');
			const got = lines(out);
			assert.deepEqual(got.map((e) => e.message_id), ['m-1', 'm-2', 'm-3', 'm-4']);
			assert.equal(got[0].type, 'page');
			assert.equal(got[0].name, '/home');
			assert.equal(got[0].user_id, 'u-1');
			assert.equal(got[0].anonymous_id, null);
			assert.equal(got[0].timestamp, iso(t0));
			assert.equal(got[1].name, 'Exported\u0001report\n');
			assert.equal(got[1].properties.note, 'line\u0007\nbreak');
			assert.equal(got[1].properties.n, 3);
			assert.equal(got[2].type, 'identify');
			assert.equal(got[2].properties.plan, 'pro');
			assert.equal(got[2].properties.email, undefined, 'identify stored without e-mail');
			assert.equal(got[3].anonymous_id, 'anon-9');
			assert.equal(got[3].user_id, null);
			assert.deepEqual(Object.keys(got[0]), ['message_id', 'type', 'name', 'user_id', 'anonymous_id', 'timestamp', 'properties']);

			// --since: ISO date, ISO time, Unix ms
			const sinceDay = iso(t0 + 86400_000 * 2).slice(0, 10);
			assert.deepEqual(lines(await inst.ok(['events', 'export', '--workspace', String(ws.id), '--since', sinceDay])).map((e) => e.message_id), ['m-3', 'm-4']);
			assert.deepEqual(lines(await inst.ok(['events', 'export', '--workspace', String(ws.id), '--since', iso(t0 + 1000)])).map((e) => e.message_id), ['m-2', 'm-3', 'm-4']);
			assert.deepEqual(lines(await inst.ok(['events', 'export', `--workspace=${ws.id}`, `--since=${t0 + 86400_000 * 2 + 1}`])).map((e) => e.message_id), ['m-4']);
		});

		test('pages: more events than one page all come out once, in order', async () => {
			const batch = [];
			for (let i = 0; i < 2100; i++) batch.push({ type: 'track', user_id: `p-${i % 7}`, name: 'Tick', message_id: `bulk-${i}`, timestamp: iso(inst.now() - 1000) });
			for (let i = 0; i < batch.length; i += 500) assert.equal((await post(srv, other.secret_key, batch.slice(i, i + 500))).status, 200);
			const got = lines(await inst.ok(['events', 'export', '--workspace', String(other.id)]));
			assert.equal(got.length, 2101);
			assert.equal(new Set(got.map((e) => e.message_id)).size, 2101);
			assert.equal(got[0].message_id, 'other-1');
			assert.equal(got[2100].message_id, 'bulk-2099');
		});

		test('bad usage exits 2; a missing workspace exits 1', async () => {
			for (const args of [
				['events'],
				['events', 'import'],
				['events', 'export'],
				['events', 'export', '--workspace', 'abc'],
				['events', 'export', '--workspace', '0'],
				['events', 'export', '--workspace', String(ws.id), '--since', 'yesterday'],
				['events', 'export', '--workspace', String(ws.id), '--since', '2026-13-01'],
				['events', 'export', '--workspace', String(ws.id), '--since'],
			]) {
				const r = await inst.cli(args);
				assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
				assert.equal(r.stdout, '');
			}
			const r = await inst.cli(['events', 'export', '--workspace', '12345']);
			assert.equal(r.code, 1);
			assert.match(r.stderr, /no workspace 12345/);
		});
	});
}

describe('simulate', { concurrency: false }, () => {
	let inst, srv, ws, ws2;
	before(async () => {
		inst = await installation();
		await account(inst, 'sim@example.test');
		ws = await workspace(inst, 'sim@example.test', 'Sim');
		ws2 = await workspace(inst, 'sim@example.test', 'Sim again');
		srv = await serve(inst);
	});
	after(async () => {
		await srv?.stop();
		inst?.drop();
	});
	const sim = (w, extra = [], env = {}) => runBin(['simulate', '--workspace', String(w.id), '--users', '12', '--days', '14', '--seed', '7', '--via-http', srv.url, ...extra], { env: { ...inst.env, DROPFIX_SIMULATE_KEY: w.secret_key, ...env } });

	test('12 users over 14 days land with the expected per-persona shape; the same seed gives the same events', async () => {
		const r = await sim(ws);
		assert.equal(r.code, 0, r.stderr);
		assert.match(r.stdout, /simulated 12 users over 14 days \(seed 7\)/);
		for (const p of ['steady', 'power', 'dropping', 'gone_quiet', 'trial', 'cancelling', 'payment']) assert.match(r.stdout, new RegExp(`\\b${p}\\s+\\d+ users\\s+\\d+ events`));
		const total = Number(r.stdout.match(/total: (\d+) events in (\d+) batches, (\d+) accepted, 0 dropped/)[1]);
		const evs = lines(await inst.ok(['events', 'export', '--workspace', String(ws.id)]));
		assert.equal(evs.length, total);
		assert.equal(new Set(evs.map((e) => e.message_id)).size, total);
		const now = inst.now();
		const by = {};
		for (const e of evs) {
			assert.ok(Date.parse(e.timestamp) < now && Date.parse(e.timestamp) >= now - 14 * 86400_000, e.timestamp);
			const persona = e.user_id.match(/^sim-([a-z_]+)-\d{4}$/)[1];
			((by[persona] ??= {})[e.user_id] ??= []).push(e);
		}
		assert.deepEqual(Object.fromEntries(Object.entries(by).map(([p, u]) => [p, Object.keys(u).length])), { steady: 2, power: 2, dropping: 2, gone_quiet: 2, trial: 2, cancelling: 1, payment: 1 });
		const users = Object.entries(by).flatMap(([p, u]) => Object.values(u).map((list) => ({ p, list })));
		for (const { p, list } of users) {
			const types = new Set(list.map((e) => e.type));
			assert.ok(types.has('identify') && types.has('page'), `${p}: identify and pages`);
			const id = list.find((e) => e.type === 'identify');
			assert.equal(id.properties.email, undefined);
			assert.ok(id.properties.plan);
			if (p === 'gone_quiet') assert.ok(list.every((e) => Date.parse(e.timestamp) < now - 7 * 86400_000), 'gone quiet: nothing in the last 7 days');
			if (p === 'trial') {
				assert.equal(id.properties.plan, 'trial');
				assert.ok(list.every((e) => e.type === 'identify' || e.type === 'page'));
				assert.ok(list.length <= 13);
			}
			if (p === 'cancelling') {
				const names = new Set(list.filter((e) => Date.parse(e.timestamp) >= now - 5 * 86400_000).map((e) => e.name));
				assert.ok(names.has('/billing') && names.has('/cancel'), 'cancelling: visits /billing and /cancel late');
			}
			if (p === 'payment') assert.ok(id.properties.card_expires);
			if (p === 'power') assert.ok(types.has('api') && types.has('click'));
			if (p === 'dropping') {
				const mid = now - 7 * 86400_000;
				assert.ok(list.filter((e) => Date.parse(e.timestamp) < mid).length > 2 * list.filter((e) => Date.parse(e.timestamp) >= mid).length, 'dropping: the first week outweighs the second');
			}
		}
		const minPower = Math.min(...users.filter((u) => u.p === 'power').map((u) => u.list.length));
		const maxOther = Math.max(...users.filter((u) => u.p !== 'power').map((u) => u.list.length));
		assert.ok(minPower > maxOther, `power users have the most events (${minPower} > ${maxOther})`);

		// the same seed: the same events, message_ids included
		const again = await sim(ws2);
		assert.equal(again.code, 0, again.stderr);
		assert.equal(again.stdout.replace(/workspace \d+/, ''), r.stdout.replace(/workspace \d+/, ''));
		const evs2 = lines(await inst.ok(['events', 'export', '--workspace', String(ws2.id)]));
		assert.deepEqual(evs2, evs);
		// a re-run into the same workspace is de-duplicated
		assert.equal((await sim(ws)).code, 0);
		assert.equal(lines(await inst.ok(['events', 'export', '--workspace', String(ws.id)])).length, total);
	});

	test('usage: --via-http required, a secret key required, bounds; a refused key exits 1', async () => {
		const base = ['simulate', '--workspace', String(ws.id), '--users', '3', '--days', '2', '--seed', '1'];
		const env = { ...inst.env, DROPFIX_SIMULATE_KEY: ws.secret_key };
		let r = await runBin(base, { env });
		assert.equal(r.code, 2);
		assert.match(r.stderr, /needs --via-http URL.*not supported/);
		r = await runBin([...base, '--via-http', srv.url], { env: inst.env });
		assert.equal(r.code, 2);
		assert.match(r.stderr, /secret key/);
		r = await runBin([...base, '--via-http', srv.url, '--key', ws.public_key], { env: inst.env });
		assert.equal(r.code, 2);
		for (const bad of [['--users', '0'], ['--days', '99999'], ['--seed', '-1'], ['--via-http', 'ftp://x']]) {
			r = await runBin([...base, '--via-http', srv.url, ...bad], { env });
			assert.equal(r.code, 2, bad.join(' '));
		}
		r = await runBin([...base, '--via-http', srv.url, '--key', 'sk_wrongwrongwrong'], { env: inst.env });
		assert.equal(r.code, 1);
		assert.match(r.stderr, /answered 401/);
		r = await runBin([...base, '--via-http', srv.url, '--key', ws.secret_key], { env: inst.env });
		assert.equal(r.code, 0, r.stderr);
	});

	test('batches of at most 500 with Bearer sk_, retried on 503 and 429 (Retry-After honoured)', async () => {
		const seen = [];
		let calls = 0;
		const fake = http.createServer((req, res) => {
			const chunks = [];
			req.on('data', (d) => chunks.push(d));
			req.on('end', () => {
				calls++;
				if (calls === 1) { res.writeHead(503, { 'retry-after': '0' }); return res.end('{}'); }
				if (calls === 2) { res.writeHead(429, { 'retry-after': '1' }); return res.end('{}'); }
				const body = JSON.parse(Buffer.concat(chunks).toString());
				seen.push({ at: Date.now(), url: req.url, auth: req.headers.authorization, origin: req.headers.origin, n: body.batch.length, ids: body.batch.map((e) => e.message_id) });
				res.writeHead(200, { 'content-type': 'application/json' });
				res.end(JSON.stringify({ accepted: body.batch.length, dropped: [] }));
			});
		});
		await new Promise((ok) => fake.listen(0, '127.0.0.1', ok));
		const t0 = Date.now();
		try {
			const r = await runBin(['simulate', '--workspace', '1', '--users', '14', '--days', '30', '--seed', '3', '--via-http', `http://127.0.0.1:${fake.address().port}/`], { env: { ...inst.env, DROPFIX_SIMULATE_KEY: 'sk_test_key' } });
			assert.equal(r.code, 0, r.stderr);
			const total = Number(r.stdout.match(/total: (\d+) events in (\d+) batches/)[1]);
			assert.ok(total > 1000, `${total} events`);
			assert.ok(seen.length >= 3);
			assert.ok(seen[0].at - t0 >= 1000, 'waited out Retry-After: 1');
			for (const b of seen) {
				assert.equal(b.url, '/v1/batch');
				assert.equal(b.auth, 'Bearer sk_test_key');
				assert.equal(b.origin, undefined);
				assert.ok(b.n > 0 && b.n <= 500);
			}
			assert.equal(seen.reduce((a, b) => a + b.n, 0), total);
			assert.equal(new Set(seen.flatMap((b) => b.ids)).size, total);
		} finally {
			fake.close();
		}
	});
});
