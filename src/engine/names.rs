//! OpenShift's name rules for what a trigger names: the ImageStream, the tag and the
//! namespace. A trigger the API server rejects fails the user's whole request (a
//! DeploymentConfig's `from` is validated on every write), so nothing that fails these rules
//! may become a trigger. Owns the checks only; it must not read or change objects.
//!
//! Sources: openshift/openshift-apiserver `pkg/image/apis/image/validation/validation.go`
//! (stream names are Docker repository path components; tags `[\w][\w.-]{0,127}`) and
//! Kubernetes' DNS-1123 label rule for namespaces (`k8s.io/apimachinery/pkg/util/validation`).

use crate::engine::catalog::TagRef;

/// The longest namespace name (a DNS-1123 label).
const NAMESPACE_MAX: usize = 63;
/// The longest tag.
const TAG_MAX: usize = 128;

/// Why a name cannot appear in a trigger.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error(
        "stream name {0:?} is not valid (lowercase letters and digits, separated by single '.', '_' or '-')"
    )]
    Stream(String),
    #[error(
        "tag {0:?} is not valid (a letter, digit or '_' first, then up to 127 of those, '.' or '-')"
    )]
    Tag(String),
    #[error(
        "namespace {0:?} is not a DNS-1123 label (lowercase letters, digits and '-', at most 63)"
    )]
    Namespace(String),
}

/// `[a-z0-9]+(?:[._-][a-z0-9]+)*`.
pub fn valid_stream(name: &str) -> bool {
    !name.is_empty()
        && name
            .split(['.', '_', '-'])
            .all(|part| !part.is_empty() && part.bytes().all(lower_alnum))
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn valid_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    tag.len() <= TAG_MAX
        && tag.bytes().next().is_some_and(word)
        && tag.bytes().all(|b| word(b) || b == b'.' || b == b'-')
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
pub fn valid_namespace(namespace: &str) -> bool {
    let bytes = namespace.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last)) => {
            bytes.len() <= NAMESPACE_MAX
                && lower_alnum(first)
                && lower_alnum(last)
                && bytes.iter().all(|&b| lower_alnum(b) || b == b'-')
        }
        _ => false,
    }
}

/// Checks every part of a tag reference; an empty namespace (offline manifests without one)
/// passes, since the server fills in the object's own.
pub fn validate(tag: &TagRef) -> Result<(), NameError> {
    if !tag.namespace.is_empty() && !valid_namespace(&tag.namespace) {
        return Err(NameError::Namespace(tag.namespace.clone()));
    }
    if !valid_stream(&tag.stream) {
        return Err(NameError::Stream(tag.stream.clone()));
    }
    if !valid_tag(&tag.tag) {
        return Err(NameError::Tag(tag.tag.clone()));
    }
    Ok(())
}

fn lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// The namespaces OpenShift's kube-apiserver skips its own admission plugins in, ImagePolicy
/// among them (openshift/kubernetes `openshift-kube-apiserver/admission/namespaceconditions`:
/// the run-level 0 and 1 namespaces it knows by name). There a Deployment's `image: myapp`
/// is never resolved to a local stream: the pod pulls Docker Hub's `myapp`. (A namespace
/// labelled `openshift.io/run-level: "0"` or `"1"` is skipped too; the engine sees no
/// namespace labels.)
pub const IMAGE_POLICY_SKIPPED: [&str; 6] = [
    "default",
    "kube-system",
    "kube-public",
    "openshift",
    "openshift-infra",
    "openshift-node",
];

/// Whether kube-apiserver's ImagePolicy admission skips `namespace`.
pub fn image_policy_skips(namespace: &str) -> bool {
    IMAGE_POLICY_SKIPPED.contains(&namespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_follow_the_repository_component_rule() {
        for good in ["app", "my-app", "a.b_c-d", "x1", "0"] {
            assert!(valid_stream(good), "{good}");
        }
        for bad in [
            "", "MyApp", "app.", ".app", "a..b", "a/b", "a:b", "a b", "a-", "é",
        ] {
            assert!(!valid_stream(bad), "{bad}");
        }
    }

    #[test]
    fn tags_follow_oc_tag_rule() {
        for good in ["latest", "1.25", "_x", "V1-rc.2", &"a".repeat(128)] {
            assert!(valid_tag(good), "{good}");
        }
        for bad in ["", ".1", "-x", "a:b", "a/b", &"a".repeat(129)] {
            assert!(!valid_tag(bad), "{bad}");
        }
    }

    #[test]
    fn namespaces_are_dns_labels() {
        for good in ["shop", "team-a", "a1", &"a".repeat(63)] {
            assert!(valid_namespace(good), "{good}");
        }
        for bad in ["", "Team_A", "team_a", "-a", "a-", "a.b", &"a".repeat(64)] {
            assert!(!valid_namespace(bad), "{bad}");
        }
    }

    #[test]
    fn validate_names_the_bad_part() {
        let tag = |ns: &str, stream: &str, tag: &str| TagRef {
            namespace: ns.into(),
            stream: stream.into(),
            tag: tag.into(),
        };
        assert_eq!(validate(&tag("shop", "app", "1")), Ok(()));
        assert_eq!(validate(&tag("", "app", "1")), Ok(()));
        assert!(matches!(
            validate(&tag("Team_A", "app", "1")),
            Err(NameError::Namespace(_))
        ));
        assert!(matches!(
            validate(&tag("shop", "MyApp", "latest")),
            Err(NameError::Stream(_))
        ));
        assert!(matches!(
            validate(&tag("shop", "app.", "1")),
            Err(NameError::Stream(_))
        ));
    }
}
