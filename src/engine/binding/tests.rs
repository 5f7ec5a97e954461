use super::*;
use crate::config::RuleConfig;
use crate::engine::Operation;
use crate::testing;
use crate::testing::stream;

const INTERNAL: &str = "image-registry.openshift-image-registry.svc:5000";
const DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

fn with_context<T>(f: impl FnOnce(&Context<'_>) -> T) -> T {
    let streams = [
        stream("shop", "app").tag("1", "org/app:1").build(),
        // `nginx` tracks another repository and does not resolve short names.
        stream("shop", "nginx")
            .tag("latest", "quay.io/mirror/nginx:latest")
            .tag("1.24", "docker.io/library/nginx:1.24")
            .build(),
        stream("shop", "web").tag("stable", "nginx:1.25").build(),
        // Pushed (status only), found by short name with lookupPolicy.local.
        stream("shop", "myapp")
            .lookup_local()
            .pushed("latest", DIGEST)
            .build(),
    ];
    let catalog = testing::catalog(&streams, "");
    let config = RuleConfig::default();
    let context = Context {
        namespace: "shop",
        catalog: &catalog,
        config: &config,
        operation: Operation::Create,
        old_object: None,
        resolve_names: false,
        image_policy: true,
    };
    f(&context)
}

fn tag(ns: &str, stream: &str, tag: &str) -> TagRef {
    TagRef {
        namespace: ns.into(),
        stream: stream.into(),
        tag: tag.into(),
    }
}

fn bound(image: &str, cx: &Context<'_>) -> Option<String> {
    match bind(image, cx) {
        Binding::Tag { tag, .. } => Some(format!("{}/{}", tag.namespace, tag.stream_tag())),
        _ => None,
    }
}

fn refusal(image: &str, cx: &Context<'_>) -> Option<Code> {
    match bind(image, cx) {
        Binding::Refused { code, .. } => Some(code),
        _ => None,
    }
}

#[test]
fn images_bind_in_the_documented_order() {
    with_context(|cx| {
        assert_eq!(
            bound(&format!("{INTERNAL}/shop/myapp:latest"), cx).as_deref(),
            Some("shop/myapp:latest")
        );
        assert_eq!(
            bound("docker.io/org/app:1", cx).as_deref(),
            Some("shop/app:1")
        );
        // `app:1` is Docker Hub's library/app, not the stream's org/app.
        assert_eq!(refusal("app:1", cx), Some(Code::AmbiguousImage));
        assert!(matches!(bind("org/other:1", cx), Binding::Untracked(_)));
        assert_eq!(bind(" ", cx), Binding::Nothing);
        let pinned = format!("{INTERNAL}/shop/app@{DIGEST}");
        assert_eq!(bind(&pinned, cx), Binding::DigestPinned);
    });
}

#[test]
fn a_short_name_needs_the_tag() {
    with_context(|cx| {
        // The stream exists without that tag: nothing imports Docker Hub's nginx:1.27.
        assert_eq!(refusal("nginx:1.27", cx), Some(Code::AmbiguousImage));
        assert_eq!(refusal("app:7", cx), Some(Code::AmbiguousImage));
    });
}

#[test]
fn a_short_name_never_swaps_the_repository() {
    with_context(|cx| {
        // `nginx` is Docker Hub's; the stream tracks quay.io without lookupPolicy.local.
        assert_eq!(refusal("nginx", cx), Some(Code::AmbiguousImage));
        // The same tag's source is Docker Hub's reading of the name: safe.
        assert_eq!(bound("nginx:1.24", cx).as_deref(), Some("shop/nginx:1.24"));
    });
}

#[test]
fn a_missing_short_tag_falls_through_to_the_tag_importing_that_image() {
    with_context(|cx| {
        assert_eq!(bound("nginx:1.25", cx).as_deref(), Some("shop/web:stable"));
    });
}

#[test]
fn a_bare_name_means_latest_for_binding_and_recognition() {
    with_context(|cx| {
        assert_eq!(bound("myapp", cx).as_deref(), Some("shop/myapp:latest"));
        assert!(is_unresolved_reference(
            "myapp",
            &tag("shop", "myapp", "latest"),
            cx
        ));
    });
}

#[test]
fn internal_pull_specs_need_a_known_tag_and_valid_names() {
    with_context(|cx| {
        let unknown = format!("{INTERNAL}/other/base:2");
        assert_eq!(refusal(&unknown, cx), Some(Code::UnknownTag));
        let invalid = format!("{INTERNAL}/shop/app.:1");
        assert!(matches!(
            bind(&invalid, cx),
            Binding::Refused { .. } | Binding::Nothing
        ));
    });
}

#[test]
fn internal_pull_specs_of_source_policy_external_tags_stay_unbound() {
    with_context(|cx| {
        let spec = format!("{INTERNAL}/shop/app:1");
        assert_eq!(refusal(&spec, cx), Some(Code::ReferencePolicySource));
    });
}

#[test]
fn unresolved_references_are_recognised() {
    with_context(|cx| {
        let app = tag("shop", "app", "1");
        for image in [
            " ",
            "",
            "org/app:1",
            "docker.io/org/app:1",
            &format!("{INTERNAL}/shop/app:1"),
        ] {
            assert!(is_unresolved_reference(image, &app, cx), "{image:?}");
        }
        for image in ["org/app:2", &format!("org/app@{DIGEST}")] {
            assert!(!is_unresolved_reference(image, &app, cx), "{image:?}");
        }
        // Written out, `nginx` is Docker Hub's, not the quay.io stream's tag.
        let nginx = tag("shop", "nginx", "latest");
        assert!(!is_unresolved_reference(
            "docker.io/library/nginx",
            &nginx,
            cx
        ));
    });
}

#[test]
fn a_triggers_own_tag_text_is_its_unresolved_reference_whatever_the_lookup_policy() {
    with_context(|cx| {
        // The stream tracks quay.io without lookupPolicy.local, so `nginx` binds to nothing,
        // but under a trigger for nginx:latest it is that trigger's own name.
        assert_eq!(refusal("nginx", cx), Some(Code::AmbiguousImage));
        let nginx = tag("shop", "nginx", "latest");
        for image in ["nginx", "nginx:latest"] {
            assert!(is_unresolved_reference(image, &nginx, cx), "{image:?}");
        }
        assert!(is_unresolved_reference(
            "app:1",
            &tag("shop", "app", "1"),
            cx
        ));
        // Only the trigger's own tag, and only in the workload's namespace.
        assert!(!is_unresolved_reference("nginx:1.24", &nginx, cx));
        assert!(!is_unresolved_reference(
            "app",
            &tag("shop", "app", "1"),
            cx
        ));
        assert!(!is_unresolved_reference(
            "nginx",
            &tag("other", "nginx", "latest"),
            cx
        ));
    });
}

#[test]
fn advice_is_true_for_the_catalog() {
    with_context(|cx| {
        let image = ImageRef::parse("docker.io/org/tool").unwrap();
        assert_eq!(
            untracked_advice(&image, cx),
            "no ImageStream tracks docker.io/org/tool:latest; run: oc import-image tool:latest --from=docker.io/org/tool:latest --confirm --scheduled"
        );
        // A stream of that name exists: add a tag to it rather than import anew.
        let image = ImageRef::parse("docker.io/org/app:9").unwrap();
        assert!(untracked_advice(&image, cx).contains("to ImageStream app"));
    });
}
