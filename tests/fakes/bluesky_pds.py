#!/usr/bin/env python3
"""A loopback Bluesky PDS for switchboard's integration tests: the XRPC
calls a client makes to reply to a post, checked as strictly as a PDS
checks them, with scripted failures and a log of every request.

    pds = BlueskyPDS(handle="acme.test", password="app-pass")
    port = pds.start()
    pds.script("createRecord", 500)            # the next one fails
    pds.hold("createRecord")                    # answer only on release
    pds.wait(lambda p: p.records, timeout=10)
    pds.stop()

or as a script (see --help); GET /_control/state shows the log and the
records.

Endpoints (POST bodies are JSON; errors are {"error", "message"} as
XRPC has them):

- com.atproto.server.createSession {"identifier", "password"}: the
  account's handle or DID and its app password -> did, handle,
  accessJwt, refreshJwt; else 401 AuthenticationRequired.
- com.atproto.server.refreshSession, Bearer refreshJwt: a new pair (the
  old refresh token is spent); else 400 ExpiredToken.
- com.atproto.repo.getRecord?repo&collection&rkey -> the record, or 400
  RecordNotFound.
- com.atproto.repo.createRecord, Bearer accessJwt: repo must be the
  session's DID, the collection app.bsky.feed.post, the rkey a TID, the
  record a valid post (text, createdAt, langs, reply strong refs,
  facets whose byte ranges lie inside the UTF-8 text, in order, without
  overlap).  A record key that exists already answers 500, as the real
  PDS does (bluesky-social/indigo issue 873).  An access token expires
  after access_uses authenticated calls or access_ttl seconds: 400
  ExpiredToken.
- com.atproto.identity.resolveHandle?handle -> did, or 400
  InvalidRequest "Unable to resolve handle".

Python 3 standard library only.
"""

import base64
import hashlib
import http.server
import json
import os
import re
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from loopback import (Loopback, arg_parser, parse_args,  # noqa: E402
                      serve_main)

POST = "app.bsky.feed.post"
FACET = "app.bsky.richtext.facet#"
TID_RE = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]"
                    r"{12}$")
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?"
                         r"(Z|[+-]\d{2}:\d{2})$")
AT_URI_RE = re.compile(r"^at://did:[a-z]+:[A-Za-z0-9._:%-]+/[a-zA-Z0-9.-]+"
                       r"/[A-Za-z0-9._:~-]+$")
RECORD_KEYS = {"$type", "text", "createdAt", "langs", "reply", "facets",
               "embed", "labels", "tags"}
CREATE_KEYS = {"repo", "collection", "rkey", "validate", "record",
               "swapCommit"}
ENDPOINTS = ("createSession", "refreshSession", "getRecord",
             "createRecord", "resolveHandle")


class XrpcError(Exception):
    def __init__(self, status, error, message):
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


def bad(message):
    return XrpcError(400, "InvalidRequest", message)


def fake_cid(data):
    """A CIDv1 shape (base32 "bafyrei..."), from the bytes' hash."""
    digest = hashlib.sha256(data).digest()
    return "bafyrei" + base64.b32encode(digest).decode().lower() \
        .rstrip("=")[:52]


def check_ref(ref, where):
    if not isinstance(ref, dict) or set(ref) - {"uri", "cid", "$type"}:
        raise bad("%s must be a strong ref {uri, cid}" % where)
    if not isinstance(ref.get("uri"), str) or \
            not AT_URI_RE.match(ref["uri"]):
        raise bad("%s.uri must be an at:// URI" % where)
    if not isinstance(ref.get("cid"), str) or len(ref["cid"]) < 8:
        raise bad("%s.cid must be a CID" % where)


def check_facets(facets, text):
    """Byte ranges inside the UTF-8 text, in order, not overlapping."""
    size = len(text.encode("utf-8"))
    if not isinstance(facets, list):
        raise bad("record/facets must be an array")
    last = 0
    for i, f in enumerate(facets):
        where = "record/facets/%d" % i
        if not isinstance(f, dict) or not isinstance(f.get("index"), dict):
            raise bad("%s/index is required" % where)
        s, e = f["index"].get("byteStart"), f["index"].get("byteEnd")
        if not isinstance(s, int) or not isinstance(e, int) or \
                isinstance(s, bool) or isinstance(e, bool):
            raise bad("%s/index byteStart and byteEnd must be integers"
                      % where)
        if not 0 <= s < e <= size:
            raise bad("%s/index [%d, %d) is outside the text (%d bytes)"
                      % (where, s, e, size))
        if s < last:
            raise bad("%s overlaps the facet before it" % where)
        last = e
        feats = f.get("features")
        if not isinstance(feats, list) or not feats:
            raise bad("%s/features must be a non-empty array" % where)
        for j, ft in enumerate(feats):
            t = ft.get("$type") if isinstance(ft, dict) else None
            if t == FACET + "mention":
                ok = isinstance(ft.get("did"), str) and \
                    ft["did"].startswith("did:")
            elif t == FACET + "link":
                ok = isinstance(ft.get("uri"), str) and bool(ft["uri"])
            elif t == FACET + "tag":
                ok = isinstance(ft.get("tag"), str) and bool(ft["tag"])
            else:
                ok = False
            if not ok:
                raise bad("%s/features/%d is not a valid feature"
                          % (where, j))


def check_post(rec):
    """An app.bsky.feed.post record, as the lexicon has it."""
    if not isinstance(rec, dict):
        raise bad("record must be an object")
    extra = set(rec) - RECORD_KEYS
    if extra:
        raise bad("record has unknown fields: %s" % ", ".join(sorted(extra)))
    if rec.get("$type") != POST:
        raise bad("record/$type must be %s" % POST)
    text = rec.get("text")
    if not isinstance(text, str):
        raise bad("record/text must be a string")
    if len(text.encode("utf-8")) > 3000 or len(text) > 300:
        raise bad("record/text is too long")
    if not isinstance(rec.get("createdAt"), str) or \
            not DATETIME_RE.match(rec["createdAt"]):
        raise bad("record/createdAt must be a datetime")
    langs = rec.get("langs")
    if langs is not None and (not isinstance(langs, list) or
                              len(langs) > 3 or
                              not all(isinstance(x, str) and x
                                      for x in langs)):
        raise bad("record/langs must be at most 3 language tags")
    reply = rec.get("reply")
    if reply is not None:
        if not isinstance(reply, dict) or set(reply) - {"root", "parent",
                                                        "$type"}:
            raise bad("record/reply must be {root, parent}")
        check_ref(reply.get("root"), "record/reply/root")
        check_ref(reply.get("parent"), "record/reply/parent")
    if "facets" in rec:
        check_facets(rec["facets"], text)


class Session:
    def __init__(self, did, uses, ttl):
        self.did = did
        self.uses_left = uses
        self.expires = time.time() + ttl if ttl else None


class BlueskyPDS(Loopback):
    """A PDS on 127.0.0.1 hosting one account; start() returns the
    port."""

    label = "bluesky_pds"

    def __init__(self, handle="acme.test",
                 did="did:plc:acmepdstestaccount0001", password="app-pass",
                 handles=None, access_uses=None, access_ttl=None,
                 lifetime=300, port=0, verbose=False):
        self.handle = handle
        self.did = did
        self.password = password
        # Handles resolveHandle knows, besides the account's own.
        self.handles = dict(handles or {})
        self.handles[handle] = did
        self.access_uses = access_uses
        self.access_ttl = access_ttl
        self._loopback_init(lifetime, port, verbose)
        self.access = {}            # accessJwt -> Session
        self.refresh = {}           # refreshJwt -> did (unspent)
        self.records = {}           # (did, collection, rkey) -> record
        self.log = []               # every request, see _record()
        self.scripted = {e: [] for e in ENDPOINTS}
        self.held = {e: False for e in ENDPOINTS}
        self.holding = 0            # answers held right now
        self.delay = {e: 0.0 for e in ENDPOINTS}
        self.counter = 0
        self.httpd = None
        self.base = None

    # Public API.

    def start(self):
        self.httpd = self._serve_http(QuietServer, PdsHandler)
        self.base = "http://127.0.0.1:%d" % self.port
        self._watch_lifetime()
        return self.port

    def stop(self):
        if not self._mark_stopping():
            return
        self.httpd.shutdown()
        self.httpd.server_close()

    def script(self, endpoint, status, error=None, message="scripted",
               headers=None):
        """Answer the next call of endpoint with status, doing nothing
        else; error defaults to what the status means in XRPC."""
        if error is None:
            error = {429: "RateLimitExceeded", 400: "InvalidRequest",
                     401: "AuthenticationRequired"}.get(
                status, "InternalServerError")
        with self.cond:
            self.scripted[endpoint].append((status, error, message,
                                            dict(headers or {})))

    def hold(self, endpoint, on=True):
        """Do what endpoint's calls ask but keep the answers until
        released (hold(endpoint, False)) or the server stops."""
        with self.cond:
            self.held[endpoint] = on
            self.cond.notify_all()

    def slow(self, endpoint, seconds):
        """Wait seconds before answering each call of endpoint."""
        with self.cond:
            self.delay[endpoint] = seconds

    def expire_sessions(self, refresh_too=False):
        """Every access token expires now (and the refresh tokens)."""
        with self.cond:
            for s in self.access.values():
                s.uses_left = 0
            if refresh_too:
                self.refresh.clear()

    def calls(self, endpoint=None):
        """The logged requests, all or one endpoint's."""
        with self.cond:
            return [r for r in self.log
                    if endpoint is None or r["endpoint"] == endpoint]

    def posts(self):
        """The records created, in order."""
        with self.cond:
            return sorted(self.records.values(), key=lambda r: r["n"])

    def state(self):
        with self.cond:
            return {"log": list(self.log),
                    "records": [dict(r) for r in self.posts_locked()]}

    def posts_locked(self):
        return sorted(self.records.values(), key=lambda r: r["n"])

    # Tokens.

    def _token(self, kind):
        with self.cond:
            self.counter += 1
            n = self.counter
        return "%s.%d.%s" % (kind, n, os.urandom(12).hex())

    def _new_session(self, did):
        access, refresh = self._token("acc"), self._token("ref")
        with self.cond:
            self.access[access] = Session(did, self.access_uses,
                                          self.access_ttl)
            self.refresh[refresh] = did
        return {"did": did, "handle": self.handle, "accessJwt": access,
                "refreshJwt": refresh, "active": True}

    def _authed(self, token):
        """The DID whose access token this is, counting one use."""
        if token is None:
            raise XrpcError(401, "AuthMissing",
                            "Authentication Required")
        with self.cond:
            s = self.access.get(token)
            if s is None:
                raise XrpcError(401, "InvalidToken",
                                "Token could not be verified")
            if (s.uses_left is not None and s.uses_left <= 0) or \
                    (s.expires is not None and time.time() >= s.expires):
                raise XrpcError(400, "ExpiredToken", "Token has expired")
            if s.uses_left is not None:
                s.uses_left -= 1
            return s.did

    # Endpoints: (status, body) or XrpcError.

    def create_session(self, body, token):
        if not isinstance(body, dict) or \
                not isinstance(body.get("identifier"), str) or \
                not isinstance(body.get("password"), str):
            raise bad("identifier and password are required")
        ident = body["identifier"].lower().lstrip("@")
        if ident not in (self.handle.lower(), self.did) or \
                body["password"] != self.password:
            raise XrpcError(401, "AuthenticationRequired",
                            "Invalid identifier or password")
        return 200, self._new_session(self.did)

    def refresh_session(self, body, token):
        with self.cond:
            did = self.refresh.pop(token, None) if token else None
        if did is None:
            raise XrpcError(400, "ExpiredToken", "Token has expired")
        return 200, self._new_session(did)

    def get_record(self, query):
        repo = query.get("repo", [None])[0]
        coll = query.get("collection", [None])[0]
        rkey = query.get("rkey", [None])[0]
        if not repo or not coll or not rkey:
            raise bad("repo, collection and rkey are required")
        if repo == self.handle:
            repo = self.did
        if repo != self.did:
            raise bad("Could not find repo: %s" % repo)
        with self.cond:
            r = self.records.get((repo, coll, rkey))
        if r is None:
            raise XrpcError(400, "RecordNotFound",
                            "Could not locate record: at://%s/%s/%s"
                            % (repo, coll, rkey))
        return 200, {"uri": r["uri"], "cid": r["cid"], "value": r["value"]}

    def create_record(self, body, token):
        did = self._authed(token)
        if not isinstance(body, dict):
            raise bad("Input must be an object")
        extra = set(body) - CREATE_KEYS
        if extra:
            raise bad("unknown fields: %s" % ", ".join(sorted(extra)))
        if body.get("repo") != did:
            raise bad("repo must be the session's DID %s" % did)
        if body.get("collection") != POST:
            raise bad("collection must be %s" % POST)
        rkey = body.get("rkey")
        if not isinstance(rkey, str) or not TID_RE.match(rkey):
            raise bad("rkey must be a TID")
        check_post(body.get("record"))
        data = json.dumps(body["record"], sort_keys=True).encode()
        with self.cond:
            k = (did, POST, rkey)
            if k in self.records:
                # What the real PDS answers to a record key in use.
                raise XrpcError(500, "InternalServerError",
                                "Internal Server Error")
            self.counter += 1
            r = {"n": self.counter, "uri": "at://%s/%s/%s" % k,
                 "cid": fake_cid(data), "rkey": rkey, "value": body["record"],
                 "t": time.time()}
            self.records[k] = r
            self.cond.notify_all()
        return 200, {"uri": r["uri"], "cid": r["cid"],
                     "commit": {"cid": fake_cid(data + b"c"),
                                "rev": rkey},
                     "validationStatus": "valid"}

    def resolve_handle(self, query):
        h = (query.get("handle") or [""])[0].lower()
        with self.cond:
            did = self.handles.get(h)
        if did is None:
            raise bad("Unable to resolve handle")
        return 200, {"did": did}


class QuietServer(http.server.ThreadingHTTPServer):
    """A client killed mid-request is normal here, not a traceback."""
    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class PdsHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-pds/1"
    server_owner = None
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, obj, headers=()):
        body = json.dumps(obj).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type",
                             "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            self.close_connection = True

    def bearer(self):
        h = self.headers.get("Authorization", "")
        return h[7:] if h.startswith("Bearer ") else None

    def do_GET(self):
        self.xrpc("GET", b"")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.xrpc("POST", self.rfile.read(n))

    def xrpc(self, method, raw):
        pds = self.server_owner
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        if url.path == "/_control/state" and method == "GET":
            return self.answer(200, pds.state())
        nsid = url.path[len("/xrpc/"):] if url.path.startswith("/xrpc/") \
            else None
        endpoint = nsid.rsplit(".", 1)[-1] if nsid else None
        want = {"createSession": ("POST", "com.atproto.server"),
                "refreshSession": ("POST", "com.atproto.server"),
                "createRecord": ("POST", "com.atproto.repo"),
                "getRecord": ("GET", "com.atproto.repo"),
                "resolveHandle": ("GET", "com.atproto.identity")}
        rec = {"t": time.time(), "method": method, "path": url.path,
               "query": query, "headers": dict(self.headers.items()),
               "auth": self.headers.get("Authorization"),
               "raw": raw.decode("utf-8", "replace"), "body": None,
               "endpoint": endpoint, "status": None, "answer": None}
        with pds.cond:
            pds.log.append(rec)
            pds.cond.notify_all()
        try:
            if endpoint not in want or \
                    nsid != "%s.%s" % (want[endpoint][1], endpoint):
                raise XrpcError(501, "MethodNotImplemented",
                                "Method Not Implemented")
            if method != want[endpoint][0]:
                raise bad("Incorrect HTTP method (%s) expected %s"
                          % (method, want[endpoint][0]))
            body = None
            if method == "POST" and raw:
                if self.headers.get("Content-Type", "").split(";")[0] \
                        .strip() != "application/json":
                    raise bad("Wrong request encoding (Content-Type)")
                try:
                    body = json.loads(raw.decode("utf-8"))
                except (UnicodeError, ValueError):
                    raise bad("Request body is not JSON")
            rec["body"] = body
            with pds.cond:
                scripted = pds.scripted[endpoint].pop(0) \
                    if pds.scripted[endpoint] else None
                delay = pds.delay[endpoint]
            if delay:
                time.sleep(delay)
            if scripted is not None:
                st, err, msg, hdrs = scripted
                return self.finish_answer(rec, st, {"error": err,
                                                    "message": msg},
                                          list(hdrs.items()))
            token = self.bearer()
            if endpoint == "createSession":
                st, out = pds.create_session(body, token)
            elif endpoint == "refreshSession":
                st, out = pds.refresh_session(body, token)
            elif endpoint == "createRecord":
                st, out = pds.create_record(body, token)
            elif endpoint == "getRecord":
                st, out = pds.get_record(query)
            else:
                st, out = pds.resolve_handle(query)
        except XrpcError as e:
            return self.finish_answer(rec, e.status, {"error": e.error,
                                                      "message": e.message})
        with pds.cond:
            if pds.held[endpoint]:
                pds.holding += 1
                pds.cond.notify_all()
                pds.cond.wait_for(lambda: not pds.held[endpoint] or
                                  pds.stopping)
                pds.holding -= 1
                pds.cond.notify_all()
        return self.finish_answer(rec, st, out)

    def finish_answer(self, rec, status, obj, headers=()):
        pds = self.server_owner
        with pds.cond:
            rec["status"] = status
            rec["answer"] = obj
            pds.cond.notify_all()
        self.answer(status, obj, headers)


def main(argv=None):
    ap = arg_parser(__doc__, raw=True)
    ap.add_argument("--handle", default="acme.test")
    ap.add_argument("--did", default="did:plc:acmepdstestaccount0001")
    ap.add_argument("--password", default="app-pass")
    ap.add_argument("--access-uses", type=int, default=None,
                    help="authenticated calls an access token allows")
    ap.add_argument("--access-ttl", type=float, default=None,
                    help="seconds an access token lives")
    a = parse_args(ap, argv)
    pds = BlueskyPDS(handle=a.handle, did=a.did, password=a.password,
                     access_uses=a.access_uses, access_ttl=a.access_ttl,
                     lifetime=a.lifetime, port=a.port, verbose=a.verbose)
    return serve_main(pds, a.port_file)


if __name__ == "__main__":
    sys.exit(main())
