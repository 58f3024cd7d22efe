extension LivePage {
    /// /static/live.css
    static let style = #"""
:root {
  --bg: #f4f5f7; --card: #fff; --ink: #1d2330; --muted: #667085; --line: #e3e6ec;
  --accent: #2f6fed; --ok: #1f9d55; --warn: #d98b00; --bad: #d2352b; --band: rgba(47,111,237,.14);
}
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; background: var(--bg); color: var(--ink); }
header { display: flex; align-items: center; gap: 14px; padding: 10px 20px; background: #1d2330; color: #fff; flex-wrap: wrap; }
header h1 { font-size: 17px; margin: 0; }
header a { color: #cfd8ff; text-decoration: none; }
header nav { margin-left: auto; display: flex; gap: 12px; font-size: 13px; }
.version { color: #98a2b3; font-size: 12px; }
.conn { font-size: 12px; padding: 2px 8px; border-radius: 10px; background: #475467; }
.conn.live { background: var(--ok); }
.conn.down { background: var(--bad); }
main { padding: 16px 20px 40px; max-width: 1500px; margin: 0 auto; }
h2 { font-size: 15px; margin: 18px 0 8px; }
.empty { color: var(--muted); padding: 20px 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(430px, 1fr)); gap: 14px; }
.single .cards { grid-template-columns: 1fr; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; min-width: 0; }
.card.ended { opacity: .72; }
.card-head { display: flex; align-items: baseline; gap: 8px; min-width: 0; }
.card-head a { font-weight: 600; font-size: 15px; color: var(--ink); text-decoration: none; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.card-head a:hover { text-decoration: underline; }
.badge { font-size: 11px; padding: 1px 7px; border-radius: 9px; background: #e8edf9; color: #344054; white-space: nowrap; }
.badge.running { background: #e3f4ea; color: #146c3a; }
.badge.completed { background: #e8edf9; color: #2f4a8a; }
.badge.failed, .badge.cancelled { background: #fde8e7; color: #a5261e; }
.badge.alerting { background: var(--bad); color: #fff; }
.bar { position: relative; height: 10px; background: #edf0f5; border-radius: 5px; overflow: hidden; margin: 10px 0 4px; }
.bar > div { position: absolute; left: 0; top: 0; bottom: 0; background: var(--accent); transition: width .25s; }
.bar > div.failed { background: var(--bad); }
.percent { font-size: 12px; color: var(--muted); display: flex; justify-content: space-between; }
.stats { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 6px 12px; margin: 10px 0; }
.stat .label { font-size: 11px; color: var(--muted); text-transform: uppercase; letter-spacing: .03em; }
.stat .value { font-size: 15px; font-variant-numeric: tabular-nums; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.stat .sub { font-size: 11px; color: var(--muted); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.waiting { font-size: 12px; color: var(--warn); margin: 4px 0 0; }
.waiting:empty { display: none; }
.chips { display: flex; flex-wrap: wrap; gap: 4px; margin: 6px 0; }
.chip { font-size: 11px; padding: 1px 7px; border-radius: 9px; background: #f0f2f5; color: #344054; }
.chip.state-running { background: #e3f4ea; } .chip.state-failed, .chip.state-dead_lettered { background: #fde8e7; }
.chip.state-retrying { background: #fff3dc; }
canvas.burn { width: 100%; height: 130px; display: block; margin-top: 6px; }
.single canvas.burn { height: 220px; }
.single .stats { grid-template-columns: repeat(8, minmax(0, 1fr)); }
.legend { font-size: 11px; color: var(--muted); display: flex; gap: 12px; }
.legend i { display: inline-block; width: 14px; height: 3px; vertical-align: middle; margin-right: 4px; }
.alerts { list-style: none; padding: 0; margin: 0 0 8px; }
.alerts li { background: #fff; border: 1px solid var(--line); border-left: 4px solid var(--warn); border-radius: 6px; padding: 6px 10px; margin-bottom: 6px; display: flex; gap: 10px; flex-wrap: wrap; }
.alerts li.firing { border-left-color: var(--bad); }
.alerts .name { font-weight: 600; }
.alerts .where, .alerts .since { color: var(--muted); }
.toolbar { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; margin: 8px 0; }
.toolbar input[type=search] { padding: 5px 8px; border: 1px solid var(--line); border-radius: 5px; min-width: 240px; }
.toolbar select, .toolbar button { padding: 4px 8px; border: 1px solid var(--line); border-radius: 5px; background: #fff; }
.toolbar .count { color: var(--muted); margin-left: auto; }
table.agents { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); table-layout: fixed; }
table.agents th, table.agents td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
table.agents th { cursor: pointer; user-select: none; background: #f8f9fb; font-size: 12px; color: #475467; }
table.agents th.sorted::after { content: " \25B2"; } table.agents th.sorted.desc::after { content: " \25BC"; }
table.agents td.num { font-variant-numeric: tabular-nums; }
table.agents tr.stalled td { background: #fff6e0; }
table.agents tr.failing td { background: #fdecea; }
table.agents tr.stalled td:first-child, table.agents tr.failing td:first-child { font-weight: 600; }
.mini { display: inline-block; width: 60px; height: 6px; background: #edf0f5; border-radius: 3px; vertical-align: middle; margin-right: 6px; overflow: hidden; }
.mini > span { display: block; height: 100%; background: var(--accent); }
.back { font-size: 13px; }
col.w9 { width: 9%; } col.w10 { width: 10%; } col.w11 { width: 11%; } col.w14 { width: 14%; } col.w15 { width: 15%; } col.w18 { width: 18%; }
"""#
}
