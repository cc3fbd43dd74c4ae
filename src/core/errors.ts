// The errors live in src/errors.ts (every layer imports them from there). This re-export only keeps
// code written against the old path compiling while it is rebased; import '../errors.js' instead.
export * from '../errors.js'
