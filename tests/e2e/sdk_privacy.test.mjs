// The browser SDK and the workspace's privacy settings (src/ingest/ingest_config.h): the SDK
// asks GET <host>/v1/config before it stores or sends anything; with the workspace's
// "consent required" it stores nothing and sends nothing until optIn(), then sends batches
// flagged "consent": true; with "honour DNT/GPC" a browser with Do-Not-Track or Global
// Privacy Control sends nothing; the script tag's own attributes can only add to that.
// Against tests/fakes/ingest-fake.mjs (fake.config is the answer of /v1/config; the page on
// http://localhost:P, the script and ingest on http://127.0.0.1:P), and one test against the
// real server (the keys page's form, /v1/config, and the server dropping batches without
// consent).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';

import { BIN, REQUIRED, browserOptions, launchBrowser, saveFailure, servedWorkspace } from './lib.mjs';
import { startIngestFake } from '../fakes/ingest-fake.mjs';
import { sqliteQuery } from '../http/authlib.mjs';
import { client } from '../http/wslib.mjs';

const page = (src, key, attrs = '', flush = 200) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Privacy app</title>
<script src="${src}" data-key="${key}" data-flush-interval="${flush}" ${attrs} defer></script>
</head><body><main><button id="buy">Buy now</button><a id="leave" href="/bye">Leave</a></main></body></html>`;

const GPC = () => Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true });
const DNT = () => Object.defineProperty(Navigator.prototype, 'doNotTrack', { get: () => '1' });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('browser SDK: the workspace privacy settings', browserOptions(), () => {
	let browser, fake;
	before(async () => {
		fake = await startIngestFake({ pages: {} });
		const src = `http://127.0.0.1:${fake.port}/sdk/dropfix.js`;
		Object.assign(fake.pages, {
			'/plain': page(src, 'pk_test_abc'),
			// the script tag says "no consent mode": it cannot loosen the workspace setting
			'/attr-off': page(src, 'pk_test_abc', 'data-consent="false" data-respect-dnt="false"'),
			'/slow': page(src, 'pk_test_abc', '', 600000), // only flush() or the beacon sends
			'/bye': '<!doctype html><html lang="en"><head><title>Bye</title></head><body>bye</body></html>',
		});
		browser = await launchBrowser();
	});
	after(async () => {
		await browser?.close();
		await fake?.close();
	});

	async function open(path, init) {
		const context = await browser.newContext({ baseURL: `http://localhost:${fake.port}` });
		if (init) await context.addInitScript(init);
		const p = await context.newPage();
		const problems = [];
		p.on('pageerror', (e) => problems.push(e.message));
		p.problems = problems;
		await p.goto(path);
		return { context, page: p };
	}
	const stored = (p) => p.evaluate(() => ({ n: localStorage.length, entry: localStorage.getItem('dropfix'), cookie: document.cookie }));
	const ofType = (type) => {
		const seen = new Set();
		return fake.events().filter((e) => e.type === type && !seen.has(e.message_id) && seen.add(e.message_id));
	};

	test('consent required by the workspace: nothing stored, nothing sent until optIn(); then sent with the consent flag', async () => {
		for (const path of ['/plain', '/attr-off']) {
			fake.reset();
			fake.config = { consent_required: true, honor_dnt: false };
			const asked = fake.configRequests.length;
			const { context, page: p } = await open(path);
			try {
				await p.click('#buy');
				await p.evaluate(() => {
					DropFix.track('before consent');
					DropFix.identify('u1', { plan: 'pro' });
					DropFix.flush();
				});
				await sleep(800);
				assert.ok(fake.configRequests.length > asked, 'the SDK asked for the workspace settings');
				assert.equal(fake.configRequests.at(-1).key, 'pk_test_abc');
				assert.equal(fake.configRequests.at(-1).headers.cookie, undefined, 'no credentials');
				assert.equal(fake.requests.length, 0, `${path}: nothing sent before consent`);
				assert.deepEqual(await stored(p), { n: 0, entry: null, cookie: '' }, `${path}: nothing stored before consent`);

				await p.evaluate(() => DropFix.optIn());
				await p.click('#buy');
				await fake.waitFor(() => ofType('click').length === 1 && ofType('page').length === 1);
				assert.ok(!fake.events().some((e) => e.name === 'before consent'), 'events before consent are not kept');
				assert.ok(fake.requests.every((r) => r.json.consent === true), 'every batch carries the consent flag');
				const s = await stored(p);
				assert.equal(s.n, 1);
				assert.equal(JSON.parse(s.entry).c, 1, 'consent remembered');
				// remembered across a reload: sends at once, still flagged
				await p.reload();
				await fake.waitFor(() => ofType('page').length === 2);
				assert.ok(fake.requests.every((r) => r.json.consent === true));
				// optOut in consent mode removes the entry
				await p.evaluate(() => DropFix.optOut());
				assert.equal((await stored(p)).n, 0);
				assert.deepEqual(p.problems, []);
			} catch (e) {
				await saveFailure(p, 'sdk-privacy-consent');
				throw e;
			} finally {
				await context.close();
			}
		}
	});

	test('until the workspace settings arrive, events stay in memory: nothing stored, nothing sent', async () => {
		fake.reset();
		fake.config = { status: 503 }; // the settings cannot be read yet: the SDK asks again later
		const { context, page: p } = await open('/slow');
		try {
			await p.click('#buy');
			await p.evaluate(() => {
				DropFix.track('while waiting');
				DropFix.flush(); // asked for while held: sent as soon as the settings arrive
			});
			await sleep(700);
			assert.equal(fake.requests.length, 0, 'nothing sent without the settings');
			assert.equal((await stored(p)).n, 0, 'nothing stored without the settings');
			fake.config = { consent_required: false, honor_dnt: false };
			await fake.waitFor(() => fake.events().some((e) => e.name === 'while waiting') && ofType('click').length === 1, 8000);
			assert.ok(fake.configRequests.length >= 2, 'asked again after the 503');
			assert.equal((await stored(p)).n, 1, 'stored once allowed');
			assert.ok(fake.requests.every((r) => r.json.consent === undefined), 'no consent flag outside consent mode');
		} finally {
			await context.close();
			fake.config = { consent_required: false, honor_dnt: false };
		}
	});

	test('DNT and GPC: nothing sent or stored when the workspace honours them; sent when it does not', async () => {
		for (const [name, init] of [['GPC', GPC], ['DNT', DNT]]) {
			fake.reset();
			fake.config = { consent_required: false, honor_dnt: true };
			let { context, page: p } = await open('/attr-off', init);
			try {
				await p.click('#buy');
				await p.evaluate(() => {
					DropFix.track('x');
					DropFix.optIn();
					DropFix.track('y');
					DropFix.flush();
				});
				await p.click('#leave');
				await p.waitForURL('**/bye');
				await sleep(500);
				assert.equal(fake.requests.length, 0, `${name} honoured: nothing sent`);
				await p.goBack();
				assert.equal((await stored(p)).n, 0, `${name} honoured: nothing stored`);
			} finally {
				await context.close();
			}
			// the same browser signal, a workspace that does not honour it
			fake.reset();
			fake.config = { consent_required: false, honor_dnt: false };
			({ context, page: p } = await open('/plain', init));
			try {
				await p.click('#buy');
				await fake.waitFor(() => ofType('click').length === 1 && ofType('page').length === 1);
				assert.equal((await stored(p)).n, 1);
			} finally {
				await context.close();
			}
		}
	});

	test('against the real server: the keys page turns consent on; the SDK waits for optIn(); the server drops browser batches without consent', { skip: !REQUIRED && !fs.existsSync(BIN) && `${BIN} not built` }, async () => {
		const { inst, ws, srv } = await servedWorkspace();
		try {
			const c = client(srv);
			const { cookie, csrf } = await c.session('founder@example.com');
			let r = await c.post(`/w/${ws.id}/settings/keys/privacy`, { _csrf: csrf, consent_required: 'on' }, { cookie });
			assert.equal(r.status, 200, r.text);
			r = await fetch(`${srv.url}/v1/config?key=${ws.public_key}`);
			assert.deepEqual(await r.json(), { consent_required: true, honor_dnt: false });

			fake.pages['/real'] = page(`${srv.url}/sdk/dropfix.js`, ws.public_key);
			const rows = () => {
				try {
					return sqliteQuery(inst.db, 'SELECT type, name FROM events ORDER BY id');
				} catch {
					return [];
				}
			};
			const { context, page: p } = await open('/real');
			try {
				await p.click('#buy');
				await p.evaluate(() => DropFix.track('before consent'));
				await sleep(800);
				assert.deepEqual(await stored(p), { n: 0, entry: null, cookie: '' });
				assert.deepEqual(rows(), [], 'nothing stored on the server before consent');
				await p.evaluate(() => {
					DropFix.optIn();
					DropFix.track('after consent');
				});
				for (const end = Date.now() + 8000; Date.now() < end && !rows().some(([t, n]) => n === 'after consent'); ) await sleep(100);
				assert.ok(rows().some(([t, n]) => t === 'track' && n === 'after consent'), JSON.stringify(rows()));
				assert.ok(!rows().some(([t, n]) => n === 'before consent'));
			} finally {
				await context.close();
			}
		} finally {
			await srv.stop();
			inst.drop();
		}
	});
});
