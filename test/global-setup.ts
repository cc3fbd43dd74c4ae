import {execFileSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

/** The CLI tests run the built CLI; build once when dist/ or the manifest is missing. */
export default function setup(): void {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..')
  if (
    !existsSync(join(root, 'dist', 'index.js')) ||
    !existsSync(join(root, 'oclif.manifest.json')) ||
    process.env.PASSPORT_REBUILD
  ) {
    execFileSync('npm', ['run', 'build'], {cwd: root, stdio: 'inherit'})
  }
}
