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
    own: HashMap<String, Value>,
    outer: Option<Arc<Variables>>,
}

impl Variables {
    /// A scope nested in `outer`.
    pub(crate) fn nested(outer: Arc<Variables>) -> Self {
        Variables {
            own: HashMap::new(),
            outer: Some(outer),
        }
    }

    /// Reads a variable, looking outwards.
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self.own.get(name) {
            Some(value) => Some(value),
            None => self.outer.as_deref().and_then(|outer| outer.get(name)),
        }
    }

    /// Assigns in this scope.
    pub(crate) fn set(&mut self, name: String, value: Value) {
        self.own.insert(name, value);
    }

    /// True when nothing was ever assigned anywhere (the common case: no cloning needed).
    pub(crate) fn is_empty(&self) -> bool {
        self.own.is_empty() && self.outer.as_ref().is_none_or(|o| o.is_empty())
    }
}
