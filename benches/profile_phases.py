#!/usr/bin/env python3
"""Where one review's CPU goes: sorts `perf script` samples of the server into phases.

Usage (see docs/benchmarks.md, "Where one review's CPU goes"):

    perf record -F 1999 --call-graph dwarf,32768 -o perf.data -- \
        target/release/deps/load-HASH --rounds 1 --duration 3 --no-open --ready-runs 1
    perf script -i perf.data --pid PID -F tid,ip,sym,dso --no-inline > server.script
    python3 benches/profile_phases.py server.script [REQUESTS]

PID is the `autoredeploy serve` process (`perf report --sort pid` lists it). Each sample is
given to logging or metrics when any of its frames belongs to them (their own
syscalls included), else to the first frame, from the leaf up, that names a phase; allocator, libc and core
frames name none, so an allocation counts for the phase that asked for it. A sample whose
leaf is in the kernel counts as "kernel" (network syscalls, scheduling, page faults), as it
would for any server. With REQUESTS (the server's answered requests in the recording), each
phase is also shown in microseconds of CPU per request.
"""

import re
import sys
from collections import Counter

SAMPLES_PER_SECOND = 1999

# Phases that own everything below them (the log formatter calls serde_json's serializer,
# which must not count as the response's encoding): any frame in the stack decides.
OWNING = [
    ("logging", re.compile(r"tracing_subscriber|tracing_appender|tracing_serde|tracing_core|autoredeploy::server::logging")),
    ("metrics", re.compile(r"prometheus_client|server::metrics")),
]

# Then checked in order against each frame's symbol; the first match names the phase.
PHASES = [
    ("engine: clone of the object", re.compile(r"serde_json::value::Value as core::clone::Clone")),
    ("patch (json_patch::diff)", re.compile(r"json_patch|engine::patch")),
    ("engine (rules)", re.compile(r"autoredeploy::engine|autoredeploy::image_ref")),
    ("decode (AdmissionReview to Value)", re.compile(r"autoredeploy::admission::(decode|trimmed)|serde_json::de|serde_json::read")),
    ("drop of decoded values", re.compile(r"drop_in_place<serde_json::value::Value>|drop_in_place<autoredeploy::admission")),
    ("response encode", re.compile(r"serde_json::ser|base64|autoredeploy::admission")),
    ("body collect", re.compile(r"http_body_util|read_body")),
    ("TLS (rustls, ring)", re.compile(r"rustls|\bring\b|ring::|ring_core|aes_gcm|chacha|sha256|x25519")),
    ("HTTP (hyper)", re.compile(r"hyper|httparse|\bhttp::|h2::")),
    ("axum, tower (routing, extractors, middleware)", re.compile(r"axum|tower|matchit")),
    ("review handler (other)", re.compile(r"autoredeploy::server")),
    ("tokio (scheduler, I/O driver, timers)", re.compile(r"tokio|mio::")),
]


def phase_of(frames):
    if not frames:
        return "unknown"
    for name, pattern in OWNING:
        if any(pattern.search(symbol) for symbol, _dso in frames):
            return name
    if frames[0][1] == "[kernel.kallsyms]":
        return "kernel (syscalls, scheduling, faults)"
    for symbol, _dso in frames:
        for name, pattern in PHASES:
            if pattern.search(symbol):
                return name
    return "other (libc, std, allocator alone)"


def samples(lines):
    frames = None
    for line in lines:
        if not line.strip():
            if frames is not None:
                yield frames
            frames = None
        elif not line[0].isspace():
            frames = []
        elif frames is not None:
            match = re.match(r"\s*[0-9a-f]+ (.*) \((.*)\)$", line)
            if match:
                frames.append((match.group(1), match.group(2)))
    if frames is not None:
        yield frames


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    requests = int(sys.argv[2]) if len(sys.argv) == 3 else None
    with open(sys.argv[1], encoding="utf-8", errors="replace") as script:
        counts = Counter(phase_of(frames) for frames in samples(script))
    total = sum(counts.values())
    print(f"{total} samples")
    print("| phase | share of the server's samples |" + (" µs per request |" if requests else ""))
    print("|---|---|" + ("---|" if requests else ""))
    for name, count in counts.most_common():
        row = f"| {name} | {count / total:.1%} |"
        if requests:
            # perf's cpu-clock at -F 1999 takes one sample per 1/1999 s of CPU.
            row += f" {count / SAMPLES_PER_SECOND / requests * 1e6:.1f} |"
        print(row)


if __name__ == "__main__":
    main()
