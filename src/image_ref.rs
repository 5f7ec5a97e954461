//! Docker image references: parsing and normalisation as distribution/reference's `ParseDockerRef`
//! does it (`normalize.go`), so that `nginx`, `library/nginx` and
//! `index.docker.io/library/nginx:latest` compare equal (registry hosts are also lowercased). Owns
//! the canonical string form used as the catalog key; it must not know about ImageStreams or
//! Kubernetes objects.

use std::fmt;

/// Docker Hub's canonical registry name.
pub const DOCKER_HUB: &str = "docker.io";
/// Legacy Docker Hub host names that normalise to [`DOCKER_HUB`].
const DOCKER_HUB_ALIASES: [&str; 2] = ["index.docker.io", "registry-1.docker.io"];
/// Path prefix for one-segment Docker Hub repositories (`nginx` → `library/nginx`).
const OFFICIAL_PREFIX: &str = "library/";
/// Tag assumed when a reference has neither tag nor digest (`TagNameOnly`).
pub const DEFAULT_TAG: &str = "latest";
/// distribution/reference `NameTotalLengthMax`.
const NAME_MAX: usize = 255;

/// Why a string is not a Docker reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageRefError {
    #[error("empty image reference")]
    Empty,
    #[error("a 64-character hexadecimal string is an image ID, not a reference")]
    ImageId,
    #[error("repository name {0:?} must be lowercase")]
    Uppercase(String),
    #[error("invalid registry {0:?}")]
    Registry(String),
    #[error("invalid repository path {0:?}")]
    Path(String),
    #[error("invalid tag {0:?}")]
    Tag(String),
    #[error("invalid digest {0:?}")]
    Digest(String),
    #[error("repository name longer than 255 characters")]
    TooLong,
}

/// A parsed, normalised Docker reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    /// Registry host (with port), `docker.io` when none was written.
    pub registry: String,
    /// Repository path, `library/`-prefixed for one-segment Docker Hub names.
    pub path: String,
    /// The tag as written (no default applied).
    pub tag: Option<String>,
    /// The digest (`sha256:…`) as written.
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parse and normalise `input` (surrounding whitespace is not allowed, as in Docker).
    pub fn parse(input: &str) -> Result<Self, ImageRefError> {
        if input.is_empty() {
            return Err(ImageRefError::Empty);
        }
        if input.len() == 64 && input.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ImageRefError::ImageId);
        }
        let (name_and_tag, digest) = match input.split_once('@') {
            Some((rest, digest)) => (rest, Some(check_digest(digest)?)),
            None => (input, None),
        };
        let (registry, remainder) = split_registry(name_and_tag);
        // The tag separator is the last ':' after the last '/': a registry port comes first.
        let last_slash = remainder.rfind('/').map_or(0, |i| i + 1);
        let (path, tag) = match remainder[last_slash..].find(':') {
            Some(i) => (
                &remainder[..last_slash + i],
                Some(check_tag(&remainder[last_slash + i + 1..])?),
            ),
            None => (remainder, None),
        };
        if path.to_ascii_lowercase() != path {
            return Err(ImageRefError::Uppercase(path.to_string()));
        }
        check_registry(registry)?;
        check_path(path)?;
        let registry = normalise_registry(registry);
        let path = if registry == DOCKER_HUB && !path.contains('/') {
            format!("{OFFICIAL_PREFIX}{path}")
        } else {
            path.to_string()
        };
        if registry.len() + 1 + path.len() > NAME_MAX {
            return Err(ImageRefError::TooLong);
        }
        Ok(ImageRef {
            registry,
            path,
            tag,
            digest,
        })
    }

    /// `registry/path` without tag or digest: what the repository filter matches.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.registry, self.path)
    }

    /// Pinned to a digest: an immutable image nothing can re-import or trigger.
    pub fn is_digest_pinned(&self) -> bool {
        self.digest.is_some()
    }

    /// The tag identity: the written tag, or `latest` when neither tag nor digest is given.
    pub fn effective_tag(&self) -> Option<&str> {
        match (&self.tag, &self.digest) {
            (Some(tag), _) => Some(tag),
            (None, None) => Some(DEFAULT_TAG),
            (None, Some(_)) => None,
        }
    }

    /// Whether Kubernetes defaults `imagePullPolicy` to `Always` for this image: tag
    /// `latest`, or no tag and no digest (kubernetes `SetDefaults_Container`, §2.7). A
    /// `name:latest@sha256:…` still has tag `latest`.
    pub fn defaults_to_always_pull(&self) -> bool {
        self.effective_tag() == Some(DEFAULT_TAG)
    }

    /// The canonical form: `registry/path@digest` when pinned (the digest wins over a tag,
    /// as `ParseDockerRef` does), else `registry/path:tag` with the default tag applied.
    pub fn canonical(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.digest, self.effective_tag()) {
            (Some(digest), _) => write!(f, "{}/{}@{}", self.registry, self.path, digest),
            (None, Some(tag)) => write!(f, "{}/{}:{}", self.registry, self.path, tag),
            (None, None) => write!(f, "{}/{}", self.registry, self.path),
        }
    }
}

/// The canonical form of `input`, or `None` when it does not parse.
pub fn canonical(input: &str) -> Option<String> {
    ImageRef::parse(input).ok().map(|r| r.canonical())
}

/// Whether `a` and `b` name the same image after normalisation (exact text otherwise).
pub fn same_image(a: &str, b: &str) -> bool {
    a == b || matches!((canonical(a), canonical(b)), (Some(x), Some(y)) if x == y)
}

/// Whether the text carries a digest, without requiring the rest to parse.
pub fn looks_digest_pinned(input: &str) -> bool {
    input.contains('@')
}

/// normalize.go `splitDockerDomain`: the first segment is a registry only when it contains
/// `.` or `:`, is `localhost`, or has uppercase letters.
fn split_registry(name: &str) -> (&str, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.to_ascii_lowercase() != first =>
        {
            (first, rest)
        }
        _ => (DOCKER_HUB, name),
    }
}

/// Registry hosts are case-insensitive (DNS), so they are lowercased; Docker Hub's legacy
/// hosts are one registry.
pub fn normalise_registry(registry: &str) -> String {
    let lower = registry.to_ascii_lowercase();
    if DOCKER_HUB_ALIASES.contains(&lower.as_str()) {
        DOCKER_HUB.to_string()
    } else {
        lower
    }
}

/// Host (DNS labels, or a bracketed IPv6 address) with an optional numeric port.
fn check_registry(registry: &str) -> Result<(), ImageRefError> {
    let bad = || ImageRefError::Registry(registry.to_string());
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        let (inside, after) = rest.split_once(']').ok_or_else(bad)?;
        if inside.is_empty() || !inside.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return Err(bad());
        }
        match after {
            "" => (None, None),
            _ => (None, Some(after.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        match registry.split_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(registry), None),
        }
    };
    if let Some(host) = host {
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if !host.split('.').all(label_ok) {
            return Err(bad());
        }
    }
    if let Some(port) = port
        && (port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    Ok(())
}

/// Path components: lowercase alphanumerics joined by `.`, `_`, `__` or runs of `-`.
fn check_path(path: &str) -> Result<(), ImageRefError> {
    let component_ok = |c: &str| {
        let bytes = c.as_bytes();
        let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
            return false;
        };
        if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
            return false;
        }
        // Separators: one '.', one or two '_', or any run of '-'; never mixed.
        let mut previous_separator: Option<(u8, usize)> = None;
        for &b in bytes {
            if b.is_ascii_lowercase() || b.is_ascii_digit() {
                previous_separator = None;
                continue;
            }
            let run = match previous_separator {
                Some((p, n)) if p == b => n + 1,
                Some(_) => return false,
                None => 1,
            };
            let allowed = match b {
                b'.' => run == 1,
                b'_' => run <= 2,
                b'-' => true,
                _ => false,
            };
            if !allowed {
                return false;
            }
            previous_separator = Some((b, run));
        }
        true
    };
    if path.split('/').all(component_ok) {
        Ok(())
    } else {
        Err(ImageRefError::Path(path.to_string()))
    }
}

/// `[\w][\w.-]{0,127}`.
fn check_tag(tag: &str) -> Result<String, ImageRefError> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let ok = tag.len() <= 128
        && tag.bytes().next().is_some_and(word)
        && tag.bytes().all(|b| word(b) || b == b'.' || b == b'-');
    if ok {
        Ok(tag.to_string())
    } else {
        Err(ImageRefError::Tag(tag.to_string()))
    }
}

/// `algorithm:hex`; `sha256` needs exactly 64 lowercase hex digits, others at least 32.
fn check_digest(digest: &str) -> Result<String, ImageRefError> {
    let bad = || ImageRefError::Digest(digest.to_string());
    let (algorithm, hex) = digest.split_once(':').ok_or_else(bad)?;
    let algorithm_ok = algorithm
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && algorithm
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'.'));
    let hex_ok = if algorithm == "sha256" {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    } else {
        hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())
    };
    if algorithm_ok && hex_ok {
        Ok(digest.to_string())
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests;
