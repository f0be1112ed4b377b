// The Users page in chromium (issue 5 item 8): a workspace filled by `dropfix simulate`
// through the real /v1/batch, then /w/:ws/users passes the page checks (CSP, no inline
// code, axe), lists the simulated users with names, pages on, and the search form finds
// one user by id and by e-mail.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { addSession, checkPage, e2eOptions, launchBrowser, newUser, saveFailure, servedWorkspace, simulateVia } from './lib.mjs';
import { client } from '../http/wslib.mjs';

describe('users page in the browser', e2eOptions(), () => {
	let browser, inst, srv, ws, cookie;
	before(async () => {
		browser = await launchBrowser();
		({ inst, ws, srv } = await servedWorkspace());
		await simulateVia(inst, srv, ws, ['--users', '105', '--days', '10', '--seed', '11']);
		({ cookie } = await client(srv).session('founder@example.com'));
	});
	after(async () => {
		await browser?.close();
		await srv?.stop();
		inst?.drop();
	});

	test('list, pages, search by id and e-mail; page checks pass', async () => {
		const { context, page } = await newUser(browser, srv.url);
		try {
			await addSession(context, cookie, srv.url);
			const r = await page.goto(`/w/${ws.id}/users`);
			assert.equal(r.status(), 200);
			await checkPage(page, 'users');
			assert.equal(await page.locator('main tbody tr').count(), 100);
			const first = await page.locator('main tbody tr').first().locator('td').allInnerTexts();
			assert.match(first[0], /^sim-[a-z_]+-\d{4}$/);
			assert.match(first[1], /^Sim User \d{4}$/);
			await page.click('a[rel="next"]');
			await page.waitForURL('**/users?page=2');
			assert.equal(await page.locator('main tbody tr').count(), 5);
			await page.fill('#users-q', 'sim-power-0001');
			await Promise.all([page.waitForURL('**/users?q=*'), page.click('main form[role="search"] button[type="submit"]')]);
			let rows = await page.locator('main tbody tr').allInnerTexts();
			assert.equal(rows.length, 1);
			assert.match(rows[0], /sim-power-0001\s+Sim User 0001\s+sim-power-0001@example\.test\s+business\s+299/);
			await page.fill('#users-q', 'SIM-TRIAL-0004@example.test');
			await Promise.all([page.waitForURL('**/users?q=SIM*'), page.click('main form[role="search"] button[type="submit"]')]);
			rows = await page.locator('main tbody tr').allInnerTexts();
			assert.equal(rows.length, 1);
			assert.match(rows[0], /^sim-trial-0004\s/);
			await checkPage(page, 'users search');
		} catch (e) {
			await saveFailure(page, 'users-page');
			throw e;
		} finally {
			await context.close();
		}
	});
});
