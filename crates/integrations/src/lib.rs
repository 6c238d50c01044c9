//! Task handlers: how Task states reach their work.
//!
//! Today this holds [`mock`], Step Functions Local's mocked responses. Local functions, HTTP,
//! activities, nested workflows and AWS services come in their own issue (#4).

pub mod mock;

pub use mock::{MockConfig, MockError, MockHandler};
