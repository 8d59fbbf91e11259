# Sourced (POSIX sh) by the scripts that build: scripts/setup, test, demo, static-build, package and
# bench/pki/run. Uses the Swift toolchain on PATH; without one, the common install location
# /opt/swift/usr/bin; otherwise stops, saying how to get one.
if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
  PATH="/opt/swift/usr/bin:$PATH"
  export PATH
fi
if ! command -v swift >/dev/null 2>&1; then
  echo "${0##*/}: no Swift toolchain on PATH (nor in /opt/swift/usr/bin): install Swift 6 from https://www.swift.org/install/ and put its usr/bin on PATH" >&2
  exit 2
fi
# An older toolchain found first fails later with compiler errors that do not say why.
swift_major=$(swift --version 2>/dev/null || true)
swift_major=$(printf '%s\n' "$swift_major" | sed -n '/Swift version [0-9]/{s/.*Swift version \([0-9][0-9]*\).*/\1/p;q;}')
if [ -n "$swift_major" ] && [ "$swift_major" -lt 6 ]; then
  echo "${0##*/}: $(command -v swift) is Swift $swift_major; clusterup needs Swift 6: install it from https://www.swift.org/install/ and put its usr/bin first on PATH" >&2
  exit 2
fi
unset swift_major
