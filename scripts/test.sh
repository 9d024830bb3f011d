#!/usr/bin/env bash
# The project's test command (README): formatting, vet, the unit and
# integration tests, then every fuzz target for a few seconds each.
# FUZZTIME=0 skips the fuzzing pass.
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=0

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './bench/*') | grep -v '^bench/' || true)
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== build (static, CGO_ENABLED=0)"
go build -o /dev/null ./cmd/sleuth

echo "== go test"
gotest_log=$(mktemp)
go test -count=1 -timeout 20m ./... 2>&1 | tee "$gotest_log"
passed=$(grep -c '^ok ' "$gotest_log" || true)

fuzztime=${FUZZTIME:-3s}
if [ "$fuzztime" != "0" ]; then
  echo "== fuzz ($fuzztime per target)"
  # every func FuzzXxx(f *testing.F) in the main module, package by package
  grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' . | grep -v '^./bench/' | sort | while read -r file; do
    pkg=$(dirname "$file")
    grep -oE '^func Fuzz[A-Za-z0-9_]+' "$file" | sed 's/^func //' | while read -r target; do
      echo "-- $pkg $target"
      # The fuzzing engine itself can report "context deadline exceeded" when
      # a worker misses the end of -fuzztime on a loaded machine (no input
      # failed); that case gets one more run, anything else fails at once.
      go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg" >/tmp/sleuth-fuzz.log 2>&1 ||
        { grep -q 'context deadline exceeded' /tmp/sleuth-fuzz.log && ! grep -q 'Failing input written' /tmp/sleuth-fuzz.log &&
          echo "   (the fuzzing engine timed out under load; once more)" &&
          go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg" >/tmp/sleuth-fuzz.log 2>&1; } ||
        { cat /tmp/sleuth-fuzz.log; exit 1; }
    done
  done
fi
echo "== all tests passed"
echo "packages: ${passed} passed, 0 failed"
