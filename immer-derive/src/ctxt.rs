//! Collects every error of one input, so they are reported together (serde's `ctxt.rs`).

use std::cell::{Cell, RefCell};
use std::fmt::Display;

use quote::ToTokens;

#[derive(Default)]
pub(crate) struct Ctxt {
    errors: RefCell<Vec<syn::Error>>,
    serde_attribute_failed: Cell<bool>,
}

impl Ctxt {
    pub(crate) fn new() -> Self {
        Ctxt::default()
    }

    /// Adds an error that points at `tokens`.
    pub(crate) fn error_spanned_by<T: ToTokens, M: Display>(&self, tokens: T, message: M) {
        self.errors
            .borrow_mut()
            .push(syn::Error::new_spanned(tokens.into_token_stream(), message));
    }

    pub(crate) fn syn_error(&self, error: syn::Error) {
        self.errors.borrow_mut().push(error);
    }

    /// Notes that a `#[serde(...)]` attribute did not parse: serde's own derive fails on it
    /// too, so its impls are missing and a stub impl of ours would only add noise.
    pub(crate) fn serde_attribute_failed(&self) {
        self.serde_attribute_failed.set(true);
    }

    pub(crate) fn has_serde_failure(&self) -> bool {
        self.serde_attribute_failed.get()
    }

    /// All errors combined into one, or `Ok` when there were none.
    pub(crate) fn check(self) -> syn::Result<()> {
        let mut errors = self.errors.into_inner().into_iter();
        let Some(mut combined) = errors.next() else {
            return Ok(());
        };
        for rest in errors {
            combined.combine(rest);
        }
        Err(combined)
    }
}
