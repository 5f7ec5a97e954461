//! The HTTPS webhook server, TLS load and reload, the admin port and graceful shutdown.
