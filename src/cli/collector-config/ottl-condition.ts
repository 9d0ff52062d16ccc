/**
 * Whether an OTTL condition of a filter processor is true for one of FlagSync's events, without a collector: a small
 * parser for the boolean part of OTTL (or, and, not, parentheses, comparisons) over what doctor knows of the event
 * (its name; that its span has events). Anything else is unknown, so the answer is true, false or undefined
 * (cannot tell), never a guess.
 */

/** What is known of the item the condition is evaluated on. */
export type Item =
  | { context: 'spanevent'; name: string }
  | { context: 'span' }
  | { context: 'log'; eventName: string }
  | { context: 'other' };

type Value = { kind: 'string'; value: string } | { kind: 'int'; value: number } | { kind: 'bool'; value: boolean };
/** At least `min` (the number of events of a span carrying FlagSync's events). */
type AtLeast = { kind: 'atLeast'; min: number };
type Term = Value | AtLeast | undefined;

type Token = { type: 'string' | 'number' | 'word' | 'op' | 'punct'; text: string };

const TOKEN = /\s*(?:("(?:[^"\\]|\\.)*")|(-?\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(==|!=|<=|>=|<|>)|([()[\],.]))/y;

function tokenize(text: string): Token[] | undefined {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    if (/^\s*$/.test(text.slice(TOKEN.lastIndex))) break;
    const m = TOKEN.exec(text);
    if (!m) return undefined;
    if (m[1] !== undefined) {
      const text = stringOf(m[1]);
      if (text === undefined) return undefined;
      tokens.push({ type: 'string', text });
    } else if (m[2] !== undefined) tokens.push({ type: 'number', text: m[2] });
    else if (m[3] !== undefined) tokens.push({ type: 'word', text: m[3] });
    else if (m[4] !== undefined) tokens.push({ type: 'op', text: m[4] });
    else tokens.push({ type: 'punct', text: m[5]! });
  }
  return tokens;
}

function stringOf(literal: string): string | undefined {
  try {
    return JSON.parse(literal) as string;
  } catch {
    return undefined;
  }
}

/** true, false, or undefined when it cannot be told (unknown paths or functions, or a condition it cannot parse). */
export function conditionIsTrue(condition: string, item: Item): boolean | undefined {
  const tokens = tokenize(condition);
  if (!tokens) return undefined;
  let at = 0;
  const peek = () => tokens[at];
  const take = (text?: string) => {
    const token = tokens[at];
    if (!token || (text !== undefined && token.text !== text)) throw new SyntaxError(`expected ${text ?? 'more'}`);
    at++;
    return token;
  };
  const isWord = (text: string) => peek()?.type === 'word' && peek()!.text === text;

  const or = (): boolean | undefined => {
    let result = and();
    while (isWord('or')) {
      take();
      const right = and();
      result = result === true || right === true ? true : result === false && right === false ? false : undefined;
    }
    return result;
  };
  const and = (): boolean | undefined => {
    let result = not();
    while (isWord('and')) {
      take();
      const right = not();
      result = result === false || right === false ? false : result === true && right === true ? true : undefined;
    }
    return result;
  };
  const not = (): boolean | undefined => {
    if (isWord('not')) {
      take();
      const inner = not();
      return inner === undefined ? undefined : !inner;
    }
    return comparison();
  };
  const comparison = (): boolean | undefined => {
    // A parenthesised condition, or a term compared to another; a lone term must be a boolean.
    if (peek()?.text === '(') {
      take('(');
      const inner = or();
      take(')');
      return inner;
    }
    const left = term();
    if (peek()?.type !== 'op') return left?.kind === 'bool' ? left.value : undefined;
    const op = take().text;
    return compare(left, op, term());
  };
  const term = (): Term => {
    const token = take();
    if (token.type === 'string') return { kind: 'string', value: token.text };
    if (token.type === 'number') return { kind: 'int', value: Number(token.text) };
    if (token.type !== 'word') throw new SyntaxError(`unexpected ${token.text}`);
    if (token.text === 'true' || token.text === 'false') return { kind: 'bool', value: token.text === 'true' };
    if (token.text === 'nil') return undefined;
    if (peek()?.text === '(') return call(token.text);
    return resolve(path(token.text), item);
  };
  const path = (first: string): string => {
    let text = first;
    for (;;) {
      if (peek()?.text === '.') {
        take();
        text += `.${take().text}`;
      } else if (peek()?.text === '[') {
        take();
        text += `[${JSON.stringify(take().text)}]`;
        take(']');
      } else return text;
    }
  };
  const call = (name: string): Term => {
    take('(');
    const args: (Term | string)[] = [];
    const paths: string[] = [];
    while (peek()?.text !== ')') {
      const token = peek();
      // Len() is told by the path it counts; other functions by their evaluated arguments.
      if (token?.type === 'word' && name === 'Len') paths.push(path(take().text));
      else args.push(term());
      if (peek()?.text === ',') take();
    }
    take(')');
    if (name === 'Len') return lengthOf(paths[0], item);
    if (name === 'IsMatch') {
      const [target, pattern] = args as Term[];
      if (target?.kind !== 'string' || pattern?.kind !== 'string') return undefined;
      try {
        return { kind: 'bool', value: new RegExp(pattern.value).test(target.value) };
      } catch {
        return undefined;
      }
    }
    return undefined;
  };

  try {
    const result = or();
    return at === tokens.length ? result : undefined;
  } catch {
    return undefined;
  }
}

function resolve(path: string, item: Item): Term {
  if (item.context === 'spanevent' && (path === 'name' || path === 'spanevent.name'))
    return { kind: 'string', value: item.name };
  if (item.context === 'log' && (path === 'event_name' || path === 'log.event_name'))
    return { kind: 'string', value: item.eventName };
  return undefined;
}

function lengthOf(path: string | undefined, item: Item): Term {
  if (item.context === 'span' && (path === 'events' || path === 'span.events')) return { kind: 'atLeast', min: 1 };
  return undefined;
}

function compare(left: Term, op: string, right: Term): boolean | undefined {
  if (!left || !right) return undefined;
  if (left.kind === 'atLeast' || right.kind === 'atLeast') {
    const [range, other, flipped] = left.kind === 'atLeast' ? [left, right, false] : [right as AtLeast, left, true];
    if (other.kind !== 'int') return undefined;
    return compareAtLeast(range.min, flipped ? flip(op) : op, other.value);
  }
  if (left.kind !== right.kind) return op === '!=' ? true : op === '==' ? false : undefined;
  const a = left.value;
  const b = right.value;
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    default:
      return undefined;
  }
}

const flip = (op: string) => ({ '<': '>', '<=': '>=', '>': '<', '>=': '<=' })[op] ?? op;

/** `x op n` for every x >= min: true or false when the same for all of them, else unknown. */
function compareAtLeast(min: number, op: string, n: number): boolean | undefined {
  switch (op) {
    case '==':
      return n < min ? false : undefined;
    case '!=':
      return n < min ? true : undefined;
    case '>':
      return min > n ? true : undefined;
    case '>=':
      return min >= n ? true : undefined;
    case '<':
      return min >= n ? false : undefined;
    case '<=':
      return min > n ? false : undefined;
    default:
      return undefined;
  }
}
