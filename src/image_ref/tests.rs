use super::*;

const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[test]
fn references_normalise_like_distribution_reference() {
    let pinned = format!("docker.io/library/nginx@{D}");
    let table: Vec<(String, &str, &str)> = vec![
        (
            "nginx".into(),
            "docker.io/library/nginx:latest",
            "docker.io/library/nginx",
        ),
        (
            "library/nginx".into(),
            "docker.io/library/nginx:latest",
            "docker.io/library/nginx",
        ),
        (
            "docker.io/library/nginx:latest".into(),
            "docker.io/library/nginx:latest",
            "docker.io/library/nginx",
        ),
        (
            "docker.io/nginx:1.25".into(),
            "docker.io/library/nginx:1.25",
            "docker.io/library/nginx",
        ),
        (
            "index.docker.io/library/nginx".into(),
            "docker.io/library/nginx:latest",
            "docker.io/library/nginx",
        ),
        (
            "registry-1.docker.io/org/app:2".into(),
            "docker.io/org/app:2",
            "docker.io/org/app",
        ),
        (
            "org/app".into(),
            "docker.io/org/app:latest",
            "docker.io/org/app",
        ),
        (
            "registry:5000/a/b:1".into(),
            "registry:5000/a/b:1",
            "registry:5000/a/b",
        ),
        (
            "localhost:5000/x".into(),
            "localhost:5000/x:latest",
            "localhost:5000/x",
        ),
        ("localhost/x".into(), "localhost/x:latest", "localhost/x"),
        (
            "quay.io/a/b/c:v1.0-rc_1".into(),
            "quay.io/a/b/c:v1.0-rc_1",
            "quay.io/a/b/c",
        ),
        // Registry hosts are lowercased (DNS names are case-insensitive).
        ("UPPER/x".into(), "upper/x:latest", "upper/x"),
        (
            "Quay.IO/org/app:1".into(),
            "quay.io/org/app:1",
            "quay.io/org/app",
        ),
        (
            "Index.Docker.IO/org/app".into(),
            "docker.io/org/app:latest",
            "docker.io/org/app",
        ),
        ("[::1]:5000/x:1".into(), "[::1]:5000/x:1", "[::1]:5000/x"),
        (
            format!("nginx@{D}"),
            pinned.as_str(),
            "docker.io/library/nginx",
        ),
        (
            format!("nginx:1.25@{D}"),
            pinned.as_str(),
            "docker.io/library/nginx",
        ),
    ];
    for (input, canonical, repository) in table {
        let parsed = ImageRef::parse(&input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(parsed.canonical(), canonical, "{input}");
        assert_eq!(parsed.repository(), repository, "{input}");
    }
}

#[test]
fn invalid_references_are_errors() {
    let hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let table: Vec<(&str, ImageRefError)> = vec![
        ("", ImageRefError::Empty),
        (" ", ImageRefError::Path(" ".into())),
        (hex64, ImageRefError::ImageId),
        ("upper/X", ImageRefError::Uppercase("upper/X".into())),
        ("Nginx", ImageRefError::Uppercase("Nginx".into())),
        ("a:b:c", ImageRefError::Tag("b:c".into())),
        ("nginx:", ImageRefError::Tag("".into())),
        (
            "nginx@sha256:abc",
            ImageRefError::Digest("sha256:abc".into()),
        ),
        ("nginx@", ImageRefError::Digest("".into())),
        ("a//b", ImageRefError::Path("a//b".into())),
        ("-a/b", ImageRefError::Path("-a/b".into())),
        ("a..b", ImageRefError::Path("a..b".into())),
        ("host:port/x", ImageRefError::Registry("host:port".into())),
        ("x.io/", ImageRefError::Path("".into())),
    ];
    for (input, error) in table {
        assert_eq!(ImageRef::parse(input), Err(error), "{input:?}");
    }
}

#[test]
fn pull_policy_defaulting_follows_the_tag() {
    assert!(ImageRef::parse("nginx").unwrap().defaults_to_always_pull());
    assert!(
        ImageRef::parse("nginx:latest")
            .unwrap()
            .defaults_to_always_pull()
    );
    assert!(
        ImageRef::parse(&format!("nginx:latest@{D}"))
            .unwrap()
            .defaults_to_always_pull()
    );
    assert!(
        !ImageRef::parse("nginx:1")
            .unwrap()
            .defaults_to_always_pull()
    );
    assert!(
        !ImageRef::parse(&format!("nginx@{D}"))
            .unwrap()
            .defaults_to_always_pull()
    );
}

#[test]
fn same_image_compares_after_normalisation() {
    assert!(same_image("nginx", "docker.io/library/nginx:latest"));
    assert!(same_image(" ", " "));
    assert!(!same_image("nginx:1", "nginx:2"));
    assert!(!same_image(" ", "nginx"));
}
