// Ingestion at POST /v1/batch (ASan test build, SQLite and PostgreSQL): key checks before
// event validation (401 unknown, 403 sk_ with Origin), partial acceptance with JSON
// Pointers, 400 when nothing is acceptable, 413 for oversized bodies, batches and gzip
// bombs, gzip and beacon (text/plain) bodies, CORS preflight, message_id de-duplication
// (also across a restart), clamped future timestamps, too_old for pk_, masking, path
// templating, sessions / active minutes / feature keys, a full writer queue → 503, and
// the durability trial: kill -9 under sustained load, restart, retry → every
// acknowledged event stored exactly once.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { BIN, flushIngest, postOnce, postRaw as post, rawRequest, sleep } from './lib.mjs';
import { PG, PG_SKIP, account, installation, serve, workspace } from './wslib.mjs';

// Rows from the installation's database (bypassing the app: sqlite3 CLI, or psql as the
// admin role, which is not subject to row-level security).
function rows(inst, sql) {
	if (inst.env.DROPFIX_DATABASE_URL) {
		const admin = new URL(process.env.DROPFIX_TEST_PG_ADMIN_URL);
		admin.pathname = new URL(inst.env.DROPFIX_DATABASE_URL).pathname;
		const out = execFileSync('/usr/lib/postgresql/15/bin/psql', ['-X', '-q', '-t', '-A', admin.toString(), '-c', `SELECT coalesce(json_agg(t), '[]') FROM (${sql}) t`], { maxBuffer: 512 * 1024 * 1024 });
		return JSON.parse(out.toString());
	}
	const out = execFileSync('sqlite3', ['-cmd', '.timeout 5000', '-json', inst.db, sql], { maxBuffer: 512 * 1024 * 1024 }).toString().trim();
	return out ? JSON.parse(out) : [];
}

// Runs one statement on the installation's database, bypassing the app like rows().
function execSql(inst, sql) {
	if (inst.env.DROPFIX_DATABASE_URL) {
		const admin = new URL(process.env.DROPFIX_TEST_PG_ADMIN_URL);
		admin.pathname = new URL(inst.env.DROPFIX_DATABASE_URL).pathname;
		execFileSync('/usr/lib/postgresql/15/bin/psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', admin.toString(), '-c', sql]);
		return;
	}
	execFileSync('sqlite3', ['-cmd', '.timeout 5000', inst.db, sql]);
}

const iso = (ms) => new Date(ms).toISOString();

for (const backend of ['sqlite', 'pg']) {
	describe(`ingestion (${backend})`, { skip: backend === 'pg' && PG_SKIP, concurrency: false }, () => {
		let inst, srv, ws, other;
		before(async () => {
			inst = await installation({ pg: backend === 'pg', env: { DROPFIX_INGEST_QUEUE: '2000', DROPFIX_INGEST_BURST: '100000000', DROPFIX_INGEST_IP_BURST: '100000000' } });
			await account(inst, 'owner@example.test');
			ws = await workspace(inst, 'owner@example.test', 'Acme');
			other = await workspace(inst, 'owner@example.test', 'Canary');
			srv = await serve(inst);
		});
		after(async () => {
			await srv?.stop();
			inst?.drop();
		});

		test('200 after commit: rows stored, masked, templated; identify without name and e-mail; aggregates', async () => {
			const t0 = inst.now() - 3600_000;
			const r = await post(srv, '/v1/batch', {
				key: ws.public_key,
				sent_at: iso(inst.now()),
				unknown_top_level: { ignored: true },
				batch: [
					{ type: 'page', user_id: 'u-1', name: '/projects/12345/tasks/550e8400-e29b-41d4-a716-446655440000?token=abc#x', timestamp: iso(t0), message_id: 'p1', extra: 1 },
					{ type: 'track', user_id: 'u-1', name: 'Exported report', timestamp: iso(t0 + 60_000), properties: { note: 'mail me at jane.doe@example.com', card: '4242 4242 4242 4242', key: 'sk_live_51Habcdefghijklmnop1234567890' } },
					{ type: 'api', user_id: 'u-1', timestamp: iso(t0 + 120_000), properties: { method: 'post', path: '/api/items/98765/archive?x=1', status: 500, duration_ms: 12 } },
					{ type: 'click', user_id: 'u-1', name: 'Save', timestamp: iso(t0 + 125_000), properties: { rage: true } },
					{ type: 'identify', user_id: 'u-1', timestamp: iso(t0 + 130_000), traits: { name: 'Jane Doe', email: 'jane.doe@example.com', plan: 'pro' } },
					{ type: 'page', user_id: 'u-1', name: '/home', timestamp: iso(t0 + 130_000 + 31 * 60_000) },
					{ type: 'track', anonymous_id: 'anon-7', name: 'Visited pricing' },
				],
			});
			assert.equal(r.status, 200, r.text);
			assert.deepEqual(r.json, { accepted: 7, dropped: [] });
			assert.equal(r.headers['access-control-allow-origin'], '*');
			const ev = rows(inst, `SELECT type, name, properties, user_id, anonymous_id, event_ms FROM events WHERE workspace_id = ${ws.id} ORDER BY id`);
			assert.equal(ev.length, 7);
			assert.equal(ev[0].name, '/projects/:id/tasks/:id');
			const tp = JSON.parse(ev[1].properties);
			assert.deepEqual(tp, { note: 'mail me at [email]', card: '[card]', key: '[token]' });
			assert.equal(ev[2].name, 'POST /api/items/:id/archive');
			assert.equal(JSON.parse(ev[2].properties).path, '/api/items/:id/archive');
			assert.deepEqual(JSON.parse(ev[4].properties), { plan: 'pro' });
			assert.equal(ev[6].user_id, null);
			assert.equal(ev[6].anonymous_id, 'anon-7');
			assert.equal(Number(ev[6].event_ms), inst.now(), 'missing timestamp = time received');
			const everything = JSON.stringify(rows(inst, `SELECT * FROM events`)) + JSON.stringify(rows(inst, 'SELECT * FROM tracked_users'));
			assert.ok(!everything.includes('jane.doe@example.com') && !everything.includes('Jane Doe') && !everything.includes('4242'), 'no name, e-mail or card number stored');
			const tu = rows(inst, `SELECT * FROM tracked_users WHERE workspace_id = ${ws.id}`);
			assert.equal(tu.length, 1);
			assert.deepEqual(JSON.parse(tu[0].traits), { plan: 'pro' });
			assert.equal(Number(tu[0].first_seen), t0);
			const ud = rows(inst, `SELECT * FROM user_daily WHERE workspace_id = ${ws.id}`);
			assert.equal(ud.length, 1);
			assert.equal(Number(ud[0].events), 6);
			assert.equal(Number(ud[0].sessions), 2, 'a new session after 30 minutes without events');
			assert.equal(Number(tu[0].session_n), 2);
			assert.equal(Number(ud[0].active_minutes), 4, 'minutes t0, +1, +2 and the later page (the click and identify share minute +2)');
			assert.equal(Number(ud[0].session_seconds), 130);
			assert.equal(Number(ud[0].api_errors), 1);
			assert.equal(Number(ud[0].rage_clicks), 1);
			const keys = rows(inst, `SELECT key FROM feature_keys WHERE workspace_id = ${ws.id} ORDER BY key`).map((k) => k.key);
			assert.deepEqual(keys, ['api POST /api/items/:id/archive', 'click Save', 'page /home', 'page /projects/:id/tasks/:id', 'track Exported report', 'track Visited pricing']);
			const uf = rows(inst, `SELECT count(*) AS n, sum(count) AS s FROM user_daily_features WHERE workspace_id = ${ws.id}`);
			assert.equal(Number(uf[0].n), 5);
			assert.equal(Number(uf[0].s), 5);
			assert.equal(rows(inst, `SELECT * FROM events WHERE workspace_id = ${other.id}`).length, 0, 'the canary workspace got nothing');
		});

		test('tracked_users.changed_ms is the time of the commit that changed the user; a duplicate changes nothing', async () => {
			const send = (batch) => post(srv, '/v1/batch', { key: ws.public_key, batch });
			const at = () => Object.fromEntries(rows(inst, `SELECT user_id, changed_ms FROM tracked_users WHERE workspace_id = ${ws.id} AND user_id IN ('cm-1', 'cm-2')`).map((u) => [u.user_id, Number(u.changed_ms)]));
			let r = await send([{ type: 'track', user_id: 'cm-1', name: 'A', message_id: 'cm-a' }, { type: 'track', user_id: 'cm-2', name: 'A' }]);
			assert.equal(r.status, 200, r.text);
			const t1 = inst.now();
			assert.deepEqual(at(), { 'cm-1': t1, 'cm-2': t1 });
			inst.advance(5000);
			r = await send([{ type: 'track', user_id: 'cm-1', name: 'B' }]);
			assert.equal(r.status, 200, r.text);
			assert.deepEqual(at(), { 'cm-1': t1 + 5000, 'cm-2': t1 }, 'only the user with new events advances');
			inst.advance(5000);
			r = await send([{ type: 'identify', user_id: 'cm-2', traits: { plan: 'team' } }, { type: 'track', user_id: 'cm-1', name: 'A', message_id: 'cm-a' }]);
			assert.deepEqual(r.json, { accepted: 2, dropped: [] });
			assert.deepEqual(at(), { 'cm-1': t1 + 5000, 'cm-2': t1 + 10000 }, 'a profile change advances it; a duplicate does not');
		});

		test('partial acceptance names each dropped event by JSON Pointer; 400 when nothing is acceptable', async () => {
			let r = await post(srv, '/v1/batch', {
				key: ws.public_key,
				batch: [
					{ type: 'track', user_id: 'u-2', name: 'ok' },
					{ type: 'track', user_id: 'u-2', timestamp: 'yesterday' },
					'not an object',
					{ type: 'teleport', user_id: 'u-2' },
					{ type: 'track' },
					{ type: 'track', user_id: 'u-2', properties: 'nope' },
					{ type: 'track', user_id: 'x'.repeat(300) },
					{ type: 'page', anonymous_id: 'a', name: '/ok' },
				],
			});
			assert.equal(r.status, 200, r.text);
			assert.equal(r.json.accepted, 2);
			assert.deepEqual(r.json.dropped, [
				{ index: 1, code: 'invalid_field', field: '/batch/1/timestamp' },
				{ index: 2, code: 'invalid_field', field: '/batch/2' },
				{ index: 3, code: 'invalid_field', field: '/batch/3/type' },
				{ index: 4, code: 'missing_field', field: '/batch/4/user_id' },
				{ index: 5, code: 'invalid_field', field: '/batch/5/properties' },
				{ index: 6, code: 'invalid_field', field: '/batch/6/user_id' },
			]);
			r = await post(srv, '/v1/batch', { key: ws.public_key, batch: [{ type: 'track', user_id: 'u', timestamp: '2026-13-01T00:00:00Z' }] });
			assert.equal(r.status, 400, r.text);
			assert.equal(r.json.error.code, 'invalid_field');
			assert.equal(r.json.error.field, '/batch/0/timestamp');
			assert.equal(r.json.accepted, 0);
			r = await post(srv, '/v1/batch', { key: ws.public_key });
			assert.equal(r.status, 400);
			assert.equal(r.json.error.field, '/batch');
			r = await post(srv, '/v1/batch', '{"key": "x", "batch": [');
			assert.equal(r.status, 400);
			assert.equal(r.json.error.code, 'invalid_json');
			const props = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`p${i}`, i]));
			r = await post(srv, '/v1/batch', { key: ws.public_key, batch: [{ type: 'track', user_id: 'u', properties: props }] });
			assert.equal(r.status, 400);
			assert.equal(r.json.error.code, 'too_many_fields');
			assert.equal(r.json.error.field, '/batch/0/properties');
		});

		test('keys: 401 unknown (checked before events), Bearer header, sk_ refused with Origin', async () => {
			let r = await post(srv, '/v1/batch', { key: 'pk_' + 'A'.repeat(43), batch: [{ nonsense: true }] });
			assert.equal(r.status, 401, r.text);
			assert.equal(r.json.error.code, 'unknown_key');
			assert.equal(r.headers['access-control-allow-origin'], '*');
			r = await post(srv, '/v1/batch', { batch: [{ type: 'track', user_id: 'u' }] });
			assert.equal(r.status, 401);
			r = await post(srv, '/v1/batch', { batch: [{ type: 'track', user_id: 'u', name: 'via bearer' }] }, { authorization: `Bearer ${ws.secret_key}` });
			assert.equal(r.status, 200, r.text);
			r = await post(srv, '/v1/batch', { batch: [{ type: 'track', user_id: 'u' }] }, { authorization: 'Bearer sk_nope' });
			assert.equal(r.status, 401);
			r = await post(srv, '/v1/batch', { key: ws.secret_key, batch: [{ type: 'track', user_id: 'u' }] }, { origin: 'https://app.example.com' });
			assert.equal(r.status, 403, r.text);
			assert.equal(r.json.error.code, 'secret_key_in_browser');
			r = await post(srv, '/v1/batch', { key: ws.public_key, batch: [{ type: 'track', user_id: 'u', name: 'from the browser' }] }, { origin: 'https://app.example.com' });
			assert.equal(r.status, 200);
		});

		test('timestamps: far future clamped to the time received; pk_ older than 48 h dropped as too_old, sk_ accepted', async () => {
			const now = inst.now();
			let r = await post(srv, '/v1/batch', { key: ws.public_key, batch: [
				{ type: 'track', user_id: 'u-t', name: 'future', timestamp: iso(now + 86400_000), message_id: 'fut-1' },
				{ type: 'track', user_id: 'u-t', name: 'slight future', timestamp: iso(now + 60_000), message_id: 'fut-2' },
				{ type: 'track', user_id: 'u-t', name: 'old', timestamp: iso(now - 49 * 3600_000), message_id: 'old-1' },
			] });
			assert.equal(r.status, 200, r.text);
			assert.deepEqual(r.json.dropped, [{ index: 2, code: 'too_old', field: '/batch/2/timestamp' }]);
			const ev = rows(inst, `SELECT message_id, event_ms FROM events WHERE workspace_id = ${ws.id} AND message_id LIKE 'fut-%' ORDER BY message_id`);
			assert.deepEqual(ev.map((e) => Number(e.event_ms)), [now, now + 60_000]);
			r = await post(srv, '/v1/batch', { key: ws.secret_key, batch: [{ type: 'track', user_id: 'u-t', name: 'old', timestamp: '2025-01-01T10:00:00+02:00', message_id: 'old-sk' }] });
			assert.equal(r.status, 200, r.text);
			assert.deepEqual(r.json.dropped, []);
			const old = rows(inst, `SELECT event_ms FROM events WHERE workspace_id = ${ws.id} AND message_id = 'old-sk'`);
			assert.equal(Number(old[0].event_ms), Date.UTC(2025, 0, 1, 8, 0, 0));
		});

		test('message_id de-duplication: acknowledged, stored once, within a batch, across requests and a restart', async () => {
			const batch = [
				{ type: 'track', user_id: 'u-d', name: 'once', message_id: 'dup-1' },
				{ type: 'track', user_id: 'u-d', name: 'once', message_id: 'dup-1' },
				{ type: 'track', user_id: 'u-d', name: 'other', message_id: 'dup-2' },
			];
			let r = await post(srv, '/v1/batch', { key: ws.public_key, batch });
			assert.equal(r.status, 200);
			assert.equal(r.json.accepted, 3);
			r = await post(srv, '/v1/batch', { key: ws.public_key, batch });
			assert.equal(r.status, 200);
			assert.equal(r.json.accepted, 3);
			await srv.stop();
			srv = await serve(inst);
			r = await post(srv, '/v1/batch', { key: ws.public_key, batch });
			assert.equal(r.status, 200);
			const n = rows(inst, `SELECT message_id, count(*) AS n FROM events WHERE workspace_id = ${ws.id} AND message_id LIKE 'dup-%' GROUP BY message_id ORDER BY message_id`);
			assert.deepEqual(n.map((x) => [x.message_id, Number(x.n)]), [['dup-1', 1], ['dup-2', 1]]);
			const d = rows(inst, `SELECT count(*) AS n FROM user_daily WHERE workspace_id = ${ws.id} AND user_id = 'u-d' AND events = 2`);
			assert.equal(Number(d[0].n), 1, 'aggregates count the duplicates once');
			// another workspace may use the same message id
			r = await post(srv, '/v1/batch', { key: other.public_key, batch: [{ type: 'track', user_id: 'u-d', name: 'x', message_id: 'dup-1' }] });
			assert.equal(r.status, 200);
			assert.equal(rows(inst, `SELECT * FROM events WHERE workspace_id = ${other.id}`).length, 1);
		});

		test('gzip bodies are inflated; a gzip bomb is refused at the inflated cap; 413 for oversized bodies and batches', async () => {
			const body = JSON.stringify({ key: ws.public_key, batch: [{ type: 'track', user_id: 'u-g', name: 'gzipped', message_id: 'gz-1' }] });
			let r = await post(srv, '/v1/batch', zlib.gzipSync(body), { 'content-encoding': 'gzip' });
			assert.equal(r.status, 200, r.text);
			assert.equal(rows(inst, `SELECT * FROM events WHERE workspace_id = ${ws.id} AND message_id = 'gz-1'`).length, 1);
			const bomb = zlib.gzipSync(Buffer.concat([Buffer.from(`{"key":"${ws.public_key}","batch":[],"pad":"`), Buffer.alloc(64 * 1024 * 1024, 0x61), Buffer.from('"}')]), { level: 9 });
			assert.ok(bomb.length < 1024 * 1024);
			r = await post(srv, '/v1/batch', bomb, { 'content-encoding': 'gzip' });
			assert.equal(r.status, 413, r.text);
			assert.equal(r.json.error.code, 'too_large');
			r = await post(srv, '/v1/batch', Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' });
			assert.equal(r.status, 400);
			r = await post(srv, '/v1/batch', body, { 'content-encoding': 'br' });
			assert.equal(r.status, 415);
			const raw = await rawRequest(srv.port, `POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nContent-Type: application/json\r\nContent-Length: ${1024 * 1024 + 10}\r\n\r\n`);
			assert.equal(raw.status, 413);
			const many = Array.from({ length: 501 }, () => ({ type: 'track', user_id: 'u', name: 'x' }));
			r = await post(srv, '/v1/batch', { key: ws.public_key, batch: many });
			assert.equal(r.status, 413);
			assert.equal(r.json.error.field, '/batch');
		});

		test('/v1/batch/ works like /v1/batch; the beacon form (text/plain); CORS preflight', async () => {
			let r = await post(srv, '/v1/batch/', { key: ws.public_key, batch: [{ type: 'track', user_id: 'u-s', name: 'slash', message_id: 'slash-1' }] });
			assert.equal(r.status, 200, r.text);
			r = await post(srv, '/v1/batch', JSON.stringify({ key: ws.public_key, batch: [{ type: 'page', anonymous_id: 'b', name: '/bye', message_id: 'beacon-1' }] }), { 'content-type': 'text/plain;charset=UTF-8', origin: 'https://app.example.com' });
			assert.equal(r.status, 200, r.text);
			assert.equal(r.headers['access-control-allow-origin'], '*');
			assert.equal(r.headers['access-control-allow-credentials'], undefined);
			assert.equal(rows(inst, `SELECT * FROM events WHERE workspace_id = ${ws.id} AND message_id IN ('slash-1', 'beacon-1')`).length, 2);
			const pre = await fetch(srv.url + '/v1/batch', { method: 'OPTIONS', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
			assert.equal(pre.status, 204);
			assert.equal(pre.headers.get('access-control-allow-origin'), '*');
			assert.match(pre.headers.get('access-control-allow-methods'), /POST/);
			assert.match(pre.headers.get('access-control-allow-headers'), /Content-Type/i);
			const other_route = await fetch(srv.url + '/healthz', { headers: { origin: 'https://app.example.com' } });
			assert.equal(other_route.headers.get('access-control-allow-origin'), null, 'CORS for ingestion routes only');
		});

		test('the recurring purge job deletes de-duplication rows past their window; the id is accepted again after it', async () => {
			let r = await post(srv, '/v1/batch', { key: ws.secret_key, batch: [{ type: 'track', user_id: 'u-p', name: 'p', message_id: 'purge-1' }] });
			assert.equal(r.status, 200);
			assert.equal(rows(inst, `SELECT * FROM ingest_dedupe WHERE workspace_id = ${ws.id} AND message_id = 'purge-1'`).length, 1);
			// more than one purge chunk (1000 events) of old events
			for (let k = 0; k < 3; k++) {
				const bulk = Array.from({ length: 400 }, (_, i) => ({ type: 'track', user_id: 'u-p', name: 'p', message_id: `bulk-${k}-${i}` }));
				assert.equal((await post(srv, '/v1/batch', { key: ws.secret_key, batch: bulk })).status, 200);
			}
			const bulkRows = () => Number(rows(inst, `SELECT count(*) AS n FROM ingest_dedupe WHERE workspace_id = ${ws.id} AND message_id LIKE 'bulk-%'`)[0].n);
			assert.equal(bulkRows(), 1200);
			inst.advance(47 * 3600_000);
			r = await post(srv, '/v1/batch', { key: ws.secret_key, batch: [{ type: 'track', user_id: 'u-p', name: 'p', message_id: 'purge-2' }] });
			assert.equal(r.status, 200);
			inst.advance(2 * 3600_000);
			const dedupe = () => rows(inst, `SELECT message_id FROM ingest_dedupe WHERE workspace_id = ${ws.id} AND message_id LIKE 'purge-%'`).map((x) => x.message_id);
			assert.deepEqual(dedupe().sort(), ['purge-1', 'purge-2']);
			await inst.ok(['worker', '--test-enqueue', 'ingest.dedupe_purge:1']);
			const worker = spawn(BIN, ['worker'], { env: { ...process.env, ...inst.env, DROPFIX_TEST_JOB_POLL_MS: '50' }, stdio: 'ignore' });
			try {
				const deadline = Date.now() + 15000;
				while (dedupe().includes('purge-1') || bulkRows() > 0) {
					assert.ok(Date.now() < deadline, 'the purge job ran');
					await sleep(100);
				}
			} finally {
				worker.kill('SIGTERM');
				await new Promise((resolve) => worker.on('exit', resolve));
			}
			assert.deepEqual(dedupe(), ['purge-2'], 'a row 2 h old stays (the window is 48 h)');
			const cursor = rows(inst, `SELECT through_id FROM ingest_dedupe_purge WHERE workspace_id = ${ws.id}`);
			assert.equal(cursor.length, 1, 'the purge cursor is kept');
			r = await post(srv, '/v1/batch', { key: ws.secret_key, batch: [{ type: 'track', user_id: 'u-p', name: 'p', message_id: 'purge-1' }] });
			assert.equal(r.status, 200);
			assert.equal(rows(inst, `SELECT * FROM events WHERE workspace_id = ${ws.id} AND message_id = 'purge-1'`).length, 2);
		});

		test('a failing aggregation is reported by /readyz (still ready) and retried until it succeeds', async () => {
			// a malformed pending row (older than any real one) makes this workspace's pass fail
			execSql(inst, `INSERT INTO ingest_pending (workspace_id, seq, events) VALUES (${ws.id}, 1, ${backend === 'pg' ? "'\\x00'::bytea" : "x'00'"})`);
			// (a plain fetch: post() would wait for the aggregation, which fails here)
			const r = await fetch(srv.url + '/v1/batch', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: ws.secret_key, batch: [{ type: 'track', user_id: 'u-agg', name: 'agg', message_id: 'agg-1' }] }) });
			assert.equal(r.status, 200, 'the acknowledgement does not depend on the aggregation');
			const aggOk = async () => {
				const res = await fetch(srv.url + '/readyz');
				const j = await res.json();
				return { status: res.status, ok: j.checks.ingest_writer.ingest_aggregation_ok };
			};
			let deadline = Date.now() + 10000;
			let seen;
			while ((seen = await aggOk()).ok !== false) {
				assert.ok(Date.now() < deadline, 'the failure shows on /readyz');
				await sleep(50);
			}
			assert.equal(seen.status, 200, 'a failing aggregation does not make the server unready');
			assert.equal(rows(inst, `SELECT * FROM user_daily WHERE workspace_id = ${ws.id} AND user_id = 'u-agg'`).length, 0);
			execSql(inst, `DELETE FROM ingest_pending WHERE workspace_id = ${ws.id} AND seq = 1`);
			deadline = Date.now() + 10000;
			while ((seen = await aggOk()).ok !== true) {
				assert.ok(Date.now() < deadline, 'the retry succeeds once the bad row is gone');
				await sleep(50);
			}
			assert.equal(rows(inst, `SELECT * FROM user_daily WHERE workspace_id = ${ws.id} AND user_id = 'u-agg'`).length, 1, 'the event was aggregated on retry');
		});

		test('a full writer queue answers 503 + Retry-After and stores nothing it did not acknowledge', async () => {
			const paused = await post(srv, '/__test/ingest-pause', { paused: true });
			assert.equal(paused.status, 200);
			const big = (tag, n) => ({ key: ws.public_key, batch: Array.from({ length: n }, (_, i) => ({ type: 'track', user_id: 'u-q', name: 'q', message_id: `${tag}-${i}` })) });
			// DROPFIX_INGEST_QUEUE=2000 here: four suspended 500-event requests fill it
			const pending = [];
			for (let i = 0; i < 4; i++) pending.push(post(srv, '/v1/batch', big(`fill${i}`, 500)));
			await sleep(1000);
			const r = await post(srv, '/v1/batch', big('over', 100));
			assert.equal(r.status, 503, r.text);
			assert.equal(r.headers['retry-after'], '1');
			const ready = await fetch(srv.url + '/readyz');
			const rj = await ready.json();
			assert.equal(ready.status, 503, JSON.stringify(rj));
			assert.equal(rj.checks.ingest_writer.ingest_queue_depth, 2000, 'queue depth reported');
			assert.equal(rj.checks.ingest_writer.ok, false);
			await post(srv, '/__test/ingest-pause', { paused: false });
			const done = await Promise.all(pending);
			const ok = done.filter((d) => d.status === 200).length;
			const refused = done.filter((d) => d.status === 503).length;
			assert.equal(ok, 4, `ok ${ok} refused ${refused}`);
			assert.equal(rows(inst, `SELECT * FROM events WHERE workspace_id = ${ws.id} AND message_id LIKE 'over-%'`).length, 0);
			const stored = rows(inst, `SELECT count(*) AS n FROM events WHERE workspace_id = ${ws.id} AND message_id LIKE 'fill%'`);
			assert.equal(Number(stored[0].n), ok * 500);
		});
	});
}

// The durability trial (issue 5 acceptance: 5 trials of <= 10 s): clients post batches with
// message_ids under sustained load (3-4 s per trial) and record which got 200; the server is
// killed with SIGKILL mid-load and restarted; every acknowledged event is in the database,
// and after the clients retry everything (acknowledged or not) each event is stored exactly
// once. Each trial reports its counts as a test diagnostic.
for (const backend of ['sqlite', 'pg']) {
	describe(`ingestion durability: kill -9 under load (${backend})`, { skip: backend === 'pg' && PG_SKIP, concurrency: false }, () => {
		let inst, srv, ws;
		before(async () => {
			inst = await installation({ pg: backend === 'pg', env: { DROPFIX_INGEST_BURST: '100000000', DROPFIX_INGEST_IP_BURST: '100000000' } });
			await account(inst, 'owner@example.test');
			ws = await workspace(inst, 'owner@example.test', 'Durable');
			srv = await serve(inst);
		});
		after(async () => {
			await srv?.stop();
			inst?.drop();
		});

		const TRIALS = 5;
		for (let trial = 0; trial < TRIALS; trial++) {
			test(`trial ${trial + 1}: 0 acknowledged events lost, none stored twice after retries`, async (t) => {
				const batches = [];
				const acked = new Set();
				let stop = false;
				const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
				const send = (b, url) => new Promise((resolve) => {
					const data = Buffer.from(JSON.stringify({ key: ws.secret_key, batch: b.events }));
					const req = http.request(url + '/v1/batch', { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': data.length } }, (res) => {
						res.resume();
						res.on('end', () => resolve(res.statusCode));
						res.on('error', () => resolve(0));
					});
					req.on('error', () => resolve(0));
					req.end(data);
				});
				async function client(c) {
					for (let k = 0; !stop; k++) {
						const id = `t${trial}-c${c}-b${k}`;
						const b = { id, events: Array.from({ length: 10 }, (_, i) => ({ type: 'track', user_id: `u${c}`, name: 'load', message_id: `${id}-e${i}` })) };
						batches.push(b);
						const status = await send(b, srv.url);
						if (status === 200) acked.add(b.id);
						else if (status === 0) break; /* the server is gone */
					}
				}
				const clients = Array.from({ length: 12 }, (_, c) => client(c));
				const loadMs = 3000 + Math.floor(Math.random() * 1000);
				await sleep(loadMs);
				srv.child.kill('SIGKILL');
				await srv.exited;
				stop = true;
				await Promise.all(clients);
				agent.destroy();
				assert.ok(acked.size > 10, `load was sustained (${acked.size} batches acknowledged)`);
				srv = await serve(inst);
				const stored = new Set(rows(inst, `SELECT message_id FROM events WHERE workspace_id = ${ws.id} AND message_id LIKE 't${trial}-%'`).map((r) => r.message_id));
				let lost = 0;
				for (const b of batches) if (acked.has(b.id)) for (const e of b.events) if (!stored.has(e.message_id)) lost++;
				const storedAtRestart = stored.size;
				assert.equal(lost, 0, `${lost} acknowledged events lost (of ${acked.size * 10})`);
				// the clients retry everything they sent (acknowledged or not)
				const retry = new http.Agent({ keepAlive: true, maxSockets: 8 });
				for (let i = 0; i < batches.length; i += 8) {
					const statuses = await Promise.all(batches.slice(i, i + 8).map((b) => new Promise((resolve) => {
						const data = Buffer.from(JSON.stringify({ key: ws.secret_key, batch: b.events }));
						const req = http.request(srv.url + '/v1/batch', { method: 'POST', agent: retry, headers: { 'content-type': 'application/json', 'content-length': data.length } }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
						req.on('error', () => resolve(0));
						req.end(data);
					})));
					assert.ok(statuses.every((s) => s === 200), `retries answered ${statuses}`);
				}
				retry.destroy();
				const counts = rows(inst, `SELECT count(*) AS n, count(DISTINCT message_id) AS d FROM events WHERE workspace_id = ${ws.id} AND message_id LIKE 't${trial}-%'`);
				t.diagnostic(`${backend} trial ${trial + 1}: load ${loadMs} ms, ${batches.length} batches sent, ${acked.size * 10} events acknowledged, ` +
					`${storedAtRestart} stored after restart, ${lost} lost; after retries ${counts[0].n} stored, ${counts[0].d} distinct, ` +
					`${Number(counts[0].n) - Number(counts[0].d)} duplicates (${batches.length * 10} sent)`);
				assert.equal(Number(counts[0].d), batches.length * 10, 'every event sent is stored');
				assert.equal(Number(counts[0].n), batches.length * 10, 'none twice');
				await flushIngest(srv);
				const daily = rows(inst, `SELECT sum(events) AS n FROM user_daily WHERE workspace_id = ${ws.id}`);
				const all = rows(inst, `SELECT count(*) AS n FROM events WHERE workspace_id = ${ws.id}`);
				assert.equal(Number(daily[0].n), Number(all[0].n), 'aggregates committed with their events');
			});
		}

		test('events acknowledged but not aggregated before a kill -9 are aggregated at the next start', async () => {
			// aggregation held back (test builds only), so every 200 below leaves its events pending
			await srv.stop();
			inst.env.DROPFIX_TEST_AGG_DELAY_MS = '600000';
			try {
				srv = await serve(inst);
			} finally {
				delete inst.env.DROPFIX_TEST_AGG_DELAY_MS;
			}
			for (let k = 0; k < 20; k++) {
				const batch = Array.from({ length: 10 }, (_, i) => ({ type: 'track', user_id: `cr-${i}`, name: 'crash', message_id: `cr-${k}-${i}` }));
				const res = await fetch(srv.url + '/v1/batch', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: ws.secret_key, batch }) });
				assert.equal(res.status, 200, await res.text());
			}
			const pending = () => Number(rows(inst, `SELECT count(*) AS n FROM ingest_pending WHERE workspace_id = ${ws.id}`)[0].n);
			assert.equal(pending(), 20, 'acknowledged and marked for aggregation (one row per acknowledging transaction: the requests went one at a time)');
			assert.equal(rows(inst, `SELECT user_id FROM tracked_users WHERE workspace_id = ${ws.id} AND user_id LIKE 'cr-%'`).length, 0, 'not aggregated before the crash');
			srv.child.kill('SIGKILL');
			await srv.exited;
			srv = await serve(inst);
			// the restarted writer aggregates what the crash left pending by itself: poll (10 s cap)
			const deadline = Date.now() + 10_000;
			while (pending() > 0 && Date.now() < deadline) await sleep(50);
			assert.equal(pending(), 0, 'nothing left pending after the start');
			const tu = rows(inst, `SELECT user_id, session_n FROM tracked_users WHERE workspace_id = ${ws.id} AND user_id LIKE 'cr-%' ORDER BY user_id`);
			assert.deepEqual(tu.map((u) => [u.user_id, Number(u.session_n)]), Array.from({ length: 10 }, (_, i) => [`cr-${i}`, 1]));
			const daily = rows(inst, `SELECT sum(events) AS n, sum(sessions) AS s FROM user_daily WHERE workspace_id = ${ws.id} AND user_id LIKE 'cr-%'`);
			assert.equal(Number(daily[0].n), 200, 'user_daily counts every acknowledged event once');
			assert.equal(Number(daily[0].s), 10);
			const ev = rows(inst, `SELECT count(*) AS n FROM events WHERE workspace_id = ${ws.id} AND user_id LIKE 'cr-%'`);
			assert.equal(Number(ev[0].n), 200);
			const all = rows(inst, `SELECT count(*) AS n FROM events WHERE workspace_id = ${ws.id}`);
			const sum = rows(inst, `SELECT sum(events) AS n FROM user_daily WHERE workspace_id = ${ws.id}`);
			assert.equal(Number(sum[0].n), Number(all[0].n), 'aggregates match the events');
		});
	});
}

// Per-workspace token buckets on the fake clock (which stands still unless advanced): a
// flooding workspace gets 429 + Retry-After while another keeps getting 200; time refills.
describe('ingestion rate limits', { concurrency: false }, () => {
	let inst, srv, noisy, quiet;
	before(async () => {
		inst = await installation({ env: { DROPFIX_INGEST_RATE: '10', DROPFIX_INGEST_BURST: '100' } });
		await account(inst, 'owner@example.test');
		noisy = await workspace(inst, 'owner@example.test', 'Noisy');
		quiet = await workspace(inst, 'owner@example.test', 'Quiet');
		srv = await serve(inst);
	});
	after(async () => {
		await srv?.stop();
		inst?.drop();
	});

	test('429 with Retry-After under flood while a second workspace keeps getting 200', async () => {
		const batch = (key, n) => ({ key, batch: Array.from({ length: n }, () => ({ type: 'track', user_id: 'u', name: 'flood' })) });
		for (let i = 0; i < 4; i++) assert.equal((await post(srv, '/v1/batch', batch(noisy.public_key, 25))).status, 200);
		let r = await post(srv, '/v1/batch', batch(noisy.public_key, 20));
		assert.equal(r.status, 429, r.text);
		assert.equal(r.json.error.code, 'rate_limited');
		assert.equal(r.headers['retry-after'], '2', '20 events at 10/s from an empty bucket');
		assert.equal(r.headers['access-control-allow-origin'], '*');
		assert.equal(r.headers['access-control-expose-headers'], 'Retry-After', 'the SDK can read Retry-After');
		r = await post(srv, '/v1/batch', batch(quiet.public_key, 50));
		assert.equal(r.status, 200, 'the other workspace is not slowed');
		inst.advance(2000);
		r = await post(srv, '/v1/batch', batch(noisy.public_key, 20));
		assert.equal(r.status, 200, 'the bucket refilled');
		assert.equal(rows(inst, `SELECT * FROM events WHERE workspace_id = ${noisy.id}`).length, 120);
	});

	test('per client IP, requests with unknown keys are limited before the body is parsed', async () => {
		const unknown = { key: 'pk_' + 'B'.repeat(43), batch: [{ type: 'track', user_id: 'u' }] };
		for (let i = 0; i < 60; i++) assert.equal((await post(srv, '/v1/batch', unknown)).status, 401);
		let r = await post(srv, '/v1/batch', '{"this is": not json');
		assert.equal(r.status, 429, 'refused before parsing (not 400)');
		assert.equal(r.json.error.code, 'rate_limited');
		assert.equal(r.headers['retry-after'], '1');
		inst.advance(1000);
		r = await post(srv, '/v1/batch', { key: quiet.public_key, batch: [{ type: 'track', user_id: 'u', name: 'after' }] });
		assert.equal(r.status, 200, r.text);
	});
});

// Disk full (SQLite on a small tmpfs; needs root to mount, skipped otherwise): the batch that
// cannot be written is answered 503 + Retry-After; once space is back the retry is stored,
// and everything acknowledged before is still there.
function canMount() {
	if (process.getuid?.() !== 0) return false;
	try {
		execFileSync('mount', ['--version'], { stdio: 'ignore' });
		return true;
	} catch {
		return false;
	}
}

describe('ingestion with the disk full (SQLite on a 6 MB tmpfs)', { skip: !canMount() && 'needs root and mount', concurrency: false }, () => {
	let inst, srv, ws, mnt, filler;
	before(async () => {
		mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'dropfix-full-'));
		execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', mnt]);
		inst = await installation({ env: { DROPFIX_DATA_DIR: mnt } });
		inst.db = path.join(mnt, 'dropfix.db');
		await account(inst, 'owner@example.test');
		ws = await workspace(inst, 'owner@example.test', 'Full');
		srv = await serve(inst);
		filler = path.join(mnt, 'filler');
	});
	after(async () => {
		await srv?.stop();
		try { execFileSync('umount', [mnt]); } catch { /* already gone */ }
	});

	test('503 + Retry-After while the disk is full, nothing acknowledged is lost, 200 once space is back', async () => {
		const batch = (tag) => ({ key: ws.secret_key, batch: Array.from({ length: 400 }, (_, i) => ({ type: 'track', user_id: `u${i % 7}`, name: 'fill', message_id: `${tag}-${i}`, properties: { blob: 'x'.repeat(1000) } })) });
		let r = await post(srv, '/v1/batch', batch('before'));
		assert.equal(r.status, 200, r.text);
		// fill the file system to the last byte
		const fd = fs.openSync(filler, 'w');
		const chunk = Buffer.alloc(64 * 1024, 1);
		try { for (;;) fs.writeSync(fd, chunk); } catch (e) { assert.equal(e.code, 'ENOSPC'); }
		try { for (;;) fs.writeSync(fd, chunk.subarray(0, 512)); } catch (e) { assert.equal(e.code, 'ENOSPC'); }
		fs.closeSync(fd);
		let refused = 0;
		for (let i = 0; i < 3; i++) {
			r = await postOnce(srv, '/v1/batch', batch(`full${i}`)); // the aggregation may fail too
			if (r.status === 503) {
				refused++;
				assert.equal(r.headers['retry-after'], '1');
				assert.equal(r.json.error.code, 'unavailable');
			} else {
				assert.equal(r.status, 200, r.text);
			}
		}
		assert.ok(refused > 0, 'at least one batch could not be written');
		fs.unlinkSync(filler);
		for (let i = 0; i < 3; i++) {
			// (its aggregation may still lack space on this 6 MB file system: not waited for)
			r = await postOnce(srv, '/v1/batch', batch(`full${i}`));
			assert.equal(r.status, 200, r.text);
		}
		const n = rows(inst, `SELECT count(*) AS n, count(DISTINCT message_id) AS d FROM events WHERE workspace_id = ${ws.id}`);
		assert.equal(Number(n[0].n), 1600);
		assert.equal(Number(n[0].d), 1600);
	});
});
