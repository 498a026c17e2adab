#![doc = include_str!("../README.md")]
#![deny(unsafe_code)]

pub use immer_core::*;
pub use immer_derive::{Draftable, TypeScript};
