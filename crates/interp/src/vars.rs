//! Workflow variables (`Assign`) and their scopes.
//!
//! A Parallel branch or Map iteration reads the variables of the scope it was started from but
//! assigns only its own; values flow out of it only through its output.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

/// The variables visible to one running branch of an execution.
#[derive(Debug, Clone, Default)]
pub struct Variables {
    /// This scope's variables, each with its size as compact JSON.
    own: HashMap<String, (Value, usize)>,
    /// The sum of those sizes.
    own_bytes: usize,
    outer: Option<Arc<Variables>>,
}

impl Variables {
    /// A scope nested in `outer`.
    pub(crate) fn nested(outer: Arc<Variables>) -> Self {
        Variables {
            own: HashMap::new(),
            own_bytes: 0,
            outer: Some(outer),
        }
    }

    /// Reads a variable, looking outwards.
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self.own.get(name) {
            Some((value, _)) => Some(value),
            None => self.outer.as_deref().and_then(|outer| outer.get(name)),
        }
    }

    /// Assigns in this scope a value of `bytes` bytes (as compact JSON).
    pub(crate) fn set(&mut self, name: String, value: Value, bytes: usize) {
        self.own_bytes += bytes;
        if let Some((_, replaced)) = self.own.insert(name, (value, bytes)) {
            self.own_bytes -= replaced;
        }
    }

    /// The size of this scope's own variable `name` (0 when it has none).
    pub(crate) fn own_size(&self, name: &str) -> usize {
        self.own.get(name).map_or(0, |(_, bytes)| *bytes)
    }

    /// The size of this scope's own variables: what the scope frees when it ends.
    pub(crate) fn own_bytes(&self) -> usize {
        self.own_bytes
    }

    /// True when nothing was ever assigned anywhere (the common case: no cloning needed).
    pub(crate) fn is_empty(&self) -> bool {
        self.own.is_empty() && self.outer.as_ref().is_none_or(|o| o.is_empty())
    }
}
