// The API tokens settings page in chromium (issue 6 item 5): /w/:ws/settings/tokens passes
// the page checks (CSP, no inline code, axe) empty, with a new token shown once and with
// the list; the token created by the form works against the JSON API from a script; a
// name carrying markup stays text; the revoke button ends the token.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { addSession, checkPage, e2eOptions, launchBrowser, newUser, saveFailure, servedWorkspace } from './lib.mjs';
import { client } from '../http/wslib.mjs';

const XSS = '"><img src=x onerror="window.__pwned=1">';

describe('API tokens page in the browser', e2eOptions(), () => {
	let browser, inst, srv, ws, cookie;
	before(async () => {
		browser = await launchBrowser();
		({ inst, ws, srv } = await servedWorkspace());
		({ cookie } = await client(srv).session('founder@example.com'));
	});
	after(async () => {
		await browser?.close();
		await srv?.stop();
		inst?.drop();
	});

	test('create (shown once), use from a script, revoke; page checks pass', async () => {
		const { context, page } = await newUser(browser, srv.url);
		const whoami = (token) =>
			fetch(`${srv.url}/api/v1/w/${ws.id}/whoami`, { headers: { authorization: `Bearer ${token}` } });
		try {
			await addSession(context, cookie, srv.url);
			let r = await page.goto(`/w/${ws.id}/settings`);
			assert.equal(r.status(), 200);
			await page.getByRole('link', { name: 'API tokens' }).click();
			await page.waitForURL(`**/w/${ws.id}/settings/tokens`);
			await checkPage(page, 'tokens empty');
			await page.getByLabel('Name').fill(XSS);
			await page.getByLabel('Role').selectOption('member');
			await page.getByRole('button', { name: 'Create token' }).click();
			await page.waitForSelector('#newtoken-h');
			await checkPage(page, 'tokens new');
			const token = (await page.locator('.secret-once code.key').textContent()).trim();
			assert.match(token, /^dft_[A-Za-z0-9_-]{43}$/);
			assert.equal(await page.locator('main img').count(), 0, 'the name stayed text');
			assert.equal(await page.evaluate(() => window.__pwned), undefined);
			const res = await whoami(token);
			assert.equal(res.status, 200);
			assert.deepEqual(await res.json(), { workspace_id: ws.id, role: 'member', via: 'token' });

			r = await page.goto(`/w/${ws.id}/settings/tokens`);
			assert.equal(r.status(), 200);
			assert.ok(!(await page.content()).includes(token), 'shown only once');
			assert.equal(await page.locator('tbody tr').count(), 1);
			assert.match(await page.locator('tbody tr').first().textContent(), new RegExp(token.slice(0, 12)));
			await checkPage(page, 'tokens list');
			await page.getByRole('button', { name: /^Revoke/ }).click();
			await page.waitForSelector('text=revoked. It no longer authenticates');
			await checkPage(page, 'tokens revoked');
			assert.equal((await whoami(token)).status, 401);
		} catch (e) {
			await saveFailure(page, 'tokens-page');
			throw e;
		} finally {
			await context.close();
		}
	});
});
