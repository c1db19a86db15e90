"""The dashboard's stylesheet (classes used by the HTML that ``render.py`` builds)."""

CSS = """
.am-cmp-where { font:14px/1.5 sans-serif; color:#57606a; }
.am-cmp-head { font:13px/1.4 sans-serif; word-break:break-all; margin-bottom:4px; }
.am-cmp-frame .am-frame { max-width:100%; }
.am-cmp-facts { font:13px/1.5 sans-serif; margin:4px 0; }
.am-cmp-diff { max-height:360px; overflow-y:auto; }
[data-testid="stMainBlockContainer"] { padding-top:2.5rem; }
.am-lab-head { font:14px/1.5 sans-serif; margin:0 0 2px; }
.am-lab-head .am-badge { margin-right:4px; }
.am-lab-reason { font:13px/1.4 sans-serif; color:#57606a; margin:0 0 4px; }
.am-lab-col { max-height:calc(100vh - 260px); min-height:300px; overflow-y:auto; }
.am-lab-title { font:600 13px/1.4 sans-serif; color:#1f2328; margin:6px 0 2px; }
.am-lab-obs .am-obs { max-height:none; margin:0 0 4px; }
.am-lab-obs .am-near { background:#fff8c5; }
.am-lab-obs .am-rest { max-height:140px; color:#57606a; }
.am-lab-next { border-collapse:collapse; font:12.5px/1.4 sans-serif; }
.am-lab-next th, .am-lab-next td { padding:1px 10px 1px 0; border:none; text-align:left; }
.am-lab-progress { font:14px/1.5 sans-serif; color:#57606a; white-space:nowrap; }
.am-lab-done { font:13px/1.5 sans-serif; color:#1a7f37; background:#dafbe1; border-radius:6px;
  padding:2px 8px; display:inline-block; }
.am-prompt-box summary { cursor:pointer; color:#57606a; font-size:13px; margin:2px 0 6px; }
.am-role { color:#57606a; font-size:12px; margin-top:4px; }
.am-stepview { display:grid; grid-template-columns:1fr; gap:12px; margin-bottom:8px; }
.am-stepview-side { grid-template-columns:1.3fr 1fr; align-items:start; }
.am-obs { background:#f6f8fa; border-radius:8px; padding:8px 10px; margin:4px 0 0 0;
  font-size:12.5px; white-space:pre; overflow:auto; max-height:460px; }
.am-obs-wrap { white-space:pre-wrap; }
.am-turns { display:grid; grid-template-columns:minmax(0, 1fr); gap:16px; }
.am-turns-two { grid-template-columns:minmax(0, 1fr) minmax(0, 1fr); }
.am-turn { border:1px solid #e3e6ea; border-radius:8px; padding:8px 10px; margin:0 0 10px 0; }
.am-prompt { background:#f6f8fa; border-radius:6px; padding:6px 8px; margin:2px 0;
  font:12px/1.4 'DejaVu Sans Mono', Menlo, Consolas, monospace; white-space:pre-wrap;
  word-break:break-word; max-height:420px; overflow-y:auto; }
.am-track { position:relative; height:18px; margin-top:-14px; }
.am-cursor { position:absolute; top:0; height:18px; border-left:2px solid #333; }
.am-cursor span { position:relative; left:4px; top:1px; font-size:11px; color:#333;
  white-space:nowrap; }
.am-tty-box { container-type:inline-size; }
.am-tty { background:#0d1117; color:#d0d0d0; font-family:'DejaVu Sans Mono', Menlo, Consolas,
  monospace; font-size:clamp(6px, calc((100cqw - 20px) / 48.6), 15px); line-height:1.2;
  padding:8px 10px; border-radius:8px; overflow-x:auto; margin:0; white-space:pre; }
.am-frame { width:100%; max-width:340px; image-rendering:pixelated; border-radius:8px;
  display:block; }
.am-completion { background:#f7f8fa; border:1px solid #e3e6ea; border-radius:6px; padding:8px 10px;
  font:12.5px/1.45 'DejaVu Sans Mono', Menlo, Consolas, monospace; white-space:pre-wrap;
  word-break:break-word; margin:0; }
.am-tag { border-radius:4px; padding:0 3px; font-weight:600; }
.am-tag-read { background:#dbeafe; color:#1d4ed8; }
.am-tag-write { background:#dcfce7; color:#15803d; }
.am-tag-action { background:#fde68a; color:#92400e; }
.am-tag-done { background:#e5e7eb; color:#374151; }
.am-tag-end { color:#9ca3af; font-weight:400; }
.am-arg-read { color:#1e40af; }
.am-arg-write { color:#166534; }
.am-arg-action { color:#92400e; font-weight:600; }
.am-diffs, .am-files { font:12.5px/1.4 'DejaVu Sans Mono', Menlo, Consolas, monospace; }
.am-file-head { margin:8px 0 2px; font-family:sans-serif; font-size:13px; }
.am-diff, .am-mem { border-collapse:collapse; width:100%; margin:0; border:none; }
.am-diff td, .am-mem td { padding:1px 6px; border:none; vertical-align:top; }
.am-diff tr, .am-mem tr { border:none; }
.am-txt { white-space:pre-wrap; word-break:break-word; width:100%; }
.am-ln, .am-w, .am-sign { color:#8b949e; text-align:right; white-space:nowrap;
  user-select:none; }
.am-r { color:#57606a; white-space:nowrap; font-size:11.5px; }
.am-future { color:#b1b8c0; font-style:italic; }
.am-add { background:#e6ffec; }
mark.am-hit { background:#ffd33d; color:inherit; padding:0 1px; border-radius:2px; }
.am-sgroup { border:1px solid #d0d7de; border-radius:6px; padding:6px 10px; margin:0 0 10px; }
.am-shead { margin-bottom:4px; }
.am-shit { padding:4px 0; border-top:1px solid #eaeef2; }
.am-slink { font-weight:600; text-decoration:none; }
.am-ssnip { font-family:ui-monospace, monospace; font-size:12.5px; white-space:pre-wrap;
  word-break:break-word; color:#24292f; }
.am-sfield { color:#8b949e; margin-right:6px; font-family:sans-serif; }
.am-scounts { display:flex; gap:24px; align-items:flex-start; margin:4px 0 12px; }
.am-scounts table { border-collapse:collapse; font-size:13px; }
.am-scounts th, .am-scounts td { padding:2px 10px; border-bottom:1px solid #eaeef2;
  text-align:left; }
.am-scounts .am-n { text-align:right; }
.am-add .am-txt { background:#ccffd8; }
.am-del { background:#ffebe9; }
.am-del .am-txt { background:#ffd7d5; text-decoration:line-through;
  text-decoration-color:#cf222e80; }
.am-skip td { color:#8b949e; background:#f6f8fa; text-align:center; }
.am-plus { color:#1a7f37; font-weight:600; }
.am-minus { color:#cf222e; font-weight:600; }
.am-dim { color:#8b949e; font-weight:400; }
.am-badge { font-size:11px; border-radius:10px; padding:1px 7px; background:#eaeef2;
  color:#57606a; }
.am-added { background:#dafbe1; color:#1a7f37; }
.am-removed { background:#ffebe9; color:#cf222e; }
.am-file { border:1px solid #e3e6ea; border-radius:6px; margin:6px 0; padding:2px 6px; }
.am-file summary { cursor:pointer; font-family:sans-serif; font-size:13px; padding:3px 0; }
.am-empty { color:#57606a; font-style:italic; padding:6px 0; }
.am-step { font-family:sans-serif; font-size:14px; line-height:1.5; }
.am-step table { border-collapse:collapse; border:none; margin:0; }
.am-step th { color:#57606a; font-weight:400; text-align:left; padding:2px 12px 2px 0;
  vertical-align:top; border:none; white-space:nowrap; }
.am-step td { padding:2px 0; border:none; }
.am-step .am-action { font-weight:700; font-size:16px; }
.am-invalid { background:#ffebe9; color:#cf222e; border-radius:4px; padding:0 5px; font-size:12px; }
.am-warn { background:#fff8c5; color:#7d4e00; border-radius:4px; padding:2px 6px; font-size:12.5px;
  display:block; margin-top:4px; }
.am-ops { margin-top:4px; }
.am-op { font:12.5px/1.4 sans-serif; margin:4px 0; }
.am-result { background:#f6f8fa; border-radius:4px; padding:4px 8px; margin:2px 0 0;
  font:12px/1.4 'DejaVu Sans Mono', Menlo, Consolas, monospace; white-space:pre-wrap;
  word-break:break-word; max-height:180px; overflow-y:auto; }
.am-turn-head { font:13px/1.5 sans-serif; color:#57606a; }
.am-turn-head b { color:#1f2328; }
"""
