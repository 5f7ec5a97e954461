//! Multi-document YAML and JSON manifests in and out, and unified diffs: the only YAML code.
