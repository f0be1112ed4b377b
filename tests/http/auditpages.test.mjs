// The workspace audit log in the dashboard (SQLite, test build): owners and admins see the
// workspace's rows newest first, filter them (action prefix, UTC dates, actor), page
// through them and export them as CSV (spreadsheet formulas neutralised) or JSON lines;
// members and viewers get 403, non-members 404; bad filter values are field errors (400),
// never a 500; markup in stored rows comes out as text.
// Rows come from real actions (invitations, a settings change) and from the test-build
// CLI hook `dropfix audit test-append`.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { account, client, installation, join, mainText, serve, workspace } from './wslib.mjs';

const DAY = 24 * 3600 * 1000;
const XSS = '<script>alert(1)</script>';

// Fields of one CSV line (RFC 4180 quoting; no line breaks inside fields here).
function parseCsvLine(line) {
	const out = [];
	let i = 0;
	while (i <= line.length) {
		if (line[i] === '"') {
			let v = '';
			i++;
			for (;;) {
				const j = line.indexOf('"', i);
				if (j < 0) throw new Error(`unterminated quote in ${line}`);
				v += line.slice(i, j);
				if (line[j + 1] === '"') {
					v += '"';
					i = j + 2;
				} else {
					i = j + 1;
					break;
				}
			}
			out.push(v);
			i++; // the comma
		} else {
			const j = line.indexOf(',', i);
			const end = j < 0 ? line.length : j;
			out.push(line.slice(i, end));
			i = end + 1;
		}
	}
	return out;
}

describe('workspace audit log pages on SQLite', () => {
	let inst, srv, c, ws, owner, admin, member, viewer, stranger, adminId;
	const page = (s, qs = '') => c.as(s).get(`/w/${ws}/settings/audit${qs}`);
	const exp = (s, qs) => c.as(s).get(`/w/${ws}/settings/audit/export${qs}`);
	// rows of the table on an audit page: [time, actor, action, target, detail, seq]
	const rowsOf = (html) =>
		[...html.matchAll(/<tr><td><time[\s\S]*?<\/tr>/g)].map((m) =>
			[...m[0].matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((x) => mainText(`<main>${x[1]}</main>`)),
		);
	const append = (action, extra = []) => inst.ok(['audit', 'test-append', '--workspace', String(ws), '--action', action, '--actor-kind', 'cli', ...extra]);

	before(async () => {
		inst = await installation();
		for (const who of ['owner', 'admin', 'member', 'viewer', 'stranger']) await account(inst, `${who}@example.test`, `${who} person`);
		ws = (await workspace(inst, 'owner@example.test', 'Audit WS')).id;
		await workspace(inst, 'stranger@example.test', 'Elsewhere');
		srv = await serve(inst);
		c = client(srv);
		owner = await c.session('owner@example.test');
		const seen = new Set();
		admin = await join(inst, srv, c, owner, ws, 'admin@example.test', 'admin', seen);
		adminId = admin.id;
		await join(inst, srv, c, owner, ws, 'member@example.test', 'member', seen);
		await join(inst, srv, c, admin, ws, 'viewer@example.test', 'viewer', seen);
		// a settings change by the admin, two days later (sessions idle out meanwhile)
		inst.advance(2 * DAY);
		admin = await c.session('admin@example.test');
		const r = await c.as(admin).post(`/w/${ws}/settings`, { name: 'Audit WS', product_name: 'Renamed product', timezone: 'UTC', currency: 'USD' });
		assert.equal(r.status, 303, mainText(r.text));
		// hostile targets and details, a day after that
		inst.advance(DAY);
		await append('invite.created', ['--target', '=HYPERLINK("http://evil.example","x")']);
		await append('invite.created', ['--target', '+1+1']);
		await append('invite.created', ['--target', '-2']);
		await append('invite.created', ['--target', '@SUM(A1)']);
		await append('member.removed', ['--target', XSS, '--detail', JSON.stringify({ note: '<img src=x onerror=alert(1)>' })]);
		owner = await c.session('owner@example.test');
		admin = await c.session('admin@example.test');
		member = await c.session('member@example.test');
		viewer = await c.session('viewer@example.test');
		stranger = await c.session('stranger@example.test');
	});
	after(async () => {
		if (srv) {
			const { code } = await srv.stop();
			assert.equal(code, 0, srv.logs());
		}
		inst?.drop();
	});

	test('an admin sees the rows newest first, with actors by e-mail, and the nav links to the page', async () => {
		const r = await page(admin);
		assert.equal(r.status, 200);
		assert.match(r.headers.get('content-type'), /^text\/html/);
		const rows = rowsOf(r.text);
		assert.ok(rows.length >= 10, `rows: ${rows.length}`);
		const seqs = rows.map((x) => Number(x[5]));
		assert.deepEqual(seqs, [...seqs].sort((a, b) => b - a), 'newest first');
		assert.equal(seqs[seqs.length - 1], 1);
		assert.equal(rows[0][2], 'member.removed');
		const settings = rows.find((x) => x[2] === 'settings.changed');
		assert.ok(settings, 'the settings change is listed');
		assert.equal(settings[1], 'account admin@example.test');
		assert.match(settings[0], /^2026-11-04T09:00:00\.000Z$/);
		const invited = rows.filter((x) => x[2] === 'invite.created' && x[1] === 'account owner@example.test').map((x) => x[3]);
		assert.ok(invited.includes('admin@example.test') && invited.includes('member@example.test'), invited.join());
		assert.ok(rows.some((x) => x[2] === 'invite.created' && x[1] === 'account admin@example.test' && x[3] === 'viewer@example.test'));
		assert.ok(rows.some((x) => x[1] === 'cli CLI'));
		// the owner too; the nav shows the page to both, not to a member
		assert.equal((await page(owner)).status, 200);
		assert.ok(r.text.includes(`href="/w/${ws}/settings/audit" aria-current="page"`));
		const home = await c.as(member).get(`/w/${ws}`);
		assert.equal(home.status, 200);
		assert.ok(!home.text.includes('/settings/audit'), 'no audit link for a member');
		// export links carry no filters here
		assert.ok(r.text.includes(`href="/w/${ws}/settings/audit/export?format=csv"`));
	});

	test('filters: action prefix, dates (UTC, end day included), actor; links keep them', async () => {
		let rows = rowsOf((await page(admin, '?action=invite.')).text);
		assert.ok(rows.length >= 7);
		assert.ok(rows.every((x) => x[2].startsWith('invite.')), rows.map((x) => x[2]).join());
		rows = rowsOf((await page(admin, '?action=settings.changed')).text);
		assert.deepEqual(rows.map((x) => x[2]), ['settings.changed']);
		rows = rowsOf((await page(admin, `?actor=${adminId}`)).text);
		assert.ok(rows.length >= 2);
		assert.ok(rows.every((x) => x[1] === 'account admin@example.test'));
		rows = rowsOf((await page(admin, '?actor=0')).text);
		assert.equal(rows.length, 5);
		// invitations on day 0, settings on day 2, CLI rows on day 3
		rows = rowsOf((await page(admin, '?since=2026-11-04&until=2026-11-04')).text);
		assert.deepEqual(rows.map((x) => x[2]), ['settings.changed']);
		rows = rowsOf((await page(admin, '?until=2026-11-02')).text);
		assert.ok(rows.length >= 6 && rows.every((x) => x[0].startsWith('2026-11-02')));
		let r = await page(admin, '?since=2026-11-05');
		rows = rowsOf(r.text);
		assert.equal(rows.length, 5);
		assert.ok(r.text.includes(`href="/w/${ws}/settings/audit/export?format=json&amp;since=2026-11-05"`));
		r = await page(admin, '?since=2026-11-06');
		assert.equal(rowsOf(r.text).length, 0);
		assert.match(mainText(r.text), /No events match these filters/);
		// combined, and the form shows what was asked
		r = await page(admin, `?action=invite.c&actor=${adminId}&since=2026-11-01`);
		rows = rowsOf(r.text);
		assert.deepEqual(rows.map((x) => [x[2], x[3]]), [['invite.created', 'viewer@example.test']]);
		assert.ok(r.text.includes('value="invite.c"'));
	});

	test('bad filter values are field errors, never a 500', async () => {
		const cases = [
			['?action=AUTH%27--', 'action', /up to 40 of a-z/],
			['?action=' + 'a'.repeat(41), 'action', /up to 40/],
			['?since=2026-02-30', 'since', /YYYY-MM-DD/],
			['?since=yesterday', 'since', /YYYY-MM-DD/],
			['?until=2026-13-01', 'until', /YYYY-MM-DD/],
			['?since=2026-11-05&until=2026-11-04', 'until', /before the start/],
			['?actor=-1', 'actor', /account number/],
			['?actor=12abc', 'actor', /account number/],
			['?actor=99999999999999999999', 'actor', /account number/],
			['?page=0', 'page', /no such page/],
			['?page=x', 'page', /no such page/],
			['?since=%FF%FE', 'since', /YYYY-MM-DD/],
		];
		for (const [qs, field, msg] of cases) {
			const r = await page(admin, qs);
			assert.equal(r.status, 400, `${qs}: ${r.status}`);
			assert.match(mainText(r.text), msg, qs);
			if (field !== 'page') assert.ok(r.text.includes(`id="audit-${field}-error"`), `${qs} marks ${field}`);
			assert.equal(rowsOf(r.text).length, 0, 'no rows under bad filters');
		}
		// what was typed comes back, escaped
		const r = await page(admin, '?action=%22%3E%3Cb%3Ex');
		assert.equal(r.status, 400);
		assert.ok(r.text.includes('value="&quot;&gt;&lt;b&gt;x"'));
		// the export refuses the same values and a missing or unknown format
		for (const qs of ['?format=csv&since=2026-02-30', '?format=json&action=A', '?format=xml', '', '?format=CSV']) {
			const e = await exp(admin, qs);
			assert.equal(e.status, 400, `export ${qs}: ${e.status}`);
		}
	});

	test('members and viewers get 403, non-members 404, signed-out callers are sent to sign in', async () => {
		for (const s of [member, viewer]) {
			assert.equal((await page(s)).status, 403);
			assert.equal((await exp(s, '?format=csv')).status, 403);
			assert.equal((await exp(s, '?format=json')).status, 403);
		}
		for (const p of ['', '/export?format=csv']) {
			const r = await c.as(stranger).get(`/w/${ws}/settings/audit${p}`);
			assert.equal(r.status, 404);
			assert.ok(!r.text.includes('Audit WS'));
			const anon = await c.get(`/w/${ws}/settings/audit${p}`);
			assert.equal(anon.status, 303);
			assert.match(anon.location, /^\/auth\/login/);
		}
	});

	test('CSV export: attachment, header, formulas neutralised, filters applied', async () => {
		const r = await exp(admin, '?format=csv');
		assert.equal(r.status, 200);
		assert.equal(r.headers.get('content-type'), 'text/csv; charset=utf-8');
		assert.equal(r.headers.get('content-disposition'), `attachment; filename="dropfix-audit-${ws}.csv"`);
		const lines = r.text.split('\r\n').filter(Boolean);
		assert.match(lines[0], /^seq,/);
		assert.ok(lines.length >= 11);
		const body = lines.slice(1).join('\n');
		assert.ok(body.includes(`"'=HYPERLINK(""http://evil.example"",""x"")"`), body);
		for (const t of ["'+1+1", "'-2", "'@SUM(A1)"]) assert.ok(body.includes(`,${t},`), `${t} neutralised`);
		// no field of any data row starts with a formula character
		for (const line of lines.slice(1)) for (const field of parseCsvLine(line)) assert.ok(!/^[=+\-@\t\r]/.test(field), `field ${field}`);
		// filtered: only the settings change
		const f = await exp(admin, '?format=csv&action=settings.');
		const fl = f.text.split('\r\n').filter(Boolean);
		assert.equal(fl.length, 2, f.text);
		assert.match(fl[1], /settings\.changed/);
	});

	test('JSON export: one object per line, rows as stored, newest first', async () => {
		const r = await exp(admin, '?format=json');
		assert.equal(r.status, 200);
		assert.equal(r.headers.get('content-type'), 'application/x-ndjson');
		assert.equal(r.headers.get('content-disposition'), `attachment; filename="dropfix-audit-${ws}.jsonl"`);
		const rows = r.text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
		assert.ok(rows.length >= 11);
		assert.deepEqual(rows.map((x) => x.seq), [...rows.map((x) => x.seq)].sort((a, b) => b - a));
		assert.equal(rows[0].action, 'member.removed');
		assert.equal(rows[0].target, XSS);
		assert.equal(rows[0].detail.note, '<img src=x onerror=alert(1)>');
		assert.ok(rows.some((x) => x.target === '=HYPERLINK("http://evil.example","x")'), 'JSON keeps the text as stored');
		const s = rows.find((x) => x.action === 'settings.changed');
		assert.deepEqual(s.actor, { kind: 'account', id: adminId });
		const f = await exp(admin, `?format=json&actor=${adminId}&until=2026-11-02`);
		const fr = f.text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
		assert.ok(fr.length >= 1 && fr.every((x) => x.actor.id === adminId && x.action !== 'settings.changed'));
	});

	test('markup in a stored target or detail renders as text', async () => {
		const r = await page(admin, '?action=member.removed');
		assert.equal(r.status, 200);
		assert.ok(!r.text.includes(XSS), 'no raw script tag');
		assert.ok(!r.text.includes('<img src=x'), 'no raw img tag');
		assert.ok(r.text.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
		const rows = rowsOf(r.text);
		assert.equal(rows[0][3], XSS);
		assert.match(rows[0][4], /<img src=x onerror=alert\(1\)>/);
	});

	test('pages of LIMIT_ROWS_PER_PAGE rows with newer/older links', async () => {
		await append('auth.signin', ['--target', 'paged@example.test', '--count', '105']);
		let r = await page(admin, '?action=auth.signin');
		let rows = rowsOf(r.text);
		assert.equal(rows.length, 100);
		const next = `/w/${ws}/settings/audit?action=auth.signin&amp;page=2`;
		assert.ok(r.text.includes(`href="${next}" rel="next"`), 'older link keeps the filter');
		assert.ok(!r.text.includes('rel="prev"'));
		const first = rows.map((x) => Number(x[5]));
		r = await page(admin, '?action=auth.signin&page=2');
		rows = rowsOf(r.text);
		assert.equal(rows.length, 5);
		assert.ok(r.text.includes(`href="/w/${ws}/settings/audit?action=auth.signin&amp;page=1" rel="prev"`));
		assert.ok(!r.text.includes('rel="next"'));
		assert.ok(Math.max(...rows.map((x) => Number(x[5]))) < Math.min(...first), 'page 2 is older');
		r = await page(admin, '?action=auth.signin&page=3');
		assert.equal(r.status, 200);
		assert.equal(rowsOf(r.text).length, 0);
		// the export is not paged
		const e = await exp(admin, '?format=json&action=auth.signin');
		assert.equal(e.text.split('\n').filter(Boolean).length, 105);
	});
});
