import {type Html, html, initial, layout} from './layout.js'

export interface SignInView {
  /** Form target, e.g. /oauth/login. */
  action: string
  csrf: string
  /** Where to go once signed in (a path on this server). */
  returnTo: string
  users: {id: string; name?: string; email?: string}[]
  /** Prefills the subject field (from login_hint). */
  subject?: string
  /** What the sign-in is for, e.g. "to continue to Web app". */
  purpose?: string
  error?: string
  /** Prefills the claims field. */
  claims?: string
}

/** Development sign-in: configured users as one-click choices, or any subject. */
export function signInPage(view: SignInView): string {
  // Claims for this sign-in, in each form (a configured user's button or a typed subject).
  const claims = (
    id: string,
  ): Html => html`<details class="claims"${view.claims ? ' open' : ''}><summary>Add claims for this sign-in</summary>
<label for="${id}">Claims (JSON object, optional)</label>
<textarea id="${id}" name="claims" rows="3" style="width:100%;font:inherit;font-family:ui-monospace,monospace" maxlength="4096" spellcheck="false" autocapitalize="none" aria-describedby="${id}-hint">${view.claims ?? ''}</textarea>
<p class="hint" id="${id}-hint">Added to this sign-in's id token and userinfo, e.g. <code>{"role": "admin"}</code>; passport's own claims (<code>sub</code>, <code>iss</code>, <code>aud</code>…) cannot be set.</p>
</details>`
  const hidden = html`<input type="hidden" name="csrf" value="${view.csrf}"><input type="hidden" name="return_to" value="${view.returnTo}">`
  const users: Html = view.users.length
    ? html`<h2 id="users-heading">Choose a user</h2>
<form method="post" action="${view.action}" aria-labelledby="users-heading">${hidden}
<div class="users">${view.users.map(
        (user) =>
          html`<button type="submit" name="subject" value="${user.id}"><span class="avatar" aria-hidden="true">${initial(user.name ?? user.id)}</span><span><span class="name">${user.name ?? user.id}</span><span class="email">${user.email ?? user.id}</span></span><span class="go" aria-hidden="true">→</span></button>`,
      )}</div>
${claims('claims-user')}
</form>
<p class="divider">or any other subject</p>`
    : html``
  return layout(
    {title: 'Sign in'},
    html`<h1>Sign in${view.purpose ? html` <span class="sub">${view.purpose}</span>` : ''}</h1>
<p class="lead">A development server: there are no passwords. Pick who you want to be.</p>
${view.error ? html`<div class="alert error" role="alert">${view.error}</div>` : ''}
${users}
<form method="post" action="${view.action}">${hidden}
<label for="subject">Subject (user id)</label>
<div class="inline">
<input type="text" id="subject" name="subject" value="${view.subject ?? ''}" autocomplete="username" spellcheck="false" autocapitalize="none" maxlength="255" required aria-describedby="subject-hint"${view.users.length ? '' : ' autofocus'}>
<button type="submit">Sign in</button>
</div>
<p class="hint" id="subject-hint">Becomes the <code>sub</code> claim of the tokens, e.g. <code>alice</code>.</p>
${claims('claims-subject')}
</form>`,
  )
}
