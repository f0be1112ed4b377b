// Black-box tests of the pages before sign-in (src/auth/auth_pages.c): first sign-up with
// the setup token, verification links, sign-in and sign-out, CSRF on public forms,
// password reset, sign-up and reset that do not reveal accounts, and the sign-in limits
// per e-mail and per IP. Mail is read from the development outbox; time from the fake
// clock.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

import { runBin, startServer, tmpDir } from './lib.mjs';
import {
	Client, fakeClock, linkPath, mainText, outbox, setupToken, signIn, signUpVerified, sqliteQuery, waitLog, waitMail,
} from './authlib.mjs';

const OWNER = { name: 'Olivia Owner', email: 'olivia@example.test', password: 'correct horse battery staple', product: 'Acme Notes' };
const SESSION = 'dropfix_session';

async function start(env = {}) {
	const dir = tmpDir('dropfix-auth-');
	const clock = fakeClock(dir);
	const srv = await startServer({ env: { DROPFIX_TEST_CLOCK_FILE: clock.file, ...env } });
	srv.clock = clock;
	srv.db = path.join(srv.dataDir, 'dropfix.db');
	return srv;
}

async function stop(srv) {
	if (!srv) return;
	const { code } = await srv.stop();
	assert.equal(code, 0, `server exit status\n${srv.logs().slice(-3000)}`);
}

describe('first sign-up, verification, sign-in, reset (SQLite)', () => {
	let srv;
	const seen = new Set();
	before(async () => {
		srv = await start({ DROPFIX_SIGNUP: 'first' });
		await waitLog(srv, /setup token: /);
	});
	after(() => stop(srv));

	test('the first sign-up needs the setup token, which works once', async () => {
		const token = setupToken(srv.logs());
		assert.ok(token, srv.logs());
		const c = new Client(srv.url);
		const form = await c.get(`/auth/signup?setup=${token}`);
		assert.equal(form.status, 200);
		assert.match(form.body, new RegExp(`name="setup" type="text" value="${token}"`), 'the link fills the token in');

		// Every field checked at once; what was typed comes back, the password never does.
		let res = await c.submit('/auth/signup', { name: 'Olivia Owner', email: 'not an address', password: 'short', product: '', setup: '' });
		assert.equal(res.status, 422);
		for (const f of ['email', 'password', 'product', 'setup']) assert.match(res.body, new RegExp(`id="f-${f}-error"`), f);
		assert.doesNotMatch(res.body, /id="f-name-error"/);
		assert.match(res.body, /value="Olivia Owner"/);
		assert.match(res.body, /value="not an address"/);
		assert.doesNotMatch(res.body, /value="short"/);

		res = await c.submit('/auth/signup', { ...OWNER, setup: 'A'.repeat(43) });
		assert.equal(res.status, 422, 'a wrong setup token');
		assert.match(res.body, /id="f-setup-error"/);
		assert.deepEqual(sqliteQuery(srv.db, 'SELECT count(*) FROM accounts'), [['0']]);

		res = await c.submit('/auth/signup', { ...OWNER, setup: token });
		assert.equal(res.status, 200, mainText(res.body));
		assert.match(mainText(res.body), /Check your e-mail/);
		assert.equal(c.cookie(SESSION), undefined, 'sign-up does not sign in');

		// Stored: an Argon2id hash, an unverified account, the setup token gone.
		const [[hash, verified]] = sqliteQuery(srv.db, "SELECT password_hash, verified_at IS NOT NULL FROM accounts");
		assert.match(hash, /^\$argon2id\$v=19\$/);
		assert.equal(verified, '0');
		assert.deepEqual(sqliteQuery(srv.db, "SELECT count(*) FROM installation_meta WHERE key = 'setup_token_sha256'"), [['0']]);
		// The product became the first workspace, owned by the new account.
		assert.deepEqual(sqliteQuery(srv.db, "SELECT w.name, m.role FROM workspaces w JOIN memberships m ON m.workspace_id = w.id"), [['Acme Notes', 'owner']]);

		// The token is spent and sign-up is closed now (first mode: invitations only).
		const other = new Client(srv.url);
		res = await other.get('/auth/signup');
		assert.equal(res.status, 403);
		res = await other.request('POST', '/auth/signup', { form: { name: 'X', email: 'x@example.test', password: 'another password', product: 'X', setup: token, _csrf: 'a'.repeat(43) }, headers: { Cookie: `dropfix_csrf=${'a'.repeat(43)}` } });
		assert.equal(res.status, 403);
		assert.deepEqual(sqliteQuery(srv.db, 'SELECT count(*) FROM accounts'), [['1']]);
	});

	test('the verification link opens a page; only its button verifies, once', async () => {
		const c = new Client(srv.url);
		const mail = await waitMail(srv.dataDir, OWNER.email, { seen, pred: (m) => /verify/i.test(m.subject) });
		const link = linkPath(mail, srv.url, '/auth/verify?token=');
		// Links come from the base URL; a mail scanner's GET changes nothing.
		for (let i = 0; i < 2; i++) {
			const page = await c.get(link);
			assert.equal(page.status, 200);
			assert.match(page.body, /<form method="post" action="\/auth\/verify"/);
		}
		// Unverified: the right password does not sign in yet.
		let res = await signIn(c, OWNER.email, OWNER.password);
		assert.equal(res.status, 403);
		assert.equal(c.cookie(SESSION), undefined);

		const page = await c.get(link);
		res = await c.submitFrom(page.body, {});
		assert.equal(res.status, 303);
		assert.equal(res.location, '/auth/login?m=verified');
		const login = await c.get(res.location);
		assert.match(mainText(login.body), /verified/);
		res = await c.submitFrom(page.body, {});
		assert.equal(res.status, 410, 'single use');
		assert.equal((await c.get(link)).status, 410);
		assert.deepEqual(sqliteQuery(srv.db, 'SELECT verified_at IS NOT NULL FROM accounts'), [['1']]);
	});

	test('sign-in sets a new session cookie each time; next is a relative path; sign-out ends it', async () => {
		const c = new Client(srv.url);
		let res = await signIn(c, OWNER.email, 'wrong password!');
		assert.equal(res.status, 401);
		assert.match(mainText(res.body), /Wrong e-mail address or password/);
		assert.match(res.body, /value="olivia@example.test"/);
		assert.doesNotMatch(res.body, /value="wrong password!"/);
		assert.equal(c.cookie(SESSION), undefined);

		res = await signIn(c, ' Olivia@Example.TEST ', OWNER.password);
		assert.equal(res.status, 303);
		assert.equal(res.location, '/');
		const first = c.cookie(SESSION);
		assert.match(first, /^[A-Za-z0-9_-]{43}$/);
		res = await c.get('/');
		assert.equal(res.status, 303);
		assert.match(res.location, /^\/w\/\d+\/$/, 'the start page leads to the first workspace');

		res = await signIn(c, OWNER.email, OWNER.password, '/account');
		assert.equal(res.location, '/account');
		const second = c.cookie(SESSION);
		assert.notEqual(second, first, 'a new session at each sign-in');
		res = await c.get('/account');
		assert.equal(res.status, 200);
		assert.match(mainText(res.body), /olivia@example.test/);

		for (const bad of ['//evil.example/', 'https://evil.example/', '/\\evil.example']) {
			res = await signIn(new Client(srv.url), OWNER.email, OWNER.password, bad);
			assert.equal(res.location, '/', bad);
		}

		res = await c.submit('/account', {}, { action: '/auth/logout' });
		assert.equal(res.status, 303);
		assert.equal(res.location, '/auth/login?m=signedout');
		assert.equal(c.cookie(SESSION), undefined, 'cookie cleared');
		const stale = new Client(srv.url);
		stale.setCookie(SESSION, second);
		res = await stale.get('/account');
		assert.equal(res.status, 303);
		assert.match(res.location, /^\/auth\/login/);
		// The other session (first sign-in) is still there.
		stale.setCookie(SESSION, first);
		assert.equal((await stale.get('/account')).status, 200);
		// Not signed in: the start page sends to sign-in.
		res = await new Client(srv.url).get('/');
		assert.equal(res.status, 303);
		assert.match(res.location, /^\/auth\/login/);
	});

	test('a sign-in POST without the token or from another site is refused', async () => {
		const c = new Client(srv.url);
		const page = await c.get('/auth/login');
		const csrf = page.body.match(/name="_csrf" value="([^"]+)"/)[1];
		assert.equal(c.cookie('dropfix_csrf'), csrf);
		const form = { email: OWNER.email, password: OWNER.password };
		const cases = [
			['no token', { form }],
			['wrong token', { form: { ...form, _csrf: 'x'.repeat(43) } }],
			['other origin', { form: { ...form, _csrf: csrf }, origin: 'http://evil.example' }],
			['cross-site fetch', { form: { ...form, _csrf: csrf }, headers: { 'Sec-Fetch-Site': 'cross-site' } }],
		];
		for (const [name, opts] of cases) {
			const res = await c.request('POST', '/auth/login', opts);
			assert.equal(res.status, 403, name);
			assert.equal(c.cookie(SESSION), undefined, name);
		}
		const noCookie = new Client(srv.url);
		let res = await noCookie.request('POST', '/auth/login', { form: { ...form, _csrf: csrf } });
		assert.equal(res.status, 403, 'token without its cookie');
		res = await c.request('POST', '/auth/login', { form: { ...form, _csrf: csrf } });
		assert.equal(res.status, 303, 'the same request with the token passes');
	});

	test('password reset: same answer for unknown addresses, single use, ends sessions, never signs in, one hour', async () => {
		const signedIn = new Client(srv.url);
		assert.equal((await signIn(signedIn, OWNER.email, OWNER.password)).status, 303);

		const anon = new Client(srv.url);
		const known = await anon.submit('/auth/reset', { email: OWNER.email });
		const unknown = await anon.submit('/auth/reset', { email: 'nobody@example.test' });
		assert.equal(known.status, 200);
		assert.equal(unknown.status, 200);
		assert.equal(mainText(known.body).replace(OWNER.email, 'X'), mainText(unknown.body).replace('nobody@example.test', 'X'));
		assert.equal(known.headers.get('set-cookie'), unknown.headers.get('set-cookie'));

		const mail = await waitMail(srv.dataDir, OWNER.email, { seen, pred: (m) => /reset/i.test(m.subject) });
		const link = linkPath(mail, srv.url, '/auth/reset/confirm?token=');
		// A second link; using the first ends it too.
		await anon.submit('/auth/reset', { email: OWNER.email });
		const mail2 = await waitMail(srv.dataDir, OWNER.email, { seen, pred: (m) => /reset/i.test(m.subject) });
		const link2 = linkPath(mail2, srv.url, '/auth/reset/confirm?token=');
		assert.notEqual(link2, link);

		let res = await anon.submit(link, { password: 'short' });
		assert.equal(res.status, 422);
		const page = await anon.get(link);
		res = await anon.submitFrom(page.body, { password: 'a brand new password' });
		assert.equal(res.status, 303);
		assert.equal(res.location, '/auth/login?m=reset');
		assert.equal(anon.cookie(SESSION), undefined, 'a reset never signs in');
		res = await anon.submitFrom(page.body, { password: 'yet another password' });
		assert.equal(res.status, 410, 'single use');
		assert.equal((await anon.get(link2)).status, 410, 'other outstanding reset links end too');

		res = await signedIn.get('/account');
		assert.equal(res.status, 303, 'every session ended');
		assert.equal((await signIn(new Client(srv.url), OWNER.email, OWNER.password)).status, 401);
		const c = new Client(srv.url);
		assert.equal((await signIn(c, OWNER.email, 'a brand new password')).status, 303);
		OWNER.password = 'a brand new password';

		// Nothing was mailed to the unknown address; a changed-password notice to the owner.
		await waitMail(srv.dataDir, OWNER.email, { seen, pred: (m) => /password was changed/i.test(m.subject) });
		assert.equal((await outbox(srv.dataDir)).filter((m) => m.to.includes('nobody@example.test')).length, 0);

		// A link older than an hour is dead.
		await anon.submit('/auth/reset', { email: OWNER.email });
		const late = linkPath(await waitMail(srv.dataDir, OWNER.email, { seen, pred: (m) => /reset/i.test(m.subject) }), srv.url, '/auth/reset/confirm?token=');
		const latePage = await anon.get(late);
		assert.equal(latePage.status, 200);
		srv.clock.advance(3601);
		assert.equal((await anon.get(late)).status, 410);
		res = await anon.submitFrom(latePage.body, { password: 'too late password' });
		assert.equal(res.status, 410);
	});
});

// "rehash me please" hashed with other Argon2id parameters (m=16 KiB, t=2) than this
// build's, as a stored hash from an older release would be.
const OLD_HASH = '$argon2id$v=19$m=16,t=2,p=1$E2dtPYHoKMVg0D1o0kXbbg$s3d4AOQNkp1ZqS+ekF5h05iDkUDztE4Dlh8PUMboeRo';

describe('open sign-up and the sign-in limits (SQLite)', () => {
	let srv;
	const seen = new Set();
	before(async () => {
		srv = await start({ DROPFIX_SIGNUP: 'open' });
	});
	after(() => stop(srv));

	test('sign-up answers the same whether or not the address has an account', async () => {
		const amy = { name: 'Amy', email: 'amy@example.test', password: 'amy password 123', product: 'Amy App' };
		const a = await new Client(srv.url).submit('/auth/signup', amy);
		const b = await new Client(srv.url).submit('/auth/signup', { ...amy, name: 'Mallory', password: 'another password' });
		assert.equal(a.status, 200);
		assert.equal(b.status, 200);
		assert.equal(mainText(a.body), mainText(b.body));
		assert.deepEqual(sqliteQuery(srv.db, "SELECT count(*) FROM accounts WHERE email = 'amy@example.test'"), [['1']]);
		await waitMail(srv.dataDir, amy.email, { seen, pred: (m) => /verify/i.test(m.subject) });
		const notice = await waitMail(srv.dataDir, amy.email, { seen, pred: (m) => /sign-up attempt/i.test(m.subject) });
		assert.doesNotMatch(notice.text, /token=/, 'the notice carries no verification link');
	});

	test('a hash made with other parameters is replaced at sign-in', async () => {
		const rh = { name: 'Re', email: 'rehash@example.test', password: 'first password 1', product: 'Re App' };
		await signUpVerified(srv, rh, { seen });
		execFileSync('sqlite3', [srv.db, `UPDATE accounts SET password_hash = '${OLD_HASH}' WHERE email = '${rh.email}'`]);
		assert.equal((await signIn(new Client(srv.url), rh.email, 'rehash me please')).status, 303);
		const [[now]] = sqliteQuery(srv.db, `SELECT password_hash FROM accounts WHERE email = '${rh.email}'`);
		assert.notEqual(now, OLD_HASH);
		assert.match(now, /^\$argon2id\$v=19\$m=8,t=1,p=1\$/);
		assert.equal((await signIn(new Client(srv.url), rh.email, 'rehash me please')).status, 303);
	});

	test('20 rapid failures for one e-mail, existing or not: the same 429 + Retry-After from the same attempt on; one alert', async () => {
		const victim = { name: 'Vic', email: 'vic@example.test', password: 'victim password 1', product: 'Vic App' };
		await signUpVerified(srv, victim, { seen });
		const run = async (email) => {
			const out = [];
			const c = new Client(srv.url);
			for (let i = 0; i < 20; i++) {
				const res = await signIn(c, email, `wrong password ${i}`);
				out.push({ status: res.status, retry: res.headers.get('retry-after'), text: mainText(res.body).replace(email, 'X') });
			}
			return out;
		};
		const existing = await run(victim.email);
		const ghost = await run('ghost@example.test');
		assert.deepEqual(existing.map((r) => r.status), ghost.map((r) => r.status));
		assert.deepEqual(existing.map((r) => r.status), [...Array(10).fill(401), ...Array(10).fill(429)]);
		for (const list of [existing, ghost]) {
			for (const r of list.slice(10)) {
				assert.match(r.retry, /^\d+$/);
				assert.ok(Number(r.retry) >= 1 && Number(r.retry) <= 900, r.retry);
			}
			for (const r of list.slice(0, 10)) assert.equal(r.retry, null);
		}
		assert.deepEqual(existing.map((r) => r.text), ghost.map((r) => r.text), 'the same pages');
		// Locked: even the right password waits.
		assert.equal((await signIn(new Client(srv.url), victim.email, victim.password)).status, 429);

		// The owner is told once (not once per failure); nothing goes to the unknown address.
		await waitMail(srv.dataDir, victim.email, { seen, pred: (m) => /failed sign-in/i.test(m.subject) });
		await new Promise((r) => setTimeout(r, 300));
		const alerts = (await outbox(srv.dataDir)).filter((m) => /failed sign-in/i.test(m.subject));
		assert.equal(alerts.length, 1);
		assert.equal((await outbox(srv.dataDir)).filter((m) => m.to.includes('ghost@example.test')).length, 0);
		// Failures are in the installation audit log.
		const [[n]] = sqliteQuery(srv.db, "SELECT count(*) FROM install_audit WHERE action = 'auth.signin_failed'");
		assert.equal(Number(n), 20);

		// After the window the right password works again.
		srv.clock.advance(15 * 60);
		assert.equal((await signIn(new Client(srv.url), victim.email, victim.password)).status, 303);
		// A new burst within the hour: no second alert.
		for (let i = 0; i < 10; i++) await signIn(new Client(srv.url), victim.email, 'wrong again 123');
		await new Promise((r) => setTimeout(r, 300));
		assert.equal((await outbox(srv.dataDir)).filter((m) => /failed sign-in/i.test(m.subject)).length, 1);
	});
});

describe('per-IP sign-in limit and its settings', () => {
	test('the per-IP limit applies before hashing, across addresses', async () => {
		const srv = await start({ DROPFIX_SIGNUP: 'open', DROPFIX_SIGNIN_LIMIT_EMAIL: '3', DROPFIX_SIGNIN_LIMIT_IP: '5' });
		try {
			const statuses = [];
			for (let i = 0; i < 7; i++) {
				const res = await signIn(new Client(srv.url), `user${i}@example.test`, 'some password 1');
				statuses.push(res.status);
				if (res.status === 429) assert.match(res.headers.get('retry-after'), /^\d+$/);
			}
			assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429]);
		} finally {
			await stop(srv);
		}
	});

	test('the per-IP limit must be above the per-e-mail one', async () => {
		const r = await runBin(['serve'], { env: { DROPFIX_DATA_DIR: tmpDir(), DROPFIX_SIGNIN_LIMIT_EMAIL: '10', DROPFIX_SIGNIN_LIMIT_IP: '10' } });
		assert.equal(r.code, 2);
		assert.match(r.stderr, /DROPFIX_SIGNIN_LIMIT_IP/);
	});
});
