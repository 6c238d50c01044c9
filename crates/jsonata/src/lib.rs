pub use jsonata_core;
