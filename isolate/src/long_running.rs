//! Options every long-running isolate shares (a worker, each thread of a
//! service): its name, its thread's stack size and its inbox's capacity.

use std::borrow::Cow;

use crate::builder::Builder;
use crate::channel::{self, Receiver, Sender};
use crate::name::Name;

/// How many messages an inbox holds before a send waits, unless set.
pub(crate) const DEFAULT_CAPACITY: usize = 64;

#[derive(Clone, Debug)]
pub(crate) struct Options {
    pub(crate) name: Option<Name>,
    pub(crate) stack_size: Option<usize>,
    /// `None` for an unbounded inbox.
    pub(crate) capacity: Option<usize>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            name: None,
            stack_size: None,
            capacity: Some(DEFAULT_CAPACITY),
        }
    }
}

impl Options {
    pub(crate) fn set_name(&mut self, name: Cow<'static, str>) {
        self.name = Some(Name::from(name));
    }

    pub(crate) fn name(&self) -> Name {
        self.name.clone().unwrap_or_default()
    }

    /// A channel with the configured capacity.
    pub(crate) fn channel<M>(&self) -> (Sender<M>, Receiver<M>) {
        match self.capacity {
            Some(capacity) => channel::bounded(capacity),
            None => channel::unbounded(),
        }
    }

    /// A builder for one of its threads: long-running isolates always get a
    /// thread of their own, so that they never hold a pool thread.
    pub(crate) fn thread(&self) -> Builder {
        let mut builder = Builder::new().dedicated();
        if let Some(name) = &self.name {
            builder = builder.named(name.clone());
        }
        if let Some(bytes) = self.stack_size {
            builder = builder.stack_size(bytes);
        }
        builder
    }
}
