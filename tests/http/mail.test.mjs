// System e-mail through the real binary: a test-build hook (`dropfix outbox --test-send`)
// sends a notice via mail_send to a real SMTP server on loopback (tests/fakes/smtp-server.mjs,
// certificates made here with openssl), which parses what arrives with mailparser.
// TLS is mandatory: no STARTTLS, a wrong CA or a certificate for another host fails the send
// with nothing delivered. Without DROPFIX_SMTP_URL, mail lands in the development outbox.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSmtpServer } from '../fakes/smtp-server.mjs';
import { BIN, RELEASE_BIN, runBin, tmpDir } from './lib.mjs';

const NAME = 'Zoë Ångström';
const SUBJECT = 'Grüße aus Köln — bitte bestätigen Sie Ihre Adresse ✓ 日本語のテキスト, und noch etwas mehr Text';
const FROM = 'Équipe DropFix <equipe@dropfix.test>';

let dir;
const certs = {};

// A self-signed certificate (its own CA) for the given subjectAltName.
function makeCert(name, san) {
	const key = path.join(dir, `${name}.key`);
	const cert = path.join(dir, `${name}.pem`);
	execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
		'-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`, '-addext', `subjectAltName=${san}`],
		{ stdio: 'ignore' });
	return { keyFile: key, certFile: cert, key: fs.readFileSync(key), cert: fs.readFileSync(cert) };
}

before(() => {
	dir = tmpDir('dropfix-mail-');
	certs.good = makeCert('loopback', 'IP:127.0.0.1,DNS:localhost');
	certs.other = makeCert('other-ca', 'IP:127.0.0.1,DNS:localhost');
	certs.wrongHost = makeCert('mail.example.com', 'DNS:mail.example.com');
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

const send = (env, { to = 'ann@example.com', subject = SUBJECT, name = NAME, key, bin = BIN } = {}) => {
	const args = ['outbox', '--test-send', to, subject, '--test-name', name];
	if (key) args.push('--test-key', key);
	return runBin(args, { bin, timeoutMs: 20000, env: { DROPFIX_DATA_DIR: path.join(dir, 'data'), ...env } });
};

describe('SMTP', () => {
	test('STARTTLS with AUTH: From, To, Subject (non-ASCII), text and HTML parts arrive', async () => {
		const srv = await startSmtpServer({ key: certs.good.key, cert: certs.good.cert, users: { 'us@r': 'p:ss w' } });
		try {
			const r = await send({
				DROPFIX_SMTP_URL: `smtp://us%40r:p%3Ass%20w@127.0.0.1:${srv.port}`,
				DROPFIX_SMTP_CA_FILE: certs.good.certFile,
				DROPFIX_BASE_URL: 'https://dropfix.test',
				DROPFIX_MAIL_FROM: FROM,
			}, { key: 'verify:0:42' });
			assert.equal(r.code, 0, r.stderr);
			assert.equal(r.stdout, 'sent\n');
			assert.equal(srv.messages.length, 1);
			const m = srv.messages[0];
			assert.equal(m.secure, true, 'upgraded to TLS before MAIL FROM');
			assert.match(m.cipher.version, /^TLSv1\.[23]$/);
			assert.equal(m.user, 'us@r', 'authenticated with the percent-decoded credentials');
			assert.deepEqual(m.envelope, { mailFrom: 'equipe@dropfix.test', rcptTo: ['ann@example.com'] });
			assert.ok(srv.commands.every((c) => c.secure), 'no command in clear');
			const p = m.parsed;
			assert.equal(p.subject, SUBJECT);
			assert.deepEqual(p.to.value, [{ address: 'ann@example.com', name: NAME }]);
			assert.deepEqual(p.from.value, [{ address: 'equipe@dropfix.test', name: 'Équipe DropFix' }]);
			assert.equal(p.messageId, '<verify=3A0=3A42@dropfix.test>');
			assert.equal(p.headers.get('auto-submitted'), 'auto-generated');
			assert.ok(p.date instanceof Date && Math.abs(p.date - Date.now()) < 60000, `date ${p.date}`);
			assert.match(p.text, /^Confirm your e-mail address\n/);
			assert.ok(p.text.includes('\nhttps://dropfix.test/auth/verify?token=test-token-0123456789\n'), p.text);
			assert.ok(p.html.includes('<a href="https://dropfix.test/auth/verify?token=test-token-0123456789">'), p.html);
			assert.ok(p.html.includes('&lt;b&gt;not bold&lt;/b&gt; &amp; co.'), 'HTML escaped by the template engine');
			assert.match(m.raw, /^Content-Type: multipart\/alternative;\r\n boundary="=_dropfix_[0-9a-f]{24}"\r$/m);
			// every header and body line is CRLF-terminated ASCII of at most 78 (headers) / 76 (QP) bytes
			const [head, body] = m.raw.split('\r\n\r\n', 2);
			for (const line of head.split('\r\n')) assert.ok(line.length <= 78, `long header line: ${line}`);
			assert.doesNotMatch(m.raw, /[^\r]\n/);
			assert.doesNotMatch(m.raw, /[^\x09\x0a\x0d\x20-\x7e]/);
			assert.ok(body.length > 0);
		} finally {
			await srv.close();
		}
	});

	test('smtps:// (implicit TLS) works; the default sender comes from the base URL host', async () => {
		const srv = await startSmtpServer({ key: certs.good.key, cert: certs.good.cert, secure: true });
		try {
			const r = await send({
				DROPFIX_SMTP_URL: `smtps://user:pass@localhost:${srv.port}`,
				DROPFIX_SMTP_CA_FILE: certs.good.certFile,
				DROPFIX_BASE_URL: 'https://app.example.org:8443',
			}, { name: 'Plain Name', subject: 'Plain subject' });
			assert.equal(r.code, 0, r.stderr);
			assert.equal(srv.messages.length, 1);
			const p = srv.messages[0].parsed;
			assert.equal(srv.messages[0].secure, true);
			assert.deepEqual(p.from.value, [{ address: 'dropfix@app.example.org', name: 'DropFix' }]);
			assert.equal(p.subject, 'Plain subject');
			assert.match(p.messageId, /^<[0-9a-f]{32}@app\.example\.org>$/);
		} finally {
			await srv.close();
		}
	});

	test('a server without STARTTLS: the send fails and nothing is sent in clear', async () => {
		const srv = await startSmtpServer({ key: certs.good.key, cert: certs.good.cert, starttls: false, authOptional: true });
		try {
			const r = await send({
				DROPFIX_SMTP_URL: `smtp://user:pass@127.0.0.1:${srv.port}`,
				DROPFIX_SMTP_CA_FILE: certs.good.certFile,
			});
			assert.equal(r.code, 1, r.stderr);
			assert.match(r.stderr, /SMTP via 127\.0\.0\.1:\d+ failed/);
			assert.doesNotMatch(r.stderr, /pass@/);
			assert.equal(srv.messages.length, 0);
			assert.deepEqual(srv.commands, [], 'no MAIL FROM / RCPT TO reached the server');
		} finally {
			await srv.close();
		}
	});

	test('a certificate from another CA, or for another host, fails the send', async () => {
		const srv = await startSmtpServer({ key: certs.good.key, cert: certs.good.cert });
		const other = await startSmtpServer({ key: certs.wrongHost.key, cert: certs.wrongHost.cert });
		try {
			let r = await send({
				DROPFIX_SMTP_URL: `smtp://user:pass@127.0.0.1:${srv.port}`,
				DROPFIX_SMTP_CA_FILE: certs.other.certFile,
			});
			assert.equal(r.code, 1, r.stderr);
			assert.match(r.stderr, /SSL|certificate/i);
			r = await send({ // no CA file: the system store does not know the test certificate either
				DROPFIX_SMTP_URL: `smtps://user:pass@127.0.0.1:${srv.port}`,
			});
			assert.equal(r.code, 1, r.stderr);
			r = await send({ // trusted certificate, but issued for mail.example.com, not 127.0.0.1
				DROPFIX_SMTP_URL: `smtp://user:pass@127.0.0.1:${other.port}`,
				DROPFIX_SMTP_CA_FILE: certs.wrongHost.certFile,
			});
			assert.equal(r.code, 1, r.stderr);
			assert.match(r.stderr, /SSL|certificate|host/i);
			assert.equal(srv.messages.length + other.messages.length, 0);
			assert.deepEqual([...srv.commands, ...other.commands], []);
		} finally {
			await srv.close();
			await other.close();
		}
	});

	test('a wrong password fails the send', async () => {
		const srv = await startSmtpServer({ key: certs.good.key, cert: certs.good.cert });
		try {
			const r = await send({
				DROPFIX_SMTP_URL: `smtp://user:wrong@127.0.0.1:${srv.port}`,
				DROPFIX_SMTP_CA_FILE: certs.good.certFile,
			});
			assert.equal(r.code, 1, r.stderr);
			assert.match(r.stderr, /Login denied|auth/i);
			assert.doesNotMatch(r.stderr, /wrong/);
			assert.equal(srv.messages.length, 0);
		} finally {
			await srv.close();
		}
	});

	test('header injection through the name, subject or address is refused', async () => {
		const srv = await startSmtpServer({ key: certs.good.key, cert: certs.good.cert });
		const env = { DROPFIX_SMTP_URL: `smtp://user:pass@127.0.0.1:${srv.port}`, DROPFIX_SMTP_CA_FILE: certs.good.certFile };
		try {
			for (const opts of [
				{ name: 'Ann\r\nBcc: victim@example.com' },
				{ subject: 'Hi\nBcc: victim@example.com' },
				{ to: 'ann@example.com\r\nRCPT TO:<victim@example.com>' },
				{ to: 'Ann <ann@example.com>' },
			]) {
				const r = await send(env, opts);
				assert.equal(r.code, 1, `${JSON.stringify(opts)}: ${r.stderr}`);
				assert.match(r.stderr, /mail: (to_name|subject|to_addr)/);
			}
			assert.equal(srv.messages.length, 0);
			assert.deepEqual(srv.commands, []);
		} finally {
			await srv.close();
		}
	});
});

describe('settings', () => {
	test('DROPFIX_SMTP_URL other than smtps:// or smtp:// is refused with exit 2', async () => {
		for (const url of ['http://mail.example.com', 'smtp+insecure://x', 'mail.example.com:25']) {
			const r = await runBin(['outbox'], { env: { DROPFIX_DATA_DIR: path.join(dir, 'data'), DROPFIX_SMTP_URL: url } });
			assert.equal(r.code, 2, r.stderr);
			assert.match(r.stderr, /DROPFIX_SMTP_URL/);
		}
	});

	test('a bad DROPFIX_MAIL_FROM or an unreadable DROPFIX_SMTP_CA_FILE is refused with exit 2', async () => {
		let r = await runBin(['outbox'], { env: { DROPFIX_DATA_DIR: path.join(dir, 'data'), DROPFIX_MAIL_FROM: 'Ops <ops@exa mple.com>' } });
		assert.equal(r.code, 2);
		assert.match(r.stderr, /DROPFIX_MAIL_FROM/);
		r = await runBin(['outbox'], { env: { DROPFIX_DATA_DIR: path.join(dir, 'data'), DROPFIX_SMTP_CA_FILE: path.join(dir, 'missing.pem') } });
		assert.equal(r.code, 2);
		assert.match(r.stderr, /DROPFIX_SMTP_CA_FILE/);
	});

	test('the release build has no --test-send hook', async () => {
		const r = await runBin(['outbox', '--test-send', 'ann@example.com', 'x'], {
			bin: RELEASE_BIN, env: { DROPFIX_DATA_DIR: path.join(dir, 'release-data') },
		});
		assert.equal(r.code, 2);
		assert.match(r.stderr, /unknown option '--test-send'/);
		assert.equal(fs.existsSync(path.join(dir, 'release-data', 'outbox')), false);
	});
});

describe('development outbox', () => {
	test('without DROPFIX_SMTP_URL the message lands in the outbox (0600) and `outbox show latest` prints it', async () => {
		const data = path.join(dir, 'outbox-data');
		const env = { DROPFIX_DATA_DIR: data, DROPFIX_BASE_URL: 'http://127.0.0.1:8080' };
		let r = await runBin(['outbox'], { env });
		assert.equal(r.code, 0, r.stderr);
		assert.match(r.stdout, /the outbox is empty/);
		r = await send(env, { subject: 'First' });
		assert.equal(r.code, 0, r.stderr);
		r = await send(env);
		assert.equal(r.code, 0, r.stderr);
		const files = fs.readdirSync(path.join(data, 'outbox')).sort();
		assert.equal(files.length, 2);
		for (const f of files) {
			assert.match(f, /^\d{13}-\d{4,6}\.eml$/);
			assert.equal(fs.statSync(path.join(data, 'outbox', f)).mode & 0o777, 0o600);
		}
		assert.equal(fs.statSync(path.join(data, 'outbox')).mode & 0o777, 0o700);

		r = await runBin(['outbox', 'show', 'latest'], { env });
		assert.equal(r.code, 0, r.stderr);
		assert.ok(r.stdout.includes(`To: ${NAME} <ann@example.com>\n`), r.stdout);
		assert.ok(r.stdout.includes(`Subject: ${SUBJECT}\n`), r.stdout);
		assert.ok(r.stdout.includes('From: DropFix <dropfix@localhost>\n'), r.stdout);
		// the decoded link, whole (no quoted-printable soft breaks or =3D)
		assert.ok(r.stdout.includes('\nhttp://127.0.0.1:8080/auth/verify?token=test-token-0123456789\n'), r.stdout);

		r = await runBin(['outbox', '--json'], { env });
		assert.equal(r.code, 0, r.stderr);
		const list = JSON.parse(r.stdout);
		assert.deepEqual(list.map((e) => [e.n, e.subject, e.to]), [[1, 'First', `${NAME} <ann@example.com>`], [2, SUBJECT, `${NAME} <ann@example.com>`]]);
		assert.deepEqual(list.map((e) => e.file), files);

		r = await runBin(['outbox', 'show', '1', '--json'], { env });
		const one = JSON.parse(r.stdout);
		assert.equal(one.subject, 'First');
		assert.match(one.html, /<a href="http:\/\/127\.0\.0\.1:8080\/auth\/verify\?token=test-token-0123456789">/);

		r = await runBin(['outbox', 'show', '1', '--html'], { env });
		assert.match(r.stdout, /<h1>Confirm your e-mail address<\/h1>/);

		r = await runBin(['outbox', 'show', '3'], { env });
		assert.equal(r.code, 2);
		assert.match(r.stderr, /from 1 to 2/);
	});

	test('control characters in outbox messages are escaped in CLI output', async () => {
		const data = path.join(dir, 'outbox-ctl');
		fs.mkdirSync(path.join(data, 'outbox'), { recursive: true });
		fs.writeFileSync(path.join(data, 'outbox', '0000000001000-0000.eml'),
			'From: x@y.z\r\nTo: =?UTF-8?Q?evil=1B]0;title=07?= <a@b.c>\r\n' +
			'Subject: =?UTF-8?B?' + Buffer.from('red \x1b[31m\r\nInjected: yes').toString('base64') + '?=\r\n' +
			'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n' +
			'line one=0Dline two\r\nbell=07 csi=C2=9B\r\n', { mode: 0o600 });
		const env = { DROPFIX_DATA_DIR: data };
		let r = await runBin(['outbox'], { env });
		assert.equal(r.code, 0, r.stderr);
		assert.doesNotMatch(r.stdout, /[\x00-\x09\x0b-\x1f\x7f\x80-\x9f]/u);
		assert.ok(r.stdout.includes('evil\\x1b]0;title\\x07 <a@b.c>'), r.stdout);
		assert.ok(r.stdout.includes('red \\x1b[31m\\x0d\\x0aInjected: yes'), r.stdout);
		assert.equal(r.stdout.trim().split('\n').length, 1);
		r = await runBin(['outbox', 'show', 'latest'], { env });
		assert.equal(r.code, 0, r.stderr);
		assert.doesNotMatch(r.stdout, /[\x00-\x09\x0b-\x1f\x7f\x80-\x9f]/u);
		assert.ok(r.stdout.includes('line one\\x0dline two\nbell\\x07 csi\\u009b\n'), r.stdout);
		r = await runBin(['outbox', '--json'], { env });
		assert.equal(JSON.parse(r.stdout)[0].subject, 'red \x1b[31m\r\nInjected: yes');
	});
});
