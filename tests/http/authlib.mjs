// Helpers for the account tests (auth.test.mjs, account.test.mjs): a cookie-keeping
// client that fills forms the way a browser does (CSRF token from the page, Origin of
// the site), the development outbox, the fake clock, oathtool codes, and a PostgreSQL
// database per test when the harness provides the cluster.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

import { runBin, tmpDir } from './lib.mjs';

const require = createRequire(import.meta.url);

// ---- a browser-like client ----

export class Client {
	constructor(baseURL) {
		this.base = baseURL;
		this.jar = new Map();
		this.userAgent = `node-test-${Math.random().toString(36).slice(2, 8)}`;
	}

	cookie(name) {
		return this.jar.get(name);
	}

	setCookie(name, value) {
		if (value === undefined) this.jar.delete(name);
		else this.jar.set(name, value);
	}

	// One request without following redirects: {status, headers, body, location, cookies}
	// (cookies: the Set-Cookie name=value pairs of this response).
	async request(method, urlPath, { form, headers = {}, origin = true } = {}) {
		const h = { 'User-Agent': this.userAgent, Accept: 'text/html', ...headers };
		if (this.jar.size) h.Cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
		let body;
		if (form) {
			body = new URLSearchParams(form).toString();
			h['Content-Type'] = 'application/x-www-form-urlencoded';
		}
		if (method !== 'GET' && origin) h.Origin = origin === true ? this.base : origin;
		const res = await fetch(this.base + urlPath, { method, headers: h, body, redirect: 'manual' });
		const cookies = {};
		for (const sc of res.headers.getSetCookie()) {
			const [pair, ...attrs] = sc.split(';');
			const i = pair.indexOf('=');
			const name = pair.slice(0, i).trim();
			const value = pair.slice(i + 1).trim();
			cookies[name] = value;
			const maxAge = attrs.map((a) => a.trim()).find((a) => /^max-age=/i.test(a));
			if (maxAge && Number(maxAge.split('=')[1]) <= 0) this.jar.delete(name);
			else this.jar.set(name, value);
		}
		const text = await res.text();
		return {
			status: res.status,
			headers: res.headers,
			body: text,
			location: res.headers.get('location'),
			cookies,
		};
	}

	get(urlPath, opts) {
		return this.request('GET', urlPath, opts);
	}

	// GETs pagePath, then POSTs its form (the one whose action is `action`, default the
	// first POST form) with the page's hidden fields (CSRF token included) plus fields.
	async submit(pagePath, fields, { action } = {}) {
		const page = await this.get(pagePath);
		if (page.status !== 200) throw new Error(`GET ${pagePath} answered ${page.status}:\n${page.body.slice(0, 400)}`);
		return this.submitFrom(page.body, fields, { action });
	}

	async submitFrom(html, fields, { action } = {}) {
		const form = findForm(html, action);
		if (!form) throw new Error(`no form ${action || ''} in:\n${html.slice(0, 2000)}`);
		return this.request('POST', form.action, { form: { ...form.hidden, ...fields } });
	}
}

// The POST form with this action (anywhere on the page), or the first one in main:
// {action, hidden}.
export function findForm(html, action) {
	const main = action ? html : html.slice(Math.max(0, html.indexOf('<main')));
	const re = /<form method="post" action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g;
	for (let m; (m = re.exec(main)); ) {
		const act = unescapeHtml(m[1]);
		if (action && act !== action) continue;
		const hidden = {};
		for (const h of m[2].matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) hidden[h[1]] = unescapeHtml(h[2]);
		return { action: act, hidden };
	}
	return null;
}

export function unescapeHtml(s) {
	return s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

// The text of <main> without tags, for comparing pages.
export function mainText(html) {
	const m = html.match(/<main[^>]*>([\s\S]*)<\/main>/);
	return unescapeHtml((m ? m[1] : html).replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim());
}

// ---- outbox ----

export async function outbox(dataDir) {
	const { simpleParser } = require('mailparser');
	const dir = path.join(dataDir, 'outbox');
	if (!fs.existsSync(dir)) return [];
	const names = fs.readdirSync(dir).filter((n) => /^\d{13}-\d{4,}\.eml$/.test(n)).sort();
	const out = [];
	for (const name of names) {
		const raw = fs.readFileSync(path.join(dir, name));
		const m = await simpleParser(raw);
		out.push({
			file: name,
			raw: raw.toString('latin1'),
			to: (m.to?.value || []).map((a) => a.address.toLowerCase()),
			subject: m.subject || '',
			text: m.text || '',
		});
	}
	return out;
}

// Waits for a message to `to` matching pred that is not in seen (a Set, updated).
export async function waitMail(dataDir, to, { pred = () => true, seen = new Set(), timeoutMs = 10000 } = {}) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		for (const m of await outbox(dataDir)) {
			if (seen.has(m.file) || !m.to.includes(to.toLowerCase()) || !pred(m)) continue;
			seen.add(m.file);
			return m;
		}
		if (Date.now() > deadline) {
			const all = (await outbox(dataDir)).map((m) => `${m.file} to ${m.to} "${m.subject}"`);
			throw new Error(`no mail to ${to} within ${timeoutMs} ms; outbox:\n  ${all.join('\n  ')}`);
		}
		await new Promise((r) => setTimeout(r, 50));
	}
}

// The path + query of the first link in the mail under base + prefix.
export function linkPath(mail, base, prefix) {
	const urls = mail.text.match(/https?:\/\/[^\s"'<>]+/g) || [];
	const hit = urls.find((u) => u.startsWith(base + prefix));
	if (!hit) throw new Error(`no ${base}${prefix}… link in "${mail.subject}":\n${mail.text}`);
	return hit.slice(base.length);
}

// ---- fake clock (DROPFIX_TEST_CLOCK_FILE, Unix seconds) ----

export function fakeClock(dir, start = Math.floor(Date.now() / 1000)) {
	const file = path.join(dir, 'clock');
	let now = start;
	const write = () => fs.writeFileSync(file, `${now}\n`);
	write();
	return {
		file,
		now: () => now,
		advance(s) {
			now += s;
			write();
		},
	};
}

// A TOTP code from oathtool for a base32 key at Unix time t.
export function totp(key, t) {
	const r = spawnSync('oathtool', ['--totp', '--base32', '--now', `@${t}`, key.replace(/\s+/g, '')], { encoding: 'utf8' });
	if (r.status !== 0) throw new Error(`oathtool failed: ${r.stderr}`);
	return r.stdout.trim();
}

// ---- PostgreSQL (tests/lib/pg.sh exports the cluster) ----

export const PG = Boolean(process.env.DROPFIX_TEST_PG_PORT && process.env.DROPFIX_TEST_PG_ADMIN_URL);
export const PG_SKIP = PG ? false : 'PostgreSQL test cluster not available (tests/lib/pg.sh; `make test` starts it)';
const pgBin = (name) => path.join(process.env.DROPFIX_TEST_PG_BIN || '/usr/lib/postgresql/15/bin', name);
let dbSeq = 0;

// A fresh database migrated as the owner; url is the app role's. drop() removes it.
export async function pgDatabase(prefix) {
	const name = `${prefix}_${process.pid}_${++dbSeq}`;
	const port = process.env.DROPFIX_TEST_PG_PORT;
	const owner = process.env.DROPFIX_TEST_PG_OWNER || 'dropfix_owner';
	execFileSync(pgBin('psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', process.env.DROPFIX_TEST_PG_ADMIN_URL, '-c', `CREATE DATABASE ${name} OWNER ${owner}`]);
	const url = (role, pw) => `postgres://${role}:${pw}@127.0.0.1:${port}/${name}`;
	const ownerUrl = url(owner, process.env.DROPFIX_TEST_PG_OWNER_PASSWORD || '');
	const appUrl = url(process.env.DROPFIX_TEST_PG_APP || 'dropfix_app', process.env.DROPFIX_TEST_PG_APP_PASSWORD || '');
	const m = await runBin(['migrate'], { env: { DROPFIX_DATABASE_URL: appUrl, DROPFIX_DATABASE_OWNER_URL: ownerUrl, DROPFIX_DATA_DIR: tmpDir('dropfix-auth-') } });
	if (m.code !== 0) throw new Error(`dropfix migrate failed (${m.code}):\n${m.stdout}${m.stderr}`);
	const adminUrl = process.env.DROPFIX_TEST_PG_ADMIN_URL.replace(/\/[^/?]*(\?|$)/, `/${name}$1`);
	return {
		url: appUrl,
		// Runs SQL as the superuser on this database; rows as arrays of strings.
		query(sql) {
			const out = execFileSync(pgBin('psql'), ['-X', '-q', '-A', '-t', '-F', '\t', adminUrl, '-c', sql], { encoding: 'utf8' });
			return out.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
		},
		drop() {
			try {
				execFileSync(pgBin('psql'), ['-X', '-q', process.env.DROPFIX_TEST_PG_ADMIN_URL, '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
			} catch { /* the cluster goes away with the run */ }
		},
	};
}

// Runs SQL on a SQLite database file with the sqlite3 CLI; rows as arrays of strings.
export function sqliteQuery(file, sql) {
	const out = execFileSync('sqlite3', ['-readonly', '-separator', '\t', file, sql], { encoding: 'utf8' });
	return out.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}

// The setup token `serve` printed, from its output.
export function setupToken(logs) {
	const m = logs.match(/setup token: ([A-Za-z0-9_-]{43})/);
	return m ? m[1] : null;
}

// Waits until the server's output matches re (the setup token is printed before listening).
export async function waitLog(srv, re, timeoutMs = 5000) {
	const deadline = Date.now() + timeoutMs;
	while (!re.test(srv.logs())) {
		if (Date.now() > deadline) throw new Error(`no ${re} in the server output:\n${srv.logs()}`);
		await new Promise((r) => setTimeout(r, 20));
	}
}

// ---- flows ----

// Signs up (with the setup token when given) and follows the verification link.
// Returns the POST /auth/signup response.
export async function signUpVerified(srv, who, { setup, seen = new Set(), client = new Client(srv.url) } = {}) {
	const fields = { name: who.name, email: who.email, password: who.password, product: who.product || 'Acme' };
	if (setup) fields.setup = setup;
	const res = await client.submit('/auth/signup', fields);
	if (res.status !== 200) throw new Error(`sign-up answered ${res.status}:\n${mainText(res.body)}`);
	const mail = await waitMail(srv.dataDir, who.email, { seen, pred: (m) => /verify/i.test(m.subject) });
	const link = linkPath(mail, srv.url, '/auth/verify?token=');
	const done = await client.submit(link, {});
	if (done.status !== 303 || done.location !== '/auth/login?m=verified')
		throw new Error(`verification answered ${done.status} ${done.location}:\n${mainText(done.body)}`);
	return res;
}

// Signs in with the password step; returns the POST response.
export async function signIn(client, email, password, next) {
	const page = next ? `/auth/login?next=${encodeURIComponent(next)}` : '/auth/login';
	return client.submit(page, { email, password });
}
