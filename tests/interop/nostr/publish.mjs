// Publishes signed notes with nostr-tools, for switchboard's interop
// test, and makes forged copies of some of them.
//
//   node publish.mjs < SPEC.json > RESULT.json
//
// SPEC: {"brand": "<hex pubkey>", "tag": "acme",
//        "notes": [{"what": "mention"|"tag"|"plain", "relays": [url...]}],
//        "forge": ["mention", ...]}   kinds of notes to forge copies of
// RESULT: {"npub": brand as npub, "note": {hex id: note1...},
//          "notes": [{"what", "event", "published": {url: "ok"|reason}}],
//          "forged": [{"how", "event", "published": {url: ...}}]}
// Each forged copy is also offered to the note's relays, which should
// refuse it ("published" shows what they answered).
import { readFileSync } from 'node:fs';
import * as nip19 from 'nostr-tools/nip19';
import { finalizeEvent, generateSecretKey, getEventHash, getPublicKey,
  verifyEvent } from 'nostr-tools/pure';
import { Relay, useWebSocketImplementation } from 'nostr-tools/relay';
import WebSocket from 'ws';

useWebSocketImplementation(WebSocket);

const spec = JSON.parse(readFileSync(0, 'utf8'));
const authors = [generateSecretKey(), generateSecretKey(),
  generateSecretKey()];
const relays = new Map();

async function relay(url) {
  if (!relays.has(url)) relays.set(url, await Relay.connect(url));
  return relays.get(url);
}

async function publish(event, urls) {
  const out = {};
  for (const url of urls) {
    try {
      out[url] = 'ok' + (await (await relay(url)).publish(event) || '');
    } catch (e) {
      out[url] = String(e && e.message ? e.message : e);
    }
  }
  return out;
}

function template(what, n) {
  const tags = [];
  if (what === 'mention') tags.push(['p', spec.brand]);
  if (what === 'tag') tags.push(['t', spec.tag]);
  return {
    kind: 1,
    created_at: Math.floor(Date.now() / 1000),
    tags,
    content: `interop note ${n} (${what}): "nostr-tools" \\ ünïcode ✓\n` +
      (what === 'mention' ? `hi nostr:${nip19.npubEncode(spec.brand)}` :
        what === 'tag' ? `#${spec.tag}` : 'nothing to see'),
  };
}

function forgeries(signed, n) {
  // A plain copy: nostr-tools caches "verified" on the object itself.
  const event = JSON.parse(JSON.stringify(signed));
  const text = { ...event, content: event.content + ` FORGED-${n}` };
  const reid = { ...text };
  reid.id = getEventHash(reid);
  const sig = event.sig.slice(0, 20) +
    (event.sig[20] === '0' ? '1' : '0') + event.sig.slice(21);
  const impostor = { ...event, pubkey: spec.brand,
    content: event.content + ` FORGED-${n}` };
  impostor.id = getEventHash(impostor);
  return { text, reid, sig: { ...event, sig }, impostor };
}

const result = { npub: nip19.npubEncode(spec.brand), note: {}, notes: [],
  forged: [] };
let n = spec.first || 0;
for (const note of spec.notes) {
  n++;
  const event = finalizeEvent(template(note.what, n),
    authors[n % authors.length]);
  if (!verifyEvent(event)) throw new Error('nostr-tools made a bad event');
  result.note[event.id] = nip19.noteEncode(event.id);
  result.notes.push({ what: note.what, event,
    published: await publish(event, note.relays) });
  if ((spec.forge || []).includes(note.what)) {
    for (const [how, f] of Object.entries(forgeries(event, n))) {
      if (verifyEvent(JSON.parse(JSON.stringify(f))))
        throw new Error('forgery verifies');
      result.forged.push({ how, event: f,
        published: await publish(f, note.relays) });
    }
  }
}
for (const r of relays.values()) r.close();
process.stdout.write(JSON.stringify(result) + '\n');
