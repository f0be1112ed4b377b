// Compatibility ingestion (ASan test build, SQLite): Segment's HTTP tracking API
// (/v1/track, /v1/identify, /v1/page, Segment's /v1/batch shape; write key as the
// Basic-auth user or `writeKey`) and PostHog's capture API (/batch, /capture, /e,
// /i/v0/e, gzip, `api_key`) go through the same pipeline as /v1/batch: every request of
// tests/fixtures/ingest/{segment,posthog}.json stores exactly the events listed there
// (masked, templated, identify without name and e-mail); unknown keys get 401, sk_ with
// an Origin header 403; and the real npm clients @segment/analytics-node and posthog-node
// (pinned in package-lock.json), changed only in host and key, deliver tracked events.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { Analytics } from '@segment/analytics-node';
import { PostHog } from 'posthog-node';
import { postRaw as post } from './lib.mjs';
import { account, installation, serve, workspace } from './wslib.mjs';

const FIXTURES = path.resolve('tests/fixtures/ingest');
const fixture = (name) => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8'));

function rows(inst, sql) {
	const out = execFileSync('sqlite3', ['-json', inst.db, sql]).toString().trim();
	return out ? JSON.parse(out) : [];
}

const basic = (key) => ({ authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` });

function storedByMessageId(inst, ws, ids) {
	const list = ids.map((id) => `'${id.replace(/'/g, "''")}'`).join(',');
	return rows(inst, `SELECT type, name, user_id, anonymous_id, message_id, event_ms, properties FROM events WHERE workspace_id = ${ws.id} AND message_id IN (${list}) ORDER BY id`)
		.map((r) => ({ ...r, event_ms: new Date(Number(r.event_ms)).toISOString(), properties: JSON.parse(r.properties) }));
}

describe('compatibility ingestion (sqlite)', { concurrency: false }, () => {
	let inst, srv, ws, other;
	before(async () => {
		inst = await installation({ env: { DROPFIX_INGEST_BURST: '100000' } });
		await account(inst, 'owner@example.test');
		ws = await workspace(inst, 'owner@example.test', 'Acme');
		other = await workspace(inst, 'owner@example.test', 'Canary');
		srv = await serve(inst);
	});
	after(async () => {
		const exit = await srv?.stop();
		inst?.drop();
		assert.doesNotMatch(srv?.logs() || '', /Sanitizer/, 'no ASan/UBSan report from the server');
		assert.equal(exit?.code, 0, 'the server exits cleanly (LeakSanitizer would make it non-zero)');
	});

	for (const [dialect, file] of [['Segment', 'segment.json'], ['PostHog', 'posthog.json']]) {
		test(`${dialect}: every fixture request stores exactly the mapped events`, async () => {
			for (const r of fixture(file).requests) {
				const body = structuredClone(r.body);
				const headers = {};
				if (dialect === 'PostHog') body.api_key = ws.secret_key;
				else if (r.auth === 'basic') Object.assign(headers, basic(ws.secret_key));
				else body.writeKey = ws.secret_key;
				let data = JSON.stringify(body);
				if (r.gzip) {
					data = zlib.gzipSync(data);
					headers['content-encoding'] = 'gzip';
				}
				const res = await post(srv, r.path, data, headers);
				assert.equal(res.status, 200, `${r.path}: ${res.text}`);
				assert.deepEqual(res.json, { accepted: r.stored.length, dropped: r.dropped || [] }, r.path);
				const got = storedByMessageId(inst, ws, r.stored.map((e) => e.message_id));
				assert.deepEqual(got, r.stored, `${r.path}: stored events`);
			}
			const all = JSON.stringify(rows(inst, 'SELECT * FROM events')) + JSON.stringify(rows(inst, 'SELECT * FROM tracked_users'));
			for (const secret of ['jane.doe@example.com', 'Jane Doe', 'max@example.net', 'john@example.org', 'tab=2', 'draft=1'])
				assert.ok(!all.includes(secret), `${secret} is not stored`);
			assert.equal(rows(inst, `SELECT * FROM events WHERE workspace_id = ${other.id}`).length, 0, 'the canary workspace got nothing');
		});
	}

	test('a retried compatibility request is stored once (message_id / uuid de-duplication)', async () => {
		const ev = { userId: 'dup-user', event: 'Retried', messageId: 'seg-dup-1' };
		for (let i = 0; i < 2; i++) assert.equal((await post(srv, '/v1/track/', ev, basic(ws.secret_key))).status, 200);
		const ph = { api_key: ws.secret_key, event: 'retried', distinct_id: 'dup-user', uuid: 'ph-dup-1' };
		for (let i = 0; i < 2; i++) assert.equal((await post(srv, '/capture', ph)).status, 200);
		assert.equal(rows(inst, `SELECT * FROM events WHERE workspace_id = ${ws.id} AND message_id IN ('seg-dup-1', 'ph-dup-1')`).length, 2);
	});

	test('unknown keys: 401 on every endpoint, wherever the key travels', async () => {
		const bad = 'sk_' + 'x'.repeat(40);
		const cases = [
			['/v1/track', { userId: 'u', event: 'e' }, basic(bad)],
			['/v1/identify', { userId: 'u', writeKey: bad }, {}],
			['/v1/page', { userId: 'u' }, {}],
			['/v1/batch', { batch: [{ type: 'track', userId: 'u', event: 'e' }] }, basic(bad)],
			['/v1/batch', { writeKey: bad, batch: [{ type: 'track', userId: 'u', event: 'e' }] }, {}],
			['/batch', { api_key: bad, batch: [{ event: 'e', distinct_id: 'u' }] }, {}],
			['/capture', { api_key: bad, event: 'e', distinct_id: 'u' }, {}],
			['/e/', { event: 'e', distinct_id: 'u' }, {}],
			['/i/v0/e', { api_key: bad, event: 'e', distinct_id: 'u' }, {}],
		];
		for (const [p, body, headers] of cases) {
			const r = await post(srv, p, body, headers);
			assert.equal(r.status, 401, `${p} ${JSON.stringify(body)}: ${r.text}`);
			assert.match(r.json.error.code, /^(unknown_key|missing_key)$/);
		}
		assert.equal(rows(inst, `SELECT * FROM events WHERE user_id = 'u'`).length, 0);
	});

	test('a secret key with an Origin header is refused (403) on the compatibility routes', async () => {
		const origin = { origin: 'https://app.example.com' };
		const r1 = await post(srv, '/v1/track', { userId: 'o', event: 'e' }, { ...basic(ws.secret_key), ...origin });
		const r2 = await post(srv, '/capture', { api_key: ws.secret_key, event: 'e', distinct_id: 'o' }, origin);
		const r3 = await post(srv, '/v1/batch', { writeKey: ws.secret_key, batch: [{ type: 'track', userId: 'o', event: 'e' }] }, origin);
		for (const r of [r1, r2, r3]) {
			assert.equal(r.status, 403, r.text);
			assert.equal(r.json.error.code, 'secret_key_in_browser');
		}
		assert.equal(rows(inst, `SELECT * FROM events WHERE user_id = 'o'`).length, 0);
	});

	test('malformed compatibility bodies: 400 with a JSON Pointer; CORS preflight', async () => {
		const r1 = await post(srv, '/batch', { api_key: ws.secret_key, batch: 'nope' });
		assert.equal(r1.status, 400);
		assert.equal(r1.json.error.field, '/batch');
		const r2 = await post(srv, '/capture', { api_key: ws.secret_key, distinct_id: 'u' });
		assert.equal(r2.status, 400);
		assert.equal(r2.json.error.code, 'missing_field');
		const r3 = await post(srv, '/v1/track', { event: 'no user' }, basic(ws.secret_key));
		assert.equal(r3.status, 400);
		assert.equal(r3.json.error.field, '/batch/0/user_id');
		const pre = await new Promise((resolve, reject) => {
			const req = http.request(srv.url + '/i/v0/e/', { method: 'OPTIONS', agent: false, headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' } }, (res) => { res.resume(); resolve(res); });
			req.on('error', reject);
			req.end();
		});
		assert.equal(pre.statusCode, 204);
		assert.equal(pre.headers['access-control-allow-origin'], '*');
	});

	test('the real @segment/analytics-node client delivers tracked events (host and key changed only)', async () => {
		const analytics = new Analytics({ writeKey: ws.secret_key, host: srv.url, maxRetries: 1, flushInterval: 100 });
		const errors = [];
		analytics.on('error', (e) => errors.push(e));
		analytics.identify({ userId: 'segment-node-user', traits: { email: 'seg.node@example.com', plan: 'business' } });
		analytics.track({ userId: 'segment-node-user', event: 'Dashboard Shared', properties: { viewers: 3 } });
		analytics.page({ userId: 'segment-node-user', name: 'Billing', properties: { path: '/settings/billing' } });
		await analytics.closeAndFlush({ timeout: 10000 });
		assert.deepEqual(errors, []);
		const ev = rows(inst, `SELECT type, name, message_id FROM events WHERE workspace_id = ${ws.id} AND user_id = 'segment-node-user' ORDER BY id`);
		assert.deepEqual(ev.map((e) => [e.type, e.name]).sort(), [['identify', ''], ['page', '/settings/billing'], ['track', 'Dashboard Shared']]);
		assert.ok(ev.every((e) => e.message_id), 'the client\'s messageId is kept');
		const tu = rows(inst, `SELECT traits FROM tracked_users WHERE workspace_id = ${ws.id} AND user_id = 'segment-node-user'`);
		assert.equal(tu.length, 1, 'a tracked user');
		assert.equal(JSON.parse(tu[0].traits).plan, 'business');
	});

	test('the real posthog-node client delivers tracked events (gzip; host and key changed only)', async () => {
		const client = new PostHog(ws.secret_key, { host: srv.url, flushAt: 20, flushInterval: 0, fetchRetryCount: 0 });
		const errors = [];
		client.on('error', (e) => errors.push(e));
		client.identify({ distinctId: 'posthog-node-user', properties: { email: 'ph.node@example.com', plan: 'scale' } });
		client.capture({ distinctId: 'posthog-node-user', event: 'report scheduled', properties: { cadence: 'weekly' } });
		client.capture({ distinctId: 'posthog-node-user', event: '$pageview', properties: { $current_url: 'https://app.example.com/reports/42' } });
		await client.flush();
		await client.shutdown();
		assert.deepEqual(errors, []);
		const ev = rows(inst, `SELECT type, name, message_id, properties FROM events WHERE workspace_id = ${ws.id} AND user_id = 'posthog-node-user' ORDER BY id`);
		assert.deepEqual(ev.map((e) => [e.type, e.name]).sort(), [['identify', ''], ['page', '/reports/:id'], ['track', 'report scheduled']]);
		assert.ok(ev.every((e) => e.message_id), 'the client\'s uuid is kept');
		assert.deepEqual(JSON.parse(ev.find((e) => e.type === 'track').properties), { cadence: 'weekly' });
		const tu = rows(inst, `SELECT traits FROM tracked_users WHERE workspace_id = ${ws.id} AND user_id = 'posthog-node-user'`);
		assert.equal(tu.length, 1, 'a tracked user');
		assert.equal(JSON.parse(tu[0].traits).plan, 'scale');
		const all = JSON.stringify(rows(inst, 'SELECT * FROM events')) + JSON.stringify(rows(inst, 'SELECT * FROM tracked_users'));
		assert.ok(!all.includes('ph.node@example.com') && !all.includes('seg.node@example.com'), 'no e-mail stored in the clear');
	});
});
