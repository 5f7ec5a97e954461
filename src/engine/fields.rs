//! What the rules read and write of an object, in one place beside them: the patch is
//! derived only from the members rules write, and the admission decoder leaves out what no
//! rule reads. A rule that starts reading or writing another member changes these lists,
//! and the tests that compare against whole-object diffs and whole-object decoding
//! (`tests/engine_properties.rs`, `tests/admission.rs`) hold them to it.

/// Top-level members a rule may write (ImageStreamTag keeps its TagReference in `tag`).
pub const WRITABLE_MEMBERS: [&str; 3] = ["metadata", "spec", "tag"];

/// Top-level members no rule reads: the admission decoder skips them.
pub const UNREAD_MEMBERS: [&str; 1] = ["status"];

/// Members of `metadata` no rule reads: the admission decoder skips them.
pub const UNREAD_METADATA: [&str; 1] = ["managedFields"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_written_is_left_unread() {
        for member in WRITABLE_MEMBERS {
            assert!(!UNREAD_MEMBERS.contains(&member), "{member}");
        }
    }
}
