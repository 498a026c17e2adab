// Generated from the Rust types by #[derive(TypeScript)] (immer). Do not edit:
// change the Rust types and generate this file again.

export type Project = { projectName: string; tasks: Task[]; owner: string | null; scores: { [key: string]: number }; status: Status; shape: Shape };

export type Task = { id: number; title: string; done: boolean };

export type Status = { kind: "draft" } | { kind: "active"; since: string } | { kind: "closed"; reason: string; at: number };

export type Shape = { Circle: { radius: number } } | { Rect: [number, number] } | "Empty";
