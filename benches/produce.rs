//! A leaf write three levels deep: through the draft, and hand-written with `Arc::make_mut` on
//! the same structure, in one group so the report is a ratio. And a set of 100,000 elements
//! cleared and halved with patches, beside the same without recording and by hand: both are
//! O(n) (they once scanned for each element's position, O(n²)).

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

fn set_clear(c: &mut Criterion) {
    let base: Arc<std::collections::BTreeSet<u64>> = Arc::new((0..100_000).collect());
    let mut group = c.benchmark_group("set_100k");
    group.sample_size(20);
    group.bench_function("clear_with_patches", |b| {
        b.iter(|| {
            produce_with_patches(black_box(&base), |d| {
                d.clear();
            })
        });
    });
    group.bench_function("clear", |b| {
        b.iter(|| {
            produce(black_box(&base), |d| {
                d.clear();
            })
        });
    });
    group.bench_function("clear_handwritten", |b| {
        b.iter(|| {
            let mut next = Arc::clone(black_box(&base));
            Arc::make_mut(&mut next).clear();
            next
        });
    });
    group.bench_function("retain_half_with_patches", |b| {
        b.iter(|| produce_with_patches(black_box(&base), |d| d.retain(|x| x % 2 == 0)));
    });
    group.bench_function("retain_half", |b| {
        b.iter(|| produce(black_box(&base), |d| d.retain(|x| x % 2 == 0)));
    });
    group.bench_function("retain_half_handwritten", |b| {
        b.iter(|| {
            let mut next = Arc::clone(black_box(&base));
            Arc::make_mut(&mut next).retain(|x| x % 2 == 0);
            next
        });
    });
    group.finish();
}

criterion_group!(benches, deep_write, set_clear);
criterion_main!(benches);
