//! The side doors into a stream (`oc tag`, `oc import-image`): `ImageStreamTag` and `ImageTag`
//! hold one TagReference and are named `stream:tag`; `ImageStreamImport` names the stream and
//! lists images (and maybe a whole repository) to import. Each becomes sites for the parent
//! module's rule, under the same budget; this module only finds them.

use crate::pointer::Pointer as _;
use json_patch::jsonptr::PointerBuf;
use serde_json::Value;

use super::{Scope, Site, Stored, Writes, schedule};
use crate::engine::Context;
use crate::engine::annotations;
use crate::engine::change::{Code, Report};
use crate::engine::patch::Edits;
use crate::image_ref::ImageRef;

/// An object holding one TagReference under `member` and named `stream:tag`.
pub(super) fn single_tag(
    object: &mut Value,
    member: &str,
    context: &Context<'_>,
    report: &mut Report,
    edits: &mut Edits,
) {
    let name = object.at("/metadata/name").and_then(Value::as_str);
    let label = name.map_or_else(|| "tag".to_string(), |n| format!("tag {n:?}"));
    let (stream, tag) = match name.and_then(|n| n.split_once(':')) {
        Some((stream, tag)) => (Some(stream.to_string()), Some(tag.to_string())),
        None => (None, None),
    };
    // The stored TagReference, or the catalog's copy of the stream's tag.
    let stored = match context.old_object {
        Some(old) => Stored::of(
            old.get(member)
                .map(|entry| (tag.as_deref(), entry))
                .into_iter(),
        ),
        None => Stored::Catalog,
    };
    let scope = Scope::new(context, stream, object, stored);
    let Some(entry) = object.get_mut(member) else {
        return;
    };
    let path = PointerBuf::from_tokens([member]);
    if annotations::skips(entry.get("annotations")) {
        report.finding(
            Code::OptedOut,
            format!("{path}/annotations"),
            format!("{label} opted out with {}", annotations::SKIP),
        );
        return;
    }
    let site = Site {
        path,
        label,
        tag,
        opted_out: false,
        entry,
    };
    schedule(vec![site], Writes::Tags, &scope, report, edits);
}

pub(super) fn image_stream_import(
    object: &mut Value,
    context: &Context<'_>,
    report: &mut Report,
    edits: &mut Edits,
) {
    // `import: false` only looks the image up (`oc new-app`, the web console): nothing is
    // written to the stream, so nothing may be scheduled (openshift/api `image/v1/types.go`
    // `ImageStreamImportSpec.Import`).
    if object.at("/spec/import") != Some(&Value::Bool(true)) {
        return;
    }
    let name = object.at("/metadata/name").and_then(Value::as_str);
    // Always a CREATE: what it replaces is in the catalog's copy of the stream.
    let scope = Scope::new(context, name.map(str::to_string), object, Stored::Catalog);
    let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let mut sites = Vec::new();
    for (key, value) in spec.iter_mut() {
        match (key.as_str(), value) {
            ("images", Value::Array(images)) => {
                for (i, entry) in images.iter_mut().enumerate() {
                    sites.push(import_site(i, entry));
                }
            }
            ("repository", entry @ Value::Object(_)) => sites.push(Site {
                path: PointerBuf::from_tokens(["spec", "repository"]),
                label: "repository import".into(),
                tag: None,
                opted_out: false,
                entry,
            }),
            _ => {}
        }
    }
    // `spec` is a map: `images` before `repository`, the order the diff walks them in.
    schedule(sites, Writes::Tags, &scope, report, edits);
}

/// `spec.images[i]`: its tag is `to.name`, else the tag of `from.name` (the API's default).
fn import_site(i: usize, entry: &mut Value) -> Site<'_> {
    let tag = entry
        .at("/to/name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            let from = entry.at("/from/name").and_then(Value::as_str)?;
            Some(ImageRef::parse(from).ok()?.effective_tag()?.to_string())
        });
    let label = match entry.at("/to/name").and_then(Value::as_str) {
        Some(name) => format!("imported tag {name:?}"),
        None => format!("imported image #{i}"),
    };
    Site {
        path: PointerBuf::from_tokens(["spec", "images"]).with_trailing_token(i),
        label,
        tag,
        opted_out: false,
        entry,
    }
}
