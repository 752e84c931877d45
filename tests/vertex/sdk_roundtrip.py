"""Drives `batchline emulator` with Google's own Python SDK (google-genai), as a user would drive
Vertex AI: create a batch job from a gs:// file, get it until it ends, list, cancel a second job,
delete the first. Prints one JSON object per step; tests/it/emulator.rs checks them.

usage: sdk_roundtrip.py EMULATOR_URL SRC_URI DEST_URI CANCEL_DEST_URI
"""

import json
import sys
import time

import google.oauth2.credentials
from google import genai
from google.genai import types

TERMINAL = {"JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"}


def say(**kw):
    print(json.dumps(kw), flush=True)


def client(url, version):
    options = {"base_url": url}
    if version:
        options["api_version"] = version
    return genai.Client(
        vertexai=True,
        project="p",
        location="us-central1",
        credentials=google.oauth2.credentials.Credentials(token="test"),
        http_options=types.HttpOptions(**options),
    )


def wait(c, name):
    deadline = time.time() + 60
    while True:
        job = c.batches.get(name=name)
        if job.state.name in TERMINAL or time.time() > deadline:
            return job
        time.sleep(0.05)


def main():
    url, src, dest, cancel_dest = sys.argv[1:5]
    v1 = client(url, "v1")
    job = v1.batches.create(model="gemini-2.5-flash", src=src, config={"dest": dest, "display_name": "sdk-job"})
    say(step="create", name=job.name, state=job.state.name, model=job.model, display_name=job.display_name)
    done = wait(v1, job.name)
    stats = done.completion_stats
    say(
        step="get",
        state=done.state.name,
        dest=done.dest.gcs_uri if done.dest else None,
        successful=stats.successful_count if stats else None,
        failed=stats.failed_count if stats else None,
    )
    # The SDK's default API version on Vertex is v1beta1.
    beta = client(url, None)
    again = beta.batches.get(name=job.name.split("/")[-1])
    say(step="get_v1beta1", name=again.name, state=again.state.name)
    second = v1.batches.create(model="gemini-2.5-flash", src=src, config={"dest": cancel_dest})
    v1.batches.cancel(name=second.name)
    cancelled = wait(v1, second.name)
    say(step="cancel", name=second.name, state=cancelled.state.name, code=cancelled.error.code if cancelled.error else None)
    names = sorted(j.name for j in v1.batches.list(config={"page_size": 1}))
    say(step="list", names=names)
    deleted = v1.batches.delete(name=job.name)
    say(step="delete", done=deleted.done)
    names = sorted(j.name for j in v1.batches.list())
    say(step="list_after_delete", names=names)


if __name__ == "__main__":
    main()
