#!/usr/bin/env bash
# Browser tests drive Debian's chromium through Playwright; install it when the machine lacks it.
set -eu
if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
