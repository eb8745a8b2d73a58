"""The report stage: derived modified equations as text, Markdown, LaTeX and JSON
(:func:`render`), and the generated ``derivations/`` documents
(:mod:`symsme.report.derivations`)."""

from __future__ import annotations

from symsme.report.render import FORMATS, render, to_json_dict

__all__ = ["FORMATS", "render", "to_json_dict"]
