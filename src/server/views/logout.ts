import {html, layout} from './layout.js'

export interface ConfirmLogoutView {
  action: string
  csrf: string
  user: string
  /** The client asking, when known. */
  client?: {id: string; name: string}
  /** The logout request's parameters, posted again with the confirmation. */
  fields: Record<string, string | undefined>
}

/** RP-Initiated Logout §2: the person confirms signing out when the request cannot prove it is theirs. */
export function confirmLogoutPage(view: ConfirmLogoutView): string {
  return layout(
    {title: 'Sign out', user: view.user},
    html`<h1>Sign out of passport?</h1>
<p>${view.client ? html`<span>${view.client.name}</span> (<code>${view.client.id}</code>) asks` : 'An application asks'} to end your sign-in as <code>${view.user}</code>.</p>
<form method="post" action="${view.action}">
<input type="hidden" name="csrf" value="${view.csrf}">
${Object.entries(view.fields).map(([name, value]) => (value === undefined ? '' : html`<input type="hidden" name="${name}" value="${value}">`))}
<div class="actions"><button type="submit" name="confirm" value="yes">Sign out</button></div>
</form>
<p class="hint">If you did not ask to sign out, close this page: you stay signed in.</p>`,
  )
}

export interface SignedOutView {
  /** Who was signed out; undefined when nobody was signed in. */
  user?: string
  /** Why the person was not sent back to the application (a rejected post_logout_redirect_uri or id_token_hint). */
  problem?: string
}

export function signedOutPage(view: SignedOutView): string {
  return layout(
    {title: 'Signed out'},
    html`<h1>Signed out</h1>
<div class="alert ok" role="status"><p>${view.user ? html`<code>${view.user}</code> is signed out of passport.` : 'Nobody is signed in to passport in this browser.'}</p></div>
${view.problem ? html`<h2>Not sent back to the application</h2><p>${view.problem}</p>` : ''}
<p class="muted">You can close this page.</p>`,
  )
}
