// Child processes for the benchmark: every process started here is registered and killed on
// exit, on error and on SIGINT/SIGTERM, so a failed run never leaves a server behind.
import {spawn, spawnSync} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'

const children = new Set()

function killAll() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL')
      } catch {
        // already gone
      }
    }
  }
  children.clear()
}

process.on('exit', killAll)
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killAll()
    process.exit(130)
  })
}

/** The environment for every child: NODE_EXTRA_CA_CERTS cleared (it adds ~150 ms per start). */
export function cleanEnv(extra = {}) {
  const env = {...process.env, ...extra}
  delete env.NODE_EXTRA_CA_CERTS
  return env
}

/**
 * Starts a server process that prints one JSON line (with at least `port`) on stdout once
 * listening. Resolves {child, pid, info} or rejects with the reason (exit, timeout, bad line).
 */
export function startServer(command, args, {cwd, env, timeoutMs = 20_000} = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {cwd, env: env ?? cleanEnv(), stdio: ['ignore', 'pipe', 'pipe']})
    children.add(child)
    let stdout = ''
    let stderr = ''
    let settled = false
    /** @param {Error | null} error @param {unknown} [value] */
    const finish = (error, value) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (error) {
        void stop(child)
        reject(error)
      } else resolve(value)
    }
    const timer = setTimeout(
      () => finish(new Error(`no JSON line within ${timeoutMs} ms${stderr ? `: ${firstLine(stderr)}` : ''}`)),
      timeoutMs,
    )
    child.stdout.setEncoding('utf8')
    child.stderr.setEncoding('utf8')
    child.stdout.on('data', (chunk) => {
      if (settled) return
      stdout += chunk
      const newline = stdout.indexOf('\n')
      if (newline === -1) return
      const line = stdout.slice(0, newline)
      try {
        const info = JSON.parse(line)
        if (typeof info.port !== 'number') throw new Error('no port')
        finish(null, {child, pid: child.pid, info})
      } catch {
        finish(new Error(`first stdout line is not {"port":…}: ${line.slice(0, 200)}`))
      }
    })
    child.stderr.on('data', (chunk) => {
      if (stderr.length < 10_000) stderr += chunk
    })
    child.on('error', (error) => finish(error))
    child.on('exit', (code, signal) =>
      finish(new Error(`exited (${signal ?? code}) before listening${stderr ? `: ${firstLine(stderr)}` : ''}`)),
    )
  })
}

/** Stops a child: SIGTERM, then SIGKILL after a grace period. */
export function stop(child, graceMs = 3000) {
  return new Promise((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      children.delete(child)
      resolve()
      return
    }
    const timer = setTimeout(() => {
      try {
        child.kill('SIGKILL')
      } catch {
        // gone
      }
    }, graceMs)
    child.once('exit', () => {
      clearTimeout(timer)
      children.delete(child)
      resolve()
    })
    try {
      child.kill('SIGTERM')
    } catch {
      clearTimeout(timer)
      children.delete(child)
      resolve()
    }
  })
}

/** Runs a command to completion (bounded by a timeout); returns {code, stdout, stderr, ms}. */
export function run(command, args, {cwd, env, timeoutMs = 120_000, input} = {}) {
  const started = process.hrtime.bigint()
  const result = spawnSync(command, args, {
    cwd,
    env: env ?? cleanEnv(),
    encoding: 'utf8',
    timeout: timeoutMs,
    input,
    maxBuffer: 64 * 1024 * 1024,
  })
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  return {
    code: result.status,
    signal: result.signal,
    stdout: result.stdout ?? '',
    stderr: result.stderr ?? '',
    error: result.error,
    ms,
  }
}

/** Runs a command asynchronously (so the event loop keeps serving probes while it runs). */
export function runAsync(command, args, {cwd, env, timeoutMs = 300_000} = {}) {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint()
    const child = spawn(command, args, {cwd, env: env ?? cleanEnv(), stdio: ['ignore', 'pipe', 'pipe']})
    children.add(child)
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (c) => (stdout += c))
    child.stderr.setEncoding('utf8').on('data', (c) => (stderr += c))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    const done = (code, signal, error) => {
      clearTimeout(timer)
      children.delete(child)
      resolve({code, signal, stdout, stderr, error, ms: Number(process.hrtime.bigint() - started) / 1e6})
    }
    child.on('error', (error) => done(null, null, error))
    child.on('exit', (code, signal) => done(code, signal))
  })
}

export function firstLine(text) {
  return (String(text).trim().split('\n')[0] ?? '').replace(/^[\s›]+/, '').slice(0, 200)
}

// ---- memory -------------------------------------------------------------------------------

function statusKb(pid, field) {
  try {
    const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))
    return match ? Number(match[1]) : 0
  } catch {
    return 0
  }
}

/** The pid and all its descendants (a server may fork workers). */
export function processTree(pid) {
  const pids = [pid]
  for (let i = 0; i < pids.length && i < 256; i++) {
    let tasks = []
    try {
      tasks = readdirSync(`/proc/${pids[i]}/task`)
    } catch {
      continue
    }
    for (const tid of tasks) {
      try {
        for (const child of readFileSync(`/proc/${pids[i]}/task/${tid}/children`, 'utf8').trim().split(/\s+/)) {
          if (child) pids.push(Number(child))
        }
      } catch {
        // exited meanwhile
      }
    }
  }
  return pids
}

/**
 * CPU time (user + system, ms) used so far by a process and its descendants, from
 * /proc/PID/stat (clock ticks of 10 ms). Divided by the requests served it gives CPU per request,
 * a figure other work on the machine disturbs far less than req/s.
 */
export function cpuMs(pid) {
  let ticks = 0
  for (const p of processTree(pid)) {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {
      // exited meanwhile
    }
  }
  return ticks * 10
}

/**
 * Samples the resident memory of a server (summed over its process tree) every `everyMs` until
 * stopped; `stop()` returns the peak in MB, never less than the main process's VmHWM when it
 * has no children (VmHWM catches peaks between samples).
 */
export function sampleRss(pid, everyMs = 100) {
  let peakKb = 0
  const sample = () => {
    const tree = processTree(pid)
    let kb = 0
    for (const p of tree) kb += statusKb(p, 'VmRSS')
    if (tree.length === 1) kb = Math.max(kb, statusKb(pid, 'VmHWM'))
    peakKb = Math.max(peakKb, kb)
  }
  sample()
  const timer = setInterval(sample, everyMs)
  return {
    stop() {
      clearInterval(timer)
      sample()
      return Math.round(peakKb / 102.4) / 10
    },
  }
}
