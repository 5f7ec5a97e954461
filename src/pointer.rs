//! JSON Pointer lookups (RFC 6901) that allocate nothing. `serde_json::Value::pointer` builds
//! a `String` for every reference token (it unescapes `~1` and `~0` with two `replace`s
//! whether or not the token has a `~`), which made its lookups of constant paths such as
//! `/spec/template/spec` a tenth of a review's engine time. These give the same answers for
//! every pointer (a property test holds them to serde_json's) and copy a token only when it
//! holds an escape.

use std::borrow::Cow;

use serde_json::Value;

/// `Value::pointer` and `Value::pointer_mut`, without allocating.
pub trait Pointer {
    /// The value `pointer` refers to, as `serde_json::Value::pointer` finds it.
    fn at(&self, pointer: &str) -> Option<&Value>;
    /// The value `pointer` refers to, as `serde_json::Value::pointer_mut` finds it.
    fn at_mut(&mut self, pointer: &str) -> Option<&mut Value>;
}

impl Pointer for Value {
    fn at(&self, pointer: &str) -> Option<&Value> {
        tokens(pointer)?.try_fold(self, |target, token| match target {
            Value::Object(map) => map.get(token.as_ref()),
            Value::Array(list) => index(&token).and_then(|i| list.get(i)),
            _ => None,
        })
    }

    fn at_mut(&mut self, pointer: &str) -> Option<&mut Value> {
        tokens(pointer)?.try_fold(self, |target, token| match target {
            Value::Object(map) => map.get_mut(token.as_ref()),
            Value::Array(list) => index(&token).and_then(move |i| list.get_mut(i)),
            _ => None,
        })
    }
}

/// The items of the array `pointer` refers to; none when it is absent or not an array.
pub fn items<'a>(value: &'a Value, pointer: &str) -> impl Iterator<Item = &'a Value> + use<'a> {
    value
        .at(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The unescaped reference tokens, or `None` for a pointer that does not start with `/`
/// (the empty pointer has none: it is the whole document).
fn tokens(pointer: &str) -> Option<impl Iterator<Item = Cow<'_, str>>> {
    let rest = match pointer {
        "" => None,
        _ => Some(pointer.strip_prefix('/')?),
    };
    Some(
        rest.into_iter()
            .flat_map(|rest| rest.split('/'))
            .map(|token| {
                if token.contains('~') {
                    Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
                } else {
                    Cow::Borrowed(token)
                }
            }),
    )
}

/// An array index as serde_json reads one: digits, no sign, no leading zero.
fn index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() != 1) {
        return None;
    }
    token.parse().ok()
}

/// Whether the JSON Pointer `path` is `ancestor` or lies under it, token by token: the
/// finding at `/spec/containers/10/image` is under `/spec/containers/10`, never under
/// `/spec/containers/1` (a string prefix would say it is). Malformed pointers are under
/// nothing.
pub fn is_within(path: &str, ancestor: &str) -> bool {
    let (Some(mut path), Some(ancestor)) = (tokens(path), tokens(ancestor)) else {
        return false;
    };
    ancestor.into_iter().all(|token| path.next() == Some(token))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    #[test]
    fn within_compares_whole_tokens() {
        let ten = "/spec/template/spec/containers/10/image";
        assert!(is_within(ten, "/spec/template/spec/containers/10"));
        assert!(!is_within(ten, "/spec/template/spec/containers/1"));
        assert!(is_within(
            "/spec/template/spec/containers/1",
            "/spec/template/spec/containers/1"
        ));
        assert!(!is_within(
            "/spec/template/spec/containers",
            "/spec/template/spec/containers/1"
        ));
        assert!(is_within(
            "/metadata/annotations/a~1b",
            "/metadata/annotations/a~1b"
        ));
        assert!(!is_within(
            "/metadata/annotations/a~1b",
            "/metadata/annotations/a"
        ));
        assert!(is_within("/anything", ""));
        assert!(!is_within("no-slash", ""));
    }

    fn document() -> Value {
        json!({"spec": {"template": {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}}},
               "metadata": {"annotations": {"image.openshift.io/triggers": "[]", "a~b": 1, "": 2}},
               "list": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], "n": null})
    }

    #[test]
    fn constant_paths_and_escapes() {
        let doc = document();
        assert_eq!(
            doc.at("/spec/template/spec/containers/1/name"),
            Some(&json!("b"))
        );
        assert_eq!(
            doc.at("/metadata/annotations/image.openshift.io~1triggers"),
            Some(&json!("[]"))
        );
        assert_eq!(doc.at("/metadata/annotations/a~0b"), Some(&json!(1)));
        assert_eq!(doc.at("/metadata/annotations/"), Some(&json!(2)));
        assert_eq!(doc.at(""), Some(&doc));
        for missing in [
            "spec", "/list/01", "/list/+1", "/list/-1", "/n/x", "/list/12", "/x",
        ] {
            assert_eq!(doc.at(missing), None, "{missing}");
        }
        assert_eq!(items(&doc, "/list").count(), 12);
        assert_eq!(items(&doc, "/spec/template/spec/containers/1").count(), 0);
        assert_eq!(items(&doc, "/n").count() + items(&doc, "/x").count(), 0);
        let mut doc = doc;
        *doc.at_mut("/spec/template/spec/containers/0/name").unwrap() = json!("z");
        assert_eq!(
            doc["spec"]["template"]["spec"]["containers"][0]["name"],
            "z"
        );
    }

    proptest! {
        /// Whatever the pointer, the same answer as serde_json's.
        #[test]
        fn same_as_serde_json(tokens in prop::collection::vec(
            prop::sample::select(vec!["spec", "template", "containers", "0", "1", "01", "+1", "10",
                "metadata", "annotations", "image.openshift.io~1triggers", "a~0b", "a~1", "~",
                "~2", "", "list", "n", "name"]), 0..6),
            leading_slash in any::<bool>()) {
            let mut doc = document();
            let joined = tokens.join("/");
            let pointer = if leading_slash && !tokens.is_empty() { format!("/{joined}") } else { joined };
            prop_assert_eq!(doc.at(&pointer), doc.pointer(&pointer));
            let expected = doc.pointer(&pointer).cloned();
            prop_assert_eq!(doc.at_mut(&pointer).map(|v| v.clone()), expected);
        }
    }
}
