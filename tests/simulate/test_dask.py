"""Monte Carlo on a Dask cluster (local, on loopback): the same numbers as a local run for the
same seed, through a client and through a scheduler address."""

from __future__ import annotations

import json

import numpy as np
import pytest

from symsme import Problem
from symsme.cli import main
from symsme.errors import SymsmeError
from symsme.simulate import simulate

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,  # tasks and problems are pickled, as on a real cluster
            host="127.0.0.1",
            dashboard_address=None,
        ) as local,
        distributed.Client(local) as client,
    ):
        yield local, client


def test_dask_equals_local(cluster):
    local, client = cluster
    p = Problem("x1**4/4 + x2**2/2 + x1*x2/4", "x1 x2", "[[1 + x1**2/2, 0.1], [0.1, 1]]")
    kwargs = dict(eta=0.05, steps=8, paths=1500, seed=9)
    here = simulate("sgd", p, [0.5, -0.5], **kwargs)
    there = simulate("sgd", p, [0.5, -0.5], client=client, **kwargs)
    np.testing.assert_array_equal(here.samples, there.samples)
    shown = simulate("sgd", p, [0.5, -0.5], client=client, progress=True, **kwargs)
    np.testing.assert_array_equal(here.samples, shown.samples)  # a progress bar changes nothing
    by_address = simulate("ha-sme", p, [0.5, -0.5], scheduler=local.scheduler_address, **kwargs)
    np.testing.assert_array_equal(
        by_address.samples, simulate("ha-sme", p, [0.5, -0.5], **kwargs).samples
    )
    fs = Problem.finite_sum(["(x-1)**2/2", "(x+1)**2/2", "x**2"], "x", 2)
    np.testing.assert_array_equal(
        simulate("sgd", fs, [0.3], client=client, **kwargs).samples,
        simulate("sgd", fs, [0.3], **kwargs).samples,
    )


def test_errors_on_workers_reach_the_caller(cluster):
    _, client = cluster
    p = Problem("x**4/4", "x", "1")
    with pytest.raises(SymsmeError, match="step"):
        simulate("sgd", p, [3.0], eta=1.0, steps=50, paths=600, seed=0, client=client)


def test_cli_scheduler(cluster, capsys):
    local, _ = cluster
    argv = ["simulate", "--loss", "x**2/2", "--vars", "x", "--sigma", "1", "--x0", "1"]
    argv += ["--eta", "0.1", "--steps", "5", "--paths", "700", "--seed", "4", "--format", "json"]
    assert main(argv) == 0
    here = json.loads(capsys.readouterr()[0])
    assert main([*argv, "--scheduler", local.scheduler_address]) == 0
    assert json.loads(capsys.readouterr()[0]) == here


def test_unreachable_scheduler_is_one_line(capsys):
    argv = ["simulate", "--loss", "x**2/2", "--vars", "x", "--sigma", "1", "--x0", "1"]
    argv += ["--eta", "0.1", "--steps", "2", "--paths", "10", "--seed", "1"]
    status = main([*argv, "--scheduler", "tcp://127.0.0.1:9"])
    _, err = capsys.readouterr()
    assert status == 2 and err.count("\n") == 1 and "scheduler" in err


def test_exit_times_on_dask_equal_local(cluster):
    """Exit times from a ball around a 2-D saddle: SGD and a model (both monitoring times), the
    same numbers on the cluster as locally; escape_ball passes the client through."""
    from symsme.simulate.exits import Ball, exit_times
    from symsme.verify import escape_ball

    local, client = cluster
    p = Problem("x**2/2 - y**2/2 + y**4/4", "x y", [[1, 0], [0, 1]])
    ball = Ball((0.0, 0.0), 0.5)
    for process in ("sgd", "ha-sme"):
        kwargs = dict(eta=0.1, paths=700, seed=4, substeps=3)
        here = exit_times(process, p, [0.0, 0.0], ball, **kwargs)
        there = exit_times(process, p, [0.0, 0.0], ball, client=client, **kwargs)
        np.testing.assert_array_equal(here.times, there.times)
        if process != "sgd":
            np.testing.assert_array_equal(here.step_times, there.step_times)
    r = escape_ball(p, (0, 0), 0.5, (0, 0), 0.1, ["sgf"], paths=600, seed=1, substeps=2,
                    scheduler=local.scheduler_address)  # fmt: skip
    r0 = escape_ball(p, (0, 0), 0.5, (0, 0), 0.1, ["sgf"], paths=600, seed=1, substeps=2)
    np.testing.assert_array_equal(r.models["sgf"].times, r0.models["sgf"].times)
    np.testing.assert_array_equal(r.sgd.times, r0.sgd.times)
