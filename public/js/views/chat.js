// @ts-check
// The chat panel: messages of the `chat` room and the form that sends one.
import { describeError } from '../api.js';
import { byId, clockText, el, isObject, summarize } from '../dom.js';

/** Messages kept on screen. */
const MAX_CHAT = 100;

/**
 * Appends a `chat-message` event, marked as mine or the bot's.
 * @param {import('../../sdk/roomcast.js').RoomcastEvent} ev
 * @param {string | null} me the logged-in user's id
 */
export function addChat(ev, me) {
  const d = isObject(ev.data) ? ev.data : {};
  const userId = typeof d.userId === 'string' ? d.userId : '';
  const author = typeof d.username === 'string' && d.username ? d.username : userId || ev.sender || '?';
  const li = el('li', 'msg');
  if (me !== null && userId === me) li.classList.add('mine');
  if (ev.sender === 'system' || userId === 'bot') li.classList.add('bot');
  li.dataset.id = ev.id;
  li.dataset.user = userId;
  li.append(el('span', 'author', author), el('span', 'text', typeof d.text === 'string' ? d.text : summarize(d)), el('time', 'at', clockText(ev.timestamp)));
  const log = byId('chat-log');
  const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.append(li);
  while (log.children.length > MAX_CHAT) log.firstElementChild?.remove();
  if (nearBottom) log.scrollTop = log.scrollHeight;
  byId('chat-empty').hidden = true;
}

/** Enables the form while this connection is in `chat`. @param {boolean} inChat */
export function setChatEnabled(inChat) {
  byId('chat-text', HTMLInputElement).disabled = !inChat;
  byId('chat-send', HTMLButtonElement).disabled = !inChat;
  byId('chat-empty').hidden = inChat || byId('chat-log').children.length > 0;
}

/** Removes every message. */
export function resetChat() {
  byId('chat-log').replaceChildren();
}

/**
 * Wires the form.
 * @param {(text: string) => Promise<import('../api.js').ApiResult>} send
 * @param {() => boolean} inChat
 */
export function wireChat(send, inChat) {
  byId('chat-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = byId('chat-text', HTMLInputElement);
    const button = byId('chat-send', HTMLButtonElement);
    const error = byId('chat-error');
    const text = input.value.trim();
    error.textContent = '';
    if (!text) return;
    button.disabled = true;
    const r = await send(text);
    button.disabled = !inChat();
    if (!r.ok) {
      error.textContent = describeError(r);
      return;
    }
    input.value = '';
    input.focus();
  });
}
