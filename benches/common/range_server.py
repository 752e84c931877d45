"""A static file server that answers single byte ranges from the file itself (sendfile), so a
ranged read costs what its bytes cost: the baseline for remote inputs where moto's ranged GETs
(which read the whole object for each range) would hide batchline's own speed.

Usage: python3 range_server.py DIR PORT   (127.0.0.1 only; HEAD and GET, `Range: bytes=a-b`)
"""

import http.server
import os
import re
import sys

RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _open(self):
        path = os.path.join(ROOT, self.path.lstrip("/").split("?")[0])
        if not os.path.isfile(path):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None, 0
        return open(path, "rb"), os.path.getsize(path)

    def _head(self, f, size):
        start, end, status = 0, size - 1, 200
        m = RANGE.match(self.headers.get("Range", ""))
        if m:
            start = int(m.group(1))
            end = min(int(m.group(2)) if m.group(2) else size - 1, size - 1)
            status = 206
        self.send_response(status)
        self.send_header("Content-Length", str(max(0, end - start + 1)))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", '"%x-%x"' % (int(os.fstat(f.fileno()).st_mtime_ns), size))
        self.send_header("Last-Modified", self.date_time_string(os.fstat(f.fileno()).st_mtime))
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        self.end_headers()
        return start, end

    def do_HEAD(self):
        f, size = self._open()
        if f:
            with f:
                self._head(f, size)

    def do_GET(self):
        f, size = self._open()
        if not f:
            return
        with f:
            start, end = self._head(f, size)
            self.wfile.flush()
            offset, left = start, end - start + 1
            while left > 0:
                sent = os.sendfile(self.connection.fileno(), f.fileno(), offset, min(left, 1 << 24))
                if sent == 0:
                    break
                offset += sent
                left -= sent


if __name__ == "__main__":
    ROOT = sys.argv[1]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Handler)
    server.serve_forever()
