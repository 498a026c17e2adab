// Generated from the Rust types by `cargo run -p immer-web --example board_types`; do not edit.
export type Board = { title: string; todos: Todo[] };
export type Todo = { id: string; text: string; done: boolean };
