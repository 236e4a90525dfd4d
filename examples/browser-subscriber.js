// The browser side of examples/browser-subscriber.html: log in (or take a
// pasted token), open an EventSource on /events and print what arrives.
//
// Browsers' EventSource cannot send an Authorization header, so the token goes
// in the `access_token` query parameter (the hub never logs it; make sure your
// proxy does not either). A page served by the hub itself could rely on the
// HttpOnly `roomcast_token` cookie that /auth/login sets instead.
//
// The browser reconnects by itself after `retry:` ms and sends Last-Event-ID,
// so the hub replays what was missed; this code only reports it.
/* global FormData */

const form = document.getElementById('connect-form');
const log = document.getElementById('log');
const status = document.getElementById('status');
const disconnectButton = document.getElementById('disconnect');

const CONTROL_EVENTS = [
  'connected', 'history-gap', 'room-joined', 'room-left', 'presence-join', 'presence-leave', 'token-expired', 'shutdown',
];

let source = null;

function line(text, cls) {
  const div = document.createElement('div');
  div.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  if (cls) div.className = cls;
  log.append(div);
  while (log.childElementCount > 500) log.firstElementChild.remove();
  log.scrollTop = log.scrollHeight;
}

async function login(hub, username, password) {
  const res = await fetch(new URL('/auth/login', hub), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error?.message ?? `login answered ${res.status}`);
  return body.token;
}

function disconnect() {
  if (source) source.close();
  source = null;
  status.textContent = 'disconnected';
  disconnectButton.disabled = true;
}

function connect(hub, token, rooms, types) {
  disconnect();
  const url = new URL('/events', hub);
  if (rooms) url.searchParams.set('rooms', rooms);
  url.searchParams.set('access_token', token);
  source = new EventSource(url);
  disconnectButton.disabled = false;
  status.textContent = 'connecting…';

  source.addEventListener('open', () => { status.textContent = 'connected'; });
  source.addEventListener('error', () => {
    // CONNECTING: the browser retries by itself; CLOSED: it gave up (401/403/429 or a network policy).
    if (source.readyState === EventSource.CLOSED) {
      status.textContent = 'closed';
      line('stream closed by the browser (check the token, the rooms and CORS_ORIGINS)', 'error');
    } else {
      status.textContent = 'reconnecting…';
      line('connection lost; the browser reconnects and resumes with Last-Event-ID', 'control');
    }
  });

  for (const type of CONTROL_EVENTS) {
    source.addEventListener(type, (e) => {
      line(`${type} ${e.data}`, 'control');
      if (type === 'token-expired') disconnect();
    });
  }
  for (const type of types.split(',').map((t) => t.trim()).filter(Boolean)) {
    source.addEventListener(type, (e) => {
      const event = JSON.parse(e.data);
      line(`#${e.lastEventId} ${type} ${event.room ? `[${event.room}] ` : ''}${JSON.stringify(event.data)}`);
    });
  }
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const data = new FormData(form);
  const hub = String(data.get('hub'));
  try {
    let token = String(data.get('token') ?? '').trim();
    if (!token) token = await login(hub, String(data.get('username')), String(data.get('password')));
    connect(hub, token, String(data.get('rooms') ?? '').trim(), String(data.get('types') ?? ''));
  } catch (err) {
    line(`cannot connect: ${err.message}`, 'error');
  }
});
disconnectButton.addEventListener('click', disconnect);
