#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Two misbehaving S3 front ends for the tests of issue 20 (stdlib only, threaded).

lying: a store that claims Object Lock but does not keep it (like OpenStack Swift's s3api).
  - GET ?object-lock of any bucket answers a fabricated "Enabled" configuration;
  - PUT ?retention / ?legal-hold / ?object-lock answer 200 and are not forwarded; the retention
    sent is remembered and echoed by GET ?retention and on HEAD/GET of the object, as a careful
    liar would;
  - requests carrying x-amz-object-lock-* or x-amz-bucket-object-lock-enabled headers are
    forwarded without them (a bucket created "with lock" is created plain, then versioned by
    the proxy so it looks the same: version IDs, delete markers);
  - everything else is forwarded byte for byte (the client's signature stays valid: the Host
    header is forwarded unchanged). With --rehost (a store elsewhere, not on this host) every
    request gets the store's Host header and is re-signed, by both proxies.
  Design choice: SigV4 signs the x-amz-* headers, so a request whose headers were dropped would
  fail upstream with 403 SignatureDoesNotMatch, which a client could tell apart. The proxy
  therefore RE-SIGNS the requests it changes with the same credentials (a test fixture: it gets
  MAMORI_S3_ACCESS_KEY / MAMORI_S3_SECRET_KEY from the environment; region and service come
  from the client's own credential scope). The client sees only 2xx answers where a real lock
  store answers 2xx; only deleting a "locked" version by version ID (which succeeds) unmasks it.

dropping: forwards faithfully, and cuts a connection mid-upload when armed through the control
  file (--control): writing "N BYTES" to it arms the proxy: the N-th request with a body (PUT,
  POST) counted from the arming is cut after BYTES bytes of its body went upstream (both
  connections are reset; the client gets no answer). After the cut the control file is removed
  and a line is appended to CONTROL.log. "N BYTES COUNT" cuts COUNT consecutive such requests
  starting at the N-th.
"""

import argparse
import datetime
import email.utils
import hashlib
import hmac
import http.client
import http.server
import os
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse

HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
       "upgrade", "expect", "proxy-authorization", "proxy-authenticate"}
XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"


def split_target(target):
    """Returns (path, raw query, {query key: value}) of a request target."""
    parts = urllib.parse.urlsplit(target)
    q = {}
    for kv in parts.query.split("&") if parts.query else []:
        k, _, v = kv.partition("=")
        q[urllib.parse.unquote(k)] = urllib.parse.unquote(v)
    return parts.path, parts.query, q


def bucket_key(path):
    """Returns (bucket, key) of a path-style request path (key '' for the bucket)."""
    p = path.lstrip("/")
    b, _, k = p.partition("/")
    return urllib.parse.unquote(b), urllib.parse.unquote(k)


def canonical_query(raw):
    pairs = []
    for kv in raw.split("&") if raw else []:
        k, _, v = kv.partition("=")
        enc = lambda s: urllib.parse.quote(urllib.parse.unquote(s), safe="-_.~")
        pairs.append((enc(k), enc(v)))
    pairs.sort()
    return "&".join("%s=%s" % p for p in pairs)


def sign(method, path, raw_query, headers, access_key, secret_key, region, service):
    """SigV4-signs a request in place: headers is a list of [name, value] (Host included)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    headers[:] = [h for h in headers if h[0].lower() not in ("authorization", "x-amz-date")]
    headers.append(["X-Amz-Date", amz_date])
    if not any(h[0].lower() == "x-amz-content-sha256" for h in headers):
        headers.append(["x-amz-content-sha256", "UNSIGNED-PAYLOAD"])
    payload = next(h[1] for h in headers if h[0].lower() == "x-amz-content-sha256")
    signed = {}
    for name, value in headers:
        n = name.lower()
        if n in ("host", "content-md5", "content-type") or n.startswith("x-amz-"):
            signed[n] = re.sub(r"\s+", " ", value.strip())
    names = sorted(signed)
    # S3's canonical URI: each byte of the decoded path URI-encoded once (RFC 3986 unreserved
    # characters and '/' kept)
    cpath = urllib.parse.quote(urllib.parse.unquote(path), safe="/-_.~")
    creq = "\n".join([method, cpath, canonical_query(raw_query),
                      "".join("%s:%s\n" % (n, signed[n]) for n in names),
                      ";".join(names), payload])
    scope = "%s/%s/%s/aws4_request" % (day, region, service)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + secret_key).encode()
    for part in (day, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    headers.append(["Authorization",
                    "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s"
                    % (access_key, scope, ";".join(names), sig)])


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.retention = {}  # (bucket, key) -> (mode, until); the liar's memory
        self.armed = None    # dropping: (mtime_ns, text) of the control file seen last
        self.count = 0
        self.plan = None     # (nth, bytes, times)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mamori-s3proxy"
    sys_version = ""

    def log_message(self, fmt, *a):
        sys.stderr.write("%s %s\n" % (self.server.state.args.mode, fmt % a))

    # --- plumbing -----------------------------------------------------------------------
    def read_body(self, limit=None):
        """The request body (Content-Length or chunked); at most limit bytes when given."""
        te = self.headers.get("Transfer-Encoding", "").lower()
        if "chunked" in te:
            out = bytearray()
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline(65537)
                if limit is not None and len(out) >= limit:
                    return bytes(out[:limit])
        n = int(self.headers.get("Content-Length") or 0)
        if limit is not None:
            n = min(n, limit)
        return self.rfile.read(n) if n else b""

    def fwd_headers(self, drop=()):
        return [[k, v] for k, v in self.headers.items()
                if k.lower() not in HOP and k.lower() != "content-length"
                and not any(k.lower().startswith(d) for d in drop)]

    def upstream(self):
        u = urllib.parse.urlsplit(self.server.state.args.upstream)
        if u.scheme == "https":
            return http.client.HTTPSConnection(u.hostname, u.port or 443, timeout=300)
        return http.client.HTTPConnection(u.hostname, u.port or 80, timeout=300)

    def rehost(self, method, target, headers):
        """For a store not on this host (--rehost): its own Host header, re-signed."""
        if self.server.state.args.rehost:
            headers[:] = [h for h in headers if h[0].lower() != "host"]
            headers.insert(0, ["Host", urllib.parse.urlsplit(self.server.state.args.upstream).netloc])
            self.resign(headers, target, method)

    def send_upstream(self, method, target, headers, body):
        """Sends a request upstream; returns (status, reason, headers, body)."""
        self.rehost(method, target, headers)
        c = self.upstream()
        try:
            c.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for k, v in headers:
                c.putheader(k, v)
            if body or method in ("PUT", "POST"):
                c.putheader("Content-Length", str(len(body)))
            c.endheaders(body if body else None)
            r = c.getresponse()
            data = r.read()
            return r.status, r.reason, r.getheaders(), data
        finally:
            c.close()

    def reply(self, status, reason, headers, body, method):
        self.send_response_only(status, reason)
        length = None
        for k, v in headers:
            kl = k.lower()
            if kl in HOP:
                continue
            if kl == "content-length":
                length = v
                continue
            self.send_header(k, v)
        if method == "HEAD":
            self.send_header("Content-Length", length if length is not None else "0")
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if method != "HEAD" and body:
            self.wfile.write(body)
        self.wfile.flush()

    def fake(self, status, body=b"", ctype="application/xml"):
        h = [("x-amz-request-id", "tx%021x-%s-default" % (int.from_bytes(os.urandom(8), "big"),
                                                           "%08x" % int(time.time()))),
             ("Date", email.utils.formatdate(usegmt=True))]
        if body:
            h.append(("Content-Type", ctype))
        self.reply(status, "OK", h, body, self.command)

    def resign(self, headers, target, method=None):
        path, raw_query, _ = split_target(target)
        auth = self.headers.get("Authorization", "")
        m = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request", auth)
        region, service = (m.group(1), m.group(2)) if m else (
            os.environ.get("MAMORI_S3_REGION", "us-east-1"), "s3")
        sign(method or self.command, path, raw_query, headers, os.environ["MAMORI_S3_ACCESS_KEY"],
             os.environ["MAMORI_S3_SECRET_KEY"], region, service)

    # --- the two modes ------------------------------------------------------------------
    def handle_any(self):
        try:
            if self.server.state.args.mode == "lying":
                self.lying()
            else:
                self.dropping()
        except (ConnectionError, socket.timeout) as e:
            self.log_message("connection error: %s", e)
            self.close_connection = True

    def faithful(self, body=None):
        if body is None:
            body = self.read_body()
        st, reason, h, data = self.send_upstream(self.command, self.path, self.fwd_headers(), body)
        self.reply(st, reason, h, data, self.command)
        return st, h

    def lying(self):
        state = self.server.state
        m = self.command
        path, _, q = split_target(self.path)
        bucket, key = bucket_key(path)
        if m == "GET" and "object-lock" in q and not key:
            self.read_body()
            # RGW's own answer, byte for byte (no xmlns)
            return self.fake(200, (
                '<?xml version="1.0" encoding="UTF-8"?><ObjectLockConfiguration>'
                "<ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>"
                ).encode())
        if m == "PUT" and ("retention" in q or "legal-hold" in q or "object-lock" in q):
            body = self.read_body().decode("utf-8", "replace")
            if "retention" in q:
                mode = re.search(r"<Mode>([^<]*)</Mode>", body)
                until = re.search(r"<RetainUntilDate>([^<]*)</RetainUntilDate>", body)
                with state.lock:
                    state.retention[(bucket, key)] = (mode.group(1) if mode else "",
                                                      until.group(1) if until else "")
            return self.fake(200)
        if m == "GET" and "retention" in q and key:
            with state.lock:
                r = state.retention.get((bucket, key))
            if r:
                self.read_body()
                return self.fake(200, (
                    '<?xml version="1.0" encoding="UTF-8"?><Retention xmlns="%s"><Mode>%s</Mode>'
                    "<RetainUntilDate>%s</RetainUntilDate></Retention>" % (XMLNS, r[0], r[1])
                ).encode())
            return self.faithful()
        lock_hdrs = [(k.lower(), v) for k, v in self.headers.items()
                     if k.lower().startswith("x-amz-object-lock-")
                     or k.lower() == "x-amz-bucket-object-lock-enabled"]
        if lock_hdrs:
            body = self.read_body()
            headers = self.fwd_headers(drop=("x-amz-object-lock-", "x-amz-bucket-object-lock-"))
            self.resign(headers, self.path)
            st, reason, h, data = self.send_upstream(m, self.path, headers, body)
            if 200 <= st < 300:
                d = dict(lock_hdrs)
                if key and "x-amz-object-lock-mode" in d:
                    with state.lock:
                        state.retention[(bucket, key)] = (
                            d["x-amz-object-lock-mode"],
                            d.get("x-amz-object-lock-retain-until-date", ""))
                if not key and m == "PUT":
                    self.enable_versioning(bucket)
            return self.reply(st, reason, h, data, m)
        if m in ("GET", "HEAD") and key and not q:
            body = self.read_body()
            st, reason, h, data = self.send_upstream(m, self.path, self.fwd_headers(), body)
            with state.lock:
                r = state.retention.get((bucket, key))
            if r and 200 <= st < 300:
                h = list(h) + [("x-amz-object-lock-mode", r[0]),
                               ("x-amz-object-lock-retain-until-date", r[1])]
            return self.reply(st, reason, h, data, m)
        self.faithful()

    def enable_versioning(self, bucket):
        target = "/%s?versioning" % urllib.parse.quote(bucket)
        body = ('<VersioningConfiguration xmlns="%s"><Status>Enabled</Status>'
                "</VersioningConfiguration>" % XMLNS).encode()
        headers = [["Host", self.headers.get("Host", "")],
                   ["x-amz-content-sha256", hashlib.sha256(body).hexdigest()]]
        self.resign(headers, target, "PUT")
        st, _, _, data = self.send_upstream("PUT", target, headers, body)
        if st != 200:
            self.log_message("versioning of '%s' failed: %d %r", bucket, st, data[:200])

    def dropping(self):
        state = self.server.state
        has_body = self.command in ("PUT", "POST") and (
            int(self.headers.get("Content-Length") or 0) > 0
            or "chunked" in self.headers.get("Transfer-Encoding", "").lower())
        cut = None
        if has_body:
            with state.lock:
                ctl = state.args.control
                try:
                    st = os.stat(ctl)
                    with open(ctl) as f:
                        text = f.read()
                    seen = (st.st_mtime_ns, text)
                except OSError:
                    seen = None
                if seen != state.armed:
                    state.armed, state.count, state.plan = seen, 0, None
                    if seen:
                        f = seen[1].split()
                        if len(f) >= 2:
                            state.plan = (int(f[0]), int(f[1]), int(f[2]) if len(f) > 2 else 1)
                if state.plan:
                    state.count += 1
                    nth, nbytes, times = state.plan
                    if nth <= state.count < nth + times:
                        cut = nbytes
                        if state.count == nth + times - 1:
                            try:
                                os.unlink(ctl)
                            except OSError:
                                pass
                            state.armed, state.plan = None, None
                        with open(ctl + ".log", "a") as f:
                            f.write("cut %s %s after %d bytes\n" % (self.command, self.path,
                                                                   nbytes))
        if cut is None:
            return self.faithful()
        body = self.read_body(limit=cut)
        headers = self.fwd_headers()
        self.rehost(self.command, self.path, headers)
        c = self.upstream()
        try:
            c.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in headers:
                c.putheader(k, v)
            c.putheader("Content-Length", self.headers.get("Content-Length") or str(cut + 1))
            c.endheaders()
            if body:
                c.send(body)
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        finally:
            c.close()
        self.log_message("cut %s %s after %d body bytes", self.command, self.path, len(body))
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # parallel uploads open many connections at once


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=("lying", "dropping"))
    ap.add_argument("--listen", required=True, help="HOST:PORT")
    ap.add_argument("--upstream", required=True, help="http://HOST:PORT of the real store")
    ap.add_argument("--control", default="", help="dropping: the control file")
    ap.add_argument("--pid-file", default="")
    ap.add_argument("--rehost", action="store_true",
                    help="the store is elsewhere: send its Host header and re-sign every request")
    args = ap.parse_args()
    if (args.mode == "lying" or args.rehost) and not (os.environ.get("MAMORI_S3_ACCESS_KEY")
                                     and os.environ.get("MAMORI_S3_SECRET_KEY")):
        sys.exit("s3proxy: MAMORI_S3_ACCESS_KEY and MAMORI_S3_SECRET_KEY are needed")
    host, _, port = args.listen.rpartition(":")
    srv = Server((host, int(port)), Handler)
    srv.state = State(args)
    if args.pid_file:
        with open(args.pid_file, "w") as f:
            f.write("%d\n" % os.getpid())
    srv.serve_forever()


if __name__ == "__main__":
    main()
