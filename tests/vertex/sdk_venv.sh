#!/usr/bin/env sh
# Creates target/sdk-venv with Google's own Python SDK (PyPI google-genai, pinned), which
# tests/it/emulator.rs drives against `batchline emulator`. Idempotent: an existing venv with the
# pinned version is kept.
set -eu
cd "$(dirname "$0")/../.."
venv=target/sdk-venv
pin=3.3.0
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import google.genai, sys; sys.exit(google.genai.__version__ != '$pin')" 2>/dev/null; then
  echo "$venv: google-genai $pin present"
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --disable-pip-version-check -q "google-genai==$pin"
"$venv/bin/python" -c "import google.genai; print('$venv: google-genai', google.genai.__version__)"
