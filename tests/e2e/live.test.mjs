// The live events page in chromium (issue 5 item 8): /w/:ws/live passes the page checks
// (CSP, no inline code, axe) with server-rendered events, and /static/live.js adds an
// event posted to /v1/batch from the EventSource stream as text (an XSS payload in the
// name stays text), newest first.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { addSession, checkPage, e2eOptions, launchBrowser, newUser, saveFailure, servedWorkspace } from './lib.mjs';
import { client, postBatch } from '../http/wslib.mjs';

const XSS = '<img src=x onerror="window.__pwned=1">';

describe('live page in the browser', e2eOptions(), () => {
	let browser, inst, srv, ws, cookie;
	before(async () => {
		browser = await launchBrowser();
		({ inst, ws, srv } = await servedWorkspace());
		await postBatch(srv, ws.secret_key, [{ type: 'page', user_id: 'alice', name: '/home' }]);
		({ cookie } = await client(srv).session('founder@example.com'));
	});
	after(async () => {
		await browser?.close();
		await srv?.stop();
		inst?.drop();
	});

	test('server-rendered list, then streamed events added as text; page checks pass', async () => {
		const { context, page } = await newUser(browser, srv.url);
		try {
			await addSession(context, cookie, srv.url);
			const r = await page.goto(`/w/${ws.id}/live`);
			assert.equal(r.status(), 200);
			await checkPage(page, 'live');
			assert.equal(await page.locator('#live-list li').count(), 1);
			await page.waitForFunction(() => /Connected/.test(document.getElementById('live-status').textContent));
			await postBatch(srv, ws.secret_key, [{ type: 'track', user_id: 'bob', name: XSS }]);
			await page.waitForFunction(() => document.querySelectorAll('#live-list li').length === 2, null, { timeout: 10000 });
			const first = page.locator('#live-list li').first();
			assert.equal(await first.locator('.live-name').textContent(), XSS);
			assert.equal(await first.locator('.live-user').textContent(), 'bob');
			assert.equal(await first.locator('.live-type').textContent(), 'track');
			assert.equal(await page.locator('#live-list img').count(), 0, 'the payload stayed text');
			assert.equal(await page.evaluate(() => window.__pwned), undefined);
			await checkPage(page, 'live after an event');
		} catch (e) {
			await saveFailure(page, 'live-page');
			throw e;
		} finally {
			await context.close();
		}
	});
});
