// Mail the server sent, read from the development outbox of its data directory
// (src/mail/outbox.h: <data dir>/outbox/<13-digit ms>-<seq>.eml, written atomically).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

// Parsed messages in the outbox, oldest first: [{file, to, subject, text, html}].
export async function outboxMessages(dataDir) {
	const { simpleParser } = require('mailparser');
	const dir = path.join(dataDir, 'outbox');
	if (!fs.existsSync(dir)) return [];
	const names = fs.readdirSync(dir).filter((n) => /^\d{13}-\d{4,}\.eml$/.test(n)).sort(byOutboxOrder);
	const out = [];
	for (const name of names) {
		const m = await simpleParser(fs.readFileSync(path.join(dir, name)));
		out.push({
			file: name,
			to: (m.to?.value || []).map((a) => a.address.toLowerCase()),
			subject: m.subject || '',
			text: m.text || '',
			html: typeof m.html === 'string' ? m.html : '',
		});
	}
	return out;
}

function byOutboxOrder(a, b) {
	const [ta, sa] = a.replace('.eml', '').split('-');
	const [tb, sb] = b.replace('.eml', '').split('-');
	return ta === tb ? Number(sa) - Number(sb) : ta < tb ? -1 : 1;
}

// Waits (up to timeoutMs) for a message to `to` that matches pred and that was not
// among `seen` (a Set of file names, updated); resolves the message.
export async function waitForMail(dataDir, { to, pred = () => true, seen = new Set(), timeoutMs = 10000 }) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		for (const m of await outboxMessages(dataDir)) {
			if (seen.has(m.file)) continue;
			if (to && !m.to.includes(to.toLowerCase())) continue;
			if (!pred(m)) continue;
			seen.add(m.file);
			return m;
		}
		if (Date.now() > deadline) {
			const all = (await outboxMessages(dataDir)).map((m) => `${m.file} to ${m.to} "${m.subject}"`);
			throw new Error(`no new mail to ${to} within ${timeoutMs} ms; outbox:\n  ${all.join('\n  ')}`);
		}
		await new Promise((r) => setTimeout(r, 100));
	}
}

// The first link in the message's text part that starts with baseURL + pathPrefix.
export function linkIn(msg, baseURL, pathPrefix) {
	const prefix = baseURL.replace(/\/$/, '') + pathPrefix;
	const urls = `${msg.text}\n${msg.html}`.match(/https?:\/\/[^\s"'<>]+/g) || [];
	const hit = urls.map((u) => u.replace(/&amp;/g, '&')).find((u) => u.startsWith(prefix));
	if (!hit) throw new Error(`no ${prefix}… link in mail "${msg.subject}":\n${msg.text}`);
	return hit;
}
