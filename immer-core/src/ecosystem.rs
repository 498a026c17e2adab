//! The ecosystem's types, each behind a feature named as its crate: leaves for the values
//! serde writes as one (dates, times, ids, URLs, decimals, small strings, bytes), and map and
//! set drafts for `indexmap`'s ordered collections.

#[cfg(feature = "chrono")]
crate::leaf!(
    chrono::DateTime<chrono::Utc>,
    chrono::DateTime<chrono::FixedOffset>,
    chrono::NaiveDate,
    chrono::NaiveDateTime,
    chrono::NaiveTime,
);

#[cfg(feature = "time")]
crate::leaf!(
    time::OffsetDateTime,
    time::PrimitiveDateTime,
    time::Date,
    time::Time,
    time::Duration,
);

#[cfg(feature = "uuid")]
crate::leaf!(uuid::Uuid);

#[cfg(feature = "url")]
crate::leaf!(url::Url);

#[cfg(feature = "rust_decimal")]
crate::leaf!(rust_decimal::Decimal);

#[cfg(feature = "smol_str")]
crate::leaf!(smol_str::SmolStr);

#[cfg(feature = "compact_str")]
crate::leaf!(compact_str::CompactString);

#[cfg(feature = "bytes")]
crate::leaf!(bytes::Bytes);
