#!/usr/bin/env python3
"""The spec's persistent-session check, against a running emodal-api.

Gets a session, lists 10 containers with that session_id, asks for the session again and
confirms the same id comes back with is_new false. Defaults to the sandbox
(`scripts/sandbox.sh`): http://127.0.0.1:5010 with the demo account.
Needs only Python 3 and `requests`. Exit status 0 when every check holds.
"""

import argparse
import sys

import requests


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="http://127.0.0.1:5010", help="API base URL")
    p.add_argument("--username", default="demo")
    p.add_argument("--password", default="demo-password")
    p.add_argument("--captcha-key", default="sandbox-key", help="2captcha API key")
    p.add_argument("--token", default=None, help="API token (server.api_tokens), if the server requires one")
    args = p.parse_args()

    http = requests.Session()
    if args.token:
        http.headers["Authorization"] = f"Bearer {args.token}"
    creds = {"username": args.username, "password": args.password, "captcha_api_key": args.captcha_key}
    failures = 0

    def check(ok: bool, what: str) -> None:
        nonlocal failures
        print(("PASS " if ok else "FAIL ") + what)
        failures += 0 if ok else 1

    print("Getting persistent session...")
    r = http.post(f"{args.url}/get_session", json=creds, timeout=600)
    data = r.json()
    check(r.status_code == 200 and data.get("success") is True, f"get_session answered {r.status_code}: {data.get('message') or data.get('error')}")
    if r.status_code != 200:
        return 1
    session_id = data["session_id"]
    print(f"  session_id={session_id} is_new={data['is_new']}")

    print("Getting containers with the session...")
    r = http.post(f"{args.url}/get_containers", json={"session_id": session_id, "target_count": 10, "format": "json", "debug": False}, timeout=600)
    body = r.json()
    check(r.status_code == 200, f"get_containers answered {r.status_code}")
    check(body.get("session_id") == session_id, "get_containers used the same session")
    check(len(body.get("containers", [])) == 10, f"10 containers returned ({len(body.get('containers', []))})")

    print("Getting the session again...")
    r = http.post(f"{args.url}/get_session", json=creds, timeout=600)
    again = r.json()
    check(again.get("session_id") == session_id, "same session returned")
    check(again.get("is_new") is False, "is_new is false")

    print("all checks passed" if failures == 0 else f"{failures} check(s) failed")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
