#!/usr/bin/env bash
# The system programs the tests start, installed with Debian's packages when they are missing.
#
#   scripts/setup-system.sh           install what is missing (root or passwordless sudo), or say
#                                     exactly what to install and fail
#   scripts/setup-system.sh --check   only check: say what is missing and fail, install nothing
#
# What and why:
#   prometheus, prometheus-alertmanager   the monitoring integration tests run both on 127.0.0.1
#   chromium, chromium-driver             the situation room's browser tests (Selenium)
#   a JDK, 17 or newer                    the local Kafka broker of the integration tests
#   maven                                 fetches the Apache Kafka jars on first use
#
# `make test` runs this first; .ci/run runs it too. When everything is there it prints nothing and
# takes a fraction of a second, so it is run every time rather than remembered in a stamp file.
# `make demo`, `make fast` and `make unit` need none of these programs.
set -euo pipefail

check_only=false
case "${1:-}" in
  --check) check_only=true ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

MIN_JAVA=17
missing=()   # Debian packages to install
why=()       # one line per missing program, for the explanation

need() {  # need PROGRAM PACKAGE WHAT
  if ! command -v "$1" >/dev/null 2>&1; then
    missing+=("$2")
    why+=("  $1 (Debian package $2): $3")
  fi
}

java_major() {  # the major version of `java` on PATH, 0 when there is none
  local line version
  command -v java >/dev/null 2>&1 || { echo 0; return; }
  line=$(java -version 2>&1 | head -n 1)
  version=$(sed -n 's/.*version "\([^"]*\)".*/\1/p' <<<"$line")
  version=${version#1.}   # Java 8 and older call themselves 1.N
  version=${version%%[.+_-]*}
  [[ $version =~ ^[0-9]+$ ]] && echo "$version" || echo 0
}

check() {
  missing=()
  why=()
  need prometheus prometheus "Prometheus, for the monitoring integration tests"
  need prometheus-alertmanager prometheus-alertmanager "Alertmanager, for the same tests"
  need chromium chromium "headless Chromium, for the situation room's browser tests"
  need chromedriver chromium-driver "its WebDriver, which Selenium drives"
  local major
  major=$(java_major)
  if (( major < MIN_JAVA )) || ! command -v javac >/dev/null 2>&1; then
    missing+=(default-jdk-headless)
    if (( major == 0 )); then
      why+=("  java (a JDK, ${MIN_JAVA} or newer; Debian: default-jdk-headless): runs the local Kafka broker")
    elif (( major < MIN_JAVA )); then
      why+=("  java ${major} is too old: the local Kafka broker needs a JDK ${MIN_JAVA} or newer (Debian: default-jdk-headless)")
    else
      why+=("  javac (a JDK, not only a JRE; Debian: default-jdk-headless): for the local Kafka broker")
    fi
  fi
  need mvn maven "Maven, which fetches the Apache Kafka jars on first use"
}

explain() {
  echo "The tests start programs that are not installed:" >&2
  printf '%s\n' "${why[@]}" >&2
  echo "Install them (Debian or Ubuntu), then run make test again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  echo "(On Ubuntu, chromium is a snap: install it with snap, and chromedriver comes with it." >&2
  echo " Elsewhere: Prometheus and Alertmanager from prometheus.io, Chromium with its" >&2
  echo " chromedriver, a JDK ${MIN_JAVA}+ and Maven 3 from your system's packages.)" >&2
}

check
if (( ${#missing[@]} == 0 )); then
  exit 0
fi
if $check_only; then
  explain
  exit 1
fi

as_root=()
if (( $(id -u) != 0 )); then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "Not root, and sudo needs a password (or is absent): installing nothing." >&2
    explain
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "No apt-get here: install the programs by hand." >&2
  explain
  exit 1
fi

echo "== installing Debian packages for the tests: ${missing[*]}"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends "${missing[@]}"

check
if (( ${#missing[@]} > 0 )); then
  echo "Installed, yet still missing or too old:" >&2
  printf '%s\n' "${why[@]}" >&2
  exit 1
fi
echo "== the test programs are installed"
