import type {Hook} from '@oclif/core/hooks'

import {reportError} from '../report.js'

/**
 * `passport tokne`: on a terminal, @oclif/plugin-not-found asks "Did you mean token?" and runs it;
 * otherwise one line names the nearest command (exit 2, a usage error), where the plugin alone
 * would only say that the command does not exist.
 */
const hook: Hook.CommandNotFound = async function (options) {
  if (process.stdin.isTTY && process.stdout.isTTY) {
    const {default: plugin} = await import('@oclif/plugin-not-found')
    return plugin.call(this, options)
  }
  const ids = options.config.commands.filter((c) => !c.hidden).map((c) => c.id)
  const nearest = closest(options.id, ids)
  const suggestion = nearest === undefined ? '' : ` Did you mean "${options.config.bin} ${nearest}"?`
  reportError(
    Object.assign(
      new Error(
        `"${options.id}" is not a ${options.config.bin} command.${suggestion} "${options.config.bin} help" lists them all.`,
      ),
      {code: 'ERR_USAGE'},
    ),
    {usage: true, known: true},
    false,
  )
  this.exit(2)
}

/** The id nearest to `typed` by edit distance, when it is near enough to be a likely typo. */
function closest(typed: string, ids: string[]): string | undefined {
  let best: {id: string; distance: number} | undefined
  for (const id of ids) {
    const distance = editDistance(typed, id)
    if (!best || distance < best.distance) best = {id, distance}
  }
  return best && best.distance <= Math.max(2, Math.floor(typed.length / 3)) ? best.id : undefined
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({length: b.length + 1}, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]!
}

export default hook
