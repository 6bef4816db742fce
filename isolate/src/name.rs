//! Isolate names: a `&'static str` from `#[isolated]` costs no allocation; a
//! name built at run time is shared, so handles, panics and thread names can
//! all hold it cheaply.

use crate::sync::Arc;
use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

/// The name an isolate gets when none was given, as for unnamed threads.
pub(crate) const UNNAMED: &str = "<unnamed>";

#[derive(Clone)]
pub(crate) enum Name {
    Static(&'static str),
    Shared(Arc<str>),
}

impl Name {
    /// The name as an error carries it: borrowed when it is static.
    pub(crate) fn to_cow(&self) -> Cow<'static, str> {
        match self {
            Name::Static(name) => Cow::Borrowed(name),
            Name::Shared(name) => Cow::Owned(name.to_string()),
        }
    }
}

impl Deref for Name {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            Name::Static(name) => name,
            Name::Shared(name) => name,
        }
    }
}

impl From<Cow<'static, str>> for Name {
    fn from(name: Cow<'static, str>) -> Self {
        match name {
            Cow::Borrowed(name) => Name::Static(name),
            Cow::Owned(name) => Name::Shared(name.into()),
        }
    }
}

impl Default for Name {
    fn default() -> Self {
        Name::Static(UNNAMED)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}
