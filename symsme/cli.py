"""The ``symsme`` command.

``symsme derive``       derive the modified equation (1-D jets or coordinate-free, any order)
``symsme evaluate``     drift and diffusion of a model at a point, for a user's loss and noise
``symsme simulate``     Monte Carlo of SGD or of a model: mean, covariance, standard errors
``symsme report``       the showcase: a Markdown report with figures, into a folder
``symsme escape``       mean exit times from an interval: SGD against each model (1-D)
``symsme weak-order``   weak errors of models against SGD over step sizes, with fitted orders
``symsme quadratic``    exact laws of SGD and of each model on a quadratic with constant noise
``symsme derivations``  regenerate (or ``--check``) the committed ``derivations/`` documents

Bad input prints one line on stderr and exits with status 2 (no traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from symsme.errors import SymsmeError

__all__ = ["main"]


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2 (argparse prints usage too)
        raise _UsageError(message)


def _int_arg(name: str):
    def parse(text: str) -> int:
        try:
            return int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}") from None

    return parse


def _dim_arg(text: str) -> int | str:
    if text == "d":
        return "d"
    try:
        return int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--dim must be 1, an integer >= 2 or 'd', got {text!r}"
        ) from None


def _build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="symsme", description="Stochastic modified equations of SGD, derived exactly.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    d = sub.add_parser(
        "derive", help="derive b_0..b_K and D_0..D_K by stochastic backward error analysis"
    )
    d.add_argument(
        "--dim",
        type=_dim_arg,
        default=1,
        help="1, or d (coordinate-free; any integer >= 2 gives the same)",
    )
    d.add_argument(
        "--order", type=_int_arg("--order"), required=True, help="K: derive b_0..b_K, D_0..D_K"
    )
    d.add_argument(
        "--noise", default="gaussian", help="gaussian (default) or general (cumulants k3, k4, ...)"
    )
    d.add_argument(
        "--constant-sigma", action="store_true", help="constant noise covariance (Sigma' = 0)"
    )
    d.add_argument(
        "--moments", type=_int_arg("--moments"), help="mismatch report for one-step moments 1..M"
    )
    d.add_argument(
        "--through",
        type=_int_arg("--through"),
        help="highest power of eta compared (default max(K+3, M+1))",
    )
    d.add_argument(
        "--hessian-aware",
        action="store_true",
        help="add the Hessian-aware selection and its closed form",
    )
    d.add_argument(
        "--ansatz",
        default="sde",
        help="sde (default: the Gaussian SDE) or generator (the modified generator, A_1..A_K+1)",
    )
    d.add_argument("--format", default="text", help="text (default), markdown, latex or json")
    d.add_argument(
        "--force", action="store_true", help="derive beyond the documented limits on work"
    )
    d.add_argument(
        "--no-cache", action="store_true", help="neither read nor write the on-disk cache"
    )
    _add_progress_options(d)

    g = sub.add_parser("derivations", help="regenerate or check the derivations/ documents")
    g.add_argument("--out", default="derivations", help="folder (default: derivations)")
    g.add_argument(
        "--check", action="store_true", help="exit 1 if the folder differs from the engine"
    )
    g.add_argument(
        "--experiments",
        action="store_true",
        help="also run the Monte Carlo experiments (neural network: about 30 minutes)",
    )
    _add_progress_options(g)

    _add_evaluate(sub)
    _add_quadratic(sub)
    _add_simulate(sub)
    _add_weak_order(sub)
    _add_escape(sub)
    _add_report(sub)
    return p


def _add_progress_options(parser) -> None:  # noqa: ANN001
    prog = parser.add_mutually_exclusive_group()
    prog.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="always show progress",
    )
    prog.add_argument(
        "--no-progress", dest="progress", action="store_false", help="never show progress"
    )


def _add_simulate(sub) -> None:  # noqa: ANN001
    s = sub.add_parser("simulate", help="Monte Carlo of SGD or of an SDE model at t = K eta")
    s.add_argument("--loss", required=True, help="loss f as an expression in the variables")
    s.add_argument("--vars", required=True, help="comma-separated variables, e.g. x1,x2")
    s.add_argument("--sigma", required=True, help="noise covariance Sigma(x) (a matrix)")
    s.add_argument("--x0", required=True, help="start, e.g. 1,-1")
    s.add_argument("--eta", required=True, help="learning rate eta > 0")
    s.add_argument("--steps", type=_int_arg("--steps"), required=True, help="K SGD steps")
    s.add_argument("--paths", type=_int_arg("--paths"), required=True, help="number of paths")
    s.add_argument("--seed", type=_int_arg("--seed"), required=True, help="seed (an integer)")
    s.add_argument("--model", default="sgd", help="sgd (default), sgf, sme2, ha-sme or meK")
    s.add_argument(
        "--scheme",
        default="euler",
        help="SDE integrator: euler, weak2 (weak order 2), or exact (OU, quadratics)",
    )
    s.add_argument(
        "--substeps", type=_int_arg("--substeps"), default=1, help="SDE steps per SGD step"
    )
    s.add_argument("--psd", default="raise", help="non-PSD diffusion: raise, clip or ignore")
    s.add_argument(
        "--scheduler", default=None, help="run on the Dask cluster at this scheduler address"
    )
    s.add_argument("--format", default="text", help="text (default) or json")
    s.add_argument("--force", action="store_true", help="beyond the limit on work")


def _add_problem_options(parser) -> None:  # noqa: ANN001
    """The 1-D problem of ``weak-order`` and ``escape`` (read by
    :func:`_one_dimensional_problem`)."""
    parser.add_argument("--loss", help="loss f(x)")
    parser.add_argument("--sigma", help="noise variance Sigma(x)")
    parser.add_argument(
        "--samples", help='finite sum: per-sample losses "f1;...;fn" (instead of --loss/--sigma)'
    )
    parser.add_argument(
        "--batch", type=_int_arg("--batch"), help="minibatch size B (with --samples)"
    )


def _add_monte_carlo_options(parser) -> None:  # noqa: ANN001
    parser.add_argument(
        "--paths", type=_int_arg("--paths"), default=100000, help="Monte Carlo paths"
    )
    parser.add_argument("--seed", type=_int_arg("--seed"), default=0, help="Monte Carlo seed")


def _add_weak_order(sub) -> None:  # noqa: ANN001
    w = sub.add_parser(
        "weak-order",
        help="weak errors |E phi(X_T) - E phi(x_K)| of models against SGD, with fitted orders",
    )
    _add_problem_options(w)
    w.add_argument("--vars", default="x", help="variables (default x; d > 1: Monte Carlo)")
    w.add_argument("--test", required=True, help="test function phi(x)")
    w.add_argument("--x0", required=True, help="start")
    w.add_argument("--T", required=True, help="horizon T; every T/eta must be a whole number")
    w.add_argument("--etas", required=True, help="comma-separated step sizes")
    w.add_argument("--models", default="sgf,sme2,ha-sme,me2", help="comma-separated models")
    w.add_argument("--method", default=None, help="deterministic (1-D default) or monte-carlo")
    w.add_argument("--tol", default="1e-10", help="accuracy of each deterministic expectation")
    _add_monte_carlo_options(w)
    w.add_argument(
        "--substeps",
        type=_int_arg("--substeps"),
        default=8,
        help="Monte Carlo: integrator substeps per SGD step (default 8)",
    )
    w.add_argument(
        "--scheme",
        default="weak2",
        help="Monte Carlo integrator: weak2 (default) or extrapolated (Talay-Tubaro)",
    )
    w.add_argument("--psd", default="raise", help="non-PSD diffusion: raise, clip or ignore")
    w.add_argument("--plot", default=None, help="write a log-log plot (.png, .svg or .pdf)")
    w.add_argument("--format", default="text", help="text (default) or json")
    w.add_argument("--force", action="store_true", help="model orders beyond the limit")


def _add_escape(sub) -> None:  # noqa: ANN001
    e = sub.add_parser(
        "escape", help="mean exit times from an interval: SGD against each model (1-D)"
    )
    _add_problem_options(e)
    e.add_argument("--eta", required=True, help="learning rate eta > 0")
    e.add_argument("--x0", required=True, help="start, inside the interval")
    e.add_argument("--interval", required=True, help="A,B")
    e.add_argument("--models", default="sgf,sme2,ha-sme", help="comma-separated models")
    e.add_argument("--method", default=None, help="SGD: deterministic (default) or monte-carlo")
    _add_monte_carlo_options(e)
    e.add_argument(
        "--max-steps", type=_int_arg("--max-steps"), default=100000, help="Monte Carlo limit"
    )
    e.add_argument("--format", default="text", help="text (default) or json")


def _add_report(sub) -> None:  # noqa: ANN001
    r = sub.add_parser("report", help="write the showcase report (Markdown and figures) into DIR")
    r.add_argument("dir", help="folder to write (refused if not empty, unless --force)")
    r.add_argument("--small", action="store_true", help="a quick version (under a minute)")
    r.add_argument("--force", action="store_true", help="replace a non-empty DIR")
    _add_progress_options(r)


def _add_quadratic(sub) -> None:  # noqa: ANN001
    q = sub.add_parser(
        "quadratic",
        help="exact laws of SGD and of each model on f = x^T H x / 2 with constant noise",
    )
    q.add_argument(
        "--H", required=True, dest="hessian", help='Hessian, e.g. "[[2, 0.5], [0.5, 1]]"'
    )
    q.add_argument("--sigma", required=True, help="constant noise covariance (a matrix)")
    q.add_argument("--x0", required=True, help="start, e.g. 1,-1 or [1, -1]")
    q.add_argument("--eta", required=True, help="learning rate eta > 0")
    q.add_argument("--steps", type=_int_arg("--steps"), required=True, help="K >= 0 steps")
    q.add_argument(
        "--models", default="sgf,sme2,ha-sme", help="comma-separated (default sgf,sme2,ha-sme)"
    )
    q.add_argument(
        "--psd", default="raise", help="non-PSD diffusion: raise (default), clip or ignore"
    )
    q.add_argument(
        "--precision", type=_int_arg("--precision"), default=None, help="decimal digits: mpmath"
    )
    q.add_argument("--format", default="text", help="text (default) or json")
    q.add_argument("--plot", default=None, help="plot the laws over time (.png, .svg or .pdf)")
    q.add_argument("--force", action="store_true", help=f"--precision beyond {MAX_DIGITS}")


def _add_evaluate(sub) -> None:  # noqa: ANN001
    e = sub.add_parser(
        "evaluate",
        help="drift b and diffusion D of a model at a point (dX = b dt + (eta D)^(1/2) dW)",
    )
    e.add_argument("--loss", help="loss f as a SymPy expression")
    e.add_argument("--vars", required=True, help="comma-separated variables, e.g. x1,x2")
    e.add_argument("--sigma", help='noise covariance, e.g. "[[1 + x1**2, 0], [0, 1]]"')
    e.add_argument(
        "--samples", help='finite sum: per-sample losses "f1;...;fn" (instead of --loss/--sigma)'
    )
    e.add_argument("--batch", type=_int_arg("--batch"), help="minibatch size B (with --samples)")
    e.add_argument(
        "--model",
        required=True,
        help="sgf, sme2, me, ha-sme or ha-me (meK, ha-meK); genK (1-D): the modified generator",
    )
    e.add_argument(
        "--order", type=_int_arg("--order"), default=None, help="K for --model me or ha-me"
    )
    e.add_argument("--eta", required=True, help="learning rate eta > 0")
    e.add_argument("--at", required=True, help="comma-separated point, e.g. 0.1,0.2")
    e.add_argument(
        "--psd", default="raise", help="non-PSD diffusion: raise (default), clip or ignore"
    )
    e.add_argument(
        "--precision", type=_int_arg("--precision"), default=None, help="decimal digits: use mpmath"
    )
    e.add_argument("--format", default="text", help="text (default) or json")
    e.add_argument(
        "--force",
        action="store_true",
        help=f"beyond the limits on work (--precision {MAX_DIGITS}, --order of me)",
    )


def _derive(args: argparse.Namespace) -> str:
    from symsme.derive import modified_equation
    from symsme.report import FORMATS, render

    if args.format not in FORMATS:
        raise SymsmeError(f"unknown --format {args.format!r}; choose one of {', '.join(FORMATS)}")
    me = modified_equation(
        args.order,
        dim=args.dim,
        noise=args.noise,
        sigma="constant" if args.constant_sigma else "state",
        moments=args.moments,
        through=args.through,
        cache=not args.no_cache,
        progress=args.progress,
        force=args.force,
        ansatz=args.ansatz,
    )
    ha = None
    if args.hessian_aware:
        from symsme.derive import identify_hessian_aware

        ha = identify_hessian_aware(me)
    return render(me, args.format, ha)


MAX_DIGITS = 10_000
"""Largest ``--precision`` (decimal digits) without ``--force``."""
MAX_EXPONENT = 10_000
"""Largest decimal exponent accepted in ``--eta`` (``1e-10000`` .. ``1e10000``)."""

_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,9})?|[+-]?\d+/\d+")


def _quote(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _parse_eta(text: str, option: str = "--eta"):  # noqa: ANN202 - Fraction
    from fractions import Fraction

    from symsme.errors import StepSizeError

    what = "eta" if option == "--eta" else option.lstrip("-")
    text = text.strip()
    match = _DECIMAL.fullmatch(text)
    if match is None or len(text) > 1000:
        raise StepSizeError(f"{what} must be a finite number > 0, got {option} {_quote(text)}")
    if match.group(2) and abs(int(match.group(2)[1:])) > MAX_EXPONENT:
        raise StepSizeError(
            f"{option} {_quote(text)} has an exponent beyond +-{MAX_EXPONENT}: "
            "not a usable step size"
        )
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise StepSizeError(
            f"{what} must be a finite number > 0, got {option} {_quote(text)}"
        ) from None
    if value <= 0:
        raise StepSizeError(f"{what} must be a finite number > 0, got {option} {_quote(text)}")
    return value


def _parse_point(text: str) -> list[str]:
    from symsme.errors import ExpressionError

    parts = [p.strip() for p in text.split(",")]
    for p in parts:
        try:
            float(p)
        except ValueError:
            raise ExpressionError(
                f"--at must be comma-separated numbers, got {text!r} ({p!r} is not a number)"
            ) from None
    return parts


def _evaluate_generator(
    args: argparse.Namespace,
    problem: Any,
    order: int,
    eta: Any,
    point: list[str],
    pts: Any,
    backend: Any,
) -> str:
    """``evaluate --model genK``: the Kramers-Moyal coefficients A_1..A_{K+1} at the point."""
    import numpy as np

    from symsme.errors import OrderError
    from symsme.exact.generator import generator_model
    from symsme.report.evaluation import render_evaluation

    if args.order is not None and args.order != order:
        raise OrderError(f"model {args.model!r} has order {order}, but --order {args.order}")
    model = generator_model(problem, order, eta, force=args.force)
    coefficients = [a[0] for a in model.kramers_moyal(pts, backend)]
    return render_evaluation(
        model=args.model,
        eta=eta,
        eta_text=args.eta,
        point_text=point,
        point=pts,
        drift=np.array([coefficients[0]]),
        diffusion=np.array([[coefficients[1]]]),
        order=order,
        precision=args.precision,
        fmt=args.format,
        kramers_moyal=coefficients,
    )


def _evaluate(args: argparse.Namespace) -> str:
    from symsme.errors import ShapeError
    from symsme.exact.generator import generator_order
    from symsme.models import sde_model
    from symsme.report.evaluation import render_evaluation

    if args.format not in ("text", "json"):
        raise SymsmeError(f"unknown --format {args.format!r}; choose one of text, json")
    eta = _parse_eta(args.eta)
    point = _parse_point(args.at)
    problem = _one_dimensional_problem(args, args.vars)
    backend = _backend_for(args, eta)
    with backend.context():
        pts = backend.asarray(point, "--at")
        if len(point) != problem.dim:
            raise ShapeError(
                f"--at has {len(point)} coordinates but the loss has {problem.dim} variables "
                f"({', '.join(v.name for v in problem.variables)})"
            )
        generator = generator_order(args.model)
        if generator is not None:
            return _evaluate_generator(args, problem, generator, eta, point, pts, backend)
        model = sde_model(
            problem,
            args.model,
            eta,
            order=args.order,
            backend=backend,
            psd=args.psd,
            force=args.force,
        )
        drift, diffusion = model.drift_diffusion(pts)
        return render_evaluation(
            model=args.model,
            eta=eta,
            eta_text=args.eta,
            point_text=point,
            point=pts,
            drift=drift,
            diffusion=diffusion,
            order=args.order,
            precision=args.precision,
            fmt=args.format,
        )


MAX_STEPS = 10**6
"""Largest ``--steps`` of ``symsme quadratic`` (the SGD recursion is iterated)."""


def _backend_for(args: argparse.Namespace, eta: Any):  # noqa: ANN202 - a Backend
    """numpy, or mpmath at ``--precision`` digits (within the limit unless ``--force``); a
    step size float64 cannot hold asks for ``--precision``."""
    from symsme.errors import LimitError, StepSizeError
    from symsme.numeric.backend import MpmathBackend, NumpyBackend

    if args.precision is None:
        if not 2.0**-1074 <= eta <= float.fromhex("0x1.fffffffffffffp+1023"):
            raise StepSizeError(
                f"--eta {_quote(args.eta)} is outside float64's range; use --precision DIGITS "
                "(mpmath)"
            )
        return NumpyBackend()
    if args.precision < 1:
        raise SymsmeError(f"--precision must be >= 1 decimal digits, got {args.precision}")
    if args.precision > MAX_DIGITS and not args.force:
        raise LimitError(
            f"--precision {args.precision} is beyond the limit {MAX_DIGITS} digits; "
            "pass --force to compute anyway"
        )
    return MpmathBackend(dps=args.precision)


def _numeric_matrix(text: str, option: str, backend, vector: bool = False):  # noqa: ANN001, ANN202
    """A matrix (or vector) of numbers from text, exact entries converted by the backend."""
    import numpy as np

    from symsme.errors import ShapeError
    from symsme.expressions import matrix_rows, parse_text, to_expression

    text = text.strip()
    if vector and not text.startswith("["):
        text = f"[{text}]"
    parsed = parse_text(text, {}, option)
    if vector:
        if not isinstance(parsed, list) or any(isinstance(v, list) for v in parsed):
            raise ShapeError(f"{option} must be a vector, e.g. 1,-1 or [1, -1]")
        rows = [parsed]
    else:
        found = matrix_rows(parsed, option)
        rows = [[parsed]] if found is None else found
        if any(len(r) != len(rows) for r in rows):
            raise ShapeError(f"{option} must be a square matrix, got {len(rows)} rows")
    entries = [[to_expression(v, {}, f"{option} entry") for v in row] for row in rows]
    out = backend.asarray(np.array([[backend.number(v) for v in row] for row in entries]), option)
    return out[0] if vector else out


def _quadratic(args: argparse.Namespace) -> str:
    from symsme.exact.quadratic import ou_law, sgd_law
    from symsme.models import get_model
    from symsme.numeric.backend import NumpyBackend
    from symsme.report.quadratic import render_quadratic
    from symsme.validate import check_integer

    if args.format not in ("text", "json"):
        raise SymsmeError(f"unknown --format {args.format!r}; choose one of text, json")
    eta = _parse_eta(args.eta)
    steps = check_integer(args.steps, "--steps", 0)
    if steps > MAX_STEPS:
        from symsme.errors import LimitError

        raise LimitError(f"--steps {steps} is beyond the limit {MAX_STEPS}")
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    if not names:
        raise SymsmeError("--models names no model")
    for name in names:
        get_model(name)  # unknown names fail before any work
    if args.plot is not None:
        from symsme.report.plots import check_plot_path

        check_plot_path(args.plot)
    backend = _backend_for(args, eta)
    with backend.context():
        h = _numeric_matrix(args.hessian, "--H", backend)
        sigma = _numeric_matrix(args.sigma, "--sigma", backend)
        x0 = _numeric_matrix(args.x0, "--x0", backend, vector=True)
        t = backend.number(eta) * steps
        sgd = sgd_law(h, sigma, eta, x0, steps, backend=backend)
        laws = {
            name: ou_law(name, h, sigma, eta, x0, t, backend=backend, psd=args.psd)
            for name in names
        }
        out = render_quadratic(
            t=t,
            eta=eta,
            steps=steps,
            sgd=sgd,
            models=laws,
            precision=args.precision,
            fmt=args.format,
        )
    if args.plot is not None:
        from symsme.report.quadratic import plot_quadratic

        numpy_backend = NumpyBackend()
        plot_quadratic(
            _numeric_matrix(args.hessian, "--H", numpy_backend),
            _numeric_matrix(args.sigma, "--sigma", numpy_backend),
            eta,
            _numeric_matrix(args.x0, "--x0", numpy_backend, vector=True),
            steps,
            names,
            args.plot,
            psd=args.psd,
        )
    return out


def _simulate(args: argparse.Namespace) -> str:
    from symsme.numeric.backend import NumpyBackend
    from symsme.problems import Problem
    from symsme.report.simulation import render_simulation
    from symsme.simulate import simulate

    if args.format not in ("text", "json"):
        raise SymsmeError(f"unknown --format {args.format!r}; choose one of text, json")
    eta = _parse_eta(args.eta)
    problem = Problem(args.loss, args.vars, args.sigma)
    x0 = _numeric_matrix(args.x0, "--x0", NumpyBackend(), vector=True)
    result = simulate(
        "sgd" if args.model == "sgd" else args.model,
        problem,
        x0,
        eta=eta,
        steps=args.steps,
        paths=args.paths,
        seed=args.seed,
        scheme=args.scheme,
        substeps=args.substeps,
        psd=args.psd,
        force=args.force,
        scheduler=args.scheduler,
    )
    return render_simulation(result, model=args.model, fmt=args.format)


def _weak_order(args: argparse.Namespace) -> str:
    from symsme.errors import ShapeError, StepSizeError
    from symsme.numeric.backend import NumpyBackend
    from symsme.problems import Problem
    from symsme.report.weak import check_plot_path, plot_weak_order, render_weak_order
    from symsme.verify import weak_order

    if args.format not in ("text", "json"):
        raise SymsmeError(f"unknown --format {args.format!r}; choose one of text, json")
    problem = _one_dimensional_problem(args, args.vars)
    etas = [_parse_eta(part, "--etas") for part in args.etas.split(",")]
    time = _parse_eta(args.T, "--T")
    if len(etas) > 64:
        raise StepSizeError(f"--etas lists {len(etas)} step sizes; at most 64")
    try:
        tol = float(args.tol)
    except ValueError:
        raise ShapeError(f"--tol must be a number, got {_quote(args.tol)}") from None
    x0 = _numeric_matrix(args.x0, "--x0", NumpyBackend(), vector=True)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if args.plot is not None:
        check_plot_path(args.plot)  # before the work, not after
    result = weak_order(
        problem,
        Problem(args.test, problem.variables, what="test function"),
        x0,
        time,
        etas,
        models,
        method=args.method,
        tol=tol,
        paths=args.paths,
        seed=args.seed,
        substeps=args.substeps,
        scheme=args.scheme,
        psd=args.psd,
        force=args.force,
    )
    if args.plot is not None:
        plot_weak_order(result, args.plot)
    return render_weak_order(result, fmt=args.format)


def _one_dimensional_problem(args: argparse.Namespace, variables: str = "x"):  # noqa: ANN202
    """The problem of ``--loss``/``--sigma`` or ``--samples``/``--batch`` (any dimension)."""
    from symsme.errors import ShapeError
    from symsme.problems import Problem

    if args.samples is not None:
        if args.loss is not None or args.sigma is not None:
            raise ShapeError("give either --samples (with --batch) or --loss and --sigma")
        if args.batch is None:
            raise ShapeError("--samples needs --batch B (the minibatch size)")
        losses = [part.strip() for part in args.samples.split(";")]
        if any(not part for part in losses):
            raise ShapeError(f"--samples has an empty per-sample loss: {_quote(args.samples)}")
        return Problem.finite_sum(losses, variables, args.batch)
    if args.loss is None or args.sigma is None:
        raise ShapeError("give --loss and --sigma (or --samples with --batch)")
    if args.batch is not None:
        raise ShapeError("--batch applies to --samples only")
    return Problem(args.loss, variables, args.sigma)


def _escape(args: argparse.Namespace) -> str:
    from symsme.errors import ShapeError
    from symsme.numeric.backend import NumpyBackend
    from symsme.report.escape import render_escape
    from symsme.verify import escape

    if args.format not in ("text", "json"):
        raise SymsmeError(f"unknown --format {args.format!r}; choose one of text, json")
    problem = _one_dimensional_problem(args)
    eta = _parse_eta(args.eta)
    x0 = _numeric_matrix(args.x0, "--x0", NumpyBackend(), vector=True)
    if len(x0) != 1:
        raise ShapeError(f"--x0 must be one number (1-D), got {_quote(args.x0)}")
    bounds = _numeric_matrix(args.interval, "--interval", NumpyBackend(), vector=True)
    if len(bounds) != 2:
        raise ShapeError(f"--interval must be A,B, got {_quote(args.interval)}")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not models:
        raise ShapeError(f"--models names no model: {_quote(args.models)}")
    result = escape(
        problem,
        bounds,
        x0,
        eta,
        models,
        method=args.method,
        paths=args.paths,
        seed=args.seed,
        max_steps=args.max_steps,
    )
    return render_escape(result, fmt=args.format)


def _report(args: argparse.Namespace) -> str:
    from symsme.report.showcase import write_report

    path = write_report(args.dir, small=args.small, force=args.force, progress=args.progress)
    return f"wrote {path}\n"


def _derivations(args: argparse.Namespace) -> tuple[str, int]:
    from symsme.report.derivations import check_derivations, write_derivations

    if args.experiments and args.check:
        raise SymsmeError("--experiments regenerates the experiments; it cannot --check them")
    if args.check:
        stale = check_derivations(args.out)
        if stale:
            return "derivations out of date: " + ", ".join(stale) + "\n", 1
        return "derivations up to date\n", 0
    written = write_derivations(args.out, experiments=args.experiments, progress=args.progress)
    return "".join(f"wrote {p}\n" for p in written), 0


_VALUE_OPTIONS = (
    "--at",
    "--eta",
    "--x0",
    "--H",
    "--sigma",
    "--etas",
    "--T",
    "--loss",
    "--test",
    "--samples",
    "--interval",
)


def _join_negative_values(argv: Sequence[str]) -> list[str]:
    """``--at -1,0.2`` as ``--at=-1,0.2``: argparse would take ``-1,0.2`` for an option."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if token in _VALUE_OPTIONS and i + 1 < len(argv) and argv[i + 1].startswith("-"):
            out.append(f"{token}={argv[i + 1]}")
            i += 2
            continue
        out.append(token)
        i += 1
    return out


def _terminate(signum: int, frame: Any) -> None:  # noqa: ARG001
    raise KeyboardInterrupt  # SIGTERM cleans up like Ctrl-C (no half-written files)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``symsme`` console script; returns the exit status.  While it runs,
    SIGTERM is handled like Ctrl-C, so that commands clean up what they were writing."""
    import signal

    previous = None
    with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return _main(argv)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _main(argv: Sequence[str] | None) -> int:
    parser = _build_parser()
    try:
        args = parser.parse_args(_join_negative_values(sys.argv[1:] if argv is None else argv))
        status = 0
        if args.command == "derive":
            out = _derive(args)
        elif args.command == "derivations":
            out, status = _derivations(args)
        elif args.command == "quadratic":
            out = _quadratic(args)
        elif args.command == "simulate":
            out = _simulate(args)
        elif args.command == "weak-order":
            out = _weak_order(args)
        elif args.command == "escape":
            out = _escape(args)
        elif args.command == "report":
            out = _report(args)
        else:
            out = _evaluate(args)
    except _UsageError as exc:
        print(f"symsme: error: {exc}", file=sys.stderr)
        return 2
    except SymsmeError as exc:
        message = " ".join(str(exc).split())
        if len(message) > 300:  # messages quote at most ~80 characters of input; keep it so
            message = message[:297] + "..."
        print(f"symsme: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover - interactive
        print("symsme: interrupted", file=sys.stderr)
        return 130
    sys.stdout.write(out)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
