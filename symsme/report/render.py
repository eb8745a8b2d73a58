r"""Render a derived modified equation as text, Markdown, LaTeX or JSON.

The JSON shape is a contract other tools rely on (see README): for ``dim`` 1 every
coefficient is a string parseable by :func:`sympy.sympify` in ``eta``, ``g0, g1, ...``,
``s0, s1, ...`` and ``k3_0, ...``; for the coordinate-free engine (``dim`` ``"d"``) every
coefficient is a list of terms with their exact coefficient, readable text, LaTeX and graph
structure (:func:`symsme.algebra.contractions.to_json`).  Every coefficient is a
:class:`~symsme.algebra.series.Series`, so printing asks the series, never the dimension.
"""

from __future__ import annotations

from typing import Any

from symsme.derive import HessianAware, HessianAwareD, ModifiedEquation

__all__ = ["FORMATS", "render", "to_json_dict"]

FORMATS = ("text", "markdown", "latex", "json")


def to_json_dict(me: ModifiedEquation, ha: HessianAware | HessianAwareD | None = None) -> dict:
    """The JSON object of ``symsme derive --format json`` (see the module docstring)."""
    out: dict[str, Any] = {
        "dim": me.dim,
        "order": me.order,
        "noise": me.noise,
        "sigma": me.sigma,
        "drift": [b.to_json() for b in me.drift],
        "diffusion": [D.to_json() for D in me.diffusion],
        "ansatz": me.ansatz,
    }
    if me.ansatz == "generator":
        out["kramers_moyal"] = [[a.to_json() for a in family] for family in me.kramers_moyal]
    if not all(isinstance(b, str) for b in out["drift"]):  # structured terms: add their text
        out["drift_text"] = [b.text() for b in me.drift]
        out["diffusion_text"] = [D.text() for D in me.diffusion]
        if me.ansatz == "generator":
            out["kramers_moyal_text"] = [[a.text() for a in f] for f in me.kramers_moyal]
    if me.mismatch is not None:
        out["mismatch"] = [
            {
                "moment": m.moment,
                "eta_power": m.eta_power,
                "coefficient": m.coefficient.to_json() if m.eta_power else "0",
            }
            for m in me.mismatch
        ]
        out["checked_through"] = me.checked_through
    if ha is not None:
        out["hessian_aware"] = {
            "drift": [b.to_json() for b in ha.drift],
            "diffusion": [D.to_json() for D in ha.diffusion],
            "drift_closed_form": ha.drift_closed_form,
            "diffusion_closed_form": ha.diffusion_closed_form,
            "identified_through": ha.identified_through,
        }
    return out


def _basis(me: ModifiedEquation):  # noqa: ANN202 - a Basis
    return me.drift[0].basis


def _title(me: ModifiedEquation) -> str:
    dim = _basis(me).description
    sigma = "state-dependent" if me.sigma == "state" else "constant"
    what = "Modified generator" if me.ansatz == "generator" else "Stochastic modified equation"
    return f"{what} of SGD: dim {dim}, order {me.order}, {me.noise} noise, {sigma} Sigma"


def _generator_line(me: ModifiedEquation) -> str:
    action = _basis(me).kramers[0]
    return (
        f"L = sum_n (eta^(n-1)/n!) {action},  A_n = sum_k eta^k A_n,k  (A_1 = b, A_2 = D: "
        "the modified generator)"
    )


def _model_latex(me: ModifiedEquation) -> str:
    if me.ansatz == "generator":
        return (
            r"L_\eta = \sum_{n \ge 1} \frac{\eta^{n-1}}{n!} "
            + _basis(me).kramers[1]
            + r", A_n = \sum_k \eta^k A_{n,k}, A_1 = b, A_2 = D"
        )
    return r"dX = b\,dt + (\eta D)^{1/2} dW, b = \sum_k \eta^k b_k, D = \sum_k \eta^k D_k"


def _model_word(me: ModifiedEquation) -> str:
    return "generator" if me.ansatz == "generator" else "SDE"


def _text(me: ModifiedEquation, ha: HessianAware | HessianAwareD | None) -> str:
    lines = [
        _title(me),
        _generator_line(me)
        if me.ansatz == "generator"
        else "dX = b(X) dt + (eta D(X))^(1/2) dW,  b = sum_k eta^k b_k,  D = sum_k eta^k D_k",
        f"  ({_basis(me).legend})",
        "",
    ]
    lines += [f"b_{k} = {b.text()}" for k, b in enumerate(me.drift)]
    lines.append("")
    lines += [f"D_{k} = {D.text()}" for k, D in enumerate(me.diffusion)]
    for n, family in enumerate(me.kramers_moyal[2:], start=3):
        lines.append("")
        lines += [f"A_{n},{k} = {a.text()}" for k, a in enumerate(family)]
    if me.mismatch is not None:
        lines += [
            "",
            f"Mismatch of one-step raw moments, {_model_word(me)} minus SGD "
            f"(checked through eta^{me.checked_through}):",
        ]
        for m in me.mismatch:
            if m.eta_power is None:
                lines.append(f"  moment {m.moment}: agree through eta^{me.checked_through}")
            else:
                coefficient = m.coefficient.text()
                lines.append(f"  moment {m.moment}: eta^{m.eta_power}: {coefficient}")
    if ha is not None:
        lines += ["", "Hessian-aware selection:"]
        lines += [f"  b_{k}|HA = {b.text()}" for k, b in enumerate(ha.drift)]
        lines += [f"  D_{k}|HA = {D.text()}" for k, D in enumerate(ha.diffusion)]
        lines += [
            f"  identified through order {ha.identified_through}, psi(w) = log(w)/(w - 1):",
            f"  b = {ha.drift_closed_form}",
            f"  D = {ha.diffusion_closed_form}",
        ]
    return "\n".join(lines) + "\n"


def _latex_lines(
    me: ModifiedEquation, ha: HessianAware | HessianAwareD | None
) -> list[tuple[str, list[str]]]:
    sections = [
        ("Drift", [rf"b_{{{k}}} &= {b.latex()}" for k, b in enumerate(me.drift)]),
        ("Diffusion", [rf"D_{{{k}}} &= {D.latex()}" for k, D in enumerate(me.diffusion)]),
    ]
    for n, family in enumerate(me.kramers_moyal[2:], start=3):
        sections.append(
            (
                f"Kramers-Moyal coefficient A_{n}",
                [rf"A_{{{n},{k}}} &= {a.latex()}" for k, a in enumerate(family)],
            )
        )
    if me.mismatch is not None:
        rows = []
        for m in me.mismatch:
            if m.eta_power is None:
                rows.append(
                    rf"n = {m.moment}:&\ \text{{agree through }} \eta^{{{me.checked_through}}}"
                )
            else:
                rows.append(
                    rf"n = {m.moment}:&\ \eta^{{{m.eta_power}}}"
                    rf"\big({m.coefficient.latex()}\big)"
                )
        sections.append((f"Mismatch of one-step moments ({_model_word(me)} minus SGD)", rows))
    if ha is not None:
        rows = [rf"b_{{{k}}}\big|_{{\mathrm{{HA}}}} &= {b.latex()}" for k, b in enumerate(ha.drift)]
        rows += [
            rf"D_{{{k}}}\big|_{{\mathrm{{HA}}}} &= {D.latex()}" for k, D in enumerate(ha.diffusion)
        ]
        rows += [
            rf"b_{{\mathrm{{HA}}}} &= {ha.drift_closed_form_latex}",
            rf"D_{{\mathrm{{HA}}}} &= {ha.diffusion_closed_form_latex}",
        ]
        sections.append(("Hessian-aware selection and closed form", rows))
    return sections


def _latex(me: ModifiedEquation, ha: HessianAware | HessianAwareD | None) -> str:
    out = [f"% {_title(me)}", f"% {_model_latex(me)}"]
    for title, rows in _latex_lines(me, ha):
        out += [f"% {title}", r"\begin{align*}", " \\\\\n".join(rows), r"\end{align*}"]
    return "\n".join(out) + "\n"


def _markdown(me: ModifiedEquation, ha: HessianAware | HessianAwareD | None) -> str:
    out = [
        f"# {_title(me)}",
        "",
        f"${_model_latex(me)}$."
        if me.ansatz == "generator"
        else r"$dX = b(X)\,dt + (\eta D(X))^{1/2}\,dW$, with $b = \sum_k \eta^k b_k$ and "
        r"$D = \sum_k \eta^k D_k$.",
        f"Symbols: {_basis(me).legend}.",
        "",
    ]
    for title, rows in _latex_lines(me, ha):
        out += [
            f"## {title}",
            "",
            "$$",
            r"\begin{aligned}",
            " \\\\\n".join(rows),
            r"\end{aligned}",
            "$$",
            "",
        ]
    return "\n".join(out)


def render(
    me: ModifiedEquation, fmt: str = "text", ha: HessianAware | HessianAwareD | None = None
) -> str:
    """Render ``me`` (and optionally its Hessian-aware identification) in ``fmt``."""
    if fmt == "json":
        import json

        return json.dumps(to_json_dict(me, ha), indent=2) + "\n"
    if fmt == "text":
        return _text(me, ha)
    if fmt == "markdown":
        return _markdown(me, ha)
    if fmt == "latex":
        return _latex(me, ha)
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
