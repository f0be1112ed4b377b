// Team and roles through the real binary (SQLite and PostgreSQL, test build): invitations by e-mail
// (read from the development outbox), the confirmation page and the accepting POST, only
// by a verified account with the invited address and before expiry (fake clock); role
// rules (an admin cannot make, demote or remove owners; the last owner can neither leave
// nor be demoted); removal takes access away at once; every change in the workspace
// audit log. Sessions come from the test-build hook POST /__test/session.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PG_SKIP, account, auditRows, client, installation, inviteToken, join, mainText, serve, workspace } from './wslib.mjs';

const DAY = 24 * 3600 * 1000;

function suite(backend) {
	let inst, srv, c, ws, owner, admin, member;
	const seen = new Set();
	const members = async () => {
		const r = await c.as(owner).get(`/w/${ws}/settings/team`);
		assert.equal(r.status, 200);
		return r.text;
	};

	before(async () => {
		inst = await installation({ pg: backend === 'pg' });
		for (const who of ['owner', 'admin', 'member', 'viewer', 'other', 'second']) await account(inst, `${who}@example.test`, `${who} person`);
		ws = (await workspace(inst, 'owner@example.test', 'Team WS')).id;
		srv = await serve(inst);
		c = client(srv);
		owner = await c.session('owner@example.test');
		admin = await join(inst, srv, c, owner, ws, 'admin@example.test', 'admin', seen);
		member = await join(inst, srv, c, owner, ws, 'member@example.test', 'member', seen);
	});
	after(async () => {
		if (srv) {
			const { code } = await srv.stop();
			assert.equal(code, 0, srv.logs());
		}
		inst?.drop();
	});

	test('an invitation: mail, confirmation page, only the verified invited address accepts, once', async () => {
		let r = await c.as(owner).post(`/w/${ws}/settings/team/invite`, { email: ' Viewer@Example.TEST ', role: 'viewer' });
		assert.equal(r.status, 303);
		assert.equal(r.location, `/w/${ws}/settings/team`);
		const token = await inviteToken(inst, srv, 'viewer@example.test', seen);
		assert.match(token, /^[A-Za-z0-9_-]{43}$/);
		assert.match(mainText(await members()), /viewer@example\.test as viewer · expires 2026-11-09/);
		// not signed in: what it is, and the ways in (GET changes nothing)
		r = await c.get(`/auth/invite/${token}`);
		assert.equal(r.status, 200);
		assert.match(mainText(r.text), /invited viewer@example\.test to join the workspace “Team WS” as viewer/);
		assert.ok(r.text.includes(`href="/auth/login?next=/auth/invite/${token}"`));
		assert.ok(r.text.includes(`href="/auth/signup?invite=${token}"`));
		assert.ok(!/<form/.test(r.text.match(/<main[\s\S]*<\/main>/)[0]), 'no accept form before sign-in');
		// signed in as someone else: told so; the POST is refused
		const other = await c.session('other@example.test');
		r = await c.as(other).get(`/auth/invite/${token}`);
		assert.match(mainText(r.text), /signed in as other@example\.test, but this invitation is for viewer@example\.test/);
		r = await c.as(other).post(`/auth/invite/${token}`);
		assert.equal(r.status, 403);
		assert.equal((await c.as(other).get(`/w/${ws}`)).status, 404);
		// without a CSRF token: refused before anything else
		r = await c.post(`/auth/invite/${token}`, {}, { cookie: other.cookie });
		assert.equal(r.status, 403);
		// the invited address, verified (made by the CLI): accepts
		const viewer = await c.session('viewer@example.test');
		r = await c.as(viewer).get(`/auth/invite/${token}`);
		assert.equal(r.status, 200);
		assert.match(r.text, /<button type="submit">Accept invitation<\/button>/);
		assert.equal((await c.as(viewer).get(`/w/${ws}`)).status, 404, 'not a member before accepting');
		r = await c.as(viewer).post(`/auth/invite/${token}`);
		assert.equal(r.status, 303);
		assert.equal(r.location, `/w/${ws}`);
		r = await c.get(`/w/${ws}`, { cookie: `${viewer.cookie}; ${r.setCookie[0].split(';')[0]}` });
		assert.equal(r.status, 200);
		assert.match(mainText(r.text), /Welcome! You joined the workspace\./);
		assert.match(mainText(r.text), /Your role: viewer/);
		// single use
		r = await c.as(viewer).post(`/auth/invite/${token}`);
		assert.equal(r.status, 410);
		assert.equal((await c.get(`/auth/invite/${token}`)).status, 410);
		// a viewer reads but cannot change settings or invite
		assert.equal((await c.as(viewer).get(`/w/${ws}/settings`)).status, 200);
		r = await c.as(viewer).post(`/w/${ws}/settings`, { name: 'Mine now', product_name: '', timezone: 'UTC', currency: 'USD' });
		assert.equal(r.status, 403);
		r = await c.as(viewer).post(`/w/${ws}/settings/team/invite`, { email: 'friend@example.test', role: 'viewer' });
		assert.equal(r.status, 403);
		const rows = await auditRows(inst, ws);
		const mine = rows.filter((row) => row.target === 'viewer@example.test').map((row) => row.action);
		assert.deepEqual(mine, ['member.added', 'invite.accepted', 'invite.created']);
	});

	test('an account that signed up but did not verify cannot accept', async () => {
		let r = await c.as(owner).post(`/w/${ws}/settings/team/invite`, { email: 'fresh@example.test', role: 'member' });
		assert.equal(r.status, 303);
		const token = await inviteToken(inst, srv, 'fresh@example.test', seen);
		// sign up through the real page with the invitation (DROPFIX_SIGNUP=first: closed otherwise)
		r = await c.get(`/auth/signup?invite=${token}`);
		assert.equal(r.status, 200);
		const csrf = r.text.match(/name="_csrf" value="([^"]+)"/)[1];
		const cookie = r.setCookie.map((x) => x.split(';')[0]).join('; ');
		r = await c.post('/auth/signup', { _csrf: csrf, invite: token, name: 'Fresh', email: 'fresh@example.test', password: 'fresh password 123' }, { cookie });
		assert.equal(r.status, 200, mainText(r.text));
		const fresh = await c.session('fresh@example.test');
		r = await c.as(fresh).get(`/auth/invite/${token}`);
		assert.match(mainText(r.text), /Verify your e-mail address first/);
		r = await c.as(fresh).post(`/auth/invite/${token}`);
		assert.equal(r.status, 403);
		assert.equal((await c.as(fresh).get(`/w/${ws}`)).status, 404);
	});

	test('an invitation cannot be accepted after 7 days; revoked ones never', async () => {
		let r = await c.as(admin).post(`/w/${ws}/settings/team/invite`, { email: 'second@example.test', role: 'member' });
		assert.equal(r.status, 303);
		const token = await inviteToken(inst, srv, 'second@example.test', seen);
		inst.advance(7 * DAY + 60 * 1000);
		const second = await c.session('second@example.test');
		// 410 while the row is kept; 404 once the cleanup job has deleted it (it may run at any time)
		r = await c.as(second).get(`/auth/invite/${token}`);
		assert.ok([404, 410].includes(r.status), `expired invitation page: ${r.status}`);
		assert.match(mainText(r.text), /Invitation not valid/);
		assert.ok(!/<form/.test(r.text.match(/<main[\s\S]*<\/main>/)[0]));
		r = await c.as(second).post(`/auth/invite/${token}`);
		assert.ok([404, 410].includes(r.status), `accepting an expired invitation: ${r.status}`);
		assert.equal((await c.as(second).get(`/w/${ws}`)).status, 404);
		// sessions ended with the week: sign in again
		[owner, admin, member] = await Promise.all(['owner', 'admin', 'member'].map((w) => c.session(`${w}@example.test`)));
		// a new invitation replaces it; revoking makes the link dead
		r = await c.as(admin).post(`/w/${ws}/settings/team/invite`, { email: 'second@example.test', role: 'member' });
		assert.equal(r.status, 303);
		const token2 = await inviteToken(inst, srv, 'second@example.test', seen);
		const id = (await members()).match(/name="invite" value="([0-9a-f]{64})"/)[1];
		r = await c.as(admin).post(`/w/${ws}/settings/team/invites/revoke`, { invite: id });
		assert.equal(r.status, 303);
		const s2 = await c.session('second@example.test');
		assert.equal((await c.as(s2).post(`/auth/invite/${token2}`)).status, 404);
		assert.equal((await c.get(`/auth/invite/${token2}`)).status, 404);
		assert.equal((await c.get(`/auth/invite/not-a-token`)).status, 404);
		const rows = await auditRows(inst, ws);
		assert.ok(rows.some((row) => row.action === 'invite.revoked' && row.target === 'second@example.test' && row.actor.id === admin.id));
	});

	test('invitation form errors keep what was typed; members cannot be invited twice', async () => {
		let r = await c.as(owner).post(`/w/${ws}/settings/team/invite`, { email: 'not an address', role: 'member' });
		assert.equal(r.status, 400);
		assert.ok(r.text.includes('value="not an address"'));
		assert.match(mainText(r.text), /Enter a valid e-mail address/);
		r = await c.as(owner).post(`/w/${ws}/settings/team/invite`, { email: 'a@example.test', role: 'superuser' });
		assert.equal(r.status, 400);
		assert.match(mainText(r.text), /Choose a role/);
		r = await c.as(owner).post(`/w/${ws}/settings/team/invite`, { email: 'MEMBER@example.test', role: 'member' });
		assert.equal(r.status, 400);
		assert.match(mainText(r.text), /already a member/);
	});

	test('an admin cannot make, demote or remove owners', async () => {
		const ownerId = String(owner.id);
		let r = await c.as(admin).post(`/w/${ws}/settings/team/invite`, { email: 'boss@example.test', role: 'owner' });
		assert.equal(r.status, 403);
		assert.match(mainText(r.text), /Only an owner can invite an owner/);
		r = await c.as(admin).get(`/w/${ws}/settings/team`);
		assert.ok(!/<option value="owner"/.test(r.text), 'admins are not offered the owner role');
		r = await c.as(admin).post(`/w/${ws}/settings/team/role`, { account: String(member.id), role: 'owner' });
		assert.equal(r.status, 403);
		r = await c.as(admin).post(`/w/${ws}/settings/team/role`, { account: String(admin.id), role: 'owner' });
		assert.equal(r.status, 403, 'nor promote themselves');
		r = await c.as(admin).post(`/w/${ws}/settings/team/role`, { account: ownerId, role: 'member' });
		assert.equal(r.status, 403);
		r = await c.as(admin).post(`/w/${ws}/settings/team/remove`, { account: ownerId });
		assert.equal(r.status, 403);
		// what admins may do: members up to admin
		r = await c.as(admin).post(`/w/${ws}/settings/team/role`, { account: String(member.id), role: 'viewer' });
		assert.equal(r.status, 303);
		r = await c.as(member).post(`/w/${ws}/settings/team/role`, { account: String(member.id), role: 'admin' });
		assert.equal(r.status, 403, 'a viewer changes nothing');
		r = await c.as(admin).post(`/w/${ws}/settings/team/role`, { account: String(member.id), role: 'member' });
		assert.equal(r.status, 303);
		r = await c.as(member).post(`/w/${ws}/settings/team/role`, { account: String(member.id), role: 'admin' });
		assert.equal(r.status, 403, 'a member cannot promote themselves');
		assert.equal((await c.as(owner).get(`/w/${ws}`)).status, 200);
		assert.match(mainText(await members()), /owner person \(you\) owner@example\.test owner/);
		const rows = (await auditRows(inst, ws)).filter((row) => row.action === 'member.role_changed');
		assert.deepEqual(rows.slice(0, 2).map((row) => [row.detail.from, row.detail.to, row.actor.id]), [
			['viewer', 'member', admin.id],
			['member', 'viewer', admin.id],
		]);
	});

	test('the last owner can neither leave nor be demoted; removal ends access at once', async () => {
		let r = await c.as(owner).post(`/w/${ws}/settings/team/leave`);
		assert.equal(r.status, 409);
		assert.match(mainText(r.text), /You are the last owner/);
		r = await c.as(owner).post(`/w/${ws}/settings/team/role`, { account: String(owner.id), role: 'admin' });
		assert.equal(r.status, 409);
		r = await c.as(owner).post(`/w/${ws}/settings/team/remove`, { account: String(owner.id) });
		assert.equal(r.status, 400);
		assert.match(await members(), /You are the last owner/);
		// a second owner: now the first may go
		r = await c.as(owner).post(`/w/${ws}/settings/team/role`, { account: String(admin.id), role: 'owner' });
		assert.equal(r.status, 303);
		r = await c.as(owner).post(`/w/${ws}/settings/team/remove`, { account: String(member.id) });
		assert.equal(r.status, 303);
		assert.equal((await c.as(member).get(`/w/${ws}`)).status, 404, 'removed: the workspace is gone for them');
		assert.equal((await c.as(member).post(`/w/${ws}/settings/team/leave`)).status, 404);
		r = await c.as(owner).post(`/w/${ws}/settings/team/leave`);
		assert.equal(r.status, 303);
		assert.equal(r.location, '/w');
		assert.equal((await c.as(owner).get(`/w/${ws}`)).status, 404);
		// the remaining (former admin) owner is now the last one
		r = await c.as(admin).post(`/w/${ws}/settings/team/leave`);
		assert.equal(r.status, 409);
		const rows = await auditRows(inst, ws);
		const removed = rows.filter((row) => row.action === 'member.removed');
		assert.deepEqual(removed.slice(0, 2).map((row) => [row.target, row.detail.left]), [
			['owner@example.test', true],
			['member@example.test', false],
		]);
		const v = await inst.cli(['audit', 'verify']);
		assert.equal(v.code, 0, v.stdout + v.stderr);
	});
}

describe('team and roles on SQLite', () => suite('sqlite'));
describe('team and roles on PostgreSQL', { skip: PG_SKIP }, () => suite('pg'));
