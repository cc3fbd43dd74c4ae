/**
 * The first member name repeated within one object of a valid JSON text, as a path
 * (`scope`, `jwks.keys[0].kty`), or undefined; objects nested deeper than `maxDepth` (1: only the
 * top-level object) are not looked at. `JSON.parse` silently keeps the last of repeated members,
 * so every JSON body passport reads is checked with this first.
 */
export function repeatedJsonMember(text: string, maxDepth = Number.POSITIVE_INFINITY): string | undefined {
  // One frame per open object (its names so far and the current one) or array (the current index).
  const stack: ({seen: Set<string>; name: string} | {index: number})[] = []
  let expectName = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '"') {
      let end = i + 1
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1
      const frame = stack.at(-1)
      if (expectName && frame !== undefined && 'seen' in frame) {
        const name = JSON.parse(text.slice(i, end + 1)) as string
        frame.name = name
        if (frame.seen.has(name) && stack.length <= maxDepth) return memberPath(stack)
        frame.seen.add(name)
        expectName = false
      }
      i = end
    } else if (c === '{') {
      stack.push({seen: new Set(), name: ''})
      expectName = true
    } else if (c === '[') {
      stack.push({index: 0})
      expectName = false
    } else if (c === '}' || c === ']') {
      stack.pop()
      expectName = false
    } else if (c === ',') {
      const frame = stack.at(-1)
      if (frame !== undefined && 'seen' in frame) expectName = true
      else if (frame !== undefined) frame.index++
    }
  }
  return undefined
}

function memberPath(stack: readonly ({name: string} | {index: number})[]): string {
  return stack
    .map((frame, depth) => ('index' in frame ? `[${frame.index}]` : depth === 0 ? frame.name : `.${frame.name}`))
    .join('')
}
