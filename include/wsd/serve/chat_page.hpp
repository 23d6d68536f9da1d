#pragma once
// wsd-server's chat page (GET /): one static page, no build step, talking to /v1/chat/completions.
// A multi-turn chat (the whole conversation is sent each turn) whose answers show the drafter's
// part and the base model's part in two colours, the switch point and the drafted tokens' p_k
// against tau; the settings a person changes (tau, window, draft length, max tokens, temperature,
// seed); and a compare view that answers the same prompt three ways side by side: WSD, the base
// model alone (the `immediate` rule) and the drafter alone (the `never` rule). A server started
// with --api-key-env needs the key: the key field sends it as a bearer token and keeps it in the
// browser's localStorage (this origin only), as llama.cpp's web UI does. /?prompt=TEXT sends TEXT
// at once. Three literals: each stays under the 16 KiB some compilers allow one.
#include <string>
#include <string_view>

namespace wsd::serve {

inline std::string_view chat_page() {
  static const std::string page = std::string(R"WSDPAGE(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>wsd</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
* { box-sizing: border-box; }
body { font-family: system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
header { display: flex; align-items: baseline; gap: 1.2rem; padding: .6rem 1.2rem; background: #fff; border-bottom: 1px solid #ddd; }
header h1 { font-size: 1.2rem; margin: 0; }
#legend span { margin-right: .9rem; font-size: .9rem; }
main { display: flex; gap: 1rem; padding: 1rem 1.2rem; align-items: flex-start; }
#chat { flex: 1; min-width: 0; }
aside { width: 15rem; background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .8rem; font-size: .9rem; }
aside label { display: flex; justify-content: space-between; align-items: center; margin: .35rem 0; }
aside input[type=number], aside input[type=password] { width: 6.5rem; font: inherit; }
aside input[type=password] { width: 100%; }
aside h2 { font-size: .95rem; margin: .2rem 0 .5rem; }
aside .hint { color: #777; font-size: .8rem; margin: .2rem 0 .6rem; }
#turns { display: flex; flex-direction: column; gap: .7rem; }
.turn.user .bubble { background: #e9eef6; align-self: flex-end; }
.turn { display: flex; flex-direction: column; }
.bubble { white-space: pre-wrap; background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .6rem .8rem; max-width: 100%; }
.answers { display: flex; gap: .6rem; }
.answer { flex: 1; min-width: 0; display: flex; flex-direction: column; }
.answer h3 { font-size: .8rem; text-transform: uppercase; letter-spacing: .05em; color: #666; margin: 0 0 .2rem; }
.draft { color: #1f5fbf; } .strong { color: #1b7f3b; } .switch { color: #c00; font-weight: bold; }
.info { color: #666; font-size: .8rem; margin-top: .25rem; }
.error { color: #b00; }
svg.plot { background: #fff; border: 1px solid #eee; margin-top: .3rem; width: 100%; height: 90px; }
#composer { display: flex; gap: .5rem; margin-top: 1rem; align-items: flex-end; }
#prompt { flex: 1; height: 4.2rem; font: inherit; padding: .4rem; }
#composer .buttons { display: flex; flex-direction: column; gap: .3rem; }
button { font: inherit; padding: .3rem .9rem; }
</style></head>
<body>
<header><h1>wsd</h1>
<span id="legend"><span class="draft">drafter (aligned model)</span><span class="strong">base model</span><span class="switch">| switch</span></span></header>
<main>
<section id="chat">
  <div id="turns"></div>
  <div id="info" class="info"></div>
  <div id="composer">
    <textarea id="prompt" placeholder="Ask something (Enter sends, Shift+Enter a new line)">Give me three tips for staying focused.</textarea>
    <div class="buttons">
      <button id="send">Send</button>
      <label title="answer the prompt by WSD, by the base model alone and by the drafter alone"><input id="compare" type="checkbox"> compare</label>
      <button id="clear">New chat</button>
    </div>
  </div>
</section>
<aside>
  <h2>Settings</h2>
  <p class="hint">Empty: the server's default.</p>
  <label>tau (threshold) <input id="threshold" type="number" min="0" max="1" step="0.05"></label>
  <label>window <input id="window" type="number" min="1" step="1"></label>
  <label>draft length <input id="draft_max_tokens" type="number" min="0" step="1"></label>
  <label>max tokens <input id="max_tokens" type="number" min="1" step="1"></label>
  <label>temperature <input id="temperature" type="number" min="0" max="2" step="0.1"></label>
  <label>seed <input id="seed" type="number" step="1"></label>
  <h2>API key</h2>
  <input id="key" type="password" placeholder="if the server needs one" autocomplete="off">
</aside>
</main>
)WSDPAGE") + std::string(R"WSDPAGE(<script>
const $ = (id) => document.getElementById(id);
const conversation = [];  // the conversation so far: {role, content}, sent whole with each turn
window.wsdRequests = [];  // every request body the page sent, in order (for people and tests)
const KINDS = {wsd: 'WSD', base: 'base model alone', drafter: 'drafter alone'};

function number(id) {
  const v = $(id).value.trim();
  return v === '' ? undefined : Number(v);
}
// The request for one answer: the settings, and for the compare view's other two answers the
// rule that makes WSD one of its baselines (immediate: the base model writes everything; never:
// the drafter's whole draft is kept, up to max tokens; the base model writes only what follows a
// draft that ended by itself).
function request(messages, kind) {
  const body = {messages, stream: true}, wsd = {};
  for (const id of ['max_tokens', 'temperature', 'seed']) if (number(id) !== undefined) body[id] = number(id);
  for (const id of ['threshold', 'window', 'draft_max_tokens']) if (number(id) !== undefined) wsd[id] = number(id);
  if (kind === 'base') { wsd.switch = 'immediate'; delete wsd.threshold; delete wsd.window; }
  if (kind === 'drafter') {
    wsd.switch = 'never'; delete wsd.threshold; delete wsd.window;
    wsd.draft_max_tokens = 100000;  // only max tokens ends the draft (or the drafter's own end)
  }
  if (Object.keys(wsd).length) body.wsd = wsd;
  return body;
}

function plot(svg, p, tau, index) {
  const w = 600, h = 90, n = Math.max(p.length, 2), x = (k) => (k / (n - 1)) * (w - 10) + 5, y = (v) => h - 4 - v * (h - 8);
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  let s = '';
  if (tau !== null && tau !== undefined) s += `<line class="tau" x1="0" x2="${w}" y1="${y(tau)}" y2="${y(tau)}" stroke="#c00" stroke-dasharray="4"/>`;
  if (index >= 0 && index < p.length) s += `<line x1="${x(index)}" x2="${x(index)}" y1="0" y2="${h}" stroke="#c00"/>`;
  s += `<polyline points="${p.map((v, k) => `${x(k)},${y(v)}`).join(' ')}" fill="none" stroke="#1f5fbf"/>`;
  p.forEach((v, k) => { s += `<circle class="pk" cx="${x(k)}" cy="${y(v)}" r="2.5" fill="#1f5fbf"><title>p_${k} = ${v.toFixed(3)}</title></circle>`; });
  svg.innerHTML = s;
}

function bubble(parent, role, text) {
  const turn = document.createElement('div');
  turn.className = 'turn ' + role;
  const b = document.createElement('div');
  b.className = 'bubble';
  b.textContent = text;
  turn.appendChild(b);
  parent.appendChild(turn);
  return turn;
}
)WSDPAGE") + std::string(R"WSDPAGE(
// One answer box: streams the request into it; resolves to the answer's text ('' on an error).
function answer(container, kind, body) {
  const box = document.createElement('div');
  box.className = 'answer';
  box.dataset.kind = kind;
  box.dataset.state = 'streaming';
  box.innerHTML = `<h3>${KINDS[kind]}</h3><div class="bubble"><span class="draft"></span><span class="switch"></span><span class="strong"></span></div>` +
                  `<div class="info"></div><svg class="plot"></svg>`;
  container.appendChild(box);
  const part = (c) => box.querySelector('.' + c);
  window.wsdRequests.push(body);
  return stream(body, {
    text(t, switched) { part(switched ? 'strong' : 'draft').textContent += t; },
    switched() { part('switch').textContent = '|'; },
    trace(t) {
      box.dataset.switchIndex = t.switch.index;
      part('info').textContent = `switch index ${t.switch.index} (${t.switch.reason}); drafted ${t.tokens.weak} tokens, ` +
        `base model wrote ${t.tokens.strong_generated}; ${t.timing.total_s.toFixed(2)} s`;
      if (t.draft.probs.length) plot(part('plot'), t.draft.probs, t.config.threshold, t.switch.index);
      else part('plot').remove();
    },
    error(message) { part('info').textContent = message; part('info').classList.add('error'); },
  }).then((ok) => {
    box.dataset.state = ok ? 'done' : 'error';
    return ok ? part('draft').textContent + part('strong').textContent : '';
  });
}

// POSTs one streamed request and hands its events to `on`; resolves to whether it ended well.
async function stream(body, on) {
  const headers = {'Content-Type': 'application/json'}, key = $('key').value.trim();
  if (key) headers['Authorization'] = 'Bearer ' + key;
  let r;
  try {
    r = await fetch('/v1/chat/completions', {method: 'POST', headers, body: JSON.stringify(body)});
  } catch (e) {
    on.error('the server cannot be reached: ' + e.message);
    return false;
  }
  if (!r.ok) {
    let message = await r.text();
    try { message = JSON.parse(message).error.message; } catch (e) {}
    if (r.status === 401) { message += ' (enter the server\'s API key in the settings)'; $('key').focus(); }
    on.error(`error ${r.status}: ${message}`);
    $('info').textContent = `error ${r.status}: ${message}`;
    return false;
  }
  const reader = r.body.getReader(), dec = new TextDecoder();
  let buf = '', switched = false, ok = true;
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    buf += dec.decode(value, {stream: true});
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
      const ev = JSON.parse(line.slice(6));
      if (ev.error) { on.error('error: ' + ev.error.message); ok = false; continue; }
      if (ev.wsd && ev.wsd.event === 'switch') { switched = true; on.switched(); }
      const c = ev.choices && ev.choices[0];
      if (c && c.delta && c.delta.content) on.text(c.delta.content, switched);
      if (ev.wsd && ev.wsd.switch !== undefined) on.trace(ev.wsd);
    }
  }
  return ok;
}

async function send() {
  const text = $('prompt').value.trim();
  if (!text || document.body.dataset.state === 'streaming') return;
  document.body.dataset.state = 'streaming';
  $('info').textContent = '';
  $('prompt').value = '';
  const messages = conversation.concat([{role: 'user', content: text}]);
  bubble($('turns'), 'user', text);
  const turn = document.createElement('div');
  turn.className = 'turn assistant';
  const answers = document.createElement('div');
  answers.className = 'answers';
  turn.appendChild(answers);
  $('turns').appendChild(turn);
  const kinds = $('compare').checked ? ['wsd', 'base', 'drafter'] : ['wsd'];
  const texts = await Promise.all(kinds.map((k) => answer(answers, k, request(messages, k))));
  const ok = [...answers.children].every((a) => a.dataset.state === 'done');
  if (ok) conversation.push({role: 'user', content: text}, {role: 'assistant', content: texts[0]});  // WSD's answer goes on
  else if ($('prompt').value === '') $('prompt').value = text;  // not kept: back in the composer to send again
  document.body.dataset.turns = conversation.length / 2;
  document.body.dataset.state = ok ? 'done' : 'error';
  window.scrollTo(0, document.body.scrollHeight);
}

function clear() {
  conversation.length = 0;
  $('turns').innerHTML = '';
  $('info').textContent = '';
  document.body.dataset.turns = 0;
}

for (const id of ['threshold', 'window', 'draft_max_tokens', 'max_tokens', 'temperature', 'seed', 'key']) {
  const name = id === 'key' ? 'wsd-api-key' : 'wsd-' + id;  // kept for the next visit
  const kept = localStorage.getItem(name);
  if (kept !== null) $(id).value = kept;
  $(id).onchange = () => localStorage.setItem(name, $(id).value.trim());
}
$('send').onclick = send;
$('clear').onclick = clear;
$('prompt').onkeydown = (e) => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); send(); } };
const q = new URLSearchParams(location.search).get('prompt');  // /?prompt=...: sends it at once
if (q) { $('prompt').value = q; send(); }
</script></body></html>
)WSDPAGE");
  return page;
}

}  // namespace wsd::serve
