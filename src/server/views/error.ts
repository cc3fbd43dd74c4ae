import {html, layout} from './layout.js'

export interface ErrorView {
  title: string
  /** Exactly what is wrong. */
  message: string
  /** How to fix it. */
  fix?: string
  user?: string | undefined
}

export function errorPage(view: ErrorView): string {
  return layout(
    {title: view.title, ...(view.user ? {user: view.user} : {})},
    html`<h1>${view.title}</h1>
<div class="alert error" role="alert"><p>${view.message}</p></div>
${view.fix ? html`<h2>How to fix it</h2><p class="fix">${view.fix}</p>` : ''}
<p class="hint">The <a href="/">dashboard</a> lists the registered clients and their redirect URIs.</p>`,
  )
}
