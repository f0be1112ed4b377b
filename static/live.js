// The live events page (/w/:ws/live, src/web/live_page.c): prepends each event from the
// server-sent event stream to the server-rendered list. Text only (textContent), never
// HTML, so an event name cannot inject markup.
(function () {
	'use strict';
	var list = document.getElementById('live-list');
	var status = document.getElementById('live-status');
	if (!list || !window.EventSource) return;
	var max = parseInt(list.getAttribute('data-max'), 10) || 50;
	function say(text) { if (status) status.textContent = text; }
	function when(ms) {
		var d = new Date(ms);
		return isNaN(d.getTime()) ? '' : d.toISOString().slice(0, 19).replace('T', ' ') + ' UTC';
	}
	function span(cls, text, tag) {
		var el = document.createElement(tag || 'span');
		el.className = cls;
		el.textContent = text;
		return el;
	}
	function add(ev) {
		var li = document.createElement('li');
		li.appendChild(span('live-type', String(ev.type || ''), 'code'));
		li.appendChild(document.createTextNode(' '));
		li.appendChild(span('live-name', String(ev.name || '')));
		li.appendChild(document.createTextNode(' '));
		li.appendChild(span('live-user', ev.user == null ? '' : String(ev.user)));
		li.appendChild(document.createTextNode(' '));
		var t = span('', when(ev.at), 'time');
		t.removeAttribute('class');
		var d = new Date(ev.at);
		if (!isNaN(d.getTime())) t.setAttribute('datetime', d.toISOString());
		li.appendChild(t);
		list.insertBefore(li, list.firstChild);
		while (list.children.length > max) list.removeChild(list.lastChild);
	}
	var es = new EventSource(list.getAttribute('data-stream'));
	es.onopen = function () { say('Connected: new events appear at the top.'); };
	es.onerror = function () { say('Disconnected: reconnecting…'); };
	es.addEventListener('ev', function (m) {
		try { add(JSON.parse(m.data)); } catch (e) { /* a malformed message is skipped */ }
	});
	es.addEventListener('more', function (m) {
		try { say(JSON.parse(m.data).count + ' more events arrived in one batch and are not listed.'); } catch (e) { }
	});
	es.addEventListener('bye', function () { say('The server is restarting: reconnecting…'); });
})();
