#!/usr/bin/env bash
# Builds the Spark adapter where its packages can be restored. Microsoft.Spark 2.3.1 is not on every
# NuGet feed: when the feed lacks it, this prints exactly one line saying so and exits 0 (never a
# silent pass). Any other restore or build failure fails the script. Called from .ci/run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
readonly PROJECT="spark-jobs/SparkAnomaly.Spark"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT

if ! dotnet restore "$PROJECT" >"$log" 2>&1; then
  # NU1101: no such package; NU1102: no such version; NU1103: only prereleases.
  if grep -Eq "NU110[123]:.*(package|Package) Microsoft\.Spark[ .]" "$log"; then
    echo "spark-jobs: skipped (Microsoft.Spark 2.3.1 is not served by the configured NuGet feed)"
    exit 0
  fi
  cat "$log" >&2
  echo "spark-jobs: restore failed (see above)" >&2
  exit 1
fi

if ! dotnet build "$PROJECT" -c Release --no-restore >"$log" 2>&1; then
  cat "$log" >&2
  echo "spark-jobs: build failed (see above)" >&2
  exit 1
fi
echo "spark-jobs: built $PROJECT (Microsoft.Spark 2.3.1, Apache.Arrow 14.0.2)"
