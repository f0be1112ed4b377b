// Issue 4 acceptance, in a real browser: sign up with the setup token → open the
// verification link from the mail → sign in → enable 2FA with a code from oathtool →
// sign out → sign in needs the code → invite a viewer → the viewer signs up through the
// invite and accepts → the viewer's POST to a settings form gets 403.
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

const OWNER = { name: 'Olivia Owner', email: 'olivia@example.test', password: 'correct horse battery staple', product: 'Acme Notes' };
const VIEWER = { name: 'Victor Viewer', email: 'victor@example.test', password: 'viewer password 12345' };

// Steps whose pages have not landed yet: run, but reported as todo (a failure there
// does not fail the run). Remove an entry as soon as its page exists.
const TODO = {
	pages: 'todo: /auth/login and /auth/signup pages not built yet',
	signup: 'todo: sign-up with the setup token not built yet',
	verify: 'todo: /auth/verify and system mail not built yet',
	signin: 'todo: sign-in not built yet',
	totp: 'todo: 2FA enrolment page not built yet',
	signout: 'todo: sign-out not built yet',
	signin2fa: 'todo: second sign-in step not built yet',
	invite: 'todo: team page and invites not built yet',
	accept: 'todo: invite acceptance not built yet',
	viewer403: 'todo: workspace settings page not built yet',
};

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
		await browser?.close();
		await srv?.stop();
	});

	// One step of the flow: skipped after an earlier failure; a screenshot of every open
	// page on failure.
	function flow(name, opts, fn) {
		test(name, opts, async (t) => {
			if (broken) return t.skip(`an earlier step failed (${broken})`);
			try {
				await fn(t);
			} catch (e) {
				broken = name;
				for (const [who, u] of [['owner', owner], ['viewer', viewer]])
					if (u && !u.page.isClosed()) await saveFailure(u.page, `${name} (${who})`);
				if (srv) e.message += `\n--- server log (tail) ---\n${srv.logs().split('\n').slice(-30).join('\n')}`;
				throw e;
			}
		});
	}

	// Runs the page checks once per distinct page (path with ids and tokens folded).
	async function check(page) {
		const u = new URL(page.url());
		const key = u.pathname.replace(/\/\d+(?=\/|$)/g, '/:id').replace(/\/[A-Za-z0-9_-]{20,}(?=\/|$)/g, '/:token');
		if (checked.has(key)) return assertNoProblems(page);
		checked.add(key);
		await checkPage(page, key);
	}
	function assertNoProblems(page) {
		const p = page.watch.problems();
		assert.deepEqual(p, [], `console problems at ${page.url()}`);
	}

	// Clicks the submit button named `name` and waits for the page it leads to; returns
	// the final response.
	async function submit(page, name) {
		const nav = page.waitForNavigation({ waitUntil: 'load' });
		await page.getByRole('button', { name }).click();
		return nav;
	}

	async function fill(page, fields) {
		for (const [label, value] of fields) await page.getByLabel(label).fill(value);
	}

	flow('the sign-in and sign-up pages render accessibly', { todo: TODO.pages }, async () => {
		const { page } = owner;
		let res = await page.goto('/auth/login');
		assert.equal(res.status(), 200);
		await check(page);
		res = await page.goto('/auth/signup');
		assert.equal(res.status(), 200);
		await check(page);
	});

	flow('sign up with the setup token printed by serve', { todo: TODO.signup }, async () => {
		const { page } = owner;
		const m = srv.logs().match(/setup[ _-]token[^A-Za-z0-9]*([A-Za-z0-9_-]{16,})/i);
		assert.ok(m, `no setup token in the server's output:\n${srv.logs()}`);
		state.setupToken = m[1];
		await page.goto('/auth/signup');
		await fill(page, [
			[/^name/i, OWNER.name],
			[/e-?mail/i, OWNER.email],
			[/^password/i, OWNER.password],
			[/product/i, OWNER.product],
			[/setup token/i, state.setupToken],
		]);
		const res = await submit(page, /sign up|create account/i);
		assert.ok(res.status() < 400, `sign-up answered ${res.status()}`);
		await check(page);
	});

	flow('the verification link from the mail verifies the address', { todo: TODO.verify }, async () => {
		const { page } = owner;
		const mail = await waitForMail(srv.dataDir, { to: OWNER.email, seen: seenMail, pred: (m) => /verif/i.test(`${m.subject}${m.text}`) });
		const link = linkIn(mail, srv.url, '/auth/verify');
		let res = await page.goto(link);
		assert.equal(res.status(), 200);
		await check(page);
		// A confirmation button (mail scanners prefetch links) when there is one.
		const confirm = page.getByRole('button', { name: /verify|confirm/i });
		if (await confirm.count()) {
			res = await submit(page, /verify|confirm/i);
			assert.ok(res.status() < 400, `verification answered ${res.status()}`);
			await check(page);
		}
		assert.match(await page.locator('main').innerText(), /verified/i);
	});

	flow('sign in', { todo: TODO.signin }, async () => {
		const { page, context } = owner;
		await page.goto('/auth/login');
		await fill(page, [[/e-?mail/i, OWNER.email], [/^password/i, OWNER.password]]);
		const res = await submit(page, /sign in|log in/i);
		assert.equal(res.status(), 200);
		state.cookiesAfterSignIn = await context.cookies();
		await check(page);
		// The workspace made for the product at sign-up.
		const ws = await findWorkspace(page);
		assert.ok(ws, `no workspace link after sign-in at ${page.url()}`);
		state.ws = ws;
	});

	flow('enable 2FA with a code from oathtool', { todo: TODO.totp }, async () => {
		const { page } = owner;
		await page.goto('/account/2fa');
		await check(page);
		// The QR code is inline SVG; the manual key is on the page as text.
		assert.equal(await page.locator('main svg').count() > 0, true, 'QR code (inline SVG) on the page');
		const key = (await page.getByTestId?.('totp-secret').count?.())
			? await page.getByTestId('totp-secret').innerText()
			: await page.locator('main code').first().innerText();
		state.secret = key.replace(/\s+/g, '');
		assert.match(state.secret, /^[A-Z2-7]{16,}=*$/, `manual key ${key}`);
		await fill(page, [
			[/code/i, totp(state.secret, srv.clock.now())],
			...((await page.getByLabel(/^password/i).count()) ? [[/^password/i, OWNER.password]] : []),
		]);
		const res = await submit(page, /enable|turn on|confirm|verify/i);
		assert.equal(res.status(), 200);
		await check(page);
		// Ten recovery codes are shown once.
		const text = await page.locator('main').innerText();
		assert.match(text, /recovery/i);
	});

	flow('sign out', { todo: TODO.signout }, async () => {
		const { page, context } = owner;
		const res = await submit(page, /sign out|log out/i);
		assert.ok(res.status() < 400);
		await check(page);
		const r2 = await page.goto(`/w/${state.ws}/`);
		assert.ok(/\/auth\/login/.test(page.url()) || r2.status() === 401 || r2.status() === 404, `still signed in: ${page.url()} ${r2.status()}`);
		owner.page.watch.clear();
		void context;
	});

	flow('sign in again needs the TOTP code', { todo: TODO.signin2fa }, async () => {
		const { page } = owner;
		await page.goto('/auth/login');
		await fill(page, [[/e-?mail/i, OWNER.email], [/^password/i, OWNER.password]]);
		await submit(page, /sign in|log in/i);
		await check(page); // the second-step page
		const codeBox = page.getByLabel(/code/i);
		assert.equal(await codeBox.count(), 1, `no code field after the password at ${page.url()}`);
		// The code used to enable 2FA is spent (replay guard): move to the next step.
		srv.clock.advance(30);
		await codeBox.fill(totp(state.secret, srv.clock.now()));
		const res = await submit(page, /verify|sign in|continue|confirm/i);
		assert.equal(res.status(), 200);
		assert.ok(await findWorkspace(page), `not signed in after the code: ${page.url()}`);
		await check(page);
	});

	flow('invite a viewer', { todo: TODO.invite }, async () => {
		const { page } = owner;
		await page.goto(`/w/${state.ws}/settings/team`);
		await check(page);
		await fill(page, [[/e-?mail/i, VIEWER.email]]);
		await page.getByLabel(/role/i).selectOption('viewer');
		const res = await submit(page, /invite|send/i);
		assert.equal(res.status(), 200);
		await check(page);
		const mail = await waitForMail(srv.dataDir, { to: VIEWER.email, seen: seenMail });
		state.inviteLink = linkIn(mail, srv.url, '/auth/invite');
	});

	flow('the viewer signs up through the invite and accepts', { todo: TODO.accept }, async () => {
		viewer = await newUser(browser, srv.url);
		const { page } = viewer;
		await page.goto(state.inviteLink);
		await check(page);
		// Not signed in: the invite page leads to sign-up (the address is the invited one).
		await page.getByRole('link', { name: /sign up|create an account/i }).click();
		await page.waitForLoadState('load');
		await check(page);
		await fill(page, [[/^name/i, VIEWER.name], [/^password/i, VIEWER.password]]);
		const email = page.getByLabel(/e-?mail/i);
		if ((await email.inputValue()) === '') await email.fill(VIEWER.email);
		await submit(page, /sign up|create account/i);
		await check(page);
		const mail = await waitForMail(srv.dataDir, { to: VIEWER.email, seen: seenMail, pred: (m) => /verif/i.test(`${m.subject}${m.text}`) });
		await page.goto(linkIn(mail, srv.url, '/auth/verify'));
		if (await page.getByRole('button', { name: /verify|confirm/i }).count()) await submit(page, /verify|confirm/i);
		// Sign in if verifying did not, then accept on the confirmation page (a POST).
		if (/\/auth\/login/.test(page.url()) || (await page.getByLabel(/^password/i).count())) {
			if (!/\/auth\/login/.test(page.url())) await page.goto('/auth/login');
			await fill(page, [[/e-?mail/i, VIEWER.email], [/^password/i, VIEWER.password]]);
			await submit(page, /sign in|log in/i);
		}
		await page.goto(state.inviteLink);
		await check(page);
		const res = await submit(page, /accept|join/i);
		assert.equal(res.status(), 200);
		assert.match(page.url(), new RegExp(`/w/${state.ws}(/|$)`));
		await check(page);
	});

	flow("the viewer's POST to a settings form gets 403", { todo: TODO.viewer403 }, async () => {
		// The owner's workspace settings form, as the owner sees it.
		await owner.page.goto(`/w/${state.ws}/settings`);
		await check(owner.page);
		const form = owner.page.locator('main form[method="post" i]').first();
		const action = new URL(await form.getAttribute('action'), owner.page.url()).pathname;
		const fields = await form.evaluate((f) => [...new FormData(f)].filter(([k]) => k !== '_csrf'));
		// The viewer submits the same form from a workspace page it may read, with its own
		// CSRF token: the role check, not CSRF, is what refuses it.
		const { page } = viewer;
		await page.goto(`/w/${state.ws}/`);
		const csrf = await page.locator('input[name="_csrf"]').first().inputValue();
		assert.ok(csrf, 'a CSRF token on the viewer page');
		page.watch.expect(/status of 403/);
		const nav = page.waitForNavigation({ waitUntil: 'load' });
		await page.evaluate(
			({ action, fields, csrf }) => {
				const f = document.createElement('form');
				f.method = 'post';
				f.action = action;
				for (const [k, v] of [...fields, ['_csrf', csrf]]) {
					const i = document.createElement('input');
					i.type = 'hidden';
					i.name = k;
					i.value = v;
					f.append(i);
				}
				document.body.append(f);
				f.submit();
			},
			{ action, fields, csrf },
		);
		const res = await nav;
		assert.equal(res.status(), 403, `viewer POST ${action} answered ${res.status()}`);
		await check(page); // the 403 page itself
	});

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
