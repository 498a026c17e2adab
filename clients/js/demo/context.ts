// What every component of the React board reaches: the board's document, its undo manager, and
// the one way an edit goes in.
import { createContext, useContext } from 'react';
import type { Draft } from 'immer';
import type { DocumentHandle, UndoManager } from 'immer-rs-client';
import type { Board } from './board.js';

/** The board as the page holds it. */
export interface BoardContext {
  /** The board's shared document. */
  store: DocumentHandle<Board>;
  /** This user's undo and redo. */
  undo: UndoManager<Board>;
  /**
   * Edits the board with an Immer recipe, as one undo step (`todo`: the id of the todo it
   * touches, kept with the step).
   */
  edit: (recipe: (draft: Draft<Board>) => void, todo?: string) => void;
  /** Shows a message above the board (an empty one clears it). */
  say: (message: string) => void;
}

export const BoardContext = createContext<BoardContext | null>(null);

/** The board of the page (inside `BoardContext.Provider`). */
export function useBoard(): BoardContext {
  const board = useContext(BoardContext);
  if (board === null) throw new Error('useBoard outside of a BoardContext');
  return board;
}

/** A colour of its own for each user. */
export function colour(user: string): string {
  let hash = 0;
  for (const c of user) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return `hsl(${hash % 360} 65% 45%)`;
}
