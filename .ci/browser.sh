#!/usr/bin/env bash
# The browser of the dashboard tests (tests/ui): Debian's Chromium at /usr/bin/chromium, which Playwright drives
# (Playwright itself comes with the dev dependencies; it never downloads a browser here). Idempotent. If Chromium
# cannot be installed, it says so and returns 0: the browser tests then skip, each naming the reason.
set -u
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
echo "browser: installing chromium (Debian package) for the dashboard tests" >&2
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; then
  echo "browser: chromium could not be installed: the dashboard's browser tests (tests/ui) will be SKIPPED" >&2
fi
exit 0
