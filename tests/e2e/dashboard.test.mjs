// The dashboard in chromium (issue 6 acceptance "Browser test"):
// 1. `dropfix demo` fills a workspace (60 days of simulated history, detector full pass);
//    the founder signs in with the printed credentials through the sign-in form; the
//    overview shows the health bands and the top three users to save; a user's page has
//    the activity chart (an inline <svg>) and signals with their evidence; dismissing a
//    signal shows it as dismissed. Every page passes the page checks (CSP, no inline
//    code, axe).
// 2. XSS: a workspace whose user ids, event names, properties and traits carry
//    <script>, "><img onerror> and javascript: payloads; overview, users, user detail,
//    signals, app model and live feed keep window.__xss undefined, show the payloads as
//    text, have no element or attribute made from them, and see no CSP violation.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { addSession, checkPage, e2eOptions, launchBrowser, newUser, saveFailure } from './lib.mjs';
import { flushIngest, runBin } from '../http/lib.mjs';
import { account, client, installation, serve, workspace } from '../http/wslib.mjs';

const P_SCRIPT = '<script>window.__xss=1</script>';
const P_IMG = '"><img src=x onerror="window.__xss=1">';
const P_JS = 'javascript:window.__xss=1';
const DAY = 86400000;

// The demo's printed sign-in block.
function parseDemo(stdout) {
	const field = (name) => {
		const m = stdout.match(new RegExp(`^${name}:\\s+(\\S+)$`, 'm'));
		assert.ok(m, `no "${name}:" line in:\n${stdout}`);
		return m[1];
	};
	const ws = field('Workspace').match(/\/w\/(\d+)$/);
	assert.ok(ws, stdout);
	return { email: field('E-mail'), password: field('Password'), path: `/w/${ws[1]}` };
}

// Events for the XSS workspace: three users whose ids, names, traits and events carry the
// payloads; 30 days of activity, then quiet for the last 10 (so detection has something
// to say about them), posted with the secret key (back-dated history).
function xssBatch(now) {
	const users = [`xss-${P_SCRIPT}`, `xss-${P_IMG}`, `xss-${P_JS}`];
	const batch = [];
	users.forEach((userId, u) => {
		const t0 = now - 40 * DAY + u * 60000;
		batch.push({
			type: 'identify',
			user_id: userId,
			timestamp: new Date(t0).toISOString(),
			traits: { name: `Name ${P_IMG}`, plan: `plan ${P_SCRIPT}`, mrr: 99, website: P_JS, note: P_IMG },
		});
		for (let d = 0; d < 30; d++) {
			const at = (k) => new Date(t0 + d * DAY + k * 30000).toISOString();
			batch.push(
				{ type: 'page', user_id: userId, timestamp: at(1), name: `/p/${P_SCRIPT}`, properties: { path: `/p/${P_SCRIPT}`, title: P_IMG, link: P_JS } },
				{ type: 'click', user_id: userId, timestamp: at(2), name: `Click ${P_IMG}`, properties: { text: P_IMG, href: P_JS } },
				{ type: 'track', user_id: userId, timestamp: at(3), name: `Track ${P_SCRIPT}`, properties: { url: P_JS, html: P_SCRIPT } },
				{ type: 'page', user_id: userId, timestamp: at(4), name: '/billing', properties: { path: '/billing' } },
			);
		}
		// a recent visit to the cancel page: cancel intent with the payload user id
		batch.push({ type: 'page', user_id: userId, timestamp: new Date(now - DAY).toISOString(), name: '/cancel', properties: { path: '/cancel', ref: P_JS } });
	});
	return { users, batch };
}

describe('dashboard in the browser', e2eOptions(), () => {
	let browser, inst, srv, demo, xss;
	before(async () => {
		browser = await launchBrowser();
		inst = await installation({ clock: false });
		const r = await runBin(['demo'], { env: inst.env, timeoutMs: 120000 });
		if (r.code !== 0) throw new Error(`dropfix demo: ${r.code}\n${r.stdout}\n${r.stderr}`);
		demo = parseDemo(r.stdout);

		await account(inst, 'xss@example.com');
		const ws = await workspace(inst, 'xss@example.com', 'XSS');
		srv = await serve(inst);
		const { users, batch } = xssBatch(Date.now());
		for (let i = 0; i < batch.length; i += 100) {
			const res = await fetch(`${srv.url}/v1/batch`, {
				method: 'POST',
				headers: { 'content-type': 'application/json', authorization: `Bearer ${ws.secret_key}` },
				body: JSON.stringify({ batch: batch.slice(i, i + 100) }),
			});
			const body = await res.text();
			if (res.status !== 200 || JSON.parse(body).accepted !== Math.min(100, batch.length - i))
				throw new Error(`ingest: ${res.status} ${body.slice(0, 400)}`);
		}
		await flushIngest(srv); // the aggregates detect reads follow the 200s by a few ms
		const d = await runBin(['detect', '--workspace', String(ws.id), '--full'], { env: inst.env });
		if (d.code !== 0) throw new Error(`dropfix detect: ${d.stderr}`);
		const rep = await runBin(['detect', '--workspace', String(ws.id), '--report', '--no-pass', '--json'], { env: inst.env });
		if (rep.code !== 0) throw new Error(`dropfix detect --report: ${rep.stderr}`);
		const signalUsers = [...new Set(JSON.parse(rep.stdout).signals.filter((s) => s.state === 'open').map((s) => s.user_id))];
		const { cookie } = await client(srv).session('xss@example.com');
		xss = { ws, users, cookie, signalUsers };
	});
	after(async () => {
		await browser?.close();
		await srv?.stop();
		inst?.drop();
	});

	test('demo: sign in, overview bands and top three, user chart and evidence, dismiss a signal', async () => {
		const { context, page } = await newUser(browser, srv.url);
		try {
			await page.goto('/auth/login');
			await page.getByLabel(/e-?mail/i).fill(demo.email);
			await page.getByLabel(/^password/i).fill(demo.password);
			await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/auth/login')), page.getByRole('button', { name: 'Sign in' }).click()]);

			// overview
			const res = await page.goto(demo.path);
			assert.equal(res.status(), 200);
			await checkPage(page, 'overview');
			const bands = await page.locator('section[aria-labelledby="bands-h"]').innerText();
			assert.match(bands, /(\d+) healthy · (\d+) watch · (\d+) at risk/);
			const [, healthy, watch, atRisk] = bands.match(/(\d+) healthy · (\d+) watch · (\d+) at risk/).map(Number);
			assert.equal(healthy + watch + atRisk, 60, 'every demo user is in a band');
			assert.ok(watch + atRisk > 0, 'someone to save');
			assert.equal(await page.locator('section[aria-labelledby="bands-h"] svg').count(), 1, 'bands chart');
			const top = page.locator('ol.top-list > li');
			assert.ok((await top.count()) >= 3, 'the top three to save');
			const firstThree = await top.evaluateAll((lis) => lis.slice(0, 3).map((li) => li.innerText));
			for (const t of firstThree) assert.match(t, /^sim-[a-z_]+-\d{4} — health \d+ \((Healthy|Watch|At risk)\), USD \d+ a month/);
			assert.match(await page.locator('main').innerText(), /MRR at risk/);

			// open the first user to save
			const link = top.first().locator('a');
			const uid = (await link.innerText()).trim();
			await Promise.all([page.waitForURL(`**/users/${uid}`), link.click()]);
			await checkPage(page, `user ${uid}`);
			assert.match(await page.locator('h1').innerText(), new RegExp(uid));
			const chart = page.locator('section[aria-labelledby="activity-h"] svg');
			assert.equal(await chart.count(), 1, 'activity chart as inline svg');
			assert.ok((await chart.locator('path, polyline, rect, line').count()) > 0, 'the chart draws something');
			const open = page.locator('article.signal.signal-open');
			assert.ok((await open.count()) >= 1, 'an open signal');
			const evidence = (await open.first().locator('.evidence').innerText()).trim();
			assert.match(evidence, /\d/, `evidence states the numbers: ${evidence}`);

			// dismiss it
			const article = open.first();
			const hid = await article.getAttribute('aria-labelledby'); // signal-<id>-h
			const sid = hid.match(/^signal-(\d+)-h$/)[1];
			await article.getByLabel(/reason/i).fill('talked to them on the phone');
			await Promise.all([page.waitForURL(`**/users/${uid}`), article.getByRole('button', { name: 'Dismiss' }).click()]);
			const after = page.locator(`article[aria-labelledby="signal-${sid}-h"]`);
			assert.equal(await after.count(), 1);
			assert.match((await after.getAttribute('class')) || '', /signal-dismissed/);
			assert.match(await after.innerText(), /dismissed/);
			assert.match(await after.innerText(), /talked to them on the phone/);
			await checkPage(page, `user ${uid} after dismiss`);

			// and the signals page lists it as dismissed
			await page.goto(`${demo.path}/signals?state=dismissed`);
			await checkPage(page, 'signals dismissed');
			assert.match(await page.locator('main table').innerText(), new RegExp(`${uid}[\\s\\S]*talked to them on the phone`));
		} catch (e) {
			await saveFailure(page, 'dashboard-demo');
			throw e;
		} finally {
			await context.close();
		}
	});

	test('XSS payloads in user ids, events, properties and traits render as text', async () => {
		const { context, page } = await newUser(browser, srv.url);
		try {
			await addSession(context, xss.cookie, srv.url);
			const w = `/w/${xss.ws.id}`;
			// each page: status 200, checks pass, no payload ran, no element made from one,
			// and the texts that must show (payloads as text)
			const visit = async (path, label, mustShow) => {
				const r = await page.goto(path);
				assert.equal(r.status(), 200, `${label}: ${path}`);
				await checkPage(page, label);
				assert.equal(await page.evaluate(() => window.__xss), undefined, `${label}: a payload ran`);
				// (the live page's own <script src="/static/live.js"> is the only script allowed)
				assert.equal(await page.locator('img[src="x"], script:not([src^="/static/"])').count(), 0, `${label}: markup from a payload`);
				const text = await page.locator('main').innerText();
				for (const s of mustShow) assert.ok(text.includes(s), `${label}: "${s}" not shown as text`);
				return text;
			};
			// the payload users have open signals (cancel intent, gone quiet), so they are on
			// the overview's list and the signals page
			assert.ok(xss.signalUsers.length > 0, 'open signals for the payload users');
			const overview = await visit(w, 'xss overview', []);
			assert.ok(xss.users.some((u) => overview.includes(u)), 'a payload user id on the overview, as text');
			await visit(`${w}/users`, 'xss users', [...xss.users, `Name ${P_IMG}`, `plan ${P_SCRIPT}`]);
			// user detail pages, through the links the users list gives
			const hrefs = await page.locator('main tbody a[href*="/users/"]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
			assert.equal(hrefs.length, 3, `user links: ${hrefs}`);
			for (const h of hrefs) await visit(h, `xss user ${h}`, [P_SCRIPT, P_IMG, P_JS]);
			await visit(`${w}/signals?state=open`, 'xss signals', xss.signalUsers);
			await visit(`${w}/app-model`, 'xss app model', [P_SCRIPT, P_IMG]);
			await visit(`${w}/live`, 'xss live feed', [P_SCRIPT]);
			// links made from a javascript: property stay inert text, never an href
			assert.equal(await page.locator('a[href^="javascript:" i]').count(), 0);
		} catch (e) {
			await saveFailure(page, 'dashboard-xss');
			throw e;
		} finally {
			await context.close();
		}
	});
});
