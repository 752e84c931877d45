#!/usr/bin/env bash
# Installs the storage emulator the integration tests start: moto's server (PyPI `moto[server]`),
# which serves the S3 API and the Cloud Storage XML API that object_store's GCS backend speaks.
# Into a virtualenv under target/, so nothing outside the checkout changes. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/moto-venv
if [ ! -x "$venv/bin/moto_server" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --disable-pip-version-check -q "moto[server]==5.2.1"
fi
# crc32c: tests/storage/gcs_front.py reports Cloud Storage's checksum headers in front of moto.
if ! "$venv/bin/python" -c "import crc32c" 2>/dev/null; then
  "$venv/bin/pip" install --disable-pip-version-check -q "crc32c==2.7.1"
fi
"$venv/bin/moto_server" --help >/dev/null
echo "moto_server: $venv/bin/moto_server"
