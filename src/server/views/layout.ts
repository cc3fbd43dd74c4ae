import {escapeHtml} from '../http.js'
import {SCRIPT_PATH} from './script.js'

/** Template literal tag that escapes every interpolated value unless it is already {@link Html}. */
export class Html {
  constructor(readonly text: string) {}

  toString(): string {
    return this.text
  }
}

type Value = Html | string | number | undefined | null | false | readonly Value[]

export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0]!
  values.forEach((value, index) => {
    out += render(value) + strings[index + 1]!
  })
  return new Html(out)
}

function render(value: Value): string {
  if (value === undefined || value === null || value === false) return ''
  if (value instanceof Html) return value.text
  if (Array.isArray(value)) return value.map((v: Value) => render(v)).join('')
  return escapeHtml(String(value))
}

/** Inline styles only (the CSP allows no other stylesheet): system fonts, light and dark schemes. */
const STYLE = `
:root{color-scheme:light dark;--bg:#eef1f5;--card:#fff;--text:#161a21;--muted:#4a5260;--line:#d3d8e0;--soft:#f5f7fa;--accent:#1d4ed8;--accent-hover:#1e40af;--accent-text:#fff;--accent-soft:#e8eefc;--danger:#a3161d;--danger-bg:#fdecec;--ok:#0f6b2e;--ok-bg:#e5f5ea;--warn:#7a4b00;--warn-bg:#fdf3dc;--focus:#f59e0b;--shadow:0 1px 2px rgba(16,24,40,.06),0 4px 16px rgba(16,24,40,.06)}
@media (prefers-color-scheme:dark){:root{--bg:#0f1115;--card:#191c22;--text:#eceef2;--muted:#b3bac6;--line:#363c46;--soft:#20242b;--accent:#8fb1ff;--accent-hover:#b3cbff;--accent-text:#0b1530;--accent-soft:#1c2740;--danger:#ffb4b0;--danger-bg:#3a1616;--ok:#9be0ad;--ok-bg:#15301d;--warn:#f5d48a;--warn-bg:#3a2d10;--shadow:none}}
*{box-sizing:border-box}
html{font-size:100%;-webkit-text-size-adjust:100%}
body{margin:0;min-height:100vh;background:var(--bg);color:var(--text);font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;display:flex;flex-direction:column;align-items:center}
a{color:var(--accent)}
a:hover{color:var(--accent-hover)}
.skip{position:absolute;left:-999px;top:.5rem;background:var(--card);padding:.5rem 1rem;border-radius:.5rem;z-index:1}
.skip:focus{left:.5rem}
.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}
header.top{width:100%;max-width:var(--width);padding:1.25rem 1rem 0;display:flex;justify-content:space-between;align-items:center;gap:1rem;flex-wrap:wrap;color:var(--muted);font-size:.9rem}
.brand{display:inline-flex;align-items:center;gap:.5rem;color:var(--text);font-weight:700;letter-spacing:.01em;text-decoration:none;font-size:1rem}
.brand svg{width:1.6rem;height:1.6rem;flex:none}
.who{display:inline-flex;align-items:center;gap:.4rem}
.avatar{display:inline-grid;place-items:center;width:2.25rem;height:2.25rem;border-radius:50%;background:var(--accent-soft);color:var(--accent);font-weight:700;flex:none;text-transform:uppercase}
.who .avatar{width:1.6rem;height:1.6rem;font-size:.8rem}
main{width:100%;max-width:var(--width);padding:1rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:.9rem;padding:1.75rem;box-shadow:var(--shadow)}
.card+.card{margin-top:1rem}
h1{font-size:1.45rem;line-height:1.3;margin:0 0 .5rem;letter-spacing:-.01em}
h1 .sub{display:block;font-size:1rem;font-weight:400;color:var(--muted);letter-spacing:0;margin-top:.15rem}
h2{font-size:1rem;margin:1.5rem 0 .5rem}
h2.section{font-size:1.1rem;margin:0 0 .75rem}
p{margin:.5rem 0}
.lead{color:var(--muted);margin:0 0 1rem}
.muted{color:var(--muted)}
code,.code,pre{font-family:ui-monospace,SFMono-Regular,"SF Mono",Menlo,Consolas,"Liberation Mono",monospace;font-size:.9em}
code{overflow-wrap:anywhere}
.client{display:flex;align-items:center;gap:.9rem;margin:0 0 1rem}
.client .avatar{width:3rem;height:3rem;border-radius:.75rem;font-size:1.3rem}
.facts{margin:.25rem 0 1rem;padding:.75rem .9rem;background:var(--soft);border-radius:.6rem;display:grid;grid-template-columns:max-content 1fr;gap:.3rem .9rem;font-size:.9rem}
.facts dt{color:var(--muted);font-weight:600}
.facts dd{margin:0;overflow-wrap:anywhere}
ul.scopes{list-style:none;padding:0;margin:.5rem 0 1.25rem;border:1px solid var(--line);border-radius:.6rem}
ul.scopes li{padding:.65rem .9rem .65rem 2.4rem;border-top:1px solid var(--line);position:relative}
ul.scopes li:first-child{border-top:0}
ul.scopes li::before{content:"";position:absolute;left:.95rem;top:1.05rem;width:.7rem;height:.4rem;border-left:2px solid var(--ok);border-bottom:2px solid var(--ok);transform:rotate(-45deg)}
ul.scopes .id code{font-weight:700;background:var(--accent-soft);color:var(--accent);padding:.1rem .4rem;border-radius:.3rem}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:1.25rem}
.actions>*{flex:1 1 10rem}
button,.button{display:inline-flex;align-items:center;justify-content:center;gap:.4rem;font:inherit;font-weight:600;border-radius:.55rem;border:2px solid var(--accent);padding:.55rem 1.2rem;cursor:pointer;background:var(--accent);color:var(--accent-text);min-height:2.75rem;text-decoration:none}
button:hover,.button:hover{background:var(--accent-hover);border-color:var(--accent-hover);color:var(--accent-text)}
button.secondary,.button.secondary{background:transparent;color:var(--accent)}
button.secondary:hover,.button.secondary:hover{background:var(--accent-soft);color:var(--accent-hover)}
button.link{background:none;border:0;padding:0;min-height:0;color:var(--accent);text-decoration:underline;font-weight:400}
button.small{min-height:2rem;padding:.15rem .7rem;font-size:.85rem;border-width:1px}
button:focus-visible,input:focus-visible,a:focus-visible,[tabindex]:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.users{display:grid;gap:.5rem;margin:.5rem 0 0}
.users button{display:flex;align-items:center;justify-content:flex-start;gap:.8rem;width:100%;text-align:left;background:var(--card);color:var(--text);border:1px solid var(--line);padding:.6rem .8rem}
.users button:hover{border-color:var(--accent);background:var(--accent-soft);color:var(--text)}
.users .name{display:block}
.users .email{display:block;font-weight:400;color:var(--muted);font-size:.9rem}
.users .go{margin-left:auto;color:var(--muted);font-weight:400}
.divider{display:flex;align-items:center;gap:.75rem;color:var(--muted);font-size:.9rem;margin:1.25rem 0 .25rem}
.divider::before,.divider::after{content:"";flex:1;border-top:1px solid var(--line)}
label{display:block;font-weight:600;margin:.75rem 0 .3rem}
.inline{display:flex;gap:.5rem;flex-wrap:wrap}
.inline input{flex:1 1 12rem}
.inline button{flex:0 0 auto}
input[type=text]{font:inherit;width:100%;padding:.55rem .75rem;border:2px solid var(--line);border-radius:.55rem;background:var(--card);color:var(--text);min-height:2.75rem}
input[type=text]:hover{border-color:var(--muted)}
input.usercode{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:1.6rem;letter-spacing:.2em;text-transform:uppercase;text-align:center;padding:.6rem}
.hint{font-size:.88rem;color:var(--muted);margin:.35rem 0 0}
.alert{border-radius:.6rem;padding:.75rem 1rem;margin:0 0 1rem;border:1px solid currentColor}
.alert p{margin:0}
.alert.error{color:var(--danger);background:var(--danger-bg)}
.alert.ok{color:var(--ok);background:var(--ok-bg)}
.alert.warn{color:var(--warn);background:var(--warn-bg)}
.usercode-display{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:1.9rem;font-weight:600;letter-spacing:.2em;text-align:center;padding:.6rem;background:var(--soft);border:2px dashed var(--line);border-radius:.6rem;margin:.5rem 0 1rem}
.fix code{background:var(--soft);padding:.05rem .3rem;border-radius:.3rem}
.steps{margin:.5rem 0 0;padding-left:1.25rem}
.steps li{margin:.25rem 0}
.status{display:inline-block;padding:.05rem .55rem;border-radius:1rem;font-size:.8rem;font-weight:600;border:1px solid currentColor;white-space:nowrap}
.status.active{color:var(--ok);background:var(--ok-bg)}
.status.expired{color:var(--muted);background:var(--soft)}
.status.revoked{color:var(--danger);background:var(--danger-bg)}
.table-wrap{overflow-x:auto;border:1px solid var(--line);border-radius:.6rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.45rem .75rem;border-top:1px solid var(--line);vertical-align:top}
thead th{border-top:0;background:var(--soft);color:var(--muted);font-weight:600;font-size:.8rem;text-transform:uppercase;letter-spacing:.04em;white-space:nowrap}
td .url{display:flex;align-items:center;gap:.5rem;justify-content:space-between}
td .url code{flex:1}
.grid{display:grid;gap:1rem;grid-template-columns:repeat(auto-fit,minmax(18rem,1fr));margin-top:1rem;align-items:start}
.grid>.card{margin-top:0}
tbody th{font-weight:600}
.hero{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:1rem}
.hero .issuer{display:flex;align-items:center;gap:.5rem;flex-wrap:wrap;font-size:1.05rem}
.empty{color:var(--muted);padding:.75rem;margin:0}
pre{margin:.25rem 0 0;padding:.75rem .9rem;background:var(--soft);border:1px solid var(--line);border-radius:.6rem;overflow-x:auto;white-space:pre;line-height:1.45;font-size:.85rem}
.tokens h2{margin-top:0}
[hidden]{display:none!important}
.block{display:block}
.plain{font-weight:400}
footer{color:var(--muted);font-size:.8rem;padding:1rem 1rem 1.5rem;text-align:center}
footer a{color:var(--muted)}
@media (max-width:36rem){table.endpoints thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0,0,0,0)}table.endpoints tr,table.endpoints th,table.endpoints td{display:block}table.endpoints td{border-top:0;padding-top:0}table.endpoints tr+tr{border-top:1px solid var(--line)}table.endpoints th{border-top:0}main{padding:.5rem}.card{padding:1.1rem;border-radius:.7rem}h1{font-size:1.25rem}.facts{grid-template-columns:1fr}.facts dd{margin-bottom:.3rem}}
`

/** The logo, also served as /favicon.ico (an SVG). */
export const LOGO_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32" aria-hidden="true" focusable="false"><rect width="32" height="32" rx="8" fill="#1d4ed8"/><rect x="8" y="6" width="16" height="20" rx="3" fill="none" stroke="#fff" stroke-width="2.2"/><circle cx="16" cy="14" r="3.2" fill="#fff"/><path d="M11 22c1.2-2.6 3-3.6 5-3.6s3.8 1 5 3.6" fill="none" stroke="#fff" stroke-width="2.2" stroke-linecap="round"/></svg>'
const LOGO = new Html(LOGO_SVG)

export interface LayoutOptions {
  title: string
  /** The signed-in subject, shown in the header. */
  user?: string
  /** Loads /assets/passport.js (the page's CSP must then allow `script-src 'self'`). */
  script?: boolean
  /** A wide page (the dashboard) instead of a narrow card. */
  wide?: boolean
  /** The body is already split into cards. */
  bare?: boolean
}

/** The first letter of a name, for a round avatar. */
export function initial(name: string): string {
  return ([...name.trim()][0] ?? '?').toUpperCase()
}

export function layout(options: LayoutOptions, body: Html): string {
  const width = options.wide ? '68rem' : '35rem'
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="color-scheme" content="light dark">
<title>${options.title} · passport</title>
<style>${new Html(STYLE)}:root{--width:${width}}</style>
${options.script ? html`<script src="${SCRIPT_PATH}" defer></script>` : ''}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><a class="brand" href="/">${LOGO}<span>passport</span></a>${
    options.user
      ? html`<span class="who"><span class="avatar" aria-hidden="true">${initial(options.user)}</span><span>Signed in as <code>${options.user}</code></span></span>`
      : html`<span>Local OAuth 2 authority</span>`
  }</header>
<main id="main">
${
  options.bare
    ? body
    : html`<div class="card">
${body}
</div>`
}
</main>
<footer>passport · a local OAuth 2 and OpenID Connect authority for development and CI</footer>
${options.script ? html`<div id="live" class="sr-only" role="status" aria-live="polite"></div>` : ''}
</body>
</html>
`.text
}
