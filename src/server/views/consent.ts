import {type Html, html, initial, layout} from './layout.js'

export interface ScopeView {
  id: string
  description: string
}

export function scopeList(scopes: ScopeView[]): Html {
  if (scopes.length === 0) return html`<p>No specific permissions (no scope was requested).</p>`
  return html`<ul class="scopes" aria-labelledby="scopes-heading">${scopes.map((s) => html`<li><span class="id"><code>${s.id}</code></span> — ${s.description}</li>`)}</ul>`
}

export interface ConsentView {
  action: string
  csrf: string
  requestId: string
  user: string
  /** `host`: for a client ID metadata document, the host that published it (shown prominently: anyone can publish one). */
  client: {id: string; name: string; host?: string}
  scopes: ScopeView[]
  /** Where the answer will be sent (shown so a person can spot a wrong app). */
  redirectUri: string
  /** "Sign in as someone else" (absent under --login-as). */
  switchUser: {action: string; returnTo: string} | undefined
}

/** What is asked for, then the CSRF-protected Approve / Deny form (consent and device pages). */
export function approvalForm(scopes: ScopeView[], action: string, csrf: string, field: string, value: string): Html {
  return html`<h2 id="scopes-heading">It asks for</h2>
${scopeList(scopes)}
<form method="post" action="${action}">
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="${field}" value="${value}">
<div class="actions">
<button type="submit" name="action" value="approve">Approve</button>
<button type="submit" name="action" value="deny" class="secondary">Deny</button>
</div>
</form>`
}

export function consentPage(view: ConsentView): string {
  return layout(
    {title: `Authorize ${view.client.name}`, user: view.user},
    html`<div class="client"><span class="avatar" aria-hidden="true">${initial(view.client.name)}</span><h1><span>${view.client.name}</span> wants to access your account</h1></div>
${
  view.client.host === undefined
    ? ''
    : html`<p class="published-by">Published by <strong class="client-host">${view.client.host}</strong>: this application describes itself in a document at <code>${view.client.id}</code>. Anyone can publish such a document; continue only if you trust <strong>${view.client.host}</strong>.</p>`
}
<dl class="facts">
<dt>Signed in as</dt><dd><code>${view.user}</code></dd>
<dt>Client id</dt><dd><code>${view.client.id}</code></dd>
<dt>Answer goes to</dt><dd><code>${view.redirectUri}</code></dd>
</dl>
${approvalForm(view.scopes, view.action, view.csrf, 'request_id', view.requestId)}
${
  view.switchUser
    ? html`<form method="post" action="${view.switchUser.action}">
<input type="hidden" name="csrf" value="${view.csrf}">
<input type="hidden" name="return_to" value="${view.switchUser.returnTo}">
<p class="hint">Not <code>${view.user}</code>? <button type="submit" class="link">Sign in as someone else</button></p>
</form>`
    : ''
}`,
  )
}
