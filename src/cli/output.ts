import {Chalk, type ChalkInstance} from 'chalk'

/** Colour for stdout and stderr, each only when that stream is a terminal. */
export const color: ChalkInstance = new Chalk({level: process.stdout.isTTY && !process.env.NO_COLOR ? 1 : 0})
export const stderrColor: ChalkInstance = new Chalk({level: process.stderr.isTTY && !process.env.NO_COLOR ? 1 : 0})

/** Renders rows as an aligned plain-text table. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')
  return [color.bold(line(headers)), ...rows.map(line)].join('\n')
}
