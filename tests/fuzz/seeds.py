#!/usr/bin/env python3
# Seed corpora for the fuzz targets, from the recorded data in tests/data
# (one file per recorded line) and tests/conf/good, plus the committed
# regression inputs: seeds.py SRCDIR OUTDIR.
import glob, json, os, sys

src, out = sys.argv[1], sys.argv[2]
count = {}

def put(target, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    n = count.get(target, 0)
    count[target] = n + 1
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-%05d" % n), "wb") as f:
        f.write(data)

def lines(name):
    with open(os.path.join(src, "tests/data", name), "rb") as f:
        return [l.rstrip(b"\n") for l in f if l.strip()]

for l in lines("jetstream-corpus.jsonl") + lines("jetstream-golden.jsonl"):
    put("jetstream", l)
    put("json_scan", l)
for name in ("mastodon-stream-public.jsonl", "mastodon-statuses.jsonl",
             "mastodon-stream-truncated.jsonl"):
    for l in lines(name):
        put("mastodon", l)
        put("json_scan", l)
        try:
            st = json.loads(l)
        except ValueError:
            continue
        put("mastodon", json.dumps({"stream": ["public"], "event": "update",
                                    "payload": json.dumps(st)}))
        put("mastodon", json.dumps([st]))
        if isinstance(st, dict) and isinstance(st.get("content"), str):
            put("mastodon_html", st["content"])
            put("policy", st["content"])
with open(os.path.join(src, "tests/data/mastodon-page-public.json"), "rb") as f:
    put("mastodon", f.read())
for l in lines("nostr-events.jsonl"):
    put("nostr", l)
    put("json_scan", l)
    try:
        m = json.loads(l)
        if isinstance(m, list) and len(m) >= 2 and isinstance(m[-1], dict):
            put("nostr", json.dumps(m[-1]))
            put("policy", m[-1].get("content", ""))
    except ValueError:
        pass
with open(os.path.join(src, "tests/data/slack-signing-vectors.json")) as f:
    for v in json.load(f).get("vectors", []):
        body = v.get("body", "")
        put("slash", body)
        put("slash", "%s\n%s\n%s" % (v.get("x_slack_request_timestamp", ""),
                                     v.get("expected_signature",
                                           v.get("x_slack_signature", "")),
                                     body))
for p in sorted(glob.glob(os.path.join(src, "tests/conf/good/*.conf"))):
    with open(p, "rb") as f:
        put("config", f.read())
# Platform answers: status line, headers, empty line, body.
for a in ('200\ncontent-type: application/json\n\n{"ok":true,"ts":"1700000000.000100"}',
          '200\n\n{"ok":false,"error":"channel_not_found"}',
          '429\nretry-after: 30\n\n{"ok":false,"error":"ratelimited"}',
          '201\n\n{"id":"8xk1c3q7wjfm5p9u4ob6yzrgne","channel_id":"c"}',
          '200\nx-ratelimit-remaining: 0\nx-ratelimit-reset-after: 1.5\n\n{"id":"1100000000000000000"}',
          '429\n\n{"retry_after":2.5,"global":false}',
          '200\n\n{"event_id":"$abc:example.org"}',
          '429\n\n{"errcode":"M_LIMIT_EXCEEDED","retry_after_ms":2000}',
          '200\n\n1', '500\n\nInternal Server Error', '0\n\n'):
    put("sink", a)
# Socket Mode: what Slack sends on the socket (the shapes of
# tests/fakes/slack_socket.py), then apps.connections.open answers as
# status line and body.
slash_payload = {"token": "deprecated", "team_id": "T0TEST",
                 "team_domain": "acme", "channel_id": "C0CARE",
                 "channel_name": "care", "user_id": "U0TEST",
                 "user_name": "alice", "command": "/sb", "text": "show K7QX",
                 "api_app_id": "A0FAKESOCKET",
                 "is_enterprise_install": "false",
                 "response_url": "https://hooks.slack.com/commands/T0/1/x",
                 "trigger_id": "1.2.3"}
for m in ({"type": "hello", "num_connections": 1,
           "debug_info": {"host": "applink-fake", "build_number": 1,
                          "approximate_connection_time": 18060},
           "connection_info": {"app_id": "A0FAKESOCKET"}},
          {"type": "disconnect", "reason": "refresh_requested",
           "debug_info": {"host": "applink-fake"}},
          {"type": "disconnect", "reason": "too_many_websockets"},
          {"envelope_id": "1d2c3b4a-0000-4000-8000-000000000001",
           "type": "slash_commands", "payload": slash_payload,
           "accepts_response_payload": True, "retry_attempt": 0,
           "retry_reason": ""},
          {"envelope_id": "1d2c3b4a-0000-4000-8000-000000000002",
           "type": "slash_commands", "payload": dict(slash_payload, user_id=""),
           "accepts_response_payload": False, "retry_attempt": 1,
           "retry_reason": "timeout"},
          {"envelope_id": "1d2c3b4a-0000-4000-8000-000000000003",
           "type": "events_api", "payload": {"type": "event_callback",
           "event": {"type": "app_mention", "text": "<@U0BOT> hi"}},
           "accepts_response_payload": False, "retry_attempt": 0,
           "retry_reason": ""},
          {"envelope_id": "1d2c3b4a-0000-4000-8000-000000000004",
           "type": "interactive", "payload": {"type": "block_actions"},
           "accepts_response_payload": False}):
    put("socket_mode", json.dumps(m))
for a in ('200\n{"ok":true,"url":"wss://wss-primary.slack.com/link/?ticket=1d2c&app_id=A0FAKESOCKET"}',
          '200\n{"ok":true,"url":"ws://127.0.0.1:9/link/1d2c"}',
          '200\n{"ok":false,"error":"invalid_auth"}',
          '429\n{"ok":false,"error":"ratelimited"}',
          '200\n{"ok":true}', '503\n<html>Service Unavailable</html>',
          '0\n'):
    put("socket_mode", a)
put("policy", "Thanks, we are on it: https://example.org/status ^sb")
put("mastodon_html", '<p>Hi <span class="h-card"><a href="https://m.example/@a" class="u-url mention">@<span>a</span></a></span> see <a href="https://example.org/x?a=1&amp;b=2">link</a><br>&lt;ok&gt; &#x1F600;</p>')
for t, d in (("regress", None),):
    for p in sorted(glob.glob(os.path.join(src, "tests/fuzz/regress/*/*"))):
        with open(p, "rb") as f:
            put(os.path.basename(os.path.dirname(p)), f.read())
for t in sorted(count):
    print("seeds: %-14s %d" % (t, count[t]))
