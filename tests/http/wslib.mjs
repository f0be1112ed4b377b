// Helpers shared by the workspace, team, operator and route-walk tests: an installation
// (SQLite, or a fresh PostgreSQL database from tests/lib/pg.sh) with the operator CLI,
// a server, signed-in sessions from the test-build hook POST /__test/session, and form
// posts with redirects left visible.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { flushIngest, runBin, startServer, tmpDir } from './lib.mjs';

export const PG = Boolean(process.env.DROPFIX_TEST_PG_PORT && process.env.DROPFIX_TEST_PG_ADMIN_URL);
export const PG_SKIP = PG
	? false
	: 'PostgreSQL test cluster not available (DROPFIX_TEST_PG_PORT / DROPFIX_TEST_PG_ADMIN_URL come from tests/lib/pg.sh; `make test` starts it)';

const pgBin = (name) => path.join(process.env.DROPFIX_TEST_PG_BIN || '/usr/lib/postgresql/15/bin', name);
let dbSeq = 0;

// Fake clock file (src/core/clock.h): Unix seconds with a fraction.
export function setClock(file, ms) {
	fs.writeFileSync(file, `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')}\n`);
}

// A fresh installation: {env, clockFile, now(), advance(ms), cli(args, input), drop()}.
// pg: a new PostgreSQL database migrated as the owner role, used as the app role.
export async function installation({ pg = false, clock = true, env: extra = {} } = {}) {
	const dir = tmpDir('dropfix-ws-');
	const env = { DROPFIX_DATA_DIR: dir, DROPFIX_LOG_LEVEL: 'warn', ...extra };
	let drop = () => {};
	if (pg) {
		const name = `dfx_ws_${process.pid}_${++dbSeq}`;
		const port = process.env.DROPFIX_TEST_PG_PORT;
		const owner = process.env.DROPFIX_TEST_PG_OWNER || 'dropfix_owner';
		execFileSync(pgBin('psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', process.env.DROPFIX_TEST_PG_ADMIN_URL, '-c', `CREATE DATABASE ${name} OWNER ${owner}`]);
		const url = (role, pw) => `postgres://${role}:${pw}@127.0.0.1:${port}/${name}`;
		env.DROPFIX_DATABASE_URL = url(process.env.DROPFIX_TEST_PG_APP || 'dropfix_app', process.env.DROPFIX_TEST_PG_APP_PASSWORD || '');
		fs.writeFileSync(path.join(dir, 'master.key'), `1 ${crypto.randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
		const m = await runBin(['migrate'], { env: { ...env, DROPFIX_DATABASE_OWNER_URL: url(owner, process.env.DROPFIX_TEST_PG_OWNER_PASSWORD || '') } });
		if (m.code !== 0) throw new Error(`dropfix migrate failed (${m.code}):\n${m.stdout}${m.stderr}`);
		drop = () => {
			try {
				execFileSync(pgBin('psql'), ['-X', '-q', process.env.DROPFIX_TEST_PG_ADMIN_URL, '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
			} catch { /* the cluster goes away with the run anyway */ }
		};
	}
	let nowMs = Date.UTC(2026, 10, 2, 9, 0, 0);
	const clockFile = path.join(dir, 'clock');
	if (clock) {
		setClock(clockFile, nowMs);
		env.DROPFIX_TEST_CLOCK_FILE = clockFile;
	}
	const inst = {
		dir,
		env,
		db: path.join(dir, 'dropfix.db'),
		now: () => nowMs,
		advance(ms) {
			nowMs += ms;
			setClock(clockFile, nowMs);
		},
		cli: (args, input) => runBin(args, { env, input }),
		async ok(args, input) {
			const r = await runBin(args, { env, input });
			if (r.code !== 0) throw new Error(`dropfix ${args.join(' ')} exited ${r.code}:\n${r.stdout}${r.stderr}`);
			return r.stdout;
		},
		drop,
	};
	return inst;
}

// `dropfix account create`; resolves the account id.
export async function account(inst, email, name = email.split('@')[0], password = 'a long enough password') {
	const out = await inst.ok(['account', 'create', '--email', email, '--name', name], password);
	return JSON.parse(out).id;
}

// `dropfix workspace create`; resolves {id, public_key, secret_key}.
export async function workspace(inst, owner, name, extra = []) {
	const out = await inst.ok(['workspace', 'create', '--owner', owner, '--name', name, ...extra]);
	return JSON.parse(out);
}

export async function serve(inst) {
	return startServer({ env: inst.env });
}

// Fills ws ({id, secret_key}) with `dropfix simulate` posting through the server's real
// /v1/batch; args are the simulation's own (['--users', '21', '--days', '10', '--seed',
// '5']). Throws with the output when the simulation fails.
export async function simulateVia(inst, srv, ws, args) {
	const r = await runBin(['simulate', '--workspace', String(ws.id), ...args, '--via-http', srv.url], {
		env: { ...inst.env, DROPFIX_SIMULATE_KEY: ws.secret_key },
	});
	if (r.code !== 0) throw new Error(`simulate exited ${r.code}:\n${r.stdout}${r.stderr}`);
	await flushIngest(srv); // the aggregates follow the last 200 by a few ms
}

// Headers and body of a request with a cookie, a form (urlencoded) or JSON: {headers, body}.
export function requestInit({ cookie, form, json, headers = {} } = {}) {
	const h = { ...headers };
	if (cookie) h.cookie = cookie;
	let body;
	if (form) {
		h['content-type'] = 'application/x-www-form-urlencoded';
		body = new URLSearchParams(form).toString();
	} else if (json !== undefined) {
		h['content-type'] = 'application/json';
		body = JSON.stringify(json);
	}
	return { headers: h, body };
}

// POSTs events to the server's /v1/batch with a secret key (Bearer) and asserts the 200.
export async function postBatch(srv, key, batch) {
	const res = await fetch(srv.url + '/v1/batch', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ batch }) });
	assert.equal(res.status, 200, await res.text());
	await flushIngest(srv); // the aggregates follow the 200 by a few ms
}

// A client for one server: requests keep redirects visible (redirect: 'manual').
export function client(srv) {
	async function request(method, p, opts = {}) {
		const { headers: h, body } = requestInit(opts);
		const res = await fetch(srv.url + p, { method, headers: h, body, redirect: 'manual' });
		const text = await res.text();
		return { status: res.status, headers: res.headers, text, location: res.headers.get('location'), setCookie: res.headers.getSetCookie() };
	}
	const c = {
		request,
		get: (p, o) => request('GET', p, o),
		post: (p, form, o = {}) => request('POST', p, { ...o, form }),
		// A fully signed-in session (test hook): {cookie, csrf, id}.
		async session(email) {
			const r = await request('POST', '/__test/session', { json: { email } });
			if (r.status !== 200) throw new Error(`session for ${email}: ${r.status} ${r.text}`);
			const j = JSON.parse(r.text);
			return { cookie: j.cookie, csrf: j.csrf, id: j.account_id };
		},
		async set2fa(email, on) {
			const r = await request('POST', '/__test/2fa', { json: { email, on } });
			if (r.status !== 200) throw new Error(`2fa for ${email}: ${r.status} ${r.text}`);
		},
		async keycheck(key) {
			const r = await request('POST', '/__test/keycheck', { json: { key } });
			return r.status === 200 ? JSON.parse(r.text) : null;
		},
		async rows(ws) {
			const r = await request('GET', `/__test/ws-rows/${ws}`);
			if (r.status !== 200) throw new Error(`ws-rows: ${r.status} ${r.text}`);
			return JSON.parse(r.text);
		},
		// POST a form as a signed-in user (the CSRF token added).
		as: (s) => ({
			get: (p, o = {}) => request('GET', p, { ...o, cookie: s.cookie }),
			post: (p, form = {}, o = {}) => request('POST', p, { ...o, cookie: s.cookie, form: { _csrf: s.csrf, ...form } }),
		}),
	};
	return c;
}

// Text of the HTML <main> element with tags removed and entities decoded (roughly).
export function mainText(html) {
	const m = html.match(/<main[^>]*>([\s\S]*?)<\/main>/);
	return (m ? m[1] : html)
		.replace(/<[^>]+>/g, ' ')
		.replace(/&quot;/g, '"')
		.replace(/&#39;/g, "'")
		.replace(/&lt;/g, '<')
		.replace(/&gt;/g, '>')
		.replace(/&amp;/g, '&')
		.replace(/\s+/g, ' ')
		.trim();
}

// Rows of the workspace (or installation) audit log, newest first, as JSON objects.
export async function auditRows(inst, ws) {
	const out = await inst.ok(['audit', 'list', '--json', '--limit', '1000', ...(ws ? ['--workspace', String(ws)] : [])]);
	return out.split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

// The newest invitation mail to `to` that was not seen before; resolves the token.
export async function inviteToken(inst, srv, to, seen) {
	const { waitForMail, linkIn } = await import('../e2e/mail.mjs');
	const mail = await waitForMail(inst.dir, { to, seen, pred: (m) => /invit/i.test(m.subject) });
	const link = linkIn(mail, srv.url, '/auth/invite/');
	return link.slice(link.lastIndexOf('/') + 1);
}

// Owner session `by` invites `email` as `role` into ws; the account accepts through
// the real pages. Resolves the member's session.
export async function join(inst, srv, c, by, ws, email, role, seen = new Set()) {
	const r = await c.as(by).post(`/w/${ws}/settings/team/invite`, { email, role });
	if (r.status !== 303) throw new Error(`invite ${email}: ${r.status}\n${mainText(r.text)}`);
	const token = await inviteToken(inst, srv, email, seen);
	const s = await c.session(email);
	const a = await c.as(s).post(`/auth/invite/${token}`);
	if (a.status !== 303) throw new Error(`accept ${email}: ${a.status}\n${mainText(a.text)}`);
	return s;
}
