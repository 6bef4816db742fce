#!/bin/sh
# The field test over the crates of the issue that the registry cache holds
# (and a few more); see README.md. Usage: ./run.sh [crate-dir-name ...]
set -e
cd "$(dirname "$0")"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
cargo build --offline --release -q
if [ $# -eq 0 ]; then
    set -- anyhow-1.0.105 bytes-1.12.2 crossbeam-channel-0.5.17 either-1.19.0 \
        futures-lite-2.6.1 http-1.5.0 httparse-1.10.1 hyper-1.12.0 \
        indexmap-2.14.2 itoa-1.0.19 memchr-2.8.3 once_cell-1.21.4 percent-encoding-2.3.2 \
        regex-syntax-0.8.12 serde_json-1.0.154 slab-0.4.12 smallvec-1.16.6 \
        tower-0.5.3 concurrent-queue-2.5.0 event-listener-5.4.2 \
        fastrand-2.5.0 syn-2.0.119 regex-automata-0.4.19 crossbeam-utils-0.8.23 \
        crossbeam-deque-0.8.8 tokio-1.54.1
fi
exec ./target/release/isolate-field-test "$@"
