//! The Amazon States Language: reading, validating and the pure pieces of evaluating it.
//!
//! [`parse`] turns definition text (JSON, JSON with comments, or YAML) into a validated
//! [`Definition`] plus [`Diagnostics`] in the form `ValidateStateMachineDefinition` returns.
//! The modules [`jsonpath`], [`intrinsics`], [`template`] and [`choice`] hold the expression
//! languages the interpreter evaluates.
//!
//! Nothing here reads a clock, a file, the network or a random source.

pub mod choice;
pub mod definition;
pub mod diagnostics;
pub mod intrinsics;
pub mod jsonata;
pub mod jsonpath;
pub mod load;
pub mod source;
pub mod template;
pub mod variables;

pub use definition::{Definition, QueryLanguage, ScopeId, State, StateId, StateKind};
pub use diagnostics::{Diagnostic, Diagnostics, Severity};
pub use load::{LoadOptions, MachineType, Parsed, parse, parse_value};
