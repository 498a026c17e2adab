//! A leaf write three levels deep: through the draft, and hand-written with `Arc::make_mut` on
//! the same structure, in one group so the report is a ratio.

#![allow(
    missing_docs,
    reason = "criterion's macros generate the bench entry points"
)]

mod common;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use immer::{produce, produce_with_patches};

fn deep_write(c: &mut Criterion) {
    let base = common::tree(1);
    let mut group = c.benchmark_group("deep_write");
    group.bench_function("draft", |b| {
        b.iter(|| produce(black_box(&base), |d| d.a().b().set_value(black_box(7))));
    });
    group.bench_function("handwritten", |b| {
        b.iter(|| {
            let mut next = Arc::clone(black_box(&base));
            Arc::make_mut(&mut Arc::make_mut(&mut Arc::make_mut(&mut next).a).b).value =
                black_box(7);
            next
        });
    });
    group.bench_function("draft_with_patches", |b| {
        b.iter(|| produce_with_patches(black_box(&base), |d| d.a().b().set_value(black_box(7))));
    });
    group.finish();
}

criterion_group!(benches, deep_write);
criterion_main!(benches);
