// Serving the browser SDK (src/http/sdk_serve.c): /sdk/dropfix.js is the committed latest
// build with a short cache and an ETag; /sdk/v<version>/dropfix.js serves every released
// build byte for byte, immutable; both open to any origin.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { startServer } from './lib.mjs';
import { PG_SKIP, account, client, installation, mainText, serve, workspace } from './wslib.mjs';

const latest = fs.readFileSync('sdk/dist/dropfix.js');
const releases = fs.readdirSync('sdk/dist').filter((d) => /^v\d+\.\d+\.\d+$/.test(d));

describe('SDK serving', () => {
	let srv;
	before(async () => {
		srv = await startServer();
	});
	after(async () => {
		await srv?.stop();
	});

	const get = (p, headers = {}) => fetch(srv.url + p, { headers });

	test('GET /sdk/dropfix.js: the latest build, short cache, ETag, CORS', async () => {
		const r = await get('/sdk/dropfix.js', { Origin: 'https://founder.example' });
		assert.equal(r.status, 200);
		assert.deepEqual(Buffer.from(await r.arrayBuffer()), latest);
		assert.equal(r.headers.get('content-type'), 'text/javascript; charset=utf-8');
		assert.equal(r.headers.get('cache-control'), 'public, max-age=300');
		assert.equal(r.headers.get('access-control-allow-origin'), '*');
		assert.equal(r.headers.get('cross-origin-resource-policy'), 'cross-origin');
		assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
		const etag = r.headers.get('etag');
		assert.match(etag, /^"[0-9a-f]{32}"$/);
		const again = await get('/sdk/dropfix.js', { 'If-None-Match': etag });
		assert.equal(again.status, 304);
		assert.equal(again.headers.get('etag'), etag);
		assert.equal((await get('/sdk/dropfix.js', { 'If-None-Match': '"0000"' })).status, 200);
		const head = await fetch(srv.url + '/sdk/dropfix.js', { method: 'HEAD' });
		assert.equal(head.status, 200);
	});

	test('GET /sdk/v<version>/dropfix.js: every released build, immutable', async () => {
		assert.ok(releases.length >= 1, 'at least one release in sdk/dist/');
		const version = JSON.parse(fs.readFileSync('sdk/package.json', 'utf8')).version;
		assert.ok(releases.includes(`v${version}`), 'the current version is released');
		for (const v of releases) {
			const r = await get(`/sdk/${v}/dropfix.js`);
			assert.equal(r.status, 200, v);
			assert.deepEqual(Buffer.from(await r.arrayBuffer()), fs.readFileSync(path.join('sdk/dist', v, 'dropfix.js')));
			assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable');
			assert.equal(r.headers.get('content-type'), 'text/javascript; charset=utf-8');
			assert.equal(r.headers.get('access-control-allow-origin'), '*');
			assert.equal((await get(`/sdk/${v}/dropfix.js/`)).status, 200, 'trailing slash routes alike');
		}
		const cur = await (await get(`/sdk/v${version}/dropfix.js`)).arrayBuffer();
		assert.deepEqual(Buffer.from(cur), latest, 'the latest file is the current version');
	});

	test('unknown versions and names are 404', async () => {
		for (const p of ['/sdk/v0.0.0/dropfix.js', '/sdk/latest/dropfix.js', '/sdk/v1/dropfix.js', '/sdk/v1.0.0%2f/dropfix.js', '/sdk/v1.0.0/other.js', '/sdk/other.js', '/sdk/v/dropfix.js']) {
			const r = await get(p);
			assert.equal(r.status, 404, p);
			await r.arrayBuffer();
		}
	});
});

for (const pg of [false, true]) describe(`install page /w/:ws/install (${pg ? 'PostgreSQL' : 'SQLite'})`, { skip: pg && PG_SKIP }, () => {
	let inst, srv, c, ws;
	before(async () => {
		inst = await installation({ pg });
		await account(inst, 'owner@example.com');
		await account(inst, 'stranger@example.com');
		ws = await workspace(inst, 'owner@example.com', 'Shop');
		srv = await serve(inst);
		c = client(srv);
	});
	after(async () => {
		await srv?.stop();
		inst?.drop();
	});

	test('waiting for the first event, then events arriving; both snippets with the public key; the pinned one carries the sha384 of the served file', async () => {
		const owner = await c.session('owner@example.com');
		const id = ws.id ?? ws.workspace_id;
		const r = await c.as(owner).get(`/w/${id}/install`);
		assert.equal(r.status, 200, r.text);
		const text = mainText(r.text);
		const version = JSON.parse(fs.readFileSync('sdk/package.json', 'utf8')).version;
		const served = Buffer.from(await (await fetch(`${srv.url}/sdk/v${version}/dropfix.js`)).arrayBuffer());
		const sri = `sha384-${crypto.createHash('sha384').update(served).digest('base64')}`;
		assert.ok(text.includes(`<script src="${srv.url}/sdk/dropfix.js" data-key="${ws.public_key}" defer></script>`), text);
		// mainText() folds the snippet's line breaks into single spaces
		assert.ok(text.includes(`<script src="${srv.url}/sdk/v${version}/dropfix.js" integrity="${sri}" crossorigin="anonymous" data-key="${ws.public_key}" defer></script>`), text);
		assert.match(text, /opts out of automatic patches/);
		assert.ok(!r.text.includes(ws.secret_key), 'the secret key is not on the page');

		assert.match(text, /Waiting for your first event/);

		// One event through the real /v1/batch, as the SDK sends it: the page sees it.
		const b = await fetch(`${srv.url}/v1/batch`, {
			method: 'POST',
			headers: { 'content-type': 'text/plain;charset=UTF-8' },
			body: JSON.stringify({ key: ws.public_key, sent_at: new Date().toISOString(), batch: [{ type: 'page', name: '/', anonymous_id: 'a1', session_id: 's1', message_id: crypto.randomUUID(), timestamp: new Date().toISOString(), properties: { path: '/' } }] }),
		});
		assert.equal(b.status, 200, await b.text());
		const after = mainText((await c.as(owner).get(`/w/${id}/install`)).text);
		assert.match(after, /Events are arriving: the latest was received at \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
		assert.doesNotMatch(after, /Waiting for your first event/);

		const stranger = await c.session('stranger@example.com');
		assert.equal((await c.as(stranger).get(`/w/${id}/install`)).status, 404, 'not a member');
		assert.notEqual((await c.get(`/w/${id}/install`)).status, 200, 'signed out');
	});
});
