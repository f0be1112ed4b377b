// Black-box tests of two-factor sign-in and the signed-in account pages
// (src/auth/account_pages.c, the /auth/2fa step): TOTP enrolment with codes from
// oathtool on the fake clock, replay refusal, recovery codes, the 2FA step's throttle,
// session cookies rotating at sign-in and after the second step (the old value dies
// after the grace), idle and absolute expiry, "sign out everywhere", password and
// e-mail changes, and the TOTP seed appearing nowhere on disk or in logs. The core flow
// runs on SQLite and PostgreSQL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { startServer, tmpDir } from './lib.mjs';
import {
	Client, PG_SKIP, fakeClock, linkPath, mainText, outbox, pgDatabase, setupToken, signIn, signUpVerified, sqliteQuery,
	totp, unescapeHtml, waitLog, waitMail,
} from './authlib.mjs';

const SESSION = 'dropfix_session';
const HOUR = 3600;

async function start(env = {}) {
	const dir = tmpDir('dropfix-acct-');
	const clock = fakeClock(dir);
	const srv = await startServer({ env: { DROPFIX_TEST_CLOCK_FILE: clock.file, DROPFIX_SIGNUP: 'open', ...env } });
	srv.clock = clock;
	srv.db = path.join(srv.dataDir, 'dropfix.db');
	srv.seen = new Set();
	return srv;
}

async function stop(srv) {
	if (!srv) return;
	const { code } = await srv.stop();
	assert.equal(code, 0, `server exit status\n${srv.logs().slice(-3000)}`);
}

let userSeq = 0;
async function newUser(srv) {
	const n = ++userSeq;
	const who = { name: `User ${n}`, email: `user${n}@example.test`, password: `password number ${n}`, product: `Product ${n}` };
	await signUpVerified(srv, who, { seen: srv.seen });
	return who;
}

async function signedIn(srv, who) {
	const c = new Client(srv.url);
	const res = await signIn(c, who.email, who.password);
	assert.equal(res.status, 303, mainText(res.body));
	return c;
}

// Still signed in (fully)? GET /account: 200 yes, 303 to the sign-in or 2FA page no.
async function status(srv, cookie) {
	const c = new Client(srv.url);
	c.setCookie(SESSION, cookie);
	const res = await c.get('/account');
	return res.status === 200 ? 'in' : res.location?.startsWith('/auth/2fa') ? '2fa' : 'out';
}

function base32Decode(s) {
	const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
	let bits = 0, value = 0;
	const out = [];
	for (const ch of s.replace(/[\s=]/g, '').toUpperCase()) {
		value = (value << 5) | alphabet.indexOf(ch);
		bits += 5;
		if (bits >= 8) {
			out.push((value >>> (bits - 8)) & 0xff);
			bits -= 8;
		}
	}
	return Buffer.from(out);
}

// Enrols 2FA for a signed-in client; returns {key, codes, page}.
async function enrol(srv, c) {
	const page = await c.get('/account/2fa');
	assert.equal(page.status, 200);
	const key = unescapeHtml(page.body.match(/data-testid="totp-secret">([^<]+)</)[1]).replace(/\s+/g, '');
	const res = await c.submitFrom(page.body, { code: totp(key, srv.clock.now()) }, { action: '/account/2fa/confirm' });
	assert.equal(res.status, 200, mainText(res.body));
	const codes = [...res.body.matchAll(/<li><code>([2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4})<\/code><\/li>/g)].map((m) => m[1]);
	assert.equal(codes.length, 10);
	return { key, codes, page };
}

// Signs in with a second step: password, then code. Returns {first, final} responses.
async function signIn2fa(srv, c, who, code) {
	const first = await signIn(c, who.email, who.password);
	assert.equal(first.status, 303);
	assert.equal(first.location, '/auth/2fa');
	const final = await c.submit('/auth/2fa', { code });
	return { first, final };
}

describe('two-factor authentication and sessions (SQLite)', () => {
	let srv;
	before(async () => {
		srv = await start();
	});
	after(() => stop(srv));

	test('enrolment: QR code and manual key, confirmed by a code; the seed is stored sealed only', async () => {
		const who = await newUser(srv);
		const c = await signedIn(srv, who);
		const page = await c.get('/account/2fa');
		assert.equal(page.status, 200);
		assert.match(page.body, /<svg[^>]*class="qr"/);
		assert.doesNotMatch(page.body, /style=|<script/);
		const key = unescapeHtml(page.body.match(/data-testid="totp-secret">([^<]+)</)[1]).replace(/\s+/g, '');
		assert.match(key, /^[A-Z2-7]{32}$/);
		// The QR code carries the same key (decoded when the Debian tools are there).
		const svg = page.body.match(/<svg[\s\S]*?<\/svg>/)[0];
		const dir = tmpDir('dropfix-qr-');
		fs.writeFileSync(path.join(dir, 'qr.svg'), svg);
		const png = spawnSync('rsvg-convert', ['-z', '4', '-o', path.join(dir, 'qr.png'), path.join(dir, 'qr.svg')]);
		if (png.error?.code !== 'ENOENT') {
			assert.equal(png.status, 0, 'rsvg-convert renders the QR code');
			const z = spawnSync('zbarimg', ['-q', '--raw', path.join(dir, 'qr.png')], { encoding: 'utf8' });
			if (z.error?.code !== 'ENOENT') {
				assert.equal(z.status, 0, 'zbarimg reads the QR code');
				const uri = new URL(z.stdout.trim());
				assert.equal(uri.protocol, 'otpauth:');
				assert.equal(uri.searchParams.get('secret'), key);
				assert.equal(uri.searchParams.get('issuer'), 'DropFix');
			}
		}
		// Nothing is stored before the code confirms it.
		assert.deepEqual(sqliteQuery(srv.db, `SELECT totp_sealed IS NULL FROM accounts WHERE email = '${who.email}'`), [['1']]);
		let res = await c.submitFrom(page.body, { code: '000000' }, { action: '/account/2fa/confirm' });
		assert.equal(res.status, 422);
		assert.match(res.body, /id="f-code-error"/);
		const before = c.cookie(SESSION);
		res = await c.submitFrom(page.body, { code: totp(key, srv.clock.now()) }, { action: '/account/2fa/confirm' });
		assert.equal(res.status, 200);
		const codes = [...res.body.matchAll(/<li><code>([2-9A-Z-]{19})<\/code><\/li>/g)].map((m) => m[1]);
		assert.equal(codes.length, 10);
		assert.equal(new Set(codes).size, 10);
		assert.notEqual(c.cookie(SESSION), before, 'turning 2FA on rotates the session token');
		// A second confirmation with the same pending secret does nothing more.
		res = await c.submitFrom(page.body, { code: totp(key, srv.clock.now() + 30) }, { action: '/account/2fa/confirm' });
		assert.equal(res.status, 303);
		const [[sealed, rec]] = sqliteQuery(srv.db, `SELECT totp_sealed, recovery_codes FROM accounts WHERE email = '${who.email}'`);
		assert.match(sealed, /^s1\./);
		assert.equal(rec.split(',').length, 10);
		assert.ok(rec.split(',').every((h) => /^[0-9a-f]{64}$/.test(h)), 'recovery codes stored as SHA-256');
		srv.enrolled = { who, key, codes };
	});

	test('sign-in with 2FA: cookie changes after each step, the old one dies after the grace; replay refused', async () => {
		const { who, key } = srv.enrolled;
		const c = new Client(srv.url);
		const first = await signIn(c, who.email, who.password);
		assert.equal(first.location, '/auth/2fa');
		const stage0 = c.cookie(SESSION);
		assert.equal(await status(srv, stage0), '2fa', 'a stage-0 session reaches only the second step');
		// The code that turned 2FA on is spent.
		let res = await c.submit('/auth/2fa', { code: totp(key, srv.clock.now()) });
		assert.equal(res.status, 401);
		srv.clock.advance(30);
		const code = totp(key, srv.clock.now());
		res = await c.submit('/auth/2fa', { code });
		assert.equal(res.status, 303);
		assert.equal(res.location, '/');
		const full = c.cookie(SESSION);
		assert.notEqual(full, stage0, 'the cookie changes after the second step');
		assert.equal(await status(srv, full), 'in');
		srv.clock.advance(11); // past the 10 s grace
		assert.equal(await status(srv, stage0), 'out', 'the previous value no longer authenticates');
		assert.equal(await status(srv, full), 'in');

		// Replay: the same code in the same 30 s window, in another sign-in.
		const d = new Client(srv.url);
		const again = await signIn2fa(srv, d, who, code);
		assert.equal(again.final.status, 401);
		assert.match(mainText(again.final.body), /not right, or it was used already/);
	});

	test('a recovery code works once', async () => {
		const { who, codes } = srv.enrolled;
		const a = await signIn2fa(srv, new Client(srv.url), who, codes[0].toLowerCase().replace(/-/g, ' '));
		assert.equal(a.final.status, 303, mainText(a.final.body));
		const b = await signIn2fa(srv, new Client(srv.url), who, codes[0]);
		assert.equal(b.final.status, 401);
		const c = await signIn2fa(srv, new Client(srv.url), who, codes[1]);
		assert.equal(c.final.status, 303);
		const [[rec]] = sqliteQuery(srv.db, `SELECT recovery_codes FROM accounts WHERE email = '${who.email}'`);
		assert.equal(rec.split(',').filter((h) => h === 'used').length, 2);
	});

	test('the second step is throttled per account', async () => {
		const { who, key } = srv.enrolled;
		const c = new Client(srv.url);
		await signIn(c, who.email, who.password);
		const statuses = [];
		for (let i = 0; i < 11; i++) statuses.push((await c.submit('/auth/2fa', { code: '123456' })).status);
		assert.deepEqual(statuses, [...Array(10).fill(401), 429]);
		srv.clock.advance(30);
		const res = await c.submit('/auth/2fa', { code: totp(key, srv.clock.now()) });
		assert.equal(res.status, 429, 'even the right code waits');
		assert.match(res.headers.get('retry-after'), /^\d+$/);
		srv.clock.advance(15 * 60);
		const ok = await c.submit('/auth/2fa', { code: totp(key, srv.clock.now()) });
		assert.equal(ok.status, 303);
	});

	test('new recovery codes need the password; 2FA off needs password and code', async () => {
		const { who, key, codes } = srv.enrolled;
		srv.clock.advance(30);
		const c = new Client(srv.url);
		assert.equal((await signIn2fa(srv, c, who, totp(key, srv.clock.now()))).final.status, 303);
		let res = await c.submit('/account/2fa', { password: 'wrong password' }, { action: '/account/2fa/recovery' });
		assert.equal(res.status, 422);
		res = await c.submit('/account/2fa', { password: who.password }, { action: '/account/2fa/recovery' });
		assert.equal(res.status, 200);
		const fresh = [...res.body.matchAll(/<li><code>([2-9A-Z-]{19})<\/code><\/li>/g)].map((m) => m[1]);
		assert.equal(fresh.length, 10);
		assert.equal((await signIn2fa(srv, new Client(srv.url), who, codes[2])).final.status, 401, 'old codes stop working');

		res = await c.submit('/account/2fa', { password: who.password, code: '000000' }, { action: '/account/2fa/disable' });
		assert.equal(res.status, 422);
		res = await c.submit('/account/2fa', { password: 'not the password', code: fresh[0] }, { action: '/account/2fa/disable' });
		assert.equal(res.status, 422);
		res = await c.submit('/account/2fa', { password: who.password, code: fresh[0] }, { action: '/account/2fa/disable' });
		assert.equal(res.status, 303);
		assert.deepEqual(sqliteQuery(srv.db, `SELECT totp_sealed IS NULL, recovery_codes IS NULL FROM accounts WHERE email = '${who.email}'`), [['1', '1']]);
		assert.equal((await signIn(new Client(srv.url), who.email, who.password)).location, '/');
		await waitMail(srv.dataDir, who.email, { seen: srv.seen, pred: (m) => /two-factor authentication is off/i.test(m.subject) });
	});

	test('idle and absolute session expiry', async () => {
		const who = await newUser(srv);
		const idle = await signedIn(srv, who);
		const cookie = idle.cookie(SESSION);
		srv.clock.advance(11 * HOUR);
		assert.equal(await status(srv, cookie), 'in', 'used within 12 hours');
		srv.clock.advance(12 * HOUR + 60);
		assert.equal(await status(srv, cookie), 'out', 'idle for more than 12 hours');

		const busy = await signedIn(srv, who);
		let elapsed = 0;
		while (elapsed + 11 * HOUR < 14 * 24 * HOUR) {
			srv.clock.advance(11 * HOUR);
			elapsed += 11 * HOUR;
			const res = await busy.get('/account'); // follows rotation (new Set-Cookie)
			assert.equal(res.status, 200, `after ${elapsed / HOUR} h`);
		}
		srv.clock.advance(14 * 24 * HOUR - elapsed + 60);
		assert.equal((await busy.get('/account')).status, 303, 'past the 14-day absolute lifetime');
	});

	test('sessions page: revoke one; sign out everywhere also ends grace tokens', async () => {
		const who = await newUser(srv);
		const a = await signedIn(srv, who);
		const b = await signedIn(srv, who);
		const page = await a.get('/account/sessions');
		assert.equal(page.status, 200);
		assert.equal([...page.body.matchAll(/action="\/account\/sessions\/\d+\/revoke"/g)].length, 2);
		assert.match(page.body, /\(this browser\)/);

		// B's token rotates (15 minutes later); its old value is in the grace period.
		srv.clock.advance(16 * 60);
		const b1 = b.cookie(SESSION);
		assert.equal((await b.get('/account')).status, 200);
		const b2 = b.cookie(SESSION);
		assert.notEqual(b2, b1, 'periodic rotation');
		assert.equal(await status(srv, b1), 'in', 'the old value works during the grace');

		const res = await a.submit('/account/sessions', {}, { action: '/account/sessions/revoke-all' });
		assert.equal(res.status, 303);
		assert.equal(res.location, '/auth/login?m=signedout');
		for (const [name, v] of [['a', a.cookie(SESSION)], ['b current', b2], ['b grace', b1]])
			assert.equal(await status(srv, v), 'out', name);
		assert.equal(a.cookie(SESSION), undefined);

		// Revoking one session from the list.
		const c = await signedIn(srv, who);
		const d = await signedIn(srv, who);
		const list = await c.get('/account/sessions');
		const rows = [...list.body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => m[1]).filter((r) => /revoke/.test(r));
		assert.equal(rows.length, 2);
		const actionOf = (row) => row.match(/action="(\/account\/sessions\/\d+\/revoke)"/)[1];
		const mine = rows.find((r) => /\(this browser\)/.test(r));
		const other = rows.find((r) => r !== mine);
		let r = await c.submitFrom(list.body, {}, { action: actionOf(other) });
		assert.equal(r.status, 303);
		assert.equal(r.location, '/account/sessions?m=revoked');
		assert.equal(await status(srv, d.cookie(SESSION)), 'out');
		assert.equal(await status(srv, c.cookie(SESSION)), 'in');
		// Revoking this browser's own session signs it out.
		r = await c.submitFrom(list.body, {}, { action: actionOf(mine) });
		assert.equal(r.location, '/auth/login?m=signedout');
		assert.equal(c.cookie(SESSION), undefined);
	});

	test('password change needs the current one and ends the other sessions and reset links', async () => {
		const who = await newUser(srv);
		const a = await signedIn(srv, who);
		const b = await signedIn(srv, who);
		await new Client(srv.url).submit('/auth/reset', { email: who.email });
		const link = linkPath(await waitMail(srv.dataDir, who.email, { seen: srv.seen, pred: (m) => /reset/i.test(m.subject) }), srv.url, '/auth/reset/confirm?token=');
		let res = await a.submit('/account/password', { current_password: 'not it at all', new_password: 'a new password here' });
		assert.equal(res.status, 422);
		assert.match(res.body, /id="f-current_password-error"/);
		assert.doesNotMatch(res.body, /a new password here/);
		res = await a.submit('/account/password', { current_password: who.password, new_password: 'short' });
		assert.equal(res.status, 422);
		res = await a.submit('/account/password', { current_password: who.password, new_password: 'a new password here' });
		assert.equal(res.status, 303);
		assert.equal(await status(srv, a.cookie(SESSION)), 'in', 'this session stays');
		assert.equal(await status(srv, b.cookie(SESSION)), 'out', 'the others end');
		assert.equal((await new Client(srv.url).get(link)).status, 410, 'outstanding reset links end');
		assert.equal((await signIn(new Client(srv.url), who.email, who.password)).status, 401);
		assert.equal((await signIn(new Client(srv.url), who.email, 'a new password here')).status, 303);
	});

	test('e-mail change: the new address confirms by link, the old one is told', async () => {
		const who = await newUser(srv);
		const a = await signedIn(srv, who);
		const taken = (await newUser(srv)).email;
		let res = await a.submit('/account/email', { email: 'new@', password: who.password });
		assert.equal(res.status, 422);
		assert.match(res.body, /value="new@"/);
		res = await a.submit('/account/email', { email: 'fresh@example.test', password: 'wrong password' });
		assert.equal(res.status, 422);
		// A taken address and a free one get the same page.
		const r1 = await a.submit('/account/email', { email: taken, password: who.password });
		const r2 = await a.submit('/account/email', { email: 'Fresh@Example.test', password: who.password });
		assert.equal(r1.status, 200);
		assert.equal(mainText(r1.body).replace(taken, 'X'), mainText(r2.body).replace('fresh@example.test', 'X'));
		const mail = await waitMail(srv.dataDir, 'fresh@example.test', { seen: srv.seen });
		const link = linkPath(mail, srv.url, '/auth/verify?token=');
		assert.equal((await signIn(new Client(srv.url), 'fresh@example.test', who.password)).status, 401, 'not before the link');
		res = await a.submit(link, {});
		assert.equal(res.status, 303);
		assert.equal(res.location, '/account?m=email');
		await waitMail(srv.dataDir, who.email, { seen: srv.seen, pred: (m) => /e-mail address was changed/i.test(m.subject) });
		assert.equal((await signIn(new Client(srv.url), who.email, who.password)).status, 401);
		assert.equal((await signIn(new Client(srv.url), 'fresh@example.test', who.password)).status, 303);
		assert.equal((await outbox(srv.dataDir)).filter((m) => m.to.includes(taken) && /confirm|verify/i.test(m.subject) && /new/i.test(m.subject)).length, 0);
	});

	test('the TOTP seed appears nowhere: database, WAL, logs, outbox', async () => {
		const { key } = srv.enrolled;
		const raw = base32Decode(key);
		assert.equal(raw.length, 20);
		const needles = [
			Buffer.from(key), Buffer.from(key.toLowerCase()), Buffer.from(key.replace(/(.{4})(?=.)/g, '$1 ')), raw,
			Buffer.from(raw.toString('hex')), Buffer.from(raw.toString('hex').toUpperCase()), Buffer.from(raw.toString('base64')),
		];
		const files = [srv.db, `${srv.db}-wal`, ...fs.readdirSync(path.join(srv.dataDir, 'outbox')).map((n) => path.join(srv.dataDir, 'outbox', n))];
		const haystacks = files.filter((f) => fs.existsSync(f)).map((f) => [f, fs.readFileSync(f)]);
		haystacks.push(['server output', Buffer.from(srv.logs())]);
		assert.ok(haystacks.length >= 3);
		for (const [name, hay] of haystacks)
			for (const n of needles) assert.equal(hay.indexOf(n), -1, `the seed (${n.length} bytes) is in ${name}`);
	});
});

describe('the core account flow on PostgreSQL', { skip: PG_SKIP }, () => {
	let srv, db;
	before(async () => {
		db = await pgDatabase('dfx_auth');
		srv = await start({ DROPFIX_DATABASE_URL: db.url });
	});
	after(async () => {
		await stop(srv);
		db?.drop();
	});

	test('sign-up, verify, sign-in, 2FA with replay refused and a recovery code once, reset single use', async () => {
		const who = { name: 'Pat', email: 'pat@example.test', password: 'pat password 123', product: 'Pat App' };
		await signUpVerified(srv, who, { seen: srv.seen });
		assert.match(db.query("SELECT password_hash FROM accounts WHERE email = 'pat@example.test'")[0][0], /^\$argon2id\$/);
		const c = await signedIn(srv, who);
		assert.match((await c.get('/')).location, /^\/w\/\d+\/$/);
		const { key, codes } = await enrol(srv, c);
		assert.match(db.query("SELECT totp_sealed FROM accounts WHERE email = 'pat@example.test'")[0][0], /^s1\./);
		const code = totp(key, srv.clock.now());
		assert.equal((await signIn2fa(srv, new Client(srv.url), who, code)).final.status, 401, 'replay');
		srv.clock.advance(30);
		const s = await signIn2fa(srv, new Client(srv.url), who, totp(key, srv.clock.now()));
		assert.equal(s.final.status, 303);
		assert.notEqual(s.final.cookies[SESSION], s.first.cookies[SESSION]);
		assert.equal((await signIn2fa(srv, new Client(srv.url), who, codes[5])).final.status, 303);
		assert.equal((await signIn2fa(srv, new Client(srv.url), who, codes[5])).final.status, 401);

		await new Client(srv.url).submit('/auth/reset', { email: who.email });
		const link = linkPath(await waitMail(srv.dataDir, who.email, { seen: srv.seen, pred: (m) => /reset/i.test(m.subject) }), srv.url, '/auth/reset/confirm?token=');
		const r = new Client(srv.url);
		const page = await r.get(link);
		assert.equal((await r.submitFrom(page.body, { password: 'pat new password' })).status, 303);
		assert.equal((await r.submitFrom(page.body, { password: 'pat other password' })).status, 410);
		assert.equal(await status(srv, c.cookie(SESSION)), 'out');
		// The reset did not skip 2FA.
		srv.clock.advance(30);
		const after = await signIn(new Client(srv.url), who.email, 'pat new password');
		assert.equal(after.location, '/auth/2fa');
		const failed = db.query("SELECT count(*) FROM install_audit WHERE action = 'auth.signin_failed'")[0][0];
		assert.ok(Number(failed) >= 2);
	});
});

describe('the setup token on PostgreSQL', { skip: PG_SKIP }, () => {
	test('concurrent first sign-ups with the one setup token: exactly one account', async () => {
		const db = await pgDatabase('dfx_setup');
		const srv = await start({ DROPFIX_DATABASE_URL: db.url, DROPFIX_SIGNUP: 'first' });
		try {
			await waitLog(srv, /setup token: /);
			const token = setupToken(srv.logs());
			const clients = [];
			for (let i = 0; i < 6; i++) {
				const c = new Client(srv.url);
				clients.push([c, (await c.get('/auth/signup')).body, i]);
			}
			const res = await Promise.all(clients.map(([c, body, i]) =>
				c.submitFrom(body, { name: `Founder ${i}`, email: `founder${i}@example.test`, password: 'founder password', product: 'P', setup: token })));
			const statuses = res.map((r) => r.status).sort();
			assert.equal(statuses.filter((st) => st === 200).length, 1, JSON.stringify(statuses));
			assert.ok(statuses.every((st) => st === 200 || st === 422 || st === 403), JSON.stringify(statuses));
			assert.deepEqual(db.query('SELECT count(*) FROM accounts'), [['1']]);
			assert.deepEqual(db.query("SELECT count(*) FROM installation_meta WHERE key = 'setup_token_sha256'"), [['0']]);
		} finally {
			await stop(srv);
			db.drop();
		}
	});
});
