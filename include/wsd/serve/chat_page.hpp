#pragma once
// wsd-server's chat playground (GET /): one static page, no build step. It streams an answer from
// /v1/chat/completions and shows the drafter's part and the base model's part in two colours, the
// switch point, and the drafted tokens' p_k against tau as a small plot. A server started with
// --api-key-env needs the key: the page's key field sends it as a bearer token and keeps it in the
// browser's localStorage (this origin only), as llama.cpp's web UI does.
#include <string_view>

namespace wsd::serve {

inline std::string_view chat_page() {
  return R"WSDPAGE(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>wsd playground</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; }
textarea { width: 100%; height: 5rem; font: inherit; }
#answer { white-space: pre-wrap; border: 1px solid #ccc; padding: .8rem; min-height: 4rem; margin-top: 1rem; }
#draft { color: #1f5fbf; } #strong { color: #1b7f3b; }
#switch { color: #c00; font-weight: bold; }
#legend span { margin-right: 1rem; } #info { color: #555; margin-top: .5rem; }
#key { width: 16rem; font: inherit; margin-left: 1rem; }
</style></head>
<body>
<h1>wsd playground</h1>
<p id="legend"><span style="color:#1f5fbf">drafter (aligned model)</span><span style="color:#1b7f3b">base model</span><span style="color:#c00">| switch</span></p>
<textarea id="prompt">Give me three tips for staying focused.</textarea>
<button id="send">Send</button><input id="key" type="password" placeholder="API key (if the server needs one)" autocomplete="off">
<div id="answer"><span id="draft"></span><span id="switch"></span><span id="strong"></span></div>
<div id="info"></div>
<svg id="plot" width="600" height="160" style="border:1px solid #eee; margin-top: .5rem"></svg>
<script>
const $ = (id) => document.getElementById(id);
function plot(p, tau) {
  const svg = $('plot'), w = 600, h = 160, n = Math.max(p.length, 2);
  let s = '';
  if (tau !== null && tau !== undefined) s += `<line id="tau" x1="0" x2="${w}" y1="${h - tau * h}" y2="${h - tau * h}" stroke="#c00" stroke-dasharray="4"/>`;
  const pts = p.map((v, k) => `${(k / (n - 1)) * (w - 10) + 5},${h - v * h}`).join(' ');
  s += `<polyline id="pk" points="${pts}" fill="none" stroke="#1f5fbf"/>`;
  p.forEach((v, k) => { s += `<circle class="pk" cx="${(k / (n - 1)) * (w - 10) + 5}" cy="${h - v * h}" r="2" fill="#1f5fbf"/>`; });
  svg.innerHTML = s;
}
async function send() {
  $('draft').textContent = ''; $('strong').textContent = ''; $('switch').textContent = ''; $('info').textContent = '';
  document.body.dataset.state = 'streaming';
  let switched = false;
  const headers = {'Content-Type': 'application/json'}, key = $('key').value.trim();
  if (key) headers['Authorization'] = 'Bearer ' + key;
  const r = await fetch('/v1/chat/completions', {method: 'POST', headers,
    body: JSON.stringify({messages: [{role: 'user', content: $('prompt').value}], stream: true})});
  if (!r.ok) {
    let message = await r.text();
    try { message = JSON.parse(message).error.message; } catch (e) {}
    if (r.status === 401) { message += ' (enter the server\'s API key above)'; $('key').focus(); }
    $('info').textContent = `error ${r.status}: ${message}`; document.body.dataset.state = 'error'; return;
  }
  const reader = r.body.getReader(), dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    buf += dec.decode(value, {stream: true});
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const line = buf.slice(0, i); buf = buf.slice(i + 2);
      if (!line.startsWith('data: ')) continue;
      const data = line.slice(6);
      if (data === '[DONE]') continue;
      const ev = JSON.parse(data);
      if (ev.error) { $('info').textContent = 'error: ' + ev.error.message; continue; }
      if (ev.wsd && ev.wsd.event === 'switch') { switched = true; $('switch').textContent = '|'; }
      const c = ev.choices && ev.choices[0];
      if (c && c.delta && c.delta.content) (switched ? $('strong') : $('draft')).textContent += c.delta.content;
      if (ev.wsd && ev.wsd.switch_index !== undefined) {
        const t = ev.wsd;
        $('info').textContent = `switch index ${t.switch_index} (${t.switch_reason}); drafted ${t.tokens.weak} tokens, base model wrote ${t.tokens.strong_written}; weak ${t.seconds.weak.toFixed(2)} s, strong ${t.seconds.strong.toFixed(2)} s`;
        document.body.dataset.switchIndex = t.switch_index;
        plot(t.p, t.threshold);
      }
    }
  }
  document.body.dataset.state = 'done';
}
$('key').value = localStorage.getItem('wsd-api-key') || '';
$('key').onchange = () => localStorage.setItem('wsd-api-key', $('key').value.trim());
$('send').onclick = send;
const q = new URLSearchParams(location.search).get('prompt');  // /?prompt=...: sends it at once
if (q) { $('prompt').value = q; send(); }
</script></body></html>
)WSDPAGE";
}

}  // namespace wsd::serve
