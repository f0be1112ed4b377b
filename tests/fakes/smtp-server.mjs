// A real SMTP server on loopback for tests (npm package smtp-server): STARTTLS or implicit
// TLS with a certificate the test makes, AUTH PLAIN/LOGIN for known users, every message
// captured in memory and parsed with mailparser.
//
// As a module:
//   const srv = await startSmtpServer({ key, cert, users: { user: 'pass' } });
//   ... srv.port, srv.messages (each {envelope, raw, parsed, secure, cipher, user}),
//   srv.commands (MAIL FROM / RCPT TO seen, for "nothing was sent" checks), srv.waitFor(n),
//   await srv.close()
// Options: secure (implicit TLS, smtps://), starttls (default true; false = the server
// does not offer STARTTLS and accepts plaintext AUTH and mail, so a client that carries
// on without TLS would be caught), authOptional.
//
// Standalone (development): node tests/fakes/smtp-server.mjs --key K --cert C [--port P]
//   [--secure] [--user U:P]; prints one JSON line per message received.
import fs from 'node:fs';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export async function startSmtpServer({
	key,
	cert,
	users = { user: 'pass' },
	secure = false,
	starttls = true,
	authOptional = false,
	port = 0,
	onMessage = null,
} = {}) {
	const messages = [];
	const commands = [];
	const waiters = [];
	const server = new SMTPServer({
		secure,
		key,
		cert,
		minVersion: 'TLSv1.2',
		hideSTARTTLS: !starttls,
		authMethods: ['PLAIN', 'LOGIN'],
		authOptional,
		allowInsecureAuth: !starttls,
		disabledCommands: starttls || secure ? [] : ['STARTTLS'],
		logger: false,
		size: 10 * 1024 * 1024,
		onAuth(auth, session, cb) {
			if (Object.hasOwn(users, auth.username) && users[auth.username] === auth.password)
				return cb(null, { user: auth.username });
			return cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
		},
		onMailFrom(address, session, cb) {
			commands.push({ cmd: 'MAIL FROM', address: address.address, secure: session.secure });
			cb();
		},
		onRcptTo(address, session, cb) {
			commands.push({ cmd: 'RCPT TO', address: address.address, secure: session.secure });
			cb();
		},
		onData(stream, session, cb) {
			const chunks = [];
			stream.on('data', (c) => chunks.push(c));
			stream.on('end', async () => {
				const raw = Buffer.concat(chunks);
				let parsed = null;
				try {
					parsed = await simpleParser(raw);
				} catch (e) {
					parsed = { error: String(e) };
				}
				const msg = {
					envelope: {
						mailFrom: session.envelope.mailFrom && session.envelope.mailFrom.address,
						rcptTo: session.envelope.rcptTo.map((r) => r.address),
					},
					raw: raw.toString('latin1'),
					parsed,
					secure: session.secure,
					cipher: session.tlsOptions || null,
					user: session.user || null,
				};
				messages.push(msg);
				if (onMessage) onMessage(msg);
				for (const w of waiters.splice(0)) w();
				cb(null, 'queued');
			});
		},
	});
	server.on('error', () => {}); // client-side TLS failures surface here; the test checks the client
	await new Promise((resolve, reject) => {
		server.server.once('error', reject);
		server.listen(port, '127.0.0.1', resolve);
	});
	return {
		port: server.server.address().port,
		messages,
		commands,
		// Resolves when n messages have arrived (or after timeoutMs, whatever came).
		waitFor(n, timeoutMs = 5000) {
			return new Promise((resolve) => {
				const deadline = setTimeout(() => resolve(messages), timeoutMs);
				const check = () => {
					if (messages.length >= n) {
						clearTimeout(deadline);
						resolve(messages);
					} else waiters.push(check);
				};
				check();
			});
		},
		close: () => new Promise((resolve) => server.close(resolve)),
	};
}

if (import.meta.url === `file://${process.argv[1]}`) {
	const arg = (name) => {
		const i = process.argv.indexOf(name);
		return i > 0 ? process.argv[i + 1] : undefined;
	};
	const userArg = arg('--user') || 'user:pass';
	const srv = await startSmtpServer({
		key: fs.readFileSync(arg('--key')),
		cert: fs.readFileSync(arg('--cert')),
		port: Number(arg('--port') || 0),
		secure: process.argv.includes('--secure'),
		users: { [userArg.split(':')[0]]: userArg.split(':').slice(1).join(':') },
		onMessage: (m) =>
			console.log(JSON.stringify({ envelope: m.envelope, subject: m.parsed.subject, text: m.parsed.text })),
	});
	console.error(`smtp-server listening on 127.0.0.1:${srv.port}`);
}
