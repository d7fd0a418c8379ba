// For switchboard's reply test: posts the notes a reply answers, and
// reads back what the daemon published, checked by nostr-tools.
//
//   node reply.mjs < SPEC.json > RESULT.json
//
// SPEC {"op": "post", "relays": [url...],
//       "notes": [{"sk": hex, "created_at", "tags", "content"}]}
//   Each note is signed (kind 1) with its secret key and published to
//   every relay, in order.
// RESULT {"events": [{"event", "published": {url: "ok"|reason}}]}
//
// SPEC {"op": "query", "relay": url, "filter": {...}, "notes": [note1...]}
//   The events the relay stores for filter (until EOSE), and the
//   NIP-19 note ids decoded to hex.
// RESULT {"events": [{"event", "verified", "nip10": {"root", "reply",
//          "profiles"}}], "notes": {note1...: hex or error}}
import { readFileSync } from 'node:fs';
import * as nip10 from 'nostr-tools/nip10';
import * as nip19 from 'nostr-tools/nip19';
import { finalizeEvent, verifyEvent } from 'nostr-tools/pure';
import { Relay, useWebSocketImplementation } from 'nostr-tools/relay';
import WebSocket from 'ws';

useWebSocketImplementation(WebSocket);

const spec = JSON.parse(readFileSync(0, 'utf8'));

async function post() {
  const relays = [];
  for (const url of spec.relays) relays.push([url, await Relay.connect(url)]);
  const events = [];
  for (const n of spec.notes) {
    const event = finalizeEvent({ kind: 1, created_at: n.created_at,
      tags: n.tags, content: n.content }, Uint8Array.from(Buffer.from(n.sk, 'hex')));
    const published = {};
    for (const [url, relay] of relays) {
      try {
        published[url] = 'ok' + (await relay.publish(event) || '');
      } catch (e) {
        published[url] = String(e && e.message ? e.message : e);
      }
    }
    events.push({ event, published });
  }
  for (const [, relay] of relays) relay.close();
  return { events };
}

async function query() {
  const relay = await Relay.connect(spec.relay);
  const got = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no EOSE in 10 s')),
      10000);
    const sub = relay.subscribe([spec.filter], {
      onevent(ev) { got.push(ev); },
      oneose() { clearTimeout(timer); sub.close(); resolve(); },
    });
  });
  relay.close();
  const events = got.map((ev) => {
    // A plain copy: verifyEvent caches its verdict on the object.
    const copy = JSON.parse(JSON.stringify(ev));
    const thread = nip10.parse(copy);
    return {
      event: copy,
      verified: verifyEvent(JSON.parse(JSON.stringify(ev))),
      nip10: {
        root: thread.root ? thread.root.id : null,
        reply: thread.reply ? thread.reply.id : null,
        profiles: thread.profiles.map((p) => p.pubkey),
      },
    };
  });
  const notes = {};
  for (const n of spec.notes || []) {
    try {
      const d = nip19.decode(n);
      notes[n] = d.type === 'note' ? d.data : 'type ' + d.type;
    } catch (e) {
      notes[n] = 'error: ' + (e && e.message ? e.message : String(e));
    }
  }
  return { events, notes };
}

const result = spec.op === 'post' ? await post() : await query();
process.stdout.write(JSON.stringify(result) + '\n');
process.exit(0);
