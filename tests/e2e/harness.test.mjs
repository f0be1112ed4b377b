// The browser-test harness checks itself: a real server page passes every check, and
// each check fails on a page built to break it (so a green flow test means something).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';

import {
	CSP, axeCheck, checkPage, e2eOptions, inlineCode, launchBrowser, newUser, saveFailure, startServer,
} from './lib.mjs';

describe('e2e harness', e2eOptions(), () => {
	let browser, srv;
	before(async () => {
		[browser, srv] = await Promise.all([launchBrowser(), startServer()]);
	});
	after(async () => {
		await browser?.close();
		await srv?.stop();
	});

	test('a server page passes the page checks (CSP header, no inline code, axe, clean console)', async () => {
		const { context, page } = await newUser(browser, srv.url);
		const res = await page.goto('/no-such-page');
		assert.equal(res.status(), 404);
		assert.equal(res.headers()['content-security-policy'], CSP);
		assert.match(await page.locator('h1').innerText(), /not found/i);
		// The stylesheet loaded (the page is styled, not a bare document).
		const css = await page.evaluate(() => [...document.styleSheets].some((s) => s.href && s.href.endsWith('/static/app.css') && s.cssRules.length > 0));
		assert.ok(css, '/static/app.css applied');
		// The only console message is the 404 of the document itself.
		assert.deepEqual(page.watch.problems().map((p) => p.replace(/:\d+\//, ':PORT/')), [
			'console error: Failed to load resource: the server responded with a status of 404 (Not Found) [http://127.0.0.1:PORT/no-such-page]',
		]);
		page.watch.clear();
		await checkPage(page, 'the 404 page');
		await context.close();
	});

	test('axeCheck fails on serious violations', async () => {
		const { context, page } = await newUser(browser, srv.url);
		await page.route('**/__e2e/bad-a11y', (r) =>
			r.fulfill({
				status: 200,
				contentType: 'text/html; charset=utf-8',
				headers: { 'content-security-policy': CSP },
				body: '<!doctype html><html lang="en"><head><title>bad</title></head><body><main>' +
					'<img src="/static/app.css"><form><input name="email"><button></button></form></main></body></html>',
			}),
		);
		await page.goto('/__e2e/bad-a11y');
		await assert.rejects(axeCheck(page, 'bad page'), (e) => {
			const ids = e.violations.map((v) => v.id);
			assert.ok(ids.includes('image-alt'), ids.join());
			assert.ok(ids.includes('label'), ids.join());
			assert.ok(ids.includes('button-name'), ids.join());
			return true;
		});
		await context.close();
	});

	test('inline script is blocked by the CSP, reported, and found in the DOM', async () => {
		const { context, page } = await newUser(browser, srv.url);
		await page.route('**/__e2e/inline', (r) =>
			r.fulfill({
				status: 200,
				contentType: 'text/html; charset=utf-8',
				headers: { 'content-security-policy': CSP, 'x-content-type-options': 'nosniff' },
				body: '<!doctype html><html lang="en"><head><title>before</title></head><body><main>' +
					'<script>document.title = "ran"</script><p style="color:red" onclick="x()">x</p></main></body></html>',
			}),
		);
		await page.goto('/__e2e/inline');
		assert.equal(await page.title(), 'before', 'the inline script must not run');
		// The violation event is reported asynchronously.
		for (let i = 0; i < 50 && page.watch.problems().length < 2; i++) await page.waitForTimeout(20);
		const problems = page.watch.problems().join('\n');
		assert.match(problems, /inline script/i, problems);
		assert.match(problems, /CSP violation: script-src/, problems);
		const inline = await inlineCode(page);
		assert.ok(inline.some((s) => s.startsWith('inline <script>')), inline.join());
		assert.ok(inline.some((s) => s.includes('style=')), inline.join());
		assert.ok(inline.some((s) => s.includes('onclick')), inline.join());
		await assert.rejects(checkPage(page, 'inline page'), /inline code/);
		await context.close();
	});

	test('a page without our headers is reported', async () => {
		const { context, page } = await newUser(browser, srv.url);
		await page.route('**/__e2e/no-csp', (r) =>
			r.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>x</title><main>x</main>' }),
		);
		await page.goto('/__e2e/no-csp');
		assert.match(page.watch.problems().join('\n'), /has CSP undefined/);
		await context.close();
	});

	test('failures leave a screenshot', async () => {
		const { context, page } = await newUser(browser, srv.url);
		await page.goto('/no-such-page');
		const shot = await saveFailure(page, 'harness self-test');
		assert.ok(shot && fs.statSync(shot).size > 1000, `screenshot ${shot}`);
		fs.rmSync(shot);
		fs.rmSync(shot.replace(/\.png$/, '.html'));
		await context.close();
	});
});
