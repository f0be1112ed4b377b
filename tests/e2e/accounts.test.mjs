// Issue 4 acceptance, in a real browser: sign up with the setup token → open the
// verification link from the mail → sign in → enable 2FA with a code from oathtool →
// sign out → sign in needs the code → invite a viewer → the viewer signs up through the
// invite and accepts → the viewer reads the settings without being offered a form.
// Every distinct page passes axe (no serious/critical violation), has no inline code and
// logs no console error; CSP violations would be console errors too.
//
// The steps share one server and run in order; after a failed step the rest are skipped
// (their failure would only repeat it). Forms are found by their labels and buttons by
// their accessible names, as a user (or a screen reader) finds them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { checkPage, e2eOptions, launchBrowser, newUser, saveFailure, startServer, totp } from './lib.mjs';
import { linkIn, waitForMail } from './mail.mjs';

// Markup in names must come out as text: the product (the workspace's name, on every
// workspace page) and the viewer's name carry payloads; inlineCode() in every page check
// and the console watch would see an injected element or handler.
const XSS = '<img src=x onerror="document.title=1"><script>document.title=2</script>';
const OWNER = {
	name: 'Olivia Owner',
	email: 'olivia@example.test',
	password: 'correct horse battery staple',
	product: `Acme ${XSS} Notes`,
};
const VIEWER = { name: `Victor "${XSS}" Viewer`, email: 'victor@example.test', password: 'viewer password 12345' };

describe('issue 4 acceptance: accounts, 2FA and roles in the browser', e2eOptions(), () => {
	let browser, srv, owner, viewer;
	const seenMail = new Set();
	const checked = new Set();
	const state = {};
	let broken = null;

	before(async () => {
		[browser, srv] = await Promise.all([launchBrowser(), startServer({ env: { DROPFIX_SIGNUP: 'first' } })]);
		owner = await newUser(browser, srv.url);
	});
	after(async () => {
		process.stderr.write(`e2e: ${checked.size} pages checked (axe, inline code, console):\n  ${[...checked].join('\n  ')}\n`);
		await browser?.close();
		await srv?.stop();
	});

	// One step of the flow: skipped after an earlier failure; a screenshot of every open
	// page on failure.
	function flow(name, fn) {
		test(name, async (t) => {
			if (broken) return t.skip(`an earlier step failed (${broken})`);
			try {
				await fn(t);
			} catch (e) {
				broken = name;
				for (const [who, u] of [['owner', owner], ['viewer', viewer]])
					if (u && !u.page.isClosed()) await saveFailure(u.page, `${name} (${who})`);
				if (srv) process.stderr.write(`--- server log (tail) after "${name}" failed ---\n${srv.logs().split('\n').slice(-30).join('\n')}\n`);
				throw e;
			}
		});
	}

	// Runs the page checks once per distinct page: its path (ids and tokens folded) and
	// title, so a form and the page its POST answers with count as two.
	async function check(page) {
		const u = new URL(page.url());
		const path = u.pathname.replace(/\/\d+(?=\/|$)/g, '/:id').replace(/\/[A-Za-z0-9_-]{20,}(?=\/|$)/g, '/:token').replace(/(.)\/$/, '$1');
		const key = `${path} "${(await page.title()).replace(/ · DropFix$/, '')}"`;
		if (checked.has(key)) return assertNoProblems(page);
		checked.add(key);
		await checkPage(page, key);
	}
	function assertNoProblems(page) {
		const p = page.watch.problems();
		assert.deepEqual(p, [], `console problems at ${page.url()}`);
	}

	// Clicks the submit button named `name`, waits for the page it leads to and checks
	// it; returns the final response.
	async function submit(page, name) {
		const nav = page.waitForNavigation({ waitUntil: 'load' });
		await page.getByRole('button', { name }).click();
		const res = await nav;
		await check(page);
		return res;
	}

	// Follows the link named `name` like submit().
	async function clickLink(page, name) {
		const nav = page.waitForNavigation({ waitUntil: 'load' });
		await page.getByRole('link', { name }).click();
		const res = await nav;
		await check(page);
		return res;
	}

	// page.goto plus the checks.
	async function visit(page, url) {
		const res = await page.goto(url);
		await check(page);
		return res;
	}

	async function fill(page, fields) {
		for (const [label, value] of fields) await page.getByLabel(label).fill(value);
	}

	flow('the sign-in and sign-up pages render accessibly', async () => {
		const { page } = owner;
		let res = await visit(page, '/auth/login');
		assert.equal(res.status(), 200);
		res = await visit(page, '/auth/signup');
		assert.equal(res.status(), 200);
	});

	flow('sign up with the setup token printed by serve', async () => {
		const { page } = owner;
		// src/auth/auth_pages.c prints "(one-time setup token: <token>; ..." on stderr.
		const m = srv.logs().match(/one-time setup token: ([A-Za-z0-9_-]{16,})/);
		assert.ok(m, `no setup token in the server's output:\n${srv.logs()}`);
		await visit(page, '/auth/signup');
		await fill(page, [
			[/^name/i, OWNER.name],
			[/e-?mail/i, OWNER.email],
			[/^password/i, OWNER.password],
			[/product/i, OWNER.product],
			[/setup token/i, m[1]],
		]);
		const res = await submit(page, /create account/i);
		assert.equal(res.status(), 200);
		assert.match(await page.locator('h1').innerText(), /check your e-mail/i);
	});

	flow('the verification link from the mail verifies the address', async () => {
		const { page } = owner;
		const mail = await waitForMail(srv.dataDir, { to: OWNER.email, seen: seenMail });
		let res = await visit(page, linkIn(mail, srv.url, '/auth/verify'));
		assert.equal(res.status(), 200);
		// Mail scanners prefetch links: the link opens a page, its button (a POST) verifies.
		res = await submit(page, /confirm my address/i);
		assert.equal(res.status(), 200);
		assert.match(await page.locator('main').innerText(), /verified/i);
	});

	flow('sign in', async () => {
		const { page, context } = owner;
		await visit(page, '/auth/login');
		await fill(page, [[/e-?mail/i, OWNER.email], [/^password/i, OWNER.password]]);
		const res = await submit(page, /^sign in$/i);
		assert.equal(res.status(), 200);
		// The sign-up made a workspace for the product; the start page leads into it.
		state.ws = await findWorkspace(page);
		assert.ok(state.ws, `no workspace after sign-in at ${page.url()}`);
		assert.match(page.url(), new RegExp(`/w/${state.ws}/?$`));
		assert.equal(await page.locator('main h1').innerText(), OWNER.product, 'the name shown as text');
		assert.ok((await context.cookies()).some((c) => c.httpOnly && c.sameSite === 'Lax'), 'an HttpOnly SameSite=Lax session cookie');
	});

	flow('enable 2FA with a code from oathtool', async () => {
		const { page } = owner;
		await visit(page, '/account/2fa');
		assert.ok((await page.locator('main .qr-box svg').count()) === 1, 'the QR code as inline SVG');
		const key = await page.getByTestId('totp-secret').innerText();
		state.secret = key.replace(/[\s-]+/g, '').toUpperCase();
		assert.match(state.secret, /^[A-Z2-7]{16,}=*$/, `manual key ${JSON.stringify(key)}`);
		await fill(page, [[/code/i, totp(state.secret, srv.clock.now())]]);
		const res = await submit(page, /turn on two-factor/i);
		assert.equal(res.status(), 200);
		assert.match(await page.locator('main').innerText(), /two-factor authentication is on/i);
		const codes = await page.locator('main .recovery-codes li').allInnerTexts();
		assert.equal(codes.length, 10, `ten recovery codes, got ${codes.join(' | ')}`);
		assert.equal(new Set(codes).size, 10, 'recovery codes differ');
	});

	flow('sign out', async () => {
		const { page } = owner;
		const res = await submit(page, /^sign out$/i);
		assert.equal(res.status(), 200);
		assert.match(page.url(), /\/auth\/login/);
		assert.match(await page.locator('main').innerText(), /signed out/i);
		// The workspace now sends the browser to the sign-in page.
		await visit(page, `/w/${state.ws}`);
		assert.match(page.url(), /\/auth\/login\?next=/);
	});

	flow('sign in again needs the TOTP code', async () => {
		const { page } = owner;
		await visit(page, '/auth/login');
		await fill(page, [[/e-?mail/i, OWNER.email], [/^password/i, OWNER.password]]);
		await submit(page, /^sign in$/i);
		assert.match(page.url(), /\/auth\/2fa/, 'the password alone does not sign in');
		// Not in yet: the workspace still leads back to the second step.
		const back = page.url();
		await visit(page, `/w/${state.ws}`);
		assert.match(page.url(), /\/auth\/2fa/);
		await visit(page, back);
		// The code that turned 2FA on is spent (replay guard): use the next time step.
		srv.clock.advance(30);
		const before = await sessionCookie(owner.context);
		await fill(page, [[/code/i, totp(state.secret, srv.clock.now())]]);
		const res = await submit(page, /^continue$/i);
		assert.equal(res.status(), 200);
		assert.match(page.url(), new RegExp(`/w/${state.ws}/?$`));
		const after = await sessionCookie(owner.context);
		assert.ok(before && after && before !== after, 'the session cookie changes after the 2FA step');
	});

	flow('invite a viewer', async () => {
		const { page } = owner;
		await visit(page, `/w/${state.ws}/settings/team`);
		await fill(page, [[/e-?mail/i, VIEWER.email]]);
		await page.getByLabel(/^role$/i).selectOption('viewer');
		const res = await submit(page, /send invitation/i);
		assert.equal(res.status(), 200);
		assert.match(await page.locator('main').innerText(), new RegExp(`${VIEWER.email} as viewer`));
		const mail = await waitForMail(srv.dataDir, { to: VIEWER.email, seen: seenMail });
		state.inviteLink = linkIn(mail, srv.url, '/auth/invite/');
	});

	flow('the viewer signs up through the invite, verifies and accepts', async () => {
		viewer = await newUser(browser, srv.url);
		const { page } = viewer;
		await visit(page, state.inviteLink);
		await clickLink(page, /create an account/i);
		await fill(page, [[/^name/i, VIEWER.name], [/^password/i, VIEWER.password]]);
		const email = page.getByLabel(/e-?mail/i);
		if ((await email.inputValue()) === '') await email.fill(VIEWER.email);
		await submit(page, /create account/i);
		assert.match(await page.locator('h1').innerText(), /check your e-mail/i);

		const mail = await waitForMail(srv.dataDir, { to: VIEWER.email, seen: seenMail });
		await visit(page, linkIn(mail, srv.url, '/auth/verify'));
		await submit(page, /confirm my address/i);
		assert.match(await page.locator('main').innerText(), /verified/i);

		// Back to the invitation: sign in from it, which returns to it, then accept (a POST).
		await visit(page, state.inviteLink);
		await clickLink(page, /sign in to accept/i);
		await fill(page, [[/e-?mail/i, VIEWER.email], [/^password/i, VIEWER.password]]);
		await submit(page, /^sign in$/i);
		assert.equal(new URL(page.url()).pathname, new URL(state.inviteLink).pathname, 'sign-in returns to the invitation');
		const res = await submit(page, /accept invitation/i);
		assert.equal(res.status(), 200);
		assert.match(page.url(), new RegExp(`/w/${state.ws}(/|$)`));
		assert.match(await page.locator('main').innerText(), /your role: viewer/i);
	});

	flow("the viewer reads the settings and is offered no form to change them", async () => {
		const { page } = viewer;
		await visit(page, `/w/${state.ws}/settings`);
		assert.match(await page.locator('main').innerText(), /only owners and admins can change them/i);
		assert.equal(await page.getByRole('button', { name: /save settings/i }).count(), 0, 'no save button for a viewer');
		assert.equal(await page.locator('main form[method="post"]').count(), 0, 'no settings form for a viewer');
		// A POST made anyway (with the viewer's own session and a valid CSRF token) is
		// refused for the role: tests/http/viewer.test.mjs walks every such route.
		// Nothing changed: the owner still sees the original name.
		await visit(owner.page, `/w/${state.ws}/settings`);
		assert.equal(await owner.page.getByLabel(/^workspace name$/i).inputValue(), OWNER.product);
		// The owner's team page lists the viewer, name as text, role viewer.
		await visit(owner.page, `/w/${state.ws}/settings/team`);
		const row = owner.page.locator('main tr', { hasText: VIEWER.email });
		assert.equal(await row.count(), 1, 'the viewer is a member');
		const cells = await row.locator('td').allInnerTexts();
		assert.equal(cells[0], VIEWER.name, 'the name shown as text');
		const select = row.locator('select[name="role"]');
		assert.equal((await select.count()) ? await select.inputValue() : cells[2].trim(), 'viewer');
	});

	async function sessionCookie(context) {
		return (await context.cookies()).find((c) => /session/.test(c.name))?.value;
	}

	// The workspace id of the first /w/<id>/ link or URL on the page, or null.
	async function findWorkspace(page) {
		const m = page.url().match(/\/w\/(\d+)(?:\/|$)/);
		if (m) return m[1];
		const hrefs = await page.locator('a[href^="/w/"]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
		for (const h of hrefs) {
			const mm = h.match(/^\/w\/(\d+)(?:\/|$)/);
			if (mm) return mm[1];
		}
		return null;
	}
});
