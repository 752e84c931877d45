"""moto's storage server with Cloud Storage's checksum headers, for batchline's tests.

moto serves the XML API that object_store's GCS backend speaks, but answers a HEAD the way S3
does: no `x-goog-hash`, and S3's `<md5 of the parts' md5s>-<parts>` entity tag on multipart
objects. Cloud Storage keeps a CRC32C of every object and says the tag of a multipart object is
not based on MD5. This front adds the header and, with `--mode`, changes what it reports:

  gcs     `x-goog-hash: crc32c=…` on every object HEAD (and `md5=…` for single uploads), and
          multipart tags replaced by `<hex>-<parts>` not made from MD5s (as GCS's may be)
  lie     as gcs, but the CRC32C reported is wrong (a corrupted object)
  plain   moto as it is

Usage: python gcs_front.py --port P [--mode gcs|lie|plain]. Needs moto[server] and crc32c.
"""

import argparse
import base64
import hashlib
import re

import crc32c
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

MULTIPART_TAG = re.compile(r'^"?([0-9a-fA-F]{32})-(\d+)"?$')


def b64_be32(value):
    return base64.b64encode(value.to_bytes(4, "big")).decode()


def front(app, mode):
    def serve(environ, start_response):
        path = environ.get("PATH_INFO", "").lstrip("/")
        is_object = "/" in path and not path.endswith("/") and not environ.get("QUERY_STRING")
        if mode == "plain" or environ["REQUEST_METHOD"] != "HEAD" or not is_object:
            return app(environ, start_response)
        # Answer the HEAD from a GET, to checksum the bytes the server holds.
        inner = dict(environ, REQUEST_METHOD="GET")
        seen = {}

        def keep(status, headers, exc_info=None):
            seen["status"], seen["headers"] = status, headers
            return lambda _data: None

        result = app(inner, keep)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        status, headers = seen["status"], list(seen["headers"])
        if status.startswith("200"):
            crc = crc32c.crc32c(body)
            if mode == "lie":
                crc ^= 0x5A5A5A5A
            out = []
            multipart = False
            for name, value in headers:
                if name.lower() == "etag":
                    m = MULTIPART_TAG.match(value)
                    if m:
                        multipart = True
                        other = hashlib.md5(b"gcs front " + m.group(1).encode()).hexdigest()
                        value = f'"{other}-{m.group(2)}"'
                out.append((name, value))
            headers = out
            headers.append(("x-goog-hash", "crc32c=" + b64_be32(crc)))
            if not multipart:
                md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
                headers.append(("x-goog-hash", "md5=" + md5))
        start_response(status, headers)
        return [b""]

    return serve


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=["gcs", "lie", "plain"], default="gcs")
    args = parser.parse_args()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", args.port, front(app, args.mode), threaded=True)


if __name__ == "__main__":
    main()
