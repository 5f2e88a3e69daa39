#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# tap-run.sh RESULTS_DIR NAME CMD [ARGS...]
# Runs a TAP-speaking command outside automake through automake's own TAP
# driver, so its results land as RESULTS_DIR/NAME.trs and are counted by
# scripts/summarize-tests.sh like every `make check` test.
set -u
results=$1; name=$2; shift 2
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$results"
env AM_TAP_AWK=awk sh "$here/build-aux/tap-driver.sh" --test-name "$name" \
  --log-file "$results/$name.log" --trs-file "$results/$name.trs" \
  --color-tests no --enable-hard-errors yes --expect-failure no -- "$@"
