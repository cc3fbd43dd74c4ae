import {approvalForm, type ScopeView} from './consent.js'
import {html, initial, layout} from './layout.js'

export interface DeviceEnterView {
  /** GET target that looks the code up, e.g. /oauth/device. */
  action: string
  user: string
  value?: string
  error?: string
  /** True when the session is locked after too many wrong codes. */
  locked?: boolean
}

/** The code entry page; /assets/passport.js formats the code as typed (the page works without it). */
export function deviceEnterPage(view: DeviceEnterView): string {
  return layout(
    {title: 'Connect a device', user: view.user, script: !view.locked},
    html`<h1>Connect a device</h1>
<p class="lead">Enter the code shown on the device or in the terminal.</p>
${view.error ? html`<div class="alert error" role="alert">${view.error}</div>` : ''}
${
  view.locked
    ? ''
    : html`<form method="get" action="${view.action}">
<label for="user_code">Code</label>
<input type="text" id="user_code" name="user_code" class="usercode" data-usercode value="${view.value ?? ''}" placeholder="XXXX-XXXX" autocomplete="one-time-code" spellcheck="false" autocapitalize="characters" maxlength="32" required autofocus aria-describedby="user_code_hint"${view.error ? html` aria-invalid="true"` : ''}>
<p class="hint" id="user_code_hint">8 letters, e.g. BCDF-GHJK; case, spaces and hyphens do not matter.</p>
<div class="actions"><button type="submit">Continue</button></div>
</form>`
}`,
  )
}

export interface DeviceConfirmView {
  action: string
  csrf: string
  user: string
  userCode: string
  client: {id: string; name: string}
  scopes: ScopeView[]
}

export function deviceConfirmPage(view: DeviceConfirmView): string {
  return layout(
    {title: `Connect ${view.client.name}`, user: view.user},
    html`<div class="client"><span class="avatar" aria-hidden="true">${initial(view.client.name)}</span><h1>Connect <span>${view.client.name}</span>?</h1></div>
<p>Check that the device shows this code:</p>
<p class="usercode-display">${view.userCode}</p>
<dl class="facts">
<dt>Signed in as</dt><dd><code>${view.user}</code></dd>
<dt>Client id</dt><dd><code>${view.client.id}</code></dd>
</dl>
${approvalForm(view.scopes, view.action, view.csrf, 'user_code', view.userCode)}
<p class="hint">Only approve if you started this sign-in yourself. A denial is final.</p>`,
  )
}

export interface DeviceDoneView {
  user: string
  approved: boolean
  client: {id: string; name: string}
}

export function deviceDonePage(view: DeviceDoneView): string {
  return layout(
    {title: view.approved ? 'Device connected' : 'Device denied', user: view.user},
    view.approved
      ? html`<h1>Device connected</h1><div class="alert ok" role="status">You approved <strong>${view.client.name}</strong>. Return to your device; it will continue on its own.</div><p class="hint">You can close this page.</p>`
      : html`<h1>Device denied</h1><div class="alert error" role="status">You denied <strong>${view.client.name}</strong>. The device will be told; the code cannot be used again.</div><p class="hint">You can close this page.</p>`,
  )
}
