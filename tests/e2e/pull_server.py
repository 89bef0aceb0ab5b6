#!/usr/bin/env python3
"""A file server for tests/e2e/pull.sh, on 127.0.0.1 only.

    pull_server.py ROOT PORTFILE LOGFILE

Serves the files of ROOT and writes its port to PORTFILE once listening.
Every request is logged to LOGFILE as one line: METHOD PATH RANGE STATUS
AUTH (AUTH is "auth" when an Authorization header came, else "-").

Paths:
  /files/NAME            the file, honouring "Range: bytes=START-[END]"
                         (206 + Content-Range; 416 past the end)
  /cutonce/NAME          as /files, but the first request for NAME sends the
                         headers of the whole answer, half the body, and
                         closes the connection
  /norange/NAME          ignores Range: always 200 with the whole file
  /hf/.../resolve/main/X Hugging Face style: 302 to /files/model.gguf with
                         X-Linked-Etag: "<sha256 of model.gguf>"
  /hfbad/.../resolve/... the same with a wrong X-Linked-Etag
  /hfx/.../resolve/...   the same, redirecting to http://localhost:PORT (another
                         host name, as Hugging Face's CDN is)
  anything else          404
"""
import hashlib
import http.server
import os
import re
import sys
import threading

ROOT, PORTFILE, LOGFILE = sys.argv[1], sys.argv[2], sys.argv[3]
cut_done = set()
lock = threading.Lock()


def log(method, path, rng, status, auth=False):
    with lock, open(LOGFILE, "a") as f:
        f.write("%s %s %s %d %s\n" % (method, path, rng or "-", status, "auth" if auth else "-"))


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def log_req(self, rng, status):
        log(self.command, self.path, rng, status, "Authorization" in self.headers)

    def send_file(self, name, honour_range=True, cut=False):
        path = os.path.join(ROOT, os.path.basename(name))
        rng = self.headers.get("Range")
        if not os.path.isfile(path):
            return self.plain(404, "not found\n", rng)
        data = open(path, "rb").read()
        size = len(data)
        start, end, status = 0, size - 1, 200
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng or "")
        if honour_range and m:
            start = int(m.group(1))
            if m.group(2):
                end = min(int(m.group(2)), size - 1)
            if start >= size:
                self.log_req(rng, 416)
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % size)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        body = data[start:end + 1]
        self.log_req(rng, status)
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes" if honour_range else "none")
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        self.end_headers()
        if cut:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.close()
            return
        self.wfile.write(body)

    def plain(self, status, text, rng=None):
        self.log_req(rng, status)
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        p = self.path.split("?")[0]
        rng = self.headers.get("Range")
        if p.startswith("/files/"):
            return self.send_file(p[7:])
        if p.startswith("/norange/"):
            return self.send_file(p[9:], honour_range=False)
        if p.startswith("/cutonce/"):
            name = p[9:]
            with lock:
                first = name not in cut_done
                cut_done.add(name)
            return self.send_file(name, cut=first)
        if p.split("/")[1] in ("hf", "hfbad", "hfx") and "/resolve/" in p:
            sha = hashlib.sha256(open(os.path.join(ROOT, "model.gguf"), "rb").read()).hexdigest()
            if p.startswith("/hfbad/"):
                sha = "0" * 64
            self.log_req(rng, 302)
            self.send_response(302)
            if p.startswith("/hfx/"):
                port = self.server.server_address[1]
                self.send_header("Location", "http://localhost:%d/files/model.gguf" % port)
            else:
                self.send_header("Location", "/files/model.gguf")
            self.send_header("X-Linked-Etag", '"%s"' % sha)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        return self.plain(404, "Entry not found\n", rng)


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
