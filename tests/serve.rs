//! The real `autoredeploy serve` binary and its router over TLS on loopback: one test binary.

mod serve_cli;
mod serve_router;
mod serve_tls;
