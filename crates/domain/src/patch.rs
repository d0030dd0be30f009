//! Merge-patch fields (RFC 7396) that tell an absent field from one set to null.

/// A nullable field of a merge patch.
///
/// An absent field keeps the stored value; `null` clears it; a value replaces it. "Absent" is never
/// read as "clear".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Patch<T> {
    /// The field was absent: keep what is stored.
    #[default]
    Keep,
    /// The field was `null`: clear what is stored.
    Clear,
    /// The field had a value: store it.
    Set(T),
}

impl<T> Patch<T> {
    /// Whether the patch leaves this field alone.
    pub fn is_keep(&self) -> bool {
        matches!(self, Self::Keep)
    }

    /// The value after applying the patch to `current`.
    pub fn apply(self, current: Option<T>) -> Option<T> {
        match self {
            Self::Keep => current,
            Self::Clear => None,
            Self::Set(value) => Some(value),
        }
    }

    /// Maps the value, if any.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Patch<U> {
        match self {
            Self::Keep => Patch::Keep,
            Self::Clear => Patch::Clear,
            Self::Set(value) => Patch::Set(f(value)),
        }
    }

    /// Maps the value, if any, with a conversion that can fail.
    ///
    /// # Errors
    /// The error of `f`.
    pub fn try_map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Patch<U>, E> {
        Ok(match self {
            Self::Keep => Patch::Keep,
            Self::Clear => Patch::Clear,
            Self::Set(value) => Patch::Set(f(value)?),
        })
    }

    /// The change for storage: `None` to keep, `Some(None)` to clear, `Some(Some(v))` to set.
    pub fn into_change(self) -> Option<Option<T>> {
        match self {
            Self::Keep => None,
            Self::Clear => Some(None),
            Self::Set(value) => Some(Some(value)),
        }
    }
}

/// The shape serde gives a nullable field with `#[serde(default)]`: `None` when absent,
/// `Some(None)` when null.
impl<T> From<Option<Option<T>>> for Patch<T> {
    fn from(field: Option<Option<T>>) -> Self {
        match field {
            None => Self::Keep,
            Some(None) => Self::Clear,
            Some(Some(value)) => Self::Set(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn absent_keeps_null_clears_value_sets() {
        assert_eq!(Patch::Keep.apply(Some(1)), Some(1));
        assert_eq!(Patch::<i32>::Clear.apply(Some(1)), None);
        assert_eq!(Patch::Set(2).apply(Some(1)), Some(2));
        assert_eq!(Patch::Set(2).apply(None), Some(2));
    }

    proptest! {
        #[test]
        fn converting_to_a_change_and_back_is_lossless(field in proptest::option::of(proptest::option::of(any::<i64>()))) {
            let patch = Patch::from(field);
            prop_assert_eq!(patch.clone().into_change(), field);
            prop_assert_eq!(Patch::from(patch.clone().into_change()), patch);
        }

        #[test]
        fn applying_matches_merge_patch(field in proptest::option::of(proptest::option::of(any::<i64>())), current in proptest::option::of(any::<i64>())) {
            let expected = match field { None => current, Some(v) => v };
            prop_assert_eq!(Patch::from(field).apply(current), expected);
        }
    }
}
