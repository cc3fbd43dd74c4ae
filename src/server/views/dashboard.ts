import {type Html, html, layout} from './layout.js'

export interface DashboardView {
  issuer: string
  endpoints: {name: string; url: string; note?: string}[]
  clients: {
    id: string
    name: string
    type: string
    grants: string[]
    redirectUris: string[]
    scopes: string[] | null
    autoApprove: boolean
    source: string
  }[]
  tokens: {
    subject: string | null
    client: string
    clientId: string
    scopes: string[]
    expires: string
    expiresIn: string
    status: 'active' | 'expired' | 'revoked'
  }[]
  users: {id: string; name?: string}[]
  /** Why "try it" is unavailable (routes dropped with --except), or undefined when it works. */
  demoUnavailable?: string
  /** The signed-in subject of this browser session, if any. */
  user?: string
}

/** A URL (or other value) with a copy button that /assets/passport.js reveals. */
export function copyable(id: string, value: string, label: string): Html {
  return html`<code id="${id}">${value}</code><button type="button" class="small secondary" data-copy="${id}" hidden><span class="label">Copy</span><span class="sr-only"> ${label}</span></button>`
}

/** The dashboard at `/`: read-only apart from the "try it" flow. */
export function dashboardPage(view: DashboardView): string {
  return layout(
    {title: 'Dashboard', ...(view.user ? {user: view.user} : {}), script: true, wide: true, bare: true},
    html`<section class="card hero" aria-labelledby="title">
<div>
<h1 id="title">Dashboard</h1>
<p class="issuer"><span class="muted">Issuer</span> ${copyable('issuer', view.issuer, 'issuer URL')}</p>
</div>
<div>
${
  view.demoUnavailable
    ? html`<p class="alert warn">${view.demoUnavailable}</p>`
    : html`<a class="button" href="/demo/start">Try it: sign in with the demo client</a>
<p class="hint">Runs an authorization code + PKCE flow and shows the decoded tokens.</p>`
}
</div>
</section>

<section class="card" aria-labelledby="endpoints-heading">
<h2 class="section" id="endpoints-heading">Endpoints</h2>
<div class="table-wrap" role="region" aria-labelledby="endpoints-heading" tabindex="0">
<table class="endpoints">
<thead><tr><th scope="col">Endpoint</th><th scope="col">URL</th></tr></thead>
<tbody>${view.endpoints.map(
      (e, index) =>
        html`<tr><th scope="row">${e.name}${e.note ? html` <span class="hint plain">· ${e.note}</span>` : ''}</th><td><div class="url">${copyable(`endpoint-${index}`, e.url, `${e.name} URL`)}</div></td></tr>`,
    )}</tbody>
</table>
</div>
</section>

<section class="card" aria-labelledby="clients-heading">
<h2 class="section" id="clients-heading">Clients <span class="muted">(${view.clients.length})</span></h2>
${
  view.clients.length === 0
    ? html`<p class="empty">No clients yet. Register one with <code>passport client</code> or in <code>passport.config.json</code>.</p>`
    : html`<div class="table-wrap" role="region" aria-labelledby="clients-heading" tabindex="0">
<table>
<thead><tr><th scope="col">Name</th><th scope="col">Client id</th><th scope="col">Type</th><th scope="col">Grants</th><th scope="col">Redirect URIs</th><th scope="col">Scopes</th></tr></thead>
<tbody>${view.clients.map(
        (c) =>
          html`<tr><td>${c.name}${c.autoApprove ? html` <span class="status active">auto-approve</span>` : ''}</td><td><code>${c.id}</code></td><td>${c.type}<span class="hint block">${c.source === 'config' ? 'config file' : 'CLI'}</span></td><td>${c.grants.join(', ')}</td><td>${c.redirectUris.length ? c.redirectUris.map((uri) => html`<code class="block">${uri}</code>`) : html`<span class="muted">none</span>`}</td><td>${c.scopes ? c.scopes.join(' ') : html`<span class="muted">any known scope</span>`}</td></tr>`,
      )}</tbody>
</table>
</div>`
}
<p class="hint">Secrets are never shown: they are stored only as hashes.</p>
</section>

<section class="card" aria-labelledby="tokens-heading">
<h2 class="section" id="tokens-heading">Recent tokens</h2>
${
  view.tokens.length === 0
    ? html`<p class="empty">No access tokens issued yet. Try the demo above, or <code>passport token --user alice</code>.</p>`
    : html`<div class="table-wrap" role="region" aria-labelledby="tokens-heading" tabindex="0">
<table>
<thead><tr><th scope="col">Subject</th><th scope="col">Client</th><th scope="col">Scopes</th><th scope="col">Expires</th><th scope="col">Status</th></tr></thead>
<tbody>${view.tokens.map(
        (t) =>
          html`<tr><td>${t.subject === null ? html`<span class="muted">(the client itself)</span>` : html`<code>${t.subject}</code>`}</td><td>${t.client}${t.client !== t.clientId ? html`<span class="hint block"><code>${t.clientId}</code></span>` : ''}</td><td>${t.scopes.length ? t.scopes.join(' ') : html`<span class="muted">none</span>`}</td><td><time datetime="${t.expires}">${t.expiresIn}</time></td><td><span class="status ${t.status}">${t.status}</span></td></tr>`,
      )}</tbody>
</table>
</div>`
}
<p class="hint">The 20 newest access tokens. <code>passport token:list --all</code> shows every one.</p>
</section>

${
  view.users.length
    ? html`<section class="card" aria-labelledby="users-heading">
<h2 class="section" id="users-heading">Configured users</h2>
<p>${view.users.map((u, i) => html`${i ? ', ' : ''}<code>${u.id}</code>${u.name ? html` <span class="muted">(${u.name})</span>` : ''}`)}</p>
<p class="hint">They are offered on the sign-in page; any other subject can be typed there.</p>
</section>`
    : ''
}`,
  )
}
