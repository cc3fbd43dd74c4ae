import type {ClientView} from '../core/clients.js'
import {table} from './output.js'

/** A client as a two-column table, for `client:show` and friends. Never shows a secret. */
export function clientDetails(view: ClientView): string {
  return table(
    ['FIELD', 'VALUE'],
    [
      ['client_id', view.client_id],
      ['name', view.name],
      ['type', view.type],
      ['grant_types', view.grant_types.join(' ')],
      ['redirect_uris', view.redirect_uris.join(' ') || '-'],
      ...(view.post_logout_redirect_uris
        ? [['post_logout_redirect_uris', view.post_logout_redirect_uris.join(' ')]]
        : []),
      ['scopes', view.scopes === null ? '(every known scope)' : view.scopes.join(' ')],
      ['auto_approve', String(view.auto_approve)],
      ['source', view.source],
      ['created_at', view.created_at],
    ],
  )
}
