import {type Html, html, layout} from './layout.js'

export interface DecodedJwt {
  header: Record<string, unknown>
  payload: Record<string, unknown>
}

export interface DemoResultView {
  user: string
  tokenType: string
  expiresIn: number
  scope: string
  accessToken: DecodedJwt
  idToken?: DecodedJwt
  /** Did the id token echo the nonce this flow sent? */
  nonceMatches?: boolean
}

function decoded(title: string, id: string, token: DecodedJwt, about: Html): Html {
  return html`<section class="card tokens" aria-labelledby="${id}">
<h2 id="${id}">${title}</h2>
${about}
<h3 class="hint">Header</h3>
<pre tabindex="0" aria-label="${title} header">${JSON.stringify(token.header, null, 2)}</pre>
<h3 class="hint">Payload</h3>
<pre tabindex="0" aria-label="${title} payload">${JSON.stringify(token.payload, null, 2)}</pre>
</section>`
}

/** What the demo client received: the token response, with both JWTs decoded (never a refresh token). */
export function demoResultPage(view: DemoResultView): string {
  return layout(
    {title: 'Try it: your tokens', user: view.user, wide: true, bare: true},
    html`<section class="card" aria-labelledby="title">
<h1 id="title">It worked: the demo client got its tokens</h1>
<div class="alert ok" role="status"><p>Authorization code + PKCE flow completed for <code>${view.user}</code>.</p></div>
<dl class="facts">
<dt>token_type</dt><dd><code>${view.tokenType}</code></dd>
<dt>expires_in</dt><dd><code>${String(view.expiresIn)}</code> seconds</dd>
<dt>scope</dt><dd><code>${view.scope || '(none)'}</code></dd>
</dl>
<ol class="steps">
<li><code>/demo/start</code> kept a random <code>state</code>, <code>nonce</code> and PKCE <code>code_verifier</code> in your session and sent you to the authorization endpoint with the verifier’s S256 <code>code_challenge</code>.</li>
<li>You signed in and approved the client <code>__demo__</code>; the server redirected to <code>/demo/callback</code> with a one-time <code>code</code>, the <code>state</code> and <code>iss</code>.</li>
<li>The callback checked <code>state</code> and <code>iss</code> and redeemed the code with the <code>code_verifier</code>, exactly as <code>POST /token</code> would.</li>
</ol>
<div class="actions"><a class="button" href="/demo/start">Run it again</a><a class="button secondary" href="/">Back to the dashboard</a></div>
<p class="hint">The tokens are shown decoded only; the demo client gets no refresh token.</p>
</section>
<div class="grid">
${decoded('Access token', 'access-heading', view.accessToken, html`<p class="hint">A JWT signed with the server’s key (<code>${typeof view.accessToken.header.kid === 'string' ? view.accessToken.header.kid : ''}</code>); resource servers verify it against the JWKS.</p>`)}
${
  view.idToken
    ? decoded(
        'ID token',
        'id-heading',
        view.idToken,
        html`<p class="hint">OpenID Connect identity for the client; <code>aud</code> is the client id. Nonce ${view.nonceMatches ? 'matches the one sent' : 'does NOT match the one sent'}.</p>`,
      )
    : html`<section class="card"><h2>ID token</h2><p class="muted">None: the <code>openid</code> scope was not granted.</p></section>`
}
</div>`,
  )
}
