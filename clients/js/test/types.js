// The types of index.d.ts, read by the tests to check values against them: a reader of the
// subset of TypeScript the file uses (type aliases and interfaces of object types, an interface
// extending those declared before it, unions, arrays, string literals, `true` and `false`, `number`, `string`,
// `boolean`, `unknown`, `null`, references to the file's own types, `Record<string, never>` and
// `Record<string, unknown>`; an interface's methods are skipped), and a check that a JSON value
// is of a type, with exactly the keys its object type declares. No TypeScript compiler is
// needed: the shapes checked are the ones the file declares.

import { readFileSync } from 'node:fs';

/**
 * @typedef {{ kind: 'union', of: Type[] }
 *   | { kind: 'object', members: Map<string, { optional: boolean, type: Type }> }
 *   | { kind: 'array', of: Type }
 *   | { kind: 'literal', value: string | boolean | null }
 *   | { kind: 'name', name: string }} Type
 */

/** Reads the declarations of a .d.ts file: each exported type alias and interface by name. */
export function readTypes(url) {
  const text = readFileSync(url, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/\/\/[^\n]*/g, ' ');
  const tokens = text.match(/'[^']*'|[A-Za-z_$][\w$]*|\[\]|[{}()<>|;:,?=&]|\S/g) ?? [];
  const types = new Map();
  let at = 0;
  const peek = () => tokens[at];
  const next = () => tokens[at++];
  const expect = (token) => {
    const got = next();
    if (got !== token) throw new Error(`index.d.ts: expected ${token}, found ${got} (token ${at})`);
  };
  const skipBalanced = (open, close) => {
    let depth = 0;
    do {
      const token = next();
      if (token === open) depth++;
      else if (token === close) depth--;
    } while (depth > 0 && at < tokens.length);
  };
  const union = () => {
    if (peek() === '|') next();
    const of = [postfix()];
    while (peek() === '|') {
      next();
      of.push(postfix());
    }
    return of.length === 1 ? of[0] : { kind: 'union', of };
  };
  const postfix = () => {
    let type = primary();
    while (peek() === '[]') {
      next();
      type = { kind: 'array', of: type };
    }
    return type;
  };
  const members = () => {
    const map = new Map();
    while (peek() !== '}') {
      if (peek() === 'readonly') next();
      const name = next();
      const optional = peek() === '?';
      if (optional) next();
      if (peek() === '(' || peek() === '<') {
        // A method (`load(key: string): Promise<unknown>`): not data, skipped.
        if (peek() === '<') skipBalanced('<', '>');
        skipBalanced('(', ')');
        expect(':');
        union();
        if (peek() === ';' || peek() === ',') next();
        continue;
      }
      expect(':');
      map.set(name, { optional, type: union() });
      if (peek() === ';' || peek() === ',') next();
    }
    next();
    return { kind: 'object', members: map };
  };
  const primary = () => {
    const token = next();
    if (token === '{') return members();
    if (token === '(') {
      const type = union();
      expect(')');
      return type;
    }
    if (token.startsWith("'")) return { kind: 'literal', value: token.slice(1, -1) };
    if (token === 'null') return { kind: 'literal', value: null };
    if (token === 'true' || token === 'false') return { kind: 'literal', value: token === 'true' };
    if (token === 'Record') {
      expect('<');
      expect('string');
      expect(',');
      const values = next();
      expect('>');
      return values === 'never' ? { kind: 'object', members: new Map() } : { kind: 'name', name: 'object' };
    }
    if (peek() === '<') {
      // A generic type (`Extract<...>`, `Promise<...>`): not one of the wire's.
      at--;
      next();
      skipBalanced('<', '>');
      return { kind: 'name', name: 'unknown' };
    }
    return { kind: 'name', name: token };
  };
  while (at < tokens.length) {
    const token = next();
    if (token === 'type') {
      const name = next();
      if (peek() === '<') skipBalanced('<', '>');
      expect('=');
      types.set(name, union());
    } else if (token === 'interface') {
      const name = next();
      // `extends A, B`: their members first (each declared earlier in the file).
      const bases = [];
      if (peek() === 'extends') {
        next();
        while (peek() !== '{') {
          const base = next();
          if (base !== ',') bases.push(base);
        }
      }
      expect('{');
      const own = members();
      for (const base of bases.reverse()) {
        const inherited = types.get(base);
        if (inherited?.kind !== 'object') throw new Error(`index.d.ts: interface ${name} extends ${base}, not an interface declared before it`);
        for (const [member, type] of inherited.members) if (!own.members.has(member)) own.members.set(member, type);
      }
      types.set(name, own);
    } else if (token === 'class' || token === 'function') {
      // Not data: skipped whole.
      while (peek() !== '{' && peek() !== ';') next();
      if (peek() === '{') skipBalanced('{', '}');
    }
  }
  return types;
}

const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The member of an object type that tells its union's alternatives apart (`type`, `kind`). */
function tag(type) {
  if (type.kind !== 'object') return undefined;
  for (const [name, member] of type.members) {
    if (member.type.kind === 'literal' && typeof member.type.value === 'string') return [name, member.type.value];
  }
  return undefined;
}

/**
 * Why `value` is not of `type` (`null` when it is): object types take exactly their declared
 * keys (an optional one may be absent), and each value is checked against its member's type.
 *
 * @param {Map<string, Type>} types
 * @param {unknown} value
 * @param {Type | string} type
 * @param {string} [where]
 * @returns {string | null}
 */
export function mismatch(types, value, type, where = '$') {
  if (typeof type === 'string') type = { kind: 'name', name: type };
  switch (type.kind) {
    case 'name':
      switch (type.name) {
        case 'number':
          return typeof value === 'number' ? null : `${where}: ${JSON.stringify(value)} is not a number`;
        case 'string':
          return typeof value === 'string' ? null : `${where}: ${JSON.stringify(value)} is not a string`;
        case 'boolean':
          return typeof value === 'boolean' ? null : `${where}: ${JSON.stringify(value)} is not a boolean`;
        case 'unknown':
          return null;
        case 'object':
          return isObject(value) ? null : `${where}: ${JSON.stringify(value)} is not an object`;
        default: {
          const named = types.get(type.name);
          if (named === undefined) return `${where}: index.d.ts has no type ${type.name}`;
          return mismatch(types, value, named, where);
        }
      }
    case 'literal':
      return value === type.value ? null : `${where}: ${JSON.stringify(value)} is not ${JSON.stringify(type.value)}`;
    case 'array':
      if (!Array.isArray(value)) return `${where}: ${JSON.stringify(value)} is not an array`;
      for (const [n, element] of value.entries()) {
        const why = mismatch(types, element, type.of, `${where}[${n}]`);
        if (why !== null) return why;
      }
      return null;
    case 'object': {
      if (!isObject(value)) return `${where}: ${JSON.stringify(value)} is not an object`;
      for (const key of Object.keys(value)) {
        if (!type.members.has(key)) return `${where}: a key ${key} that its type does not declare`;
      }
      for (const [name, member] of type.members) {
        if (!Object.hasOwn(value, name)) {
          if (member.optional) continue;
          return `${where}: no ${name}`;
        }
        const why = mismatch(types, value[name], member.type, `${where}.${name}`);
        if (why !== null) return why;
      }
      return null;
    }
    case 'union': {
      const whys = [];
      const tags = [];
      for (const alternative of type.of) {
        const resolved = alternative.kind === 'name' ? (types.get(alternative.name) ?? alternative) : alternative;
        const tagged = tag(resolved);
        // An alternative of another tag is not the one to explain the mismatch with.
        if (tagged !== undefined && isObject(value) && value[tagged[0]] !== tagged[1]) {
          tags.push(tagged);
          continue;
        }
        const why = mismatch(types, value, alternative, where);
        if (why === null) return null;
        whys.push(why);
      }
      if (whys.length === 0) {
        const [name] = tags[0];
        return `${where}: ${name} ${JSON.stringify(value?.[name])} is none of ${tags.map((t) => JSON.stringify(t[1])).join(', ')}`;
      }
      // The alternatives that came closest: those whose mismatch lies deepest in the value.
      const depth = (why) => why.slice(0, why.indexOf(': ')).length;
      const deepest = Math.max(...whys.map(depth));
      return [...new Set(whys.filter((why) => depth(why) === deepest))].join('; or ');
    }
    default:
      return `${where}: a type this reader does not know`;
  }
}
