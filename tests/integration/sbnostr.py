"""Nostr helpers for switchboard's integration tests: NIP-01 event ids,
BIP-340 keys and signatures (a small pure-Python secp256k1, after the
BIP's reference.py: slow but enough for a few hundred test events),
NIP-19 bech32, forged copies of events, the daemon's config for a nostr
source, and which notes reached which chat.

Python 3 standard library only.
"""

import hashlib
import json
import os
import re
import sqlite3

import sbtest
from sbtest import cstr, clist, render_rule

# secp256k1.
P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
G = (0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
     0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8)


def _jadd(a, b):
    """Jacobian point addition; None is the point at infinity."""
    if a is None:
        return b
    if b is None:
        return a
    x1, y1, z1 = a
    x2, y2, z2 = b
    z1s, z2s = z1 * z1 % P, z2 * z2 % P
    u1, u2 = x1 * z2s % P, x2 * z1s % P
    s1, s2 = y1 * z2s * z2 % P, y2 * z1s * z1 % P
    if u1 == u2:
        if s1 != s2:
            return None
        return _jdouble(a)
    h, r = (u2 - u1) % P, (s2 - s1) % P
    h2 = h * h % P
    h3 = h * h2 % P
    x3 = (r * r - h3 - 2 * u1 * h2) % P
    y3 = (r * (u1 * h2 - x3) - s1 * h3) % P
    return (x3, y3, h * z1 * z2 % P)


def _jdouble(a):
    if a is None:
        return None
    x, y, z = a
    if y == 0:
        return None
    ys = y * y % P
    s = 4 * x * ys % P
    m = 3 * x * x % P
    x3 = (m * m - 2 * s) % P
    y3 = (m * (s - x3) - 8 * ys * ys) % P
    return (x3, y3, 2 * y * z % P)


def _affine(a):
    if a is None:
        return None
    x, y, z = a
    zi = pow(z, P - 2, P)
    return (x * zi * zi % P, y * zi * zi * zi % P)


def point_mul(pt, k):
    r, q = None, (pt[0], pt[1], 1)
    while k:
        if k & 1:
            r = _jadd(r, q)
        q = _jdouble(q)
        k >>= 1
    return _affine(r)


def point_add(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return _affine(_jadd((a[0], a[1], 1), (b[0], b[1], 1)))


def tagged_hash(tag, msg):
    t = hashlib.sha256(tag.encode()).digest()
    return hashlib.sha256(t + t + msg).digest()


def lift_x(x):
    if x >= P:
        return None
    ys = (pow(x, 3, P) + 7) % P
    y = pow(ys, (P + 1) // 4, P)
    if pow(y, 2, P) != ys:
        return None
    return (x, y if y % 2 == 0 else P - y)


def pubkey(seckey):
    """x-only public key (32 bytes) of a 32-byte secret key."""
    d = int.from_bytes(seckey, "big")
    if not 0 < d < N:
        raise ValueError("secret key out of range")
    return point_mul(G, d)[0].to_bytes(32, "big")


def schnorr_sign(msg, seckey, aux):
    d0 = int.from_bytes(seckey, "big")
    if not 0 < d0 < N:
        raise ValueError("secret key out of range")
    pt = point_mul(G, d0)
    d = d0 if pt[1] % 2 == 0 else N - d0
    px = pt[0].to_bytes(32, "big")
    t = (d ^ int.from_bytes(tagged_hash("BIP0340/aux", aux), "big"))
    k0 = int.from_bytes(tagged_hash("BIP0340/nonce", t.to_bytes(32, "big") +
                                    px + msg), "big") % N
    if k0 == 0:
        raise ValueError("nonce is zero")
    r = point_mul(G, k0)
    k = k0 if r[1] % 2 == 0 else N - k0
    rx = r[0].to_bytes(32, "big")
    e = int.from_bytes(tagged_hash("BIP0340/challenge", rx + px + msg),
                       "big") % N
    return rx + ((k + e * d) % N).to_bytes(32, "big")


def schnorr_verify(msg, pub, sig):
    pt = lift_x(int.from_bytes(pub, "big"))
    r = int.from_bytes(sig[:32], "big")
    s = int.from_bytes(sig[32:], "big")
    if pt is None or r >= P or s >= N:
        return False
    e = int.from_bytes(tagged_hash("BIP0340/challenge", sig[:32] + pub +
                                   msg), "big") % N
    rr = point_add(point_mul(G, s), point_mul(pt, N - e))
    return rr is not None and rr[1] % 2 == 0 and rr[0] == r


def check_vectors(path):
    """Failures of this signer on BIP-340's test-vectors.csv (empty
    when it reproduces every signature and verdict)."""
    bad = []
    with open(path, encoding="utf-8") as f:
        rows = [l.rstrip("\n").split(",") for l in f][1:]
    for row in rows:
        idx, sk, pk, aux, msg, sig, ok = row[:7]
        msg_b, pk_b, sig_b = (bytes.fromhex(msg), bytes.fromhex(pk),
                              bytes.fromhex(sig))
        if sk:
            if pubkey(bytes.fromhex(sk)) != pk_b:
                bad.append("vector %s: public key" % idx)
            if schnorr_sign(msg_b, bytes.fromhex(sk),
                            bytes.fromhex(aux)) != sig_b:
                bad.append("vector %s: signature" % idx)
        try:
            got = schnorr_verify(msg_b, pk_b, sig_b)
        except ValueError:
            got = False
        if got != (ok == "TRUE"):
            bad.append("vector %s: verification" % idx)
    return bad


# NIP-01 events.

def _ser_str(s):
    """A JSON string with exactly NIP-01's escapes; every other
    character verbatim."""
    esc = {"\n": "\\n", "\"": "\\\"", "\\": "\\\\", "\r": "\\r",
           "\t": "\\t", "\b": "\\b", "\f": "\\f"}
    return "\"" + "".join(esc.get(c, c) for c in s) + "\""


def serialize(ev):
    tags = ",".join("[" + ",".join(_ser_str(v) for v in t) + "]"
                    for t in ev["tags"])
    return "[0,%s,%d,%d,[%s],%s]" % (_ser_str(ev["pubkey"]),
                                     ev["created_at"], ev["kind"], tags,
                                     _ser_str(ev["content"]))


def event_id(ev):
    return hashlib.sha256(serialize(ev).encode("utf-8")).hexdigest()


class Key:
    """A key pair; seed makes it reproducible."""

    def __init__(self, seed):
        self.sk = hashlib.sha256(b"switchboard test key " +
                                 seed.encode()).digest()
        self.pub = pubkey(self.sk).hex()

    def npub(self):
        return nip19("npub", bytes.fromhex(self.pub))

    def sign(self, content, created_at, tags=(), kind=1):
        ev = {"pubkey": self.pub, "created_at": int(created_at),
              "kind": kind, "tags": [list(t) for t in tags],
              "content": content}
        ev["id"] = event_id(ev)
        ev["sig"] = schnorr_sign(bytes.fromhex(ev["id"]), self.sk,
                                 os.urandom(32)).hex()
        return ev


def verify(ev):
    try:
        return event_id(ev) == ev["id"] and schnorr_verify(
            bytes.fromhex(ev["id"]), bytes.fromhex(ev["pubkey"]),
            bytes.fromhex(ev["sig"]))
    except (KeyError, ValueError, TypeError):
        return False


def forgeries(ev, marker, impostor=None):
    """Copies of genuine ev that must never be accepted, each with
    marker in its text where the text changes:
      - "text": content changed, id kept (the id no longer matches);
      - "reid": content changed and id recomputed (the signature does
        not match the new id);
      - "sig": one bit of the signature flipped (same id and text);
      - "impostor": the same note claiming to be by impostor (a public
        key hex), id recomputed, the original signature kept."""
    out = {}
    f = dict(ev, content=ev["content"] + " " + marker)
    out["text"] = f
    g = dict(f)
    g["id"] = event_id(g)
    out["reid"] = g
    s = bytearray(bytes.fromhex(ev["sig"]))
    s[10] ^= 0x01
    out["sig"] = dict(ev, sig=bytes(s).hex())
    if impostor is not None:
        h = dict(ev, pubkey=impostor, content=ev["content"] + " " + marker)
        h["id"] = event_id(h)
        out["impostor"] = h
    for v in out.values():
        assert not verify(v)
    return out


# NIP-19.

B32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _polymod(values):
    gen = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]
    chk = 1
    for v in values:
        b = chk >> 25
        chk = (chk & 0x1ffffff) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (b >> i) & 1 else 0
    return chk


def nip19(hrp, data):
    acc, bits, five = 0, 0, []
    for b in data:
        acc = (acc << 8) | b
        bits += 8
        while bits >= 5:
            bits -= 5
            five.append((acc >> bits) & 31)
    if bits:
        five.append((acc << (5 - bits)) & 31)
    exp = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    pm = _polymod(exp + five + [0] * 6) ^ 1
    chk = [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(B32[v] for v in five + chk)


def note_id(hex_id):
    return nip19("note", bytes.fromhex(hex_id))


# The daemon's side.

WEB = "https://njump.me/"
NOTE_RE = re.compile(r"https://njump\.me/(note1[%s]{58})" % B32)


def note_url(hex_id):
    return WEB + note_id(hex_id)


def render_config(state_dir, relays, chat_port, teams, watch, routing=None,
                  extra=""):
    """A config with one nostr source over relays (ws:// URLs); watch:
    dict of mentions/hashtags/authors/kinds/... written as given."""
    out = ["general = { state_directory = %s; log_level = \"debug\"; };"
           % cstr(state_dir)]
    keys = []
    for k, v in watch.items():
        if isinstance(v, list) and v and isinstance(v[0], int):
            keys.append("%s = [%s];" % (k, ", ".join(str(x) for x in v)))
        elif isinstance(v, list):
            keys.append("%s = %s;" % (k, clist(v)))
        elif isinstance(v, bool):
            keys.append("%s = %s;" % (k, "true" if v else "false"))
        elif isinstance(v, str):
            keys.append("%s = %s;" % (k, cstr(v)))
        else:
            keys.append("%s = %s;" % (k, v))
    out.append("sources = ( { name = \"nostr\"; type = \"nostr\";\n"
               "  relays = %s;\n  %s\n  idle_timeout = 5; "
               "reconnect_min = 50; reconnect_max = 400;%s } );"
               % (clist(relays), "\n  ".join(keys), extra))
    out.append("teams = (")
    for i, t in enumerate(teams):
        out.append("  { name = %s;" % cstr(t["name"]))
        out.append("    chat = { type = %s; webhook_url = "
                   "\"http://127.0.0.1:%d/hooks/%s\"; rate = 100.0; "
                   "burst = 50; timeout = 5; };"
                   % (cstr(t["chat"]), chat_port, t["hook"]))
        out.append("    rules = ( %s );" %
                   ", ".join(render_rule(r) for r in t["rules"]))
        out.append("  }%s" % ("," if i + 1 < len(teams) else ""))
    out.append(");")
    if routing:
        out.append(routing)
    return "\n".join(out) + "\n"


def deliveries(records):
    """[(path, hex event id or None, text of the whole message)]: the
    note a message shows is the one njump link in it."""
    out = []
    for r in records:
        text = "\n".join(sbtest.strings_in(r["body"]))
        notes = set(NOTE_RE.findall(text))
        hex_id = None
        if len(notes) == 1:
            hex_id = NOTE_TO_HEX.get(notes.pop())
        out.append((r["path"], hex_id, text))
    return out


NOTE_TO_HEX = {}


def remember(events):
    """Register events so deliveries() can name them by hex id."""
    for ev in events:
        NOTE_TO_HEX[note_id(ev["id"])] = ev["id"]


def compare(expected, records, markers=()):
    """Problems (empty when each expected id arrived exactly once on
    its path, nothing else arrived, and no message carries a forgery
    marker).  expected: hex id -> hook path."""
    problems, seen = [], {}
    for path, hex_id, text in deliveries(records):
        for m in markers:
            if m in text:
                problems.append("forged text %s delivered on %s" %
                                (m, path))
        if hex_id is None:
            problems.append("message on %s without exactly one known "
                            "note link" % path)
            continue
        seen.setdefault(hex_id, []).append(path)
    for hex_id, want in sorted(expected.items()):
        got = seen.get(hex_id, [])
        if not got:
            problems.append("missing: %s (for %s)" % (hex_id, want))
        elif len(got) > 1:
            problems.append("%d deliveries: %s on %s" % (len(got), hex_id,
                                                         got))
        elif got[0] != want:
            problems.append("wrong channel: %s on %s, want %s" %
                            (hex_id, got[0], want))
    for hex_id, got in sorted(seen.items()):
        if hex_id not in expected:
            problems.append("unexpected: %s on %s" % (hex_id, got))
    return problems


def delivered_ids(records):
    return {h for _, h, _ in deliveries(records) if h}


def saved_cursor(state_dir, source="nostr"):
    """The cursor the daemon committed, or None."""
    path = os.path.join(state_dir, "switchboard.db")
    if not os.path.exists(path):
        return None
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=5)
    try:
        row = db.execute("SELECT value FROM cursors WHERE source = ?",
                         (source,)).fetchone()
    finally:
        db.close()
    return row[0] if row else None


def set_cursor(state_dir, value, source="nostr"):
    """Write a cursor as a previous run would have (daemon stopped)."""
    db = sqlite3.connect(os.path.join(state_dir, "switchboard.db"),
                         timeout=5)
    try:
        db.execute("INSERT OR REPLACE INTO cursors (source, value, "
                   "updated_ms) VALUES (?, ?, 0)", (source, str(value)))
        db.commit()
    finally:
        db.close()


def req_since(req):
    """The since of every filter of a logged REQ (one value expected)."""
    return {f.get("since") for f in req["filters"] if isinstance(f, dict)}


def dump_json(obj):
    return json.dumps(obj, sort_keys=True)
