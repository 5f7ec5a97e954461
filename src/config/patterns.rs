//! Startup checks for `--include-repository` / `--exclude-repository` patterns. The filter
//! matches normalised repositories, `<registry>/<path>` with the registry host lowercased,
//! Docker Hub's aliases folded into `docker.io` and one-segment Docker Hub names under
//! `docker.io/library/` (distribution/reference `normalize.go`). A pattern that can never
//! match such a string silently filters nothing (or everything), so it is refused here with
//! what to write instead. Pure; the glob itself is compiled by `globset`.

use crate::image_ref::{DOCKER_HUB, normalise_registry};

/// Characters that make a pattern segment a glob rather than literal text.
const GLOB_CHARACTERS: [char; 5] = ['*', '?', '[', ']', '{'];

/// Why `pattern` can never match a normalised repository, with the fix; `None` when it can.
pub fn unmatchable(pattern: &str) -> Option<String> {
    if pattern.chars().any(|c| c.is_ascii_uppercase()) {
        return Some(format!(
            "normalised repositories are lowercase; write {:?}",
            pattern.to_ascii_lowercase()
        ));
    }
    if pattern.contains('@') || tag_after_path(pattern) {
        return Some(
            "repositories have no tag or digest; match the repository, e.g. \"docker.io/library/nginx\""
                .to_string(),
        );
    }
    let (first, rest) = match pattern.split_once('/') {
        Some((first, rest)) => (first, Some(rest)),
        None => (pattern, None),
    };
    if is_glob(first) {
        return None;
    }
    let Some(rest) = rest else {
        return Some(format!(
            "a repository always starts with its registry host; write \"{}\"",
            docker_hub_spelling(pattern)
        ));
    };
    if !(first.contains(['.', ':']) || first == "localhost") {
        return Some(format!(
            "{first:?} is not a registry host, and Docker Hub repositories are normalised to docker.io/...; write \"{}\"",
            docker_hub_spelling(pattern)
        ));
    }
    let registry = normalise_registry(first);
    if registry != first {
        return Some(format!(
            "{first:?} is normalised to {registry}; write \"{registry}/{rest}\""
        ));
    }
    if registry == DOCKER_HUB && !rest.is_empty() && !rest.contains('/') && !is_glob(rest) {
        return Some(format!(
            "one-segment Docker Hub repositories are normalised under library/; write \"docker.io/library/{rest}\""
        ));
    }
    None
}

fn is_glob(text: &str) -> bool {
    text.contains(GLOB_CHARACTERS)
}

/// A `:` after the first `/` can only be a tag (a `:` before it is a registry port).
fn tag_after_path(pattern: &str) -> bool {
    pattern
        .split_once('/')
        .is_some_and(|(_, path)| path.contains(':'))
        || (!pattern.contains('/') && pattern.contains(':') && !is_glob(pattern))
}

/// How a Docker Hub name written without its registry is normalised (`nginx` ->
/// `docker.io/library/nginx`, `org/app` -> `docker.io/org/app`).
fn docker_hub_spelling(pattern: &str) -> String {
    if pattern.contains('/') {
        format!("{DOCKER_HUB}/{pattern}")
    } else {
        format!("{DOCKER_HUB}/library/{pattern}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_that_can_match_pass() {
        for pattern in [
            "docker.io/*",
            "docker.io/library/nginx",
            "docker.io/org/*",
            "quay.io/org/app",
            "*",
            "*/library/*",
            "*nginx",
            "registry.example.com:5000/team/*",
            "localhost/x",
            "docker.io/ngin*",
        ] {
            assert_eq!(unmatchable(pattern), None, "{pattern}");
        }
    }

    #[test]
    fn patterns_that_can_never_match_say_what_to_write() {
        let cases = [
            ("nginx", "\"docker.io/library/nginx\""),
            ("library/nginx", "\"docker.io/library/nginx\""),
            ("myorg/*", "\"docker.io/myorg/*\""),
            ("Docker.io/*", "\"docker.io/*\""),
            ("index.docker.io/*", "\"docker.io/*\""),
            ("registry-1.docker.io/org/app", "\"docker.io/org/app\""),
            ("docker.io/nginx", "\"docker.io/library/nginx\""),
            ("docker.io/library/nginx:1.25", "no tag or digest"),
            ("nginx:latest", "no tag or digest"),
            ("quay.io/org/app@sha256:abc", "no tag or digest"),
        ];
        for (pattern, fix) in cases {
            let reason = unmatchable(pattern).unwrap_or_else(|| panic!("{pattern} accepted"));
            assert!(reason.contains(fix), "{pattern}: {reason}");
        }
    }
}
