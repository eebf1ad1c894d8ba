"""The look shared by every triggerlab widget: one stylesheet, scoped under ``.tl-app``.

ipywidgets has no theming API; an HTML widget holding a ``<style>`` element is the supported way to style
widgets by class (``add_class``) in JupyterLab, VS Code and Voila alike.
"""

from __future__ import annotations

import ipywidgets as w

__all__ = ["CSS", "stylesheet"]

CSS = """
.tl-app { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2937;
  max-width: 980px; }
.tl-app .tl-title { font-size: 20px; font-weight: 650; margin: 4px 0 2px 0; }
.tl-app .tl-subtitle { color: #6b7280; font-size: 13px; margin-bottom: 8px; }
.tl-app .tl-section { border: 1px solid #e5e7eb; border-radius: 10px; padding: 10px 14px 12px 14px;
  margin: 8px 0; background: #ffffff; box-shadow: 0 1px 2px rgba(16, 24, 40, 0.05); }
.tl-app .tl-section-head { font-size: 15px; font-weight: 600; color: #111827; }
.tl-app .tl-step { display: inline-block; width: 22px; height: 22px; border-radius: 11px; background: #4f46e5;
  color: #fff; text-align: center; line-height: 22px; font-size: 12px; margin-right: 8px; }
.tl-app .tl-hint { color: #6b7280; font-size: 12px; margin: 0 0 6px 30px; line-height: 1.4; }
.tl-app .tl-note { color: #6b7280; font-size: 12px; margin: 4px 0; line-height: 1.4; }
.tl-app .tl-field { margin: 2px 0; }
.tl-app .tl-label { color: #374151; font-size: 13px; }
.tl-app .tl-error { color: #b42318; font-size: 12px; line-height: 1.3; }
.tl-app .tl-invalid input, .tl-app .tl-invalid textarea, .tl-app .tl-invalid select {
  border-color: #f04438 !important; background: #fff6f5; }
.tl-app .tl-row { border-left: 3px solid #c7d2fe; background: #f8fafc; border-radius: 6px;
  padding: 4px 8px; margin: 4px 0; }
.tl-app .tl-pill { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
  background: #eef2ff; color: #3730a3; margin-right: 4px; }
.tl-app .tl-ok { color: #027a48; }
.tl-app .tl-bad { color: #b42318; }
.tl-app .tl-code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px;
  background: #f9fafb; border: 1px solid #eef0f3; border-radius: 6px; padding: 8px; white-space: pre-wrap;
  max-height: 320px; overflow: auto; margin: 4px 0; }
.tl-app .tl-mono textarea { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
.tl-app .tl-cards { display: flex; gap: 10px; flex-wrap: wrap; margin: 6px 0; }
.tl-app .tl-card { border: 1px solid #e5e7eb; border-radius: 10px; padding: 8px 14px; min-width: 120px;
  background: #fff; }
.tl-app .tl-card .tl-num { font-size: 20px; font-weight: 650; }
.tl-app .tl-card .tl-cap { color: #6b7280; font-size: 12px; }
.tl-app table.tl-table { border-collapse: collapse; font-size: 12px; margin: 4px 0; }
.tl-app table.tl-table th { text-align: left; color: #6b7280; font-weight: 600;
  border-bottom: 1px solid #e5e7eb; padding: 3px 10px 3px 0; }
.tl-app table.tl-table td { border-bottom: 1px solid #f2f4f7; padding: 3px 10px 3px 0; vertical-align: top; }
.tl-app table.tl-table td.tl-numcell { text-align: right; font-variant-numeric: tabular-nums; }
.tl-app .tl-phone { width: 320px; border-radius: 22px; background: #111827; padding: 26px 12px 18px 12px; }
.tl-app .tl-push { background: rgba(255,255,255,0.96); border-radius: 14px; padding: 10px 12px;
  font-size: 13px; box-shadow: 0 2px 8px rgba(0,0,0,0.25); }
.tl-app .tl-push-app { color: #6b7280; font-size: 11px; text-transform: uppercase; letter-spacing: 0.04em; }
.tl-app .tl-push-title { font-weight: 650; margin: 2px 0; }
.tl-app .tl-push img { max-width: 100%; border-radius: 8px; margin-top: 6px; }
.tl-app .tl-mail-head { font-size: 13px; border: 1px solid #e5e7eb; border-bottom: none; padding: 8px 10px;
  border-radius: 8px 8px 0 0; background: #f9fafb; }
.tl-app iframe.tl-mail { width: 100%; height: 360px; border: 1px solid #e5e7eb; border-radius: 0 0 8px 8px;
  background: #fff; }
.tl-app .tl-status { padding: 6px 10px; border-radius: 8px; font-size: 13px; margin: 4px 0; }
.tl-app .tl-status.ok { background: #ecfdf3; color: #05603a; }
.tl-app .tl-status.bad { background: #fef3f2; color: #b42318; }
.tl-app .tl-status.warn { background: #fffaeb; color: #93370d; }
.tl-app .tl-bar { height: 12px; border-radius: 3px; background: #a5b4fc; min-width: 2px; }
.tl-app .tl-bar.tl-bar-sent { background: #12b76a; }
.tl-app .tl-chat { background: #e7f8e8; border-radius: 12px; padding: 10px; max-width: 420px; }
.tl-app .tl-chat ol { list-style: none; padding-left: 0; margin: 6px 0 0 0; }
.tl-app .tl-chart svg { max-width: 100%; height: auto; }
"""


def stylesheet() -> w.HTML:
    """An invisible widget carrying the stylesheet; put it first in a widget's children."""
    return w.HTML(f"<style>{CSS}</style>", layout=w.Layout(height="0px", margin="0"))
