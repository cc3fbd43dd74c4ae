import {escapeHtml} from '../http.js'

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

/** Inline styles only (the CSP allows no other source): system fonts, light and dark schemes. */
const STYLE = `
:root{color-scheme:light dark;--bg:#f4f5f7;--card:#fff;--text:#1b1d21;--muted:#4d5461;--line:#d5d9e0;--accent:#1f4fd1;--accent-text:#fff;--danger:#a3161d;--danger-bg:#fdecec;--ok:#146c2e;--ok-bg:#e7f6ec;--focus:#ffbf47}
@media (prefers-color-scheme:dark){:root{--bg:#121417;--card:#1c1f24;--text:#eceef2;--muted:#b3bac6;--line:#3a3f48;--accent:#8cb0ff;--accent-text:#0b1530;--danger:#ffb4b0;--danger-bg:#3a1616;--ok:#9be0ad;--ok-bg:#15301d}}
*{box-sizing:border-box}
html{font-size:100%}
body{margin:0;min-height:100vh;background:var(--bg);color:var(--text);font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;display:flex;flex-direction:column;align-items:center}
header.top{width:100%;max-width:34rem;padding:1.25rem 1rem 0;display:flex;justify-content:space-between;align-items:center;gap:1rem;color:var(--muted);font-size:.9rem}
header.top strong{color:var(--text);letter-spacing:.02em}
main{width:100%;max-width:34rem;padding:1rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:.75rem;padding:1.5rem;box-shadow:0 1px 2px rgba(0,0,0,.06)}
h1{font-size:1.4rem;line-height:1.3;margin:0 0 .75rem}
h2{font-size:1rem;margin:1.25rem 0 .5rem}
p{margin:.5rem 0}
.muted{color:var(--muted)}
code,.code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.95em;overflow-wrap:anywhere}
ul.scopes{list-style:none;padding:0;margin:.5rem 0 1rem;border:1px solid var(--line);border-radius:.5rem}
ul.scopes li{padding:.6rem .8rem;border-top:1px solid var(--line)}
ul.scopes li:first-child{border-top:0}
ul.scopes .id{font-weight:600}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:1rem}
button,.button{font:inherit;font-weight:600;border-radius:.5rem;border:2px solid var(--accent);padding:.6rem 1.2rem;cursor:pointer;background:var(--accent);color:var(--accent-text);min-height:2.75rem}
button.secondary{background:transparent;color:var(--accent)}
button.link{background:none;border:0;padding:0;min-height:0;color:var(--accent);text-decoration:underline;font-weight:400}
button:focus-visible,input:focus-visible,a:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.users{display:grid;gap:.5rem;margin:.5rem 0 1rem}
.users button{display:flex;flex-direction:column;align-items:flex-start;width:100%;text-align:left;background:transparent;color:var(--text);border:1px solid var(--line)}
.users button:hover{border-color:var(--accent)}
.users .email{font-weight:400;color:var(--muted);font-size:.9rem}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
input[type=text]{font:inherit;width:100%;padding:.6rem .7rem;border:2px solid var(--line);border-radius:.5rem;background:var(--card);color:var(--text);min-height:2.75rem}
input.usercode{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:1.4rem;letter-spacing:.15em;text-transform:uppercase;text-align:center}
.hint{font-size:.9rem;color:var(--muted);margin:.25rem 0 0}
.alert{border-radius:.5rem;padding:.75rem 1rem;margin:0 0 1rem;border:1px solid currentColor}
.alert.error{color:var(--danger);background:var(--danger-bg)}
.alert.ok{color:var(--ok);background:var(--ok-bg)}
.usercode-display{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:1.6rem;letter-spacing:.15em;text-align:center;padding:.5rem;border:1px dashed var(--line);border-radius:.5rem;margin:.5rem 0 1rem}
dl{margin:.5rem 0;display:grid;grid-template-columns:max-content 1fr;gap:.25rem .75rem}
dt{font-weight:600}
dd{margin:0;overflow-wrap:anywhere}
footer{color:var(--muted);font-size:.8rem;padding:1rem;text-align:center}
@media (max-width:30rem){main{padding:.5rem}.card{padding:1rem}.actions button{flex:1 1 100%}}
`

export interface LayoutOptions {
  title: string
  /** The signed-in subject, shown in the header. */
  user?: string
}

export function layout(options: LayoutOptions, body: Html): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${options.title} · passport</title>
<style>${new Html(STYLE)}</style>
</head>
<body>
<header class="top"><strong>passport</strong>${options.user ? html`<span>Signed in as <code>${options.user}</code></span>` : html`<span>Local development authority</span>`}</header>
<main id="main">
<div class="card">
${body}
</div>
</main>
<footer>passport · a local OAuth 2 authority for development and CI</footer>
</body>
</html>
`.text
}
