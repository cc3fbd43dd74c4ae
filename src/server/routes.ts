import type {Route} from './context.js'
import {handleAuthorize, handleAuthorizeDecision} from './endpoints/authorize.js'
import {handleFavicon, handleScript} from './endpoints/assets.js'
import {handleDashboard} from './endpoints/dashboard.js'
import {handleDemoCallback, handleDemoStart} from './endpoints/demo.js'
import {handleDeviceApprove, handleDevicePage} from './endpoints/device-page.js'
import {handleDeviceCode} from './endpoints/device-code.js'
import {handleDiscovery} from './endpoints/discovery.js'
import {handleEndSession} from './endpoints/end-session.js'
import {handleHealth} from './endpoints/health.js'
import {handleIntrospect} from './endpoints/introspect.js'
import {handleJwks} from './endpoints/jwks.js'
import {handleLogin, handleLogout} from './endpoints/login.js'
import {handlePushedAuthorizationRequest} from './endpoints/par.js'
import {handleRegister} from './endpoints/register.js'
import {handleRevoke} from './endpoints/revoke.js'
import {handleScopes} from './endpoints/scopes.js'
import {handleToken} from './endpoints/token.js'
import {handleUserinfo} from './endpoints/userinfo.js'

/** Every route; `group` is what `--except` drops, `prefixed` routes sit under `--prefix`. */
export function routes(): Route[] {
  return [
    {method: 'GET', path: '/.well-known/oauth-authorization-server', prefixed: false, handler: handleDiscovery},
    {method: 'GET', path: '/.well-known/openid-configuration', prefixed: false, handler: handleDiscovery},
    {method: 'GET', path: '/.well-known/jwks.json', prefixed: false, handler: handleJwks},
    {method: 'GET', path: '/healthz', prefixed: false, handler: handleHealth},
    {method: 'GET', path: '/', prefixed: false, handler: handleDashboard},
    {method: 'GET', path: '/assets/passport.js', prefixed: false, handler: handleScript},
    {method: 'GET', path: '/favicon.ico', prefixed: false, handler: handleFavicon},
    // The dashboard's "try it" flow (it needs the authorize and token groups and says so without them).
    {method: 'GET', path: '/demo/start', prefixed: false, handler: handleDemoStart},
    {method: 'GET', path: '/demo/callback', prefixed: false, handler: handleDemoCallback},

    {method: 'GET', path: '/authorize', prefixed: true, group: 'authorize', handler: handleAuthorize},
    {method: 'POST', path: '/authorize', prefixed: true, group: 'authorize', handler: handleAuthorizeDecision},
    // Sign-in serves both the authorization and the device pages, so it belongs to neither group.
    {method: 'POST', path: '/login', prefixed: true, handler: handleLogin},
    {method: 'POST', path: '/logout', prefixed: true, handler: handleLogout},
    // OpenID Connect RP-Initiated Logout (the end_session_endpoint); /logout stays the consent page's "switch user".
    {method: 'GET', path: '/end_session', prefixed: true, handler: handleEndSession},
    {method: 'POST', path: '/end_session', prefixed: true, handler: handleEndSession},

    {method: 'POST', path: '/token', prefixed: true, group: 'token', handler: handleToken},

    {method: 'POST', path: '/device/code', prefixed: true, group: 'device', handler: handleDeviceCode},
    {method: 'GET', path: '/device', prefixed: true, group: 'device', handler: handleDevicePage},
    {method: 'POST', path: '/device/approve', prefixed: true, group: 'device', handler: handleDeviceApprove},

    {method: 'POST', path: '/revoke', prefixed: true, group: 'revoke', handler: handleRevoke},
    {method: 'POST', path: '/introspect', prefixed: true, group: 'introspect', handler: handleIntrospect},
    {method: 'GET', path: '/scopes', prefixed: true, group: 'scopes', handler: handleScopes},
    {method: 'GET', path: '/userinfo', prefixed: true, group: 'userinfo', handler: handleUserinfo},
    {method: 'POST', path: '/userinfo', prefixed: true, group: 'userinfo', handler: handleUserinfo},
    {method: 'POST', path: '/par', prefixed: true, group: 'par', handler: handlePushedAuthorizationRequest},
    // RFC 7591; off (404) with "registration": false or --no-registration.
    {method: 'POST', path: '/register', prefixed: true, handler: handleRegister},
  ]
}
