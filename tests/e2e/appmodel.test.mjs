// The app-model review page in chromium (issue 6 item 1): a workspace filled by
// `dropfix simulate` through the real /v1/batch; /w/:ws/app-model passes the page checks
// (CSP, no inline code, axe) for an owner, shows the named features with the automatic
// core set, and its forms work without JavaScript tricks: rename (a payload name renders
// as text), mark core (the page then says "Reviewed"), merge through the merge panel and
// unmerge, hide and show again.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { addSession, checkPage, e2eOptions, launchBrowser, newUser, saveFailure, servedWorkspace, simulateVia } from './lib.mjs';
import { client } from '../http/wslib.mjs';

describe('app-model page in the browser', e2eOptions(), () => {
	let browser, inst, srv, ws, cookie;
	before(async () => {
		browser = await launchBrowser();
		({ inst, ws, srv } = await servedWorkspace());
		await simulateVia(inst, srv, ws, ['--users', '21', '--days', '10', '--seed', '5']);
		({ cookie } = await client(srv).session('founder@example.com'));
	});
	after(async () => {
		await browser?.close();
		await srv?.stop();
		inst?.drop();
	});

	test('features, automatic core, rename / core / hide through the forms; page checks pass', async () => {
		const { context, page } = await newUser(browser, srv.url);
		try {
			await addSession(context, cookie, srv.url);
			const r = await page.goto(`/w/${ws.id}/app-model`);
			assert.equal(r.status(), 200);
			await checkPage(page, 'app model');
			const rows = page.locator('main tbody tr');
			assert.ok((await rows.count()) >= 3, 'simulated features listed');
			assert.match(await page.locator('main').innerText(), /Not reviewed yet/);
			assert.ok((await page.locator('main .badge').count()) >= 1, 'an automatic core feature');

			// rename the first feature to a payload: it renders as text
			const first = rows.first();
			const id = await first.locator('input[name="feature"]').first().getAttribute('value');
			await first.locator(`#name-${id}`).fill('<img src=x onerror=alert(1)> Reports');
			await Promise.all([page.waitForURL(`**/w/${ws.id}/app-model`), first.locator('form[action$="/rename"] button').click()]);
			const renamed = page.locator('main tbody tr', { has: page.locator(`#name-${id}`) });
			assert.match(await renamed.locator('.feature-name').innerText(), /^<img src=x onerror=alert\(1\)> Reports$/);
			assert.equal(await page.locator('main img').count(), 0);

			// mark it core: the model is reviewed
			await renamed.locator(`#core-${id}`).selectOption('yes');
			await Promise.all([page.waitForURL(`**/w/${ws.id}/app-model`), renamed.locator('form[action$="/core"] button').click()]);
			assert.match(await page.locator('main').innerText(), /Reviewed: you chose the core features \(1\)/);
			await checkPage(page, 'app model reviewed');

			// merge the second feature into the first through the merge panel, then unmerge
			const second = page.locator('main tbody tr').nth(1);
			const sid = await second.locator('input[name="feature"]').first().getAttribute('value');
			await Promise.all([page.waitForURL(`**/app-model?merge=${sid}#merge`), second.locator('a[href*="?merge="]').click()]);
			await checkPage(page, 'app model merge panel');
			await page.locator('#merge-into').selectOption(id);
			await Promise.all([page.waitForURL(`**/w/${ws.id}/app-model`), page.locator('#merge form button[type="submit"]').click()]);
			let srow = page.locator('main tbody tr', { has: page.locator(`#name-${sid}`) });
			assert.match(await srow.innerText(), /merged into “<img src=x onerror=alert\(1\)> Reports”/);
			await Promise.all([page.waitForURL(`**/w/${ws.id}/app-model`), srow.locator('form[action$="/unmerge"] button').click()]);
			srow = page.locator('main tbody tr', { has: page.locator(`#name-${sid}`) });
			assert.doesNotMatch(await srow.innerText(), /merged into/);

			// hide it, then show it again
			let row = page.locator('main tbody tr', { has: page.locator(`#name-${id}`) });
			await Promise.all([page.waitForURL(`**/w/${ws.id}/app-model`), row.locator('form[action$="/hide"] button').click()]);
			row = page.locator('main tbody tr', { has: page.locator(`#name-${id}`) });
			assert.match(await row.innerText(), /hidden/);
			await Promise.all([page.waitForURL(`**/w/${ws.id}/app-model`), row.locator('form[action$="/unhide"] button').click()]);
			row = page.locator('main tbody tr', { has: page.locator(`#name-${id}`) });
			assert.doesNotMatch(await row.innerText(), /\bhidden\b/);
		} catch (e) {
			await saveFailure(page, 'appmodel-page');
			throw e;
		} finally {
			await context.close();
		}
	});
});
