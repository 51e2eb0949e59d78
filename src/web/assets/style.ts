// The pages' one stylesheet. A module rather than a .css file so that the TypeScript build
// carries it into dist/ (the image holds nothing else); served under a name with its content
// hash (assets.ts), so browsers keep it for a year and see a change at once.
export const STYLE = `
:root {
  --bg: #f6f7f9; --panel: #fff; --ink: #1b1f24; --muted: #57606a; --line: #d5dae0;
  --accent: #1a7f37; --accent-ink: #fff; --accent-soft: #e6f4ea; --danger: #b42318;
  --danger-soft: #fdecea; --warn-soft: #fff6db; --code: #eef1f4; --focus: #0b5cad;
  --radius: 10px; --shadow: 0 1px 2px rgba(16, 24, 40, .06), 0 1px 3px rgba(16, 24, 40, .1);
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1216; --panel: #171b21; --ink: #e6e9ed; --muted: #a3acb7; --line: #2e3540;
    --accent: #3fb960; --accent-ink: #06140a; --accent-soft: #16301f; --danger: #ff8a80;
    --danger-soft: #3a1714; --warn-soft: #3a3114; --code: #222832; --focus: #6cb6ff;
    --shadow: none;
  }
}
* { box-sizing: border-box; }
html { font-size: 16px; }
body {
  margin: 0; background: var(--bg); color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
a { color: var(--focus); }
a:hover { text-decoration-thickness: 2px; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; border-radius: 4px; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
p code { overflow-wrap: anywhere; } /* an address in a sentence breaks rather than widen the page */
code { background: var(--code); padding: .1em .35em; border-radius: 4px; }
pre { background: var(--code); padding: .75rem 1rem; border-radius: 8px; overflow-x: auto; margin: 0; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; letter-spacing: -.01em; }
h2 { font-size: 1.15rem; margin: 0 0 .75rem; }
p { margin: 0 0 .75rem; }
.skip { position: absolute; left: -999px; top: 0; background: var(--panel); padding: .5rem 1rem; z-index: 10; }
.skip:focus { left: .5rem; }

/* toolbar */
.toolbar {
  display: flex; align-items: center; gap: .75rem; padding: .5rem 1.25rem;
  background: var(--panel); border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 5;
}
.brand { font-weight: 700; font-size: 1.05rem; color: var(--ink); text-decoration: none; display: flex; align-items: center; gap: .45rem; }
.brand .logo { width: 1.6rem; height: 1.6rem; border-radius: 7px; background: var(--accent); color: var(--accent-ink); display: grid; place-items: center; font-size: .9rem; }
.spacer { flex: 1; }
.menu { position: relative; }
.menu > summary {
  list-style: none; cursor: pointer; padding: .4rem .75rem; border-radius: 8px; border: 1px solid var(--line);
  display: flex; align-items: center; gap: .45rem; user-select: none; background: var(--panel);
}
.menu > summary::-webkit-details-marker { display: none; }
.menu > summary::after { content: ""; border: 5px solid transparent; border-top-color: currentColor; margin-top: 5px; }
.menu[open] > summary { background: var(--bg); }
.menu .panel {
  position: absolute; top: calc(100% + 6px); min-width: 15rem; background: var(--panel); border: 1px solid var(--line);
  border-radius: var(--radius); box-shadow: 0 8px 24px rgba(16, 24, 40, .16); padding: .4rem; z-index: 20;
}
.menu.right .panel { right: 0; }
.menu ul { list-style: none; margin: 0; padding: 0; }
.menu li a, .menu li button {
  display: flex; width: 100%; justify-content: space-between; gap: 1rem; padding: .45rem .65rem; border-radius: 6px;
  color: var(--ink); text-decoration: none; font: inherit; background: none; border: 0; text-align: left; cursor: pointer;
}
.menu li a:hover, .menu li button:hover { background: var(--bg); }
.menu li a[aria-current="page"], .menu li a[aria-current="true"] { background: var(--accent-soft); font-weight: 600; }
.menu .label { font-size: .75rem; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); padding: .5rem .65rem .2rem; }
.menu hr { border: 0; border-top: 1px solid var(--line); margin: .35rem 0; }
.avatar { width: 1.5rem; height: 1.5rem; border-radius: 50%; background: var(--accent-soft); color: var(--ink); display: grid; place-items: center; font-weight: 700; font-size: .8rem; }
.kind { font-size: .75rem; color: var(--muted); }
/* a long account name is cut short in the toolbar, whose width is the screen's */
.profile > summary { min-width: 0; max-width: 16rem; }
.profile > summary > span:not(.avatar):not(.kind) { min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.toolbar > .menu.profile { min-width: 0; }
@media (max-width: 520px) {
  .toolbar { gap: .5rem; padding: .5rem .75rem; }
  .profile > summary .kind { display: none; }
}

/* page */
main { max-width: 72rem; margin: 0 auto; padding: 1.75rem 1.25rem 3rem; }
.page-head { display: flex; align-items: flex-end; justify-content: space-between; gap: 1rem; margin-bottom: 1.25rem; flex-wrap: wrap; }
.sub { color: var(--muted); margin: 0; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: var(--radius); box-shadow: var(--shadow); padding: 1.25rem; margin-bottom: 1.25rem; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 1.25rem; }
@media (max-width: 800px) { .grid2 { grid-template-columns: 1fr; } }
footer { text-align: center; color: var(--muted); font-size: .85rem; padding: 1rem; }

/* forms */
label { font-weight: 600; display: block; margin-bottom: .3rem; }
.field { margin-bottom: 1rem; }
.hint { color: var(--muted); font-size: .85rem; font-weight: 400; }
input[type=text], input[type=email], input[type=password], input[type=date], select {
  width: 100%; padding: .55rem .7rem; border: 1px solid var(--line); border-radius: 8px; background: var(--panel); color: var(--ink); font: inherit;
}
input:focus-visible, select:focus-visible { border-color: var(--focus); }
.check { display: flex; gap: .55rem; align-items: flex-start; font-weight: 400; margin: 0; }
.check input { margin-top: .3rem; }
.scopes { display: grid; grid-template-columns: repeat(auto-fill, minmax(17rem, 1fr)); gap: .35rem .9rem; border: 0; padding: 0; margin: 0 0 1rem; }
.scopes legend { font-weight: 600; margin-bottom: .4rem; padding: 0; }
.scopes .check { padding: .4rem .5rem; border-radius: 8px; border: 1px solid var(--line); }
.scopes code { background: none; padding: 0; font-weight: 600; }
button, .button {
  display: inline-flex; align-items: center; gap: .4rem; padding: .55rem 1rem; border-radius: 8px; border: 1px solid transparent;
  background: var(--accent); color: var(--accent-ink); font: inherit; font-weight: 600; cursor: pointer; text-decoration: none;
}
button.secondary, .button.secondary { background: var(--panel); color: var(--ink); border-color: var(--line); }
button.danger { background: var(--panel); color: var(--danger); border-color: var(--line); }
button.danger:hover { background: var(--danger-soft); }
button.small { padding: .3rem .65rem; font-size: .85rem; }
.actions { display: flex; gap: .75rem; align-items: center; flex-wrap: wrap; }

/* tabs (links: they work without a script) */
.tabs { display: flex; gap: .25rem; border-bottom: 1px solid var(--line); margin: -.25rem 0 1.25rem; }
.tabs a { padding: .55rem 1rem; color: var(--muted); text-decoration: none; font-weight: 600; border-bottom: 3px solid transparent; margin-bottom: -1px; }
.tabs a[aria-current="page"] { color: var(--ink); border-bottom-color: var(--accent); }

/* home */
.hero { display: grid; grid-template-columns: 1.1fr .9fr; gap: 2.5rem; align-items: start; padding-top: 1.5rem; }
.hero h1 { font-size: 2.2rem; line-height: 1.15; margin-bottom: .75rem; }
.hero .lead { font-size: 1.1rem; color: var(--muted); }
.hero ul { padding-left: 1.1rem; color: var(--muted); }
@media (max-width: 860px) { .hero { grid-template-columns: 1fr; } }
.links { display: flex; gap: 1rem; flex-wrap: wrap; margin-top: 1rem; font-size: .9rem; }

/* notices */
.notice { border-radius: 8px; padding: .75rem 1rem; margin-bottom: 1rem; border: 1px solid var(--line); background: var(--accent-soft); }
.notice.error { background: var(--danger-soft); border-color: var(--danger); }
.notice.warn { background: var(--warn-soft); }
.secret { display: flex; gap: .5rem; align-items: stretch; margin: .5rem 0 1rem; }
.secret input { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.copyable { position: relative; }

/* tables */
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: .6rem .7rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .8rem; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); font-weight: 600; }
tr:last-child td { border-bottom: 0; }
.table-wrap { overflow-x: auto; position: relative; } /* holds what is visually hidden inside it, too */
/* a narrow screen scrolls a table sideways rather than squeezing a column to a letter a line */
.table-wrap > table { min-width: 36rem; }
.table-wrap td.mono, .table-wrap td:first-child > a { white-space: nowrap; }
.badge { display: inline-block; font-size: .75rem; font-weight: 600; padding: .1rem .5rem; border-radius: 999px; border: 1px solid var(--line); white-space: nowrap; }
.badge.private { background: var(--warn-soft); }
.badge.public { background: var(--accent-soft); }
.badge.note { margin-left: .5rem; }
.tag { display: inline-block; font-size: .78rem; background: var(--code); border-radius: 4px; padding: 0 .35rem; margin: 0 .2rem .2rem 0; }
.empty { color: var(--muted); text-align: center; padding: 2rem 1rem; }
.stats { display: flex; gap: 1.5rem; flex-wrap: wrap; margin-bottom: 1.25rem; }
.stat { background: var(--panel); border: 1px solid var(--line); border-radius: var(--radius); padding: .75rem 1.1rem; min-width: 9rem; }
.stat b { display: block; font-size: 1.4rem; }
.stat span { color: var(--muted); font-size: .85rem; }
/* a button's display would otherwise show what is hidden (the Copy buttons, without a script) */
[hidden] { display: none !important; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }

/* account settings and recovery (routes/settings.tsx) */
.card.narrow { max-width: 34rem; margin: 1.5rem auto; }
.card.narrow .links { margin-top: 1.25rem; }
.card form .notice { margin-top: .25rem; }

/* packages: package lists (search, pages), a package's page, labels, favorites */
.search { display: flex; gap: .5rem; align-items: center; margin-bottom: .5rem; flex-wrap: wrap; }
.search input[type=search] {
  flex: 1; min-width: 12rem; padding: .55rem .7rem; border: 1px solid var(--line); border-radius: 8px;
  background: var(--panel); color: var(--ink); font: inherit;
}
.list-summary { margin: 0 0 .5rem; }
.pager { display: flex; align-items: center; justify-content: space-between; gap: 1rem; margin-top: 1rem; }
.crumbs { margin: 0 0 .15rem; color: var(--muted); }
.card h3 { font-size: 1rem; margin: 1.25rem 0 .4rem; }
.card h2 + h3 { margin-top: 0; }
.copy-line { display: grid; grid-template-columns: 5.5rem 1fr auto; gap: .5rem; align-items: center; margin-bottom: .6rem; }
.copy-line .copy-label { font-weight: 600; font-size: .85rem; }
.copy-line pre { white-space: pre-wrap; word-break: break-all; }
.copy-line pre code { background: none; padding: 0; }
@media (max-width: 640px) { .copy-line { grid-template-columns: 1fr auto; } .copy-line .copy-label { grid-column: 1 / -1; } }
code.hash { display: inline-block; min-width: 16rem; background: none; padding: 0; font-size: .78rem; word-break: break-all; }
td time, td .size { white-space: nowrap; }
.choices { border: 0; padding: 0; margin: 0 0 1rem; display: grid; gap: .4rem; }
.choices legend { font-weight: 600; margin-bottom: .4rem; padding: 0; }
.choices .check { padding: .45rem .6rem; border: 1px solid var(--line); border-radius: 8px; }
button.starred { border-color: var(--accent); background: var(--accent-soft); }

/* organizations and groups (routes/orgs.tsx; radio groups use .choices above) */
.people { list-style: none; margin: 0 0 1rem; padding: 0; }
.people li { display: flex; align-items: center; gap: .5rem; padding: .35rem 0; border-bottom: 1px solid var(--line); }
.people li:last-child { border-bottom: 0; }
.people li form { margin-left: auto; }
.inline { display: flex; gap: .5rem; align-items: stretch; }
.inline input { flex: 1; }
form.add { margin-bottom: .75rem; }
.package-choices { display: flex; flex-wrap: wrap; gap: .35rem .9rem; padding-left: 1.6rem; }
.package-choices:empty { display: none; }
.group { border: 1px solid var(--line); border-radius: var(--radius); padding: 1rem 1.1rem; margin-bottom: 1rem; }
.group h3 { font-size: 1.05rem; margin: 0 0 .4rem; display: flex; gap: .5rem; align-items: center; }
.group h4 { font-size: .8rem; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); margin: .75rem 0 .25rem; }
.group details.edit { margin: .5rem 0 .75rem; }
.group details.edit > summary { cursor: pointer; color: var(--focus); font-weight: 600; }
.group details.edit[open] > summary { margin-bottom: .75rem; }
.group form.delete { margin-top: .5rem; }
`;
