//! A variant's draft is named `{Enum}{Variant}Draft`; `#[draft(name = "...")]` on the variant
//! names it otherwise, for when that name is taken.

use immer::Draftable;
use serde::{Deserialize, Serialize};

#[allow(dead_code)]
struct EventClickDraft;

#[derive(Draftable, Clone, PartialEq, Serialize, Deserialize)]
enum Event {
    #[draft(name = "ClickPayloadDraft")]
    Click { x: i32 },
    Key { code: u32 },
}

fn main() {
    let base = std::sync::Arc::new(Event::Click { x: 1 });
    let _ = immer::produce(&base, |d| match d.variant() {
        EventVariantDraft::Click(mut click) => {
            let _: &mut ClickPayloadDraft<'_, _> = &mut click;
            click.set_x(2);
        }
        EventVariantDraft::Key(mut key) => {
            let _: &mut EventKeyDraft<'_, _> = &mut key;
            key.set_code(3);
        }
    });
}
