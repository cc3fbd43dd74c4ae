import type {Command} from '@oclif/core/command'

import {BaseCommand} from './base-command.js'

/**
 * A command that runs until SIGINT or SIGTERM (`serve`, `protect`): with `--json` it prints its
 * summary as one JSON line once listening (what scripts wait for), runs until signalled, closes
 * what it started, and then returns the summary without oclif printing it a second time.
 */
export abstract class ServingCommand<T extends typeof Command> extends BaseCommand<T> {
  private jsonPrinted = false

  /** With `--json`, the one JSON line on stdout; true when printed (else the caller prints for people). */
  protected announceJson(summary: object): boolean {
    if (!this.jsonEnabled()) return false
    process.stdout.write(`${JSON.stringify(summary)}\n`)
    this.jsonPrinted = true
    return true
  }

  /** Resolves once SIGINT or SIGTERM has arrived and `running` has closed. */
  protected untilSignalled(running: {close(): Promise<unknown>}): Promise<void> {
    return new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
        void running.close().then(() => resolve())
      }
      process.on('SIGINT', stop)
      process.on('SIGTERM', stop)
    })
  }

  // The summary was printed once listening; oclif must not print it again when run() returns.
  protected override logJson(json: unknown): void {
    if (!this.jsonPrinted) super.logJson(json)
  }
}
