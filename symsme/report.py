r"""Render a derived modified equation as text, Markdown, LaTeX or JSON.

The JSON shape is a contract other tools rely on (see README): for ``dim`` 1 every
coefficient is a string parseable by :func:`sympy.sympify` in ``eta``, ``g0, g1, ...``,
``s0, s1, ...`` and ``k3_0, ...``; for the coordinate-free engine (``dim`` ``"d"``) every
coefficient is a list of terms with their exact coefficient, readable text, LaTeX and graph
structure (:func:`symsme.algebra.contractions.to_json`).
"""

from __future__ import annotations

from typing import Any

from symsme.hessian_aware import HessianAware, HessianAwareD
from symsme.matching import ModifiedEquation

__all__ = ["FORMATS", "render", "to_json_dict"]

FORMATS = ("text", "markdown", "latex", "json")

_D_DRIFT_CLOSED_TEX = r"-\psi(I - \eta H)\, \nabla f"
_D_DIFFUSION_CLOSED_TEX = (
    r"V\big[(V^\top \Sigma V)_{ij}\, \psi(m_i m_j)\big] V^\top,\ "
    r"H = V \operatorname{diag}(\lambda) V^\top,\ m_i = 1 - \eta\lambda_i"
)


def _printers(dim: int | str):
    if dim == 1:
        from symsme.algebra.jets import poly_to_latex, poly_to_str

        return poly_to_str, poly_to_latex
    from symsme.algebra.contractions import to_latex, to_text

    return to_text, to_latex


def _coef_json(dim: int | str, a: dict) -> Any:
    if dim == 1:
        from symsme.algebra.jets import poly_to_str

        return poly_to_str(a)
    from symsme.algebra.contractions import to_json

    return to_json(a)


def to_json_dict(me: ModifiedEquation, ha: HessianAware | HessianAwareD | None = None) -> dict:
    """The JSON object of ``symsme derive --format json`` (see the module docstring)."""
    out: dict[str, Any] = {
        "dim": me.dim,
        "order": me.order,
        "noise": me.noise,
        "sigma": me.sigma,
        "drift": [_coef_json(me.dim, b) for b in me.drift],
        "diffusion": [_coef_json(me.dim, D) for D in me.diffusion],
    }
    if me.dim != 1:
        text, _ = _printers(me.dim)
        out["drift_text"] = [text(b) for b in me.drift]
        out["diffusion_text"] = [text(D) for D in me.diffusion]
    if me.mismatch is not None:
        out["mismatch"] = [
            {
                "moment": m.moment,
                "eta_power": m.eta_power,
                "coefficient": _coef_json(me.dim, m.coefficient) if m.eta_power else "0",
            }
            for m in me.mismatch
        ]
        out["checked_through"] = me.checked_through
    if ha is not None:
        out["hessian_aware"] = {
            "drift": [_coef_json(me.dim, b) for b in ha.drift],
            "diffusion": [_coef_json(me.dim, D) for D in ha.diffusion],
            "drift_closed_form": ha.drift_closed_form,
            "diffusion_closed_form": ha.diffusion_closed_form,
            "identified_through": ha.identified_through,
        }
    return out


def _legend(dim: int | str) -> str:
    if dim == 1:
        return (
            "g_k = f^(k+1)(x), s_k = Sigma^(k)(x), "
            "k<n>_j = j-th derivative of the n-th noise cumulant"
        )
    return "g = grad f, H = grad^2 f, T = grad^3 f, Sigma = Cov of the gradient noise"


def _title(me: ModifiedEquation) -> str:
    dim = "d (coordinate-free)" if me.dim != 1 else "1"
    sigma = "state-dependent" if me.sigma == "state" else "constant"
    return (
        f"Stochastic modified equation of SGD: dim {dim}, order {me.order}, "
        f"{me.noise} noise, {sigma} Sigma"
    )


def _text(me: ModifiedEquation, ha: HessianAware | HessianAwareD | None) -> str:
    text, _ = _printers(me.dim)
    lines = [
        _title(me),
        "dX = b(X) dt + (eta D(X))^(1/2) dW,  b = sum_k eta^k b_k,  D = sum_k eta^k D_k",
        f"  ({_legend(me.dim)})",
        "",
    ]
    lines += [f"b_{k} = {text(b)}" for k, b in enumerate(me.drift)]
    lines.append("")
    lines += [f"D_{k} = {text(D)}" for k, D in enumerate(me.diffusion)]
    if me.mismatch is not None:
        lines += [
            "",
            "Mismatch of one-step raw moments, SDE minus SGD "
            f"(checked through eta^{me.checked_through}):",
        ]
        for m in me.mismatch:
            if m.eta_power is None:
                lines.append(f"  moment {m.moment}: agree through eta^{me.checked_through}")
            else:
                lines.append(f"  moment {m.moment}: eta^{m.eta_power}: {text(m.coefficient)}")
    if ha is not None:
        lines += ["", "Hessian-aware selection:"]
        lines += [f"  b_{k}|HA = {text(b)}" for k, b in enumerate(ha.drift)]
        lines += [f"  D_{k}|HA = {text(D)}" for k, D in enumerate(ha.diffusion)]
        lines += [
            f"  identified through order {ha.identified_through}, psi(w) = log(w)/(w - 1):",
            f"  b = {ha.drift_closed_form}",
            f"  D = {ha.diffusion_closed_form}",
        ]
    return "\n".join(lines) + "\n"


def _closed_tex(me: ModifiedEquation) -> tuple[str, str]:
    if me.dim == 1:
        return (
            r"-\psi(1 - \eta g_1)\, g_0",
            r"\psi\big((1 - \eta g_1)^2\big)\, s_0",
        )
    return _D_DRIFT_CLOSED_TEX, _D_DIFFUSION_CLOSED_TEX


def _latex_lines(
    me: ModifiedEquation, ha: HessianAware | HessianAwareD | None
) -> list[tuple[str, list[str]]]:
    _, tex = _printers(me.dim)
    sections = [
        ("Drift", [rf"b_{{{k}}} &= {tex(b)}" for k, b in enumerate(me.drift)]),
        ("Diffusion", [rf"D_{{{k}}} &= {tex(D)}" for k, D in enumerate(me.diffusion)]),
    ]
    if me.mismatch is not None:
        rows = []
        for m in me.mismatch:
            if m.eta_power is None:
                rows.append(
                    rf"n = {m.moment}:&\ \text{{agree through }} \eta^{{{me.checked_through}}}"
                )
            else:
                rows.append(
                    rf"n = {m.moment}:&\ \eta^{{{m.eta_power}}}\big({tex(m.coefficient)}\big)"
                )
        sections.append(("Mismatch of one-step moments (SDE minus SGD)", rows))
    if ha is not None:
        drift_tex, diff_tex = _closed_tex(me)
        rows = [rf"b_{{{k}}}\big|_{{\mathrm{{HA}}}} &= {tex(b)}" for k, b in enumerate(ha.drift)]
        rows += [
            rf"D_{{{k}}}\big|_{{\mathrm{{HA}}}} &= {tex(D)}" for k, D in enumerate(ha.diffusion)
        ]
        rows += [rf"b_{{\mathrm{{HA}}}} &= {drift_tex}", rf"D_{{\mathrm{{HA}}}} &= {diff_tex}"]
        sections.append(("Hessian-aware selection and closed form", rows))
    return sections


def _latex(me: ModifiedEquation, ha: HessianAware | HessianAwareD | None) -> str:
    out = [
        f"% {_title(me)}",
        r"% dX = b\,dt + (\eta D)^{1/2} dW, b = \sum_k \eta^k b_k, D = \sum_k \eta^k D_k",
    ]
    for title, rows in _latex_lines(me, ha):
        out += [f"% {title}", r"\begin{align*}", " \\\\\n".join(rows), r"\end{align*}"]
    return "\n".join(out) + "\n"


def _markdown(me: ModifiedEquation, ha: HessianAware | HessianAwareD | None) -> str:
    out = [
        f"# {_title(me)}",
        "",
        r"$dX = b(X)\,dt + (\eta D(X))^{1/2}\,dW$, with $b = \sum_k \eta^k b_k$ and "
        r"$D = \sum_k \eta^k D_k$.",
        f"Symbols: {_legend(me.dim)}.",
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
