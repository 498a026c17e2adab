// Generated from the Rust types by #[derive(TypeScript)] (immer). Do not edit:
// change the Rust types and generate this file again.

export type Board = { title: string; todos: Todo[] };

export type Todo = { id: string; text: string; done: boolean };
