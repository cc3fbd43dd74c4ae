import type {Authority} from '../authority.js'
import type {VerifiedDpopProof} from '../dpop.js'
import type {TokenResponse} from '../tokens.js'
import type {ClientRow} from '../../store/clients.js'

/** The request parameters a grant reads (the server's `Params` satisfies it). */
export interface GrantParams {
  /** A parameter's value, or undefined when absent or empty; throws `invalid_request` for repeats. */
  get(name: string): string | undefined
  /** Like get(), but absence is `invalid_request` naming the parameter. */
  require(name: string): string
  /** Every value of a repeatable parameter (RFC 8707 `resource`). */
  all(name: string): string[]
}

/** What every grant gets: the authority, the already authenticated client and the parameters. */
export interface GrantInput {
  authority: Authority
  client: ClientRow
  params: GrantParams
  /** Now, Unix ms; default the authority's clock. */
  now?: number
  /** The request's verified DPoP proof (RFC 9449), when it sent one: the tokens are bound to its key. */
  dpop?: VerifiedDpopProof
}

/** A grant: validates its parameters, makes its once-only state change and issues tokens. */
export type Grant = (input: GrantInput) => Promise<TokenResponse>
