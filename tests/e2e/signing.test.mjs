// Signed identify from a real browser (issue 5 item 5): the script tag of a workspace that
// requires signing, identify() with a hash computed by "the founder's server" (here Node),
// then a track() call: the traits are stored, the e-mail verified and sealed, and the event
// attributed through the anonymous id the signed identify linked. A replay of that hash
// with another plan is refused and changes nothing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';

import { browserOptions, launchBrowser, servedWorkspace, sleep } from './lib.mjs';
import { client } from '../http/wslib.mjs';

function sign(sk, userId, signedAt, { email = '', plan = '', mrr = null, trial_ends = '' } = {}) {
	const msg = ['v1', userId, signedAt, email, plan, mrr === null ? '' : mrr, trial_ends].join('\n');
	return crypto.createHmac('sha256', sk).update(msg, 'utf8').digest('hex');
}

const q = (db, sql) => {
	const out = execFileSync('sqlite3', ['-json', db, sql]).toString().trim();
	return out ? JSON.parse(out) : [];
};

async function until(fn, what, ms = 10000) {
	const end = Date.now() + ms;
	for (;;) {
		const v = fn();
		if (v) return v;
		if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
		await sleep(100);
	}
}

describe('signed identify in the browser', browserOptions(), () => {
	let inst, srv, ws, browser, app;
	before(async () => {
		({ inst, ws, srv } = await servedWorkspace('owner@example.test', 'Browser signing'));
		const c = client(srv);
		const owner = await c.session('owner@example.test');
		const r = await c.as(owner).post(`/w/${ws.id}/settings/keys/signing`, { require_signed_identify: 'on' });
		assert.equal(r.status, 200);
		app = http.createServer((req, res) => {
			res.writeHead(200, { 'content-type': 'text/html' });
			res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>App</title>
<script src="${srv.url}/sdk/dropfix.js" data-key="${ws.public_key}" data-flush-interval="200" defer></script>
</head><body><main><p>app</p></main></body></html>`);
		});
		await new Promise((r2) => app.listen(0, '127.0.0.1', r2));
		browser = await launchBrowser();
	});
	after(async () => {
		await browser?.close();
		await new Promise((r) => (app ? app.close(r) : r()));
		await srv?.stop();
		inst?.drop();
	});

	test('a signed identify() sets verified traits; later events are attributed through the anonymous id', async () => {
		const context = await browser.newContext();
		const page = await context.newPage();
		try {
			await page.goto(`http://localhost:${app.address().port}/`);
			await page.waitForFunction(() => window.DropFix && typeof window.DropFix.identify === 'function');
			const at = Math.floor(Date.now() / 1000);
			const traits = { email: 'Browser.Signed@example.net', plan: 'pro', mrr: 1200 };
			const hash = sign(ws.secret_key, 'u-browser', at, traits);
			await page.evaluate(([t, h, a]) => {
				window.DropFix.identify('u-browser', { ...t, name: 'Bea Browserperson', dropfix_hash: h, dropfix_signed_at: a });
				window.DropFix.track('After sign-in');
			}, [traits, hash, at]);
			const u = await until(() => q(inst.db, `SELECT traits, email_verified FROM tracked_users WHERE workspace_id = ${ws.id} AND user_id = 'u-browser'`)[0], 'the tracked user');
			assert.equal(JSON.parse(u.traits).plan, 'pro');
			assert.equal(u.email_verified, 1);
			const ev = await until(() => q(inst.db, `SELECT user_id FROM events WHERE workspace_id = ${ws.id} AND type = 'track' AND name = 'After sign-in'`)[0], 'the track event');
			assert.equal(ev.user_id, 'u-browser');
			// the same hash replayed with another plan (a tampered page) is refused
			await page.evaluate(([t, h, a]) => {
				window.DropFix.identify('u-browser', { ...t, plan: 'enterprise', dropfix_hash: h, dropfix_signed_at: a });
				window.DropFix.track('After replay');
			}, [traits, hash, at]);
			// the batch holding the replay was processed (its track event is stored, attributed) ...
			const ev2 = await until(() => q(inst.db, `SELECT user_id FROM events WHERE workspace_id = ${ws.id} AND type = 'track' AND name = 'After replay'`)[0], 'the event after the replay');
			assert.equal(ev2.user_id, 'u-browser');
			// ... and its identify was dropped: one identify stored, plan unchanged
			assert.equal(q(inst.db, `SELECT count(*) AS n FROM events WHERE workspace_id = ${ws.id} AND type = 'identify'`)[0].n, 1);
			assert.equal(JSON.parse(q(inst.db, `SELECT traits FROM tracked_users WHERE workspace_id = ${ws.id} AND user_id = 'u-browser'`)[0].traits).plan, 'pro');
			for (const f of [inst.db, `${inst.db}-wal`]) {
				if (!fs.existsSync(f)) continue;
				const bytes = fs.readFileSync(f).toString('latin1').toLowerCase();
				assert.ok(!bytes.includes('browser.signed') && !bytes.includes('browserperson'), f);
			}
		} finally {
			await context.close();
		}
	});
});
