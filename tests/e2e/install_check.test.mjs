// The install page's live check (src/web/install_page.c, static/install-check.js): opened
// before any event, it says "Waiting for your first event" (with a "check again" link that
// works without JavaScript); an event posted to /v1/batch with the secret key turns the
// status into "Receiving events" without a reload. Page checks (CSP, no inline code, axe).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { addSession, checkPage, e2eOptions, launchBrowser, newUser, saveFailure, servedWorkspace } from './lib.mjs';
import { client } from '../http/wslib.mjs';

describe('install page: live "waiting for your first event" check', e2eOptions(), () => {
	test('the status turns to "Receiving events" when the first event arrives, without a reload', async () => {
		const { inst, ws, srv } = await servedWorkspace();
		const browser = await launchBrowser();
		const { cookie } = await client(srv).session('founder@example.com');
		const { context, page } = await newUser(browser, srv.url);
		try {
			await addSession(context, cookie, srv.url);
			const r = await page.goto(`/w/${ws.id}/install`);
			assert.equal(r.status(), 200);
			const status = page.locator('#install-check');
			assert.match(await status.innerText(), /Waiting for your first event/);
			assert.equal(await page.locator('#install-check a', { hasText: 'check again' }).getAttribute('href'), `/w/${ws.id}/install`);
			await checkPage(page, 'install');
			await page.evaluate(() => { window.__notReloaded = true; });

			const post = await fetch(`${srv.url}/v1/batch`, {
				method: 'POST',
				headers: { 'content-type': 'application/json', authorization: `Bearer ${ws.secret_key}` },
				body: JSON.stringify({ batch: [{ type: 'track', user_id: 'u1', name: 'first event' }] }),
			});
			assert.equal(post.status, 200, await post.text());

			await page.waitForFunction(() => /Receiving events/.test(document.getElementById('install-check').textContent), null, { timeout: 10000 });
			assert.match(await status.innerText(), /Receiving events: the latest was received at \d{4}-\d\d-\d\d \d\d:\d\d UTC\./);
			assert.equal(await page.evaluate(() => window.__notReloaded), true, 'no reload');
			await checkPage(page, 'install after the first event');

			// without JavaScript, the server-rendered page says so too
			const plain = await client(srv).get(`/w/${ws.id}/install`, { cookie });
			assert.match(plain.text, /Events are arriving: the latest was received at/);
		} catch (e) {
			await saveFailure(page, 'install-check');
			throw e;
		} finally {
			await context.close();
			await browser.close();
			await srv.stop();
			inst.drop();
		}
	});
});
